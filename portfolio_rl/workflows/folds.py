"""Walk-forward folds of the RL policies: when each is trained, on what, and from what.

Fold k of a run trades from ``test start + k * retrain_every`` months until the next fold's
first day. It trains on everything up to the splits' ``train_end`` moved forward by the same
time (an expanding window), validates on the splits' validation length right before its first
trade, and starts from fold k-1's policy. Nothing a fold sees is later than the day before it
trades (a test changes every later price and finds its weights bit-identical).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portfolio_rl.plumbing.typed import parse_date
from portfolio_rl.workflows.experiment import ExperimentConfig

if TYPE_CHECKING:
    from portfolio_rl.agents.config import TrainConfig


def test_start(exp: ExperimentConfig) -> str:
    """First test date: the day after the validation range."""
    return str((pd.Timestamp(exp.splits.val_end) + pd.Timedelta(days=1)).date())


def fold_starts(exp: ExperimentConfig, prices: pd.DataFrame) -> list[pd.Timestamp]:
    """First trading date of each walk-forward fold: the test start, then every
    ``retrain_every`` months until the data ends (one fold without walk-forward)."""  # noqa: D205, D209
    first = parse_date(test_start(exp), "test start")
    if not exp.rl.walk_forward:
        return [first]
    last = prices.index[-1]
    starts, k = [], 0
    while (start := first + pd.DateOffset(months=k * exp.rl.retrain_every)) <= last:
        starts.append(start)
        k += 1
    return starts


def fold_ranges(
    exp: ExperimentConfig, starts: list[pd.Timestamp]
) -> list[tuple[pd.Timestamp, str, str]]:
    """``(first trading day, train_end, val_end)`` of each fold: validation ends the day
    before the fold trades and is as long as the splits' validation range."""  # noqa: D205, D209
    split = parse_date(exp.splits.val_end, "val_end") - parse_date(exp.splits.train_end, "")
    out = []
    for start in starts:
        val_end = start - pd.Timedelta(days=1)
        out.append((start, str((val_end - split).date()), str(val_end.date())))
    return out


def fold_configs(
    exp: ExperimentConfig,
    algo: str,
    seed: int,
    starts: list[pd.Timestamp],
    folder: Path,
    anchors: list[str] | None = None,
) -> Iterator[tuple[pd.Timestamp, Path, TrainConfig]]:
    """First day, run folder and TrainConfig of each fold: an expanding training range that
    ends the splits' validation length before the fold starts, validation up to the day
    before it, and a warm start from the previous fold's policy (``fold_iterations`` after
    the first; with an expanding validation window, fold k validates from the first fold's
    validation start). One fold (no walk-forward) trains in ``folder`` itself, fold k in
    ``folder/fold-k``. ``anchors`` gives each fold's resolved anchor (``auto`` chooses one
    per fold)."""  # noqa: D205, D209
    from portfolio_rl.workflows.experiment import train_config_for

    expanding = exp.rl.validation == "expanding" or (
        exp.rl.validation == "auto" and train_config_for(exp, algo, seed).guided
    )
    previous = None
    for k, (start, train_end, val_end) in enumerate(fold_ranges(exp, starts)):
        overrides: dict[str, Any] = {"train_end": train_end, "val_end": val_end}
        if expanding and k > 0:  # every fold from the first fold's validation start
            overrides["val_after"] = exp.splits.train_end
        if previous is not None:
            overrides["iterations"] = exp.rl.fold_iterations
            overrides["init_policy"] = str(previous / "policy.pt")
        if anchors is not None:
            overrides["anchor"] = anchors[k]
        run = folder if len(starts) == 1 else folder / f"fold-{k:02d}"
        yield start, run, train_config_for(exp, algo, seed, **overrides)
        previous = run


def fold_table(
    returns: pd.DataFrame, starts: list[pd.Timestamp], rf: pd.Series, groups: dict[str, list[str]]
) -> pd.DataFrame:
    """Test Sharpe ratio of each fold's trading period, and pooled over all of them.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
        The backtest's daily net returns.
    starts : list of Timestamp
        First trading day of each fold.
    rf : Series
        Daily risk-free rate (Sharpe is in excess of it).
    groups : dict
        Column name -> the strategies averaged into it (an algorithm's seeds, or one name).

    Returns
    -------
    DataFrame indexed by fold (``1`` .. ``k``, then ``pooled``) with ``start``, ``end`` and
    one Sharpe column per group.
    """
    from portfolio_rl.conventions.measures import sharpe

    bounds = [*starts, returns.index[-1] + pd.Timedelta(days=1)]
    periods = [(str(k + 1), a, b) for k, (a, b) in enumerate(itertools.pairwise(bounds))]
    periods.append(("pooled", bounds[0], bounds[-1]))
    rows = {}
    for label, a, b in periods:
        days = returns.loc[a : b - pd.Timedelta(days=1)]
        if len(days) < 2:
            continue
        excess = rf.reindex(days.index).to_numpy()
        row: dict[str, Any] = {
            "start": str(days.index[0].date()),
            "end": str(days.index[-1].date()),
        }
        for column, names in groups.items():
            row[column] = float(np.mean([sharpe(days[n].to_numpy(), excess) for n in names]))
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fold")
