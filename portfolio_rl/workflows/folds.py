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
    from portfolio_rl.agents.checkpoint import PolicyStrategy
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


def fold_configs(
    exp: ExperimentConfig, algo: str, seed: int, starts: list[pd.Timestamp], folder: Path
) -> Iterator[tuple[pd.Timestamp, Path, TrainConfig]]:
    """First day, run folder and TrainConfig of each fold: an expanding training range that
    ends the splits' validation length before the fold starts, validation up to the day
    before it, and a warm start from the previous fold's policy (``fold_iterations`` after
    the first). One fold (no walk-forward) trains in ``folder`` itself, fold k in
    ``folder/fold-k``."""  # noqa: D205, D209
    from portfolio_rl.workflows.experiment import train_config_for

    split = parse_date(exp.splits.val_end, "val_end") - parse_date(exp.splits.train_end, "")
    previous = None
    for k, start in enumerate(starts):
        val_end = start - pd.Timedelta(days=1)
        overrides: dict[str, Any] = {
            "train_end": str((val_end - split).date()),
            "val_end": str(val_end.date()),
        }
        if previous is not None:
            overrides["iterations"] = exp.rl.fold_iterations
            overrides["init_policy"] = str(previous / "policy.pt")
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


def train_policies(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    starts: list[pd.Timestamp],
    root: Path,
    hooks: Any,
) -> tuple[
    list[Path], dict[str, tuple[str, int]], dict[str, float], list[PolicyStrategy], list[str]
]:
    """Train every algorithm and seed through the folds into ``root/policies``.

    With ``rl.seeds_together`` a GRPO fold trains all its seeds in one batched call
    ([`portfolio_rl.agents.seeds`][]); otherwise seed after seed. A later fold whose
    training diverges keeps its starting policy (the previous fold's, scored on validation
    before any update) and is listed; a first fold that diverges stops the run.

    Returns
    -------
    folders, names, wall_s, policies, diverged
        Each policy's folder, its ``(algo, seed)`` by strategy name, its training seconds,
        the strategy (a `FoldedPolicy` with several folds), and the folds whose
        training diverged.
    """
    from portfolio_rl.agents.checkpoint import FoldedPolicy, load_policy_strategy
    from portfolio_rl.agents.registry import trainer
    from portfolio_rl.agents.seeds import train_seeds
    from portfolio_rl.errors import TrainingDiverged

    seeds = exp.rl.seeds
    names = {f"{a}_s{s}": (a, s) for a in exp.rl.algos for s in seeds}
    folders = [root / "policies" / f"{a}-s{s}" for a, s in names.values()]
    wall_s = dict.fromkeys(names, 0.0)
    folds: dict[str, list[tuple[pd.Timestamp, PolicyStrategy]]] = {n: [] for n in names}
    diverged: list[str] = []
    jobs: list[tuple[str, tuple[int, ...]]] = []
    for algo in exp.rl.algos:
        if exp.rl.seeds_together and algo == "grpo":
            jobs.append((algo, seeds))  # one batched training per fold
        else:
            jobs += [(algo, (s,)) for s in seeds]
    for i, (algo, group) in enumerate(jobs, 1):
        home = root / "policies"
        plans = [fold_configs(exp, algo, s, starts, home / f"{algo}-s{s}") for s in group]
        for k, fold in enumerate(zip(*plans, strict=True)):
            where = f", fold {k + 1}/{len(starts)} from {fold[0][0].date()}"
            where = where if len(starts) > 1 else ""
            label = " ".join(map(str, group))
            hooks.stage(f"[2/4] training {algo} seed {label} ({i}/{len(jobs)}{where})")
            configs = [cfg for _, _, cfg in fold]
            with hooks.bar(f"train {algo}", configs[0].iterations) as update:
                try:
                    if len(group) > 1:
                        results = train_seeds(configs, prices, [f for _, f, _ in fold], update)
                    else:
                        results = [trainer(algo)(configs[0], prices, fold[0][1], progress=update)]
                except TrainingDiverged as exc:
                    if k == 0 or len(group) > 1:
                        raise
                    # the fold's starting policy (the previous fold's) was scored and saved
                    # before any update: it stays this fold's policy, and the run says so
                    results = [None]
                    diverged.append(f"{algo} seed {group[0]}, fold {k + 1}: {exc}")
                    hooks.stage(f"      {exc}; fold {k + 1} keeps fold {k}'s policy")
            for seed, (start, run, cfg), res in zip(group, fold, results, strict=True):
                name = f"{algo}_s{seed}"
                if res is not None:
                    hooks.stage(
                        f"      seed {seed}: best validation {cfg.objective_label} "
                        f"{res.best_score:.3f} ({res.kept}) after {res.iterations_run} "
                        f"iterations, {res.wall_s:.1f} s"
                    )
                    wall_s[name] += res.wall_s
                folds[name].append((start, load_policy_strategy(run, name)))
    policies = [f[0][1] if len(f) == 1 else FoldedPolicy(n, f) for n, f in folds.items()]
    return folders, names, wall_s, policies, diverged
