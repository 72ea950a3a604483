"""Worker processes that end with their parent, however the parent ends."""

from __future__ import annotations

import sys
from typing import Any


def end_with_parent() -> None:
    """Ask the kernel to stop this process when its parent dies (Linux; elsewhere a no-op).

    ``kill -9`` of ``run --threads 2`` gives Python no chance to stop its pool: without this
    the workers and the queue manager would live on as orphans.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):  # no prctl in this libc: best effort
        pass


def worker_pool(workers: int) -> tuple[Any, Any]:
    """A spawn-context ``(manager, pool)`` whose processes all end with this one.

    Spawned, not forked: no fork of a process that holds torch's threads.
    """
    import multiprocessing
    from multiprocessing.managers import SyncManager

    context = multiprocessing.get_context("spawn")
    manager = SyncManager(ctx=context)
    manager.start(end_with_parent)
    return manager, context.Pool(workers, initializer=end_with_parent)
