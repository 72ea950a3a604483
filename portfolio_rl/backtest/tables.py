"""A baseline's decisions on many days, in blocks of days spread over processes.

Anchor tables (`portfolio_rl.backtest.anchors`) and frontier tables
(`portfolio_rl.backtest.steering`) decide each day from the window of returns ending there,
with no previous weights, so their days are independent: they are cut into blocks of `BLOCK`
days, and `portfolio_rl.plumbing.processes.map_tasks` computes the blocks in the run's worker
processes or as tasks on a Ray cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig, bind_mandate, decide, decision_window
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.conventions.mandate import Limits, Mandate, project
from portfolio_rl.conventions.market import CASH
from portfolio_rl.plumbing.processes import map_tasks

#: Decision days per block of a table. Each block decides with a strategy of its own (a
#: warm-started method such as risk parity starts afresh), so a table is the same wherever
#: and in how many processes its blocks are computed.
BLOCK = 250


def baseline_tables(
    prices: pd.DataFrame,
    baselines: dict[str, dict[str, Any]],
    window: int,
    progress: Callable[[int, int], None] | None,
    days: pd.DatetimeIndex | None = None,
    mandate: Mandate | None = None,
    workers: int = 1,
    address: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Each baseline's decision on each day (every day, or ``days``), previous weights kept
    where a solve fails, with the engine's rules for cash and a mandate; the days in blocks
    of `BLOCK`, spread over ``workers`` processes or the Ray cluster at ``address``."""  # noqa: D205, D209
    closes = list(range(window, len(prices)))
    if days is not None:  # only the days a run reads; the rest stay unknown (NaN)
        wanted = prices.index.get_indexer(days)
        closes = sorted({int(t) for t in wanted if t >= window})
    blocks = [closes[k : k + BLOCK] for k in range(0, len(closes), BLOCK)]
    tasks = [(prices, n, p, window, b, mandate) for n, p in baselines.items() for b in blocks]
    sizes = [len(b) for _ in baselines for b in blocks]  # days decided as tasks end
    decided = iter(
        map_tasks(
            _decisions,
            tasks,
            workers,
            address,
            None if progress is None else lambda k, _: progress(sum(sizes[:k]), sum(sizes)),
            what=f"the anchor tables of {', '.join(baselines)}",
        )
    )
    n_risky = prices.shape[1] - int(prices.columns[-1] == CASH)
    start = np.zeros(prices.shape[1])
    start[:n_risky] = 1.0 / n_risky  # equal weights in the risky assets, within the limits
    start = project(start, bind_mandate([], list(prices.columns), mandate)[0])
    out = {}
    for name in baselines:
        held = start
        weights = np.tile(held, (len(prices), 1))
        if days is not None:
            weights[:] = np.nan
            weights[[int(t) for t in prices.index.get_indexer(days) if 0 <= t < window]] = held
        mine = [w for _ in blocks for w in next(decided)]
        for t, w in zip(closes, mine, strict=True):
            if w is not None:  # a failed decision keeps the previous day's weights
                held = w
            weights[t] = held
        out[name] = pd.DataFrame(weights, index=prices.index, columns=prices.columns)
    return out


def _bound(
    prices: pd.DataFrame,
    name: str,
    params: dict[str, Any],
    window: int,
    mandate: Mandate | None,
) -> tuple[Any, Limits | None, bool, float]:
    """The baseline ``name`` built for a table and bound to the mandate:
    ``(strategy, limits, risky_only, cash_floor)``."""  # noqa: D205, D209
    (strategy,) = build_baselines(
        [name], {name: params}, BacktestConfig(window=window), cash=prices.columns[-1] == CASH
    )
    limits, risky_only, floor = bind_mandate([strategy], list(prices.columns), mandate)
    return strategy, limits, risky_only[name], floor


def _decisions(
    prices: pd.DataFrame,
    name: str,
    params: dict[str, Any],
    window: int,
    closes: list[int],
    mandate: Mandate | None,
) -> list[np.ndarray | None]:
    """One block of a table: the decision at each of ``closes`` (None where it failed)."""
    strategy, limits, risky_only, floor = _bound(prices, name, params, window, mandate)
    config = BacktestConfig(window=window)
    zeros = np.zeros(prices.shape[1])
    out = []
    for t in closes:
        frame = decision_window(prices, t, config)
        out.append(decide(strategy, frame, zeros, risky_only, limits, floor)[0])
    return out
