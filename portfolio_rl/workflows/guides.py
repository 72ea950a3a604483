"""What anchored and steered policies start from in each walk-forward fold.

An anchored policy starts from a baseline's weights on every day (``auto``: the baseline
with the best Sharpe ratio over the validation years before the fold); a steered policy
from a baseline's parameters, whose frontier tables training reads. Both are computed once
per run from windows of prices that end on the day they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from portfolio_rl.workflows.experiment import ExperimentConfig
from portfolio_rl.workflows.folds import fold_ranges

if TYPE_CHECKING:
    from portfolio_rl.agents.anchor import Anchor
    from portfolio_rl.agents.steer_table import Steering


def fold_anchors(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    starts: list[pd.Timestamp],
    spec: str,
    hooks: Any,
    workers: int = 1,
    address: str | None = None,
) -> tuple[list[Anchor | None], list[dict[str, Any]]]:
    """Each fold's anchor for the anchor setting ``spec`` (``none``, a baseline or ``auto``).

    ``auto`` walks every baseline of the experiment but the index forward over the expanding
    validation window (from the splits' first validation day to the day before the fold
    trades, nothing later) and keeps the one with the best Sharpe ratio there, the test's
    measure; the chosen baselines' tables are computed once, together, on the `used_days`
    only. The walks and the tables' blocks of days run in ``workers`` processes or as tasks
    on the Ray cluster at ``address``, with the same result.
    """
    from portfolio_rl.backtest.anchors import anchor_tables, choose_anchors
    from portfolio_rl.baselines import default_strategies

    if spec == "none":
        return [None] * len(starts), []
    candidates = [n for n in exp.strategies or default_strategies(exp.cash) if n != "benchmark"]
    anchors, choices = [], []
    ranges = fold_ranges(exp, starts)
    picks = [(spec, {})] * len(ranges)
    if spec == "auto":  # the expanding window: every fold from the same first day
        val_start = str((pd.Timestamp(exp.splits.train_end) + pd.Timedelta(days=1)).date())
        hooks.stage(f"[2/4] choosing each fold's anchor among {len(candidates)} baselines")
        ends = [val_end for _, _, val_end in ranges]
        picks = choose_anchors(
            prices,
            candidates,
            exp.strategy_params,
            exp.backtest,
            val_start,
            ends,
            exp.constraints,
            workers,
            address,
        )
    names = list(dict.fromkeys(name for name, _ in picks))
    days = used_days(exp, prices, ranges)
    hooks.stage(f"[2/4] anchor weights of {', '.join(names)} on the {len(days):,} days a run reads")
    with hooks.bar("anchor tables", len(days) * len(names)) as update:
        tables = anchor_tables(
            prices,
            {name: exp.strategy_params.get(name, {}) for name in names},
            exp.backtest.window,
            progress=update,
            days=days,
            mandate=exp.constraints,
            workers=workers,
            address=address,
        )
    for (start, _, _), (name, scores) in zip(ranges, picks, strict=True):
        anchors.append(tables[name])
        choices.append({"start": str(start.date()), "anchor": name, "val_scores": scores})
    return anchors, choices


def used_days(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    ranges: list[tuple[pd.Timestamp, str, str]],
    test: bool = True,
) -> pd.DatetimeIndex:
    """The closes a walk-forward run reads an anchor on: every ``rebalance_days``-th day up
    to the last fold's train_end (training starts and their steps), each fold's validation
    decisions (from its own train_end, and from the first fold's for an expanding window),
    and (``test``) the test's decisions."""  # noqa: D205, D209
    from portfolio_rl.backtest.steering import table_days

    h, index = exp.backtest.rebalance_days, prices.index
    days = [table_days(prices, exp.backtest, ranges[-1][1])]
    expanding = (ranges[0][0], exp.splits.train_end, ranges[-1][2])
    for _, train_end, val_end in [*ranges, expanding]:
        first = int(index.searchsorted(pd.Timestamp(train_end), side="right")) - 1
        last = int(index.searchsorted(pd.Timestamp(val_end), side="right")) - 1
        days.append(index[max(first, 0) : last + 1 : h])
    if test:
        first = max(int(index.searchsorted(ranges[0][0])), exp.backtest.window)
        days.append(index[first::h])
    return days[0].append(days[1:]).unique().sort_values()


def fold_steering(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    starts: list[pd.Timestamp],
    name: str,
    hooks: Any,
    workers: int = 1,
    address: str | None = None,
) -> Steering:
    """The steered baseline ``name``'s solver and its tables on the days training and
    validation decide (`used_days` without the test: the backtest solves exactly), in
    ``workers`` processes or on the Ray cluster at ``address``."""  # noqa: D205, D209
    from portfolio_rl.backtest.steering import steering_for

    ranges = fold_ranges(exp, starts)
    days = used_days(exp, prices, ranges, test=False)
    hooks.stage(f"[2/4] frontier tables of {name} on the {len(days):,} days training reads")
    with hooks.bar(f"tables {name}", len(days)) as update:
        return steering_for(
            prices,
            name,
            exp.strategy_params,
            exp.backtest,
            ranges[-1][1],
            update,
            days,
            exp.constraints,
            workers,
            address,
        )
