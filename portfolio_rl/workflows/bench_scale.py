"""``portfolio-rl bench --only scale``: baselines and GRPO on 20 to 500 assets, beside skfolio.

The universes are one-factor markets (betas 0.5-1.5, idiosyncratic volatility 15-40%) of
daily prices; every baseline walks forward over its last 20 rebalances (a 252-day window,
a 21-day rebalance, no cost term: skfolio's models have none), skfolio's
``cross_val_predict`` with ``WalkForward(252, 21)`` on the same folds. At the largest size
the three models of the issue also run as whole processes (imports, data, run directory)
against a fresh Python running skfolio, as ``bench --only process`` does for sp500.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SIZES = (20, 50, 200, 500)
#: Rebalances timed per model: the last 20 of the market (a 252-day window before them).
FOLDS = 20
#: The models whose whole process is timed against skfolio's at the largest size.
PROCESS_MODELS = ("min_variance", "robust_mv_ellipsoid", "risk_parity")

_SKFOLIO_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from skfolio import RiskMeasure
from skfolio.model_selection import WalkForward, cross_val_predict
from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting
from skfolio.uncertainty_set import EmpiricalMuUncertaintySet
variance, utility = RiskMeasure.VARIANCE, ObjectiveFunction.MAXIMIZE_UTILITY
model = {
    "min_variance": lambda: MeanRisk(risk_measure=variance, raise_on_failure=False),
    "robust_mv_ellipsoid": lambda: MeanRisk(
        risk_measure=variance, objective_function=utility, risk_aversion=5.0,
        mu_uncertainty_set_estimator=EmpiricalMuUncertaintySet(
            confidence_level=0.95, diagonal=False),
        raise_on_failure=False),
    "risk_parity": lambda: RiskBudgeting(risk_measure=variance, raise_on_failure=False),
}[sys.argv[2]]()
prices = pd.read_csv(sys.argv[1], index_col="Date", parse_dates=True)
returns = prices.pct_change().iloc[1:]
cross_val_predict(model, returns, cv=WalkForward(train_size=252, test_size=21))
"""
#: skfolio's process imports only skfolio (and what it needs), never this package; a solve
#: that fails keeps going (``raise_on_failure=False``), as ours keeps its previous weights.


def one_factor_prices(n_assets: int, years: int = 12, seed: int = 0) -> pd.DataFrame:
    """A one-factor market of ``n_assets`` daily prices over ``years`` business years."""
    rng = np.random.default_rng(seed)
    n_days = 252 * years
    beta = rng.uniform(0.5, 1.5, n_assets)
    idio = rng.uniform(0.15, 0.40, n_assets) / np.sqrt(252)
    market = rng.normal(0.07 / 252, 0.16 / np.sqrt(252), n_days)
    returns = beta * market[:, None] + rng.normal(0, 1, (n_days, n_assets)) * idio + 0.02 / 252
    dates = pd.bdate_range("2008-01-01", periods=n_days, name="Date")
    names = [f"A{i:03d}" for i in range(n_assets)]
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=dates, columns=names)


def bench_scale(sizes: tuple[int, ...] = SIZES, repeats: int = 1) -> dict[str, Any]:
    """Per-rebalance seconds of every baseline (and skfolio's), GRPO seconds per iteration,
    and the whole-process comparison at the largest size."""  # noqa: D205, D209
    from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
    from portfolio_rl.backtest.runner import build_baselines
    from portfolio_rl.baselines import default_strategies
    from portfolio_rl.workflows.skfolio_models import SKFOLIO_EQUIVALENTS, skfolio_model

    try:
        from skfolio.model_selection import WalkForward, cross_val_predict
    except ImportError:
        cross_val_predict = None
    config = BacktestConfig(window=252, rebalance_days=21, cost_bps=0.0)
    models = [m for m in default_strategies(cash=False) if m != "benchmark"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            prices = one_factor_prices(n).iloc[-(252 + FOLDS * 21 + 1) :]
            for name in models:
                t0 = time.perf_counter()
                result = run_backtest(prices, build_baselines([name], config=config), config)
                folds = len(result.weights[name])
                out[f"scale_{name}_{n}_s"] = (time.perf_counter() - t0) / folds
                if cross_val_predict is not None and name in SKFOLIO_EQUIVALENTS:
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        cv = WalkForward(train_size=252, test_size=21)
                        cross_val_predict(skfolio_model(name), prices.pct_change().iloc[1:], cv=cv)
                    out[f"scale_{name}_{n}_skfolio_s"] = (time.perf_counter() - t0) / folds
        out |= _grpo_seconds(sizes, Path(tmp))
        if cross_val_predict is not None:
            prices = one_factor_prices(max(sizes)).iloc[-(252 + FOLDS * 21 + 1) :]
            out |= _processes(prices, Path(tmp), repeats)
    return out


def _grpo_seconds(
    sizes: tuple[int, ...], folder: Path, iterations: int = 10, rounds: int = 3
) -> dict[str, float]:
    """Seconds per iteration of 10 default GRPO iterations (data and features included) at
    every size: the median of ``rounds`` rounds, each training once at every size in turn,
    so that a busy stretch of a shared machine slows every size alike, not one."""  # noqa: D205, D209
    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.registry import train
    from portfolio_rl.workflows.training import one_thread

    seconds: dict[int, list[float]] = {n: [] for n in sizes}
    markets = {n: one_factor_prices(n) for n in sizes}
    dates = markets[sizes[0]].index  # the markets share one calendar
    config = TrainConfig(
        iterations=iterations,
        train_end=str(dates[int(len(dates) * 0.6)].date()),
        val_end=str(dates[int(len(dates) * 0.8)].date()),
        data_start=str(dates[0].date()),
        eval_every=iterations,
    )
    with one_thread():
        for i in range(rounds):
            for n, prices in markets.items():
                t0 = time.perf_counter()
                train(config, prices, folder / f"g{n}-{i}")
                seconds[n].append((time.perf_counter() - t0) / iterations)
    return {f"scale_grpo_{n}_s": float(np.median(times)) for n, times in seconds.items()}


def _processes(prices: pd.DataFrame, tmp: Path, repeats: int) -> dict[str, Any]:
    """Whole processes on the same file and folds: ``portfolio-rl backtest`` against skfolio."""
    n = prices.shape[1]
    path = tmp / f"prices{n}.csv"
    prices.to_csv(path)
    start = str(prices.index[252].date())
    out: dict[str, Any] = {}
    for name in PROCESS_MODELS:
        ours, theirs = [], []
        for i in range(repeats):
            args = ["backtest", "--prices", str(path), "--strategies", name, "--start", start]
            args += ["--cost-bps", "0", "--out", str(tmp / f"p{name}{i}")]
            commands = (
                ([sys.executable, "-m", "portfolio_rl", *args], ours),
                ([sys.executable, "-c", _SKFOLIO_SCRIPT, str(path), name], theirs),
            )
            for command, times in commands:
                t0 = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, cwd=tmp)
                times.append(time.perf_counter() - t0)
        out[f"process_{name}_{n}_s"] = float(np.median(ours))
        out[f"process_{name}_{n}_skfolio_s"] = float(np.median(theirs))
        out[f"process_{name}_{n}_speedup"] = float(np.median(theirs) / np.median(ours))
    return out


def scale_tables(figures: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The scale figures as ``(title, header, rows)`` tables (``bench_tables`` adds them)."""
    import re

    ours = {}
    for key, value in figures.items():
        if match := re.fullmatch(r"scale_(\w+?)_(\d+)(_skfolio)?_s", key):
            name, n, theirs = match.groups()
            ours.setdefault(name, {})[(int(n), bool(theirs))] = value
    if not ours:
        return []
    sizes = sorted({n for cells in ours.values() for n, _ in cells})
    rows = []
    for name in sorted(ours, key=lambda m: (m == "grpo", m)):
        row = ["GRPO (s per iteration)" if name == "grpo" else name]
        for n in sizes:
            mine, theirs = ours[name].get((n, False)), ours[name].get((n, True))
            cell = "-" if mine is None else f"{mine:.3g}"
            row.append(cell + ("" if theirs is None else f" ({theirs:.3g})"))
        rows.append(row)
    grpo = ours.get("grpo", {})
    if (50, False) in grpo:  # issue 24: at most 10x from 50 to 500 assets
        ratios = [grpo.get((n, False), float("nan")) / grpo[(50, False)] for n in sizes]
        rows.append(["GRPO, x its time at 50 assets", *(f"{r:.2f}x" for r in ratios)])
    tables = [
        (
            "seconds per rebalance, ours (skfolio's in brackets)",
            ["model", *(f"{n} assets" for n in sizes)],
            rows,
        )
    ]
    procs = []
    for key in figures:
        if match := re.fullmatch(r"process_(\w+?)_(\d+)_speedup", key):
            name, n = match.groups()
            procs.append(
                [
                    f"{name} ({n} assets)",
                    f"{figures[f'process_{name}_{n}_s']:.1f}",
                    f"{figures[f'process_{name}_{n}_skfolio_s']:.1f}",
                    f"{figures[key]:.2f}x",
                ]
            )
    if procs:
        title = "whole process, seconds (the same file and folds)"
        tables.append((title, ["model", "ours", "skfolio", "speed-up"], procs))
    return tables
