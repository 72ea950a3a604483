"""Build strategies by name, evaluate a backtest result, and write the run directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig, BacktestResult
from portfolio_rl.backtest.metrics import compute_metrics
from portfolio_rl.backtest.stats import compute_stats
from portfolio_rl.backtest.strategies import BaselineStrategy
from portfolio_rl.baselines import (
    BASELINES,
    FAILED_SHARE,
    best_robust,
    failed_strategies,
    make_baseline,
)
from portfolio_rl.conventions.market import PERIODS, daily_rate
from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.files import atomic_write, atomic_write_text, child_path


def build_baselines(
    names: Sequence[str],
    params: dict[str, dict[str, Any]] | None = None,
    config: BacktestConfig | None = None,
    cash: bool = False,
) -> list[BaselineStrategy]:
    """Baseline strategies by command-line name (``benchmark`` is handled by the engine).

    Models with a cost term (``uses_costs``) get the backtest's cost rate and holding
    period unless their parameters say otherwise; models that set a cash weight
    (``uses_cash``) need ``cash``. Bad names and parameters are a ConfigError, before any
    data is read.
    """
    params = params or {}
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ConfigError(
            f"unknown strategy {', '.join(unknown)}; choose from {', '.join(BASELINES)}"
        )
    out = []
    for name in names:
        if name == "benchmark":
            continue
        given = params.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"strategy_params.{name} must be a mapping, got {given!r}")
        p = dict(given)
        cls = BASELINES[name][0]
        if cls.uses_cash and not cash:
            raise ConfigError(f"{name} holds cash: run it with cash (`cash: true` or --cash)")
        if config is not None and cls.uses_costs:
            p.setdefault("cost_bps", config.cost_bps)
            p.setdefault("holding_days", config.rebalance_days)
        try:
            model = make_baseline(name, **p)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad parameters for {name}: {exc}") from None
        out.append(BaselineStrategy(name, model))
    return out


def evaluate(
    result: BacktestResult,
    rf: float | pd.Series = 0.0,
    n_boot: int = 1000,
    seed: int = 0,
    anchor_of: dict[str, str] | None = None,
    comparator: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics and statistics of a backtest result.

    ``rf``: an annual rate, or the daily risk-free series (a dataset's own ``RF``) that
    Sharpe, Sortino and the statistics are in excess of; ``anchor_of``: anchored policy ->
    its anchor's strategy, tested against each other too; ``comparator``: the strategy the
    experiment named before the test, every strategy tested against it.
    """
    metrics = compute_metrics(result.returns, result.turnover, result.costs, rf=rf)
    fails = result.failures.groupby("strategy").size() if len(result.failures) else pd.Series()
    metrics["solver_failures"] = [int(fails.get(n, 0)) for n in metrics.index]
    metrics["failed"] = metrics["solver_failures"] > FAILED_SHARE * max(len(result.turnover), 1)
    if "benchmark" in result.returns:
        metrics = metrics.join(against_benchmark(result.returns))
    reference = "equal_weight" if "equal_weight" in result.returns else None
    stats = compute_stats(
        result.returns,
        reference=reference,
        best_robust=best_robust(metrics),
        n_boot=n_boot,
        seed=seed,
        rf=None if np.isscalar(rf) and rf == 0 else _daily(rf, result.returns.index),
        anchor_of=anchor_of,
        comparator=comparator,
    )
    return metrics, stats


def against_benchmark(returns: pd.DataFrame) -> pd.DataFrame:
    """Each strategy against the ``benchmark`` column: the annualised active return (mean
    daily difference x 252), tracking error (its annualised std) and their ratio, the
    information ratio (Grinold & Kahn, Active Portfolio Management, 2000)."""  # noqa: D205, D209
    active = returns.drop(columns="benchmark").sub(returns["benchmark"], axis=0)
    mean, error = active.mean() * PERIODS, active.std(ddof=1) * np.sqrt(PERIODS)
    return pd.DataFrame(
        {"active_return": mean, "tracking_error": error, "information_ratio": mean / error}
    )


def failing(result: BacktestResult, metrics: pd.DataFrame) -> list[str]:
    """One line per strategy marked failed (more than `FAILED_SHARE` of its decisions)."""
    rebalances = len(result.turnover)
    return [
        f"{name}: {int(metrics.loc[name, 'solver_failures'])} of {rebalances} solves failed "
        "(it kept its previous weights then): marked failed, left out of the verdict"
        for name in failed_strategies(metrics)
    ]


def _daily(rf: float | pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """The daily risk-free rate on ``index`` from an annual rate or a daily series."""
    if np.isscalar(rf):
        return pd.Series(daily_rate(float(rf)), index=index)
    return rf.reindex(index)


def write_run(
    out: Path,
    result: BacktestResult,
    metrics: pd.DataFrame,
    stats: pd.DataFrame,
    config: dict[str, Any],
) -> None:
    """Write the run directory of DESIGN.md, each file atomically.

    ``returns.csv``, ``weights/<strategy>.csv``, ``turnover.csv``, ``costs.csv``,
    ``failures.csv``, ``metrics.csv``, ``stats.csv``, ``config.json``.
    """
    out.mkdir(parents=True, exist_ok=True)

    def csv(frame: pd.DataFrame, path: Path, index: bool = True) -> None:
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index, float_format="%.17g"))

    csv(result.returns.rename_axis("date"), out / "returns.csv")
    weights_dir = out / "weights"
    for name, frame in result.weights.items():
        csv(frame.rename_axis("date"), child_path(weights_dir, name, ".csv", what="strategy"))
    csv(result.turnover.rename_axis("date"), out / "turnover.csv")
    csv(result.costs.rename_axis("date"), out / "costs.csv")
    csv(result.failures, out / "failures.csv", index=False)
    csv(metrics.rename_axis("strategy"), out / "metrics.csv")
    csv(stats.rename_axis("strategy"), out / "stats.csv")
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, default=str) + "\n")
