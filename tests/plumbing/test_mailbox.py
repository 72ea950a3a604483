"""The mailbox actor's logic, run without Ray: channels apart, order kept, waits bounded."""

import asyncio
import time

from portfolio_rl.plumbing.mailbox import Mailbox


def test_a_take_returns_its_channels_items_in_order_and_leaves_the_others():
    async def go():
        box = Mailbox()
        for item in ("a", "b", None):
            await box.put(1, item)
        await box.put(2, "other")
        return await box.take(1, 0.0), await box.take(1, 0.0), await box.take(2, 0.0)

    assert asyncio.run(go()) == (["a", "b", None], [], ["other"])


def test_a_take_waits_for_the_first_item_and_no_longer_than_its_timeout():
    async def go():
        box = Mailbox()
        started = time.perf_counter()
        empty = await box.take(0, 0.2)
        waited = time.perf_counter() - started

        async def later():
            await asyncio.sleep(0.05)
            await box.put(0, "late")

        started = time.perf_counter()
        _, got = await asyncio.gather(later(), box.take(0, 5.0))
        return empty, waited, got, time.perf_counter() - started

    empty, waited, got, took = asyncio.run(go())
    assert empty == [] and 0.15 < waited < 2.0
    assert got == ["late"] and took < 2.0
