"""Worker processes that end with their parent, however the parent ends, and tasks spread
over them (or over a Ray cluster) in order."""  # noqa: D205, D209

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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


@contextmanager
def open_pool(workers: int, address: str | None = None) -> Iterator[tuple[Any, Any]]:
    """``(manager, pool)`` of ``workers`` local processes (`worker_pool`), or of tasks on the
    Ray cluster at ``address`` (`portfolio_rl.plumbing.cluster.ray_pool`); leaving stops
    every worker or task that has not ended (an error, Ctrl-C) and the manager."""  # noqa: D205, D209
    if address is None:
        manager, pool = worker_pool(workers)
    else:
        from portfolio_rl.plumbing.cluster import ray_pool

        manager, pool = ray_pool(address)
    try:
        yield manager, pool
    finally:
        pool.terminate()
        pool.join()
        manager.shutdown()


def map_tasks(
    fn: Callable[..., Any],
    argsets: Sequence[tuple[Any, ...]],
    workers: int = 1,
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    what: str = "a task",
) -> list[Any]:
    """``[fn(*args) for args in argsets]`` in ``workers`` processes or on a Ray cluster.

    One task per argument set, in a local pool of ``workers`` processes or on the Ray
    cluster at ``address`` (`portfolio_rl.plumbing.cluster`); with one worker (or one
    argument set) and no address, here. Every call has one BLAS thread wherever it runs (the
    sums of a multi-threaded BLAS depend on its thread count), so ``fn``, a module-level
    function, gives the same result bit for bit; ``progress(done, total)`` as tasks end,
    in order.
    """
    total = len(argsets)
    if address is None and (workers <= 1 or total <= 1):
        out = []
        for done, args in enumerate(argsets, 1):
            out.append(_one_thread_call(fn, args))
            if progress is not None:
                progress(done, total)
        return out
    with open_pool(min(workers, total), address) as (_, pool):
        jobs = [
            pool.apply_async(
                _one_thread_call,
                (fn, args),
                **({} if address is None else {"what": f"{what} ({k}/{total})"}),
            )
            for k, args in enumerate(argsets, 1)
        ]
        out = []
        for done, job in enumerate(jobs, 1):
            out.append(job.get())  # raises a task's error here
            if progress is not None:
                progress(done, total)
    return out


def _one_thread_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fn(*args)
