"""Progress from Ray tasks: queues that are channels of one actor on the head node.

A run's pools need a few queues (fold lines, backtest ticks, task starts). Each Ray actor is
a process of its own, and starting one costs about a CPU-second of imports, taken from the
tasks on a busy node; so every queue of a driver is a channel of one `Mailbox` actor, made
when the driver attaches and ended when it detaches. A task's puts go without waiting, and
the puts of one task arrive in the order made (Ray keeps the order of one caller's calls to
an actor); the driver takes a channel's items in one call, waiting up to a timeout for the
first.
"""

from __future__ import annotations

import itertools
import queue
import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

_CHANNELS = itertools.count()
_MAILBOX: Any = None


class Mailbox:
    """The actor: a list of items per channel; `take` waits for the first, then takes all."""

    def __init__(self) -> None:
        self.items: dict[int, list[Any]] = {}
        self.arrived: dict[int, asyncio.Event] = {}

    def _event(self, channel: int) -> asyncio.Event:
        import asyncio

        return self.arrived.setdefault(channel, asyncio.Event())

    async def put(self, channel: int, item: Any) -> None:
        """Add ``item`` to ``channel``."""
        self.items.setdefault(channel, []).append(item)
        self._event(channel).set()

    async def take(self, channel: int, timeout: float) -> list[Any]:
        """Every item of ``channel``, oldest first; waits up to ``timeout`` s for one."""
        import asyncio

        if not self.items.get(channel) and timeout > 0:
            try:
                await asyncio.wait_for(self._event(channel).wait(), timeout)
            except TimeoutError:
                pass
        self._event(channel).clear()
        return self.items.pop(channel, [])


def mailbox() -> Any:
    """The driver's `Mailbox` actor on the head node (made at the first call)."""
    global _MAILBOX
    if _MAILBOX is None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        heads = [n["NodeID"] for n in ray.nodes() if "node:__internal_head__" in n["Resources"]]
        node = heads[0] if heads else ray.get_runtime_context().get_node_id()
        there = NodeAffinitySchedulingStrategy(node, soft=True)
        _MAILBOX = ray.remote(num_cpus=0, scheduling_strategy=there)(Mailbox).remote()
    return _MAILBOX


def forget_mailbox() -> None:
    """Drop the handle (the actor ends with the driver's job when it detaches)."""
    global _MAILBOX
    _MAILBOX = None


class RayQueue:
    """A queue over a channel of the mailbox, for progress, best effort: when the actor is
    lost (``lost``), puts are dropped and gets find it empty, so the tasks and their results
    go on without their progress lines."""  # noqa: D205, D209

    def __init__(self) -> None:
        self.box = mailbox()
        self.channel = next(_CHANNELS)
        self.lost = False
        self._held: deque[Any] = deque()

    def __getstate__(self) -> dict[str, Any]:  # a task's copy holds nothing taken
        return {"box": self.box, "channel": self.channel, "lost": False, "_held": deque()}

    def put(self, item: Any) -> None:
        """Put ``item`` without waiting: a task that waited on the queue would hand its CPU
        back to Ray, which then starts another task on it (the node oversubscribed)."""  # noqa: D205, D209
        if not self.lost:
            self.box.put.remote(self.channel, item)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next item; ``queue.Empty`` after ``timeout`` seconds (at once without
        ``block``)."""  # noqa: D205, D209
        import ray

        wait = (3600.0 if timeout is None else timeout) if block else 0.0
        for _ in range(20):  # "temporarily unavailable" while a lost node is handled
            if self._held or self.lost:
                break
            try:
                self._held.extend(ray.get(self.box.take.remote(self.channel, wait)))
                break
            except ray.exceptions.ActorUnavailableError:
                time.sleep(0.5)
            except ray.exceptions.RayError:
                self.lost = True
        else:
            self.lost = True
        if self._held:
            return self._held.popleft()
        if self.lost and wait:
            time.sleep(wait)
        raise queue.Empty

    def get_nowait(self) -> Any:
        """The next item, or ``queue.Empty``."""
        return self.get(block=False)
