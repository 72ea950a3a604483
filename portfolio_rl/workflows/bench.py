"""``portfolio-rl bench``: the throughput figures the project promises, measured here.

Each figure is a median over repeats after a warm-up, inside one process; they are
benchmarks to read, not timed tests.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from portfolio_rl.workflows.skfolio_models import SKFOLIO_EQUIVALENTS, skfolio_model


def _median_rate(work: Callable[[], int], repeats: int = 3) -> float:
    work()  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        units = work()
        rates.append(units / (time.perf_counter() - start))
    return float(np.median(rates))


def bench_env(n_steps: int = 20_000) -> dict[str, Any]:
    """Gymnasium env on sp500 (20 assets), random score actions, one step = one trading day."""
    from portfolio_rl.envs.portfolio_env import PortfolioEnv

    env = PortfolioEnv("sp500", rebalance_days=1, episode_days=5000)
    actions = np.random.default_rng(0).normal(size=(n_steps, len(env.assets))).astype(np.float32)

    def work() -> int:
        env.reset(seed=0)
        for action in actions:
            if env.step(action)[3]:
                env.reset()
        return n_steps

    return {"env_steps_per_s": _median_rate(work)}


def bench_simulator(
    b: int = 64, g: int = 16, k: int = 12, h: int = 21, n: int = 20
) -> dict[str, Any]:
    """Batched torch simulator, float32, B*G = 1024 trajectories of K*h days on 20 assets;
    beside it the plain buy-and-hold ceiling (cumulative product and one einsum)."""  # noqa: D205, D209
    import torch

    from portfolio_rl.envs.simulator import simulate

    gen = torch.Generator().manual_seed(0)
    weights = torch.softmax(torch.randn(b, g, k, n, generator=gen), dim=-1)
    returns = 0.01 * torch.randn(b, k * h, n, generator=gen)
    days = b * g * k * h

    def sim() -> int:
        simulate(weights, returns, cost_bps=10.0)
        return days

    def ceiling() -> int:
        growth = torch.cumprod(1 + returns, dim=1)
        torch.einsum("bgn,btn->bgt", weights[:, :, 0], growth)
        return days

    return {
        "sim_portfolio_steps_per_s": _median_rate(sim, repeats=5),
        "sim_buy_and_hold_ceiling_per_s": _median_rate(ceiling, repeats=5),
        "sim_batch": f"B={b} G={g} K={k} h={h} n={n} float32 threads={torch.get_num_threads()}",
    }


def bench_training(iterations: int = 8) -> dict[str, Any]:
    """GRPO update throughput with the default config on sp500: portfolio-days simulated per
    second of whole iterations (rollout, rewards, advantages and the mu gradient steps)."""  # noqa: D205, D209
    import tempfile

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.grpo import train_grpo as train
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2000-01-01", end="2014-12-31")
    config = TrainConfig(iterations=iterations, eval_every=10_000, patience=10_000)
    days = config.batch_starts * config.group_size * config.steps * config.rebalance_days
    with tempfile.TemporaryDirectory() as tmp:
        elapsed = _timed_after_warmup(lambda folder: train(config, prices, folder), Path(tmp))
    return {
        "train_grpo_portfolio_days_per_s": days * iterations / elapsed,
        "train_grpo_s_per_iteration": elapsed / iterations,
        "train_batch": f"B={config.batch_starts} G={config.group_size} K={config.steps} "
        f"h={config.rebalance_days} mu={config.mu}",
    }


def bench_steer(iterations: int = 8) -> dict[str, Any]:
    """A steered GRPO on industries49 (49 assets, cash): the frontier table of one day
    (three shrinkage levels, the critical line; the mean over the training days) and
    seconds per training iteration, whole run (its validations included), the tables
    built beforehand."""  # noqa: D205, D209
    import tempfile

    import pandas as pd

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.grpo import train_grpo as train
    from portfolio_rl.backtest.engine import BacktestConfig
    from portfolio_rl.backtest.steering import steering_for, table_days
    from portfolio_rl.conventions.market import add_cash_prices
    from portfolio_rl.data.rates import risk_free
    from portfolio_rl.data.sources import DataConfig, load_prices

    prices = load_prices("industries49", start="1990-01-01", end="2004-12-31")
    prices = add_cash_prices(prices, risk_free(DataConfig(prices="industries49"), prices.index))
    index = prices.index  # every 21st training day, and the validation decisions
    lattice = table_days(prices, BacktestConfig(), "1999-12-31")
    days = lattice.append(index[index.searchsorted(pd.Timestamp("1999-12-31"), "right") - 1 :: 21])
    started = time.perf_counter()
    steering = steering_for(
        prices, "robust_mv_ellipsoid", {}, BacktestConfig(), "1999-12-31", days=days.unique()
    )
    table_s = (time.perf_counter() - started) / len(steering.tables)
    config = TrainConfig(
        data_start="1990-01-01",
        train_end="1999-12-31",
        val_end="2004-12-31",
        cash=True,
        steer="robust_mv_ellipsoid",
        iterations=iterations,
        eval_every=10_000,
        patience=10_000,
    )
    with tempfile.TemporaryDirectory() as tmp:
        elapsed = _timed_after_warmup(
            lambda folder: train(config, prices, folder, steering=steering), Path(tmp)
        )
    return {
        "steer_table_ms_per_day": 1000 * table_s,
        "steer_table_days": len(steering.tables),
        "train_steered_grpo_s_per_iteration": elapsed / iterations,
    }


def bench_robust(iterations: int = 4, scenarios: tuple[int, ...] = (1, 8, 32)) -> dict[str, Any]:
    """Robust GRPO throughput at S scenarios per start (default config otherwise, sp500):
    portfolio-days simulated per second of whole iterations. S multiplies the rollout by S,
    in one simulator call."""  # noqa: D205, D209
    import tempfile

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.grpo import train_grpo as train
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2000-01-01", end="2014-12-31")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for s in scenarios:
            config = TrainConfig(
                algo="robust_grpo",
                scenarios=s,
                iterations=iterations,
                eval_every=10_000,
                patience=10_000,
            )
            days = (
                config.batch_starts * s * config.group_size * config.steps * config.rebalance_days
            )
            elapsed = _timed_after_warmup(
                lambda folder, c=config: train(c, prices, folder), Path(tmp)
            )
            out[f"robust_grpo_S{s}_portfolio_days_per_s"] = days * iterations / elapsed
            out[f"robust_grpo_S{s}_s_per_iteration"] = elapsed / iterations
    return out


def bench_seeds(iterations: int = 8, n_seeds: int = 5) -> dict[str, Any]:
    """GRPO's seeds trained together ([`portfolio_rl.agents.seeds`][]) against one seed
    alone and the same seeds one after another: whole-run seconds, default config, sp500."""  # noqa: D205, D209
    import tempfile

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.grpo import train_grpo as train
    from portfolio_rl.agents.seeds import train_seeds
    from portfolio_rl.agents.setup import resolve_device
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2000-01-01", end="2014-12-31")
    configs = [
        TrainConfig(seed=s, iterations=iterations, eval_every=10_000, patience=10_000)
        for s in range(n_seeds)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one = _timed_after_warmup(lambda folder: train(configs[0], prices, folder), root)
        t0 = time.perf_counter()
        for c in configs:
            train(c, prices, root / f"alone-{c.seed}")
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        train_seeds(configs, prices, [root / f"together-{c.seed}" for c in configs])
        together = time.perf_counter() - t0
    return {
        "seeds_one_s": one,
        f"seeds_{n_seeds}_one_after_another_s": alone,
        f"seeds_{n_seeds}_together_s": together,
        f"seeds_{n_seeds}_together_vs_one": together / one,
        "seeds_device": str(resolve_device(configs[0].device)),
    }


def _timed_after_warmup(run: Callable[[Path], Any], root: Path) -> float:
    """Seconds of ``run(folder)`` in a new folder under ``root``, after one untimed run
    that warms the caches (imports, allocator, data)."""  # noqa: D205, D209
    import tempfile

    run(Path(tempfile.mkdtemp(dir=root)))
    start = time.perf_counter()
    run(Path(tempfile.mkdtemp(dir=root)))
    return time.perf_counter() - start


#: Our models with no skfolio equivalent (skfolio's box set is a diagonal ellipsoid and its
#: Wasserstein CVaR bounds the support): timed on our side only.
OURS_ONLY = ("robust_mv_box", "dro_cvar")


def bench_walkforward(
    models: tuple[str, ...] = SKFOLIO_EQUIVALENTS + OURS_ONLY, repeats: int = 1
) -> dict[str, Any]:
    """Walk-forward 2005-2022 on sp500 (252-day window, 21-day rebalance, 216 solves) per
    model: our engine (problem compiled once, re-solved) against skfolio's
    ``cross_val_predict`` with ``WalkForward`` on the same folds, when skfolio is installed.
    The two sides alternate ``repeats`` times; the figures are medians."""  # noqa: D205, D209
    from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
    from portfolio_rl.backtest.runner import build_baselines
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2004-01-01")
    start = str(prices.index[252].date())
    config = BacktestConfig(start=start, window=252, rebalance_days=21, cost_bps=0.0)
    try:
        from skfolio.model_selection import WalkForward, cross_val_predict
    except ImportError:
        cross_val_predict = None
    returns = prices.pct_change().iloc[1:]
    out: dict[str, Any] = {}

    def ours(name: str) -> float:
        t0 = time.perf_counter()
        result = run_backtest(prices, build_baselines([name]), config)
        out[f"wf_{name}_rebalances"] = len(result.weights[name])
        return time.perf_counter() - t0

    def theirs(name: str) -> float:
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # skfolio warns of inaccurate max-Sharpe solves
            warnings.simplefilter("ignore")
            cv = WalkForward(train_size=252, test_size=21)
            cross_val_predict(skfolio_model(name), returns, cv=cv)
        return time.perf_counter() - t0

    for name in models:
        compare = cross_val_predict is not None and name in SKFOLIO_EQUIVALENTS
        times: dict[str, list[float]] = {"ours": [], "skfolio": []}
        for _ in range(repeats):
            times["ours"].append(ours(name))
            if compare:
                times["skfolio"].append(theirs(name))
        out[f"wf_{name}_s"] = float(np.median(times["ours"]))
        if compare:
            out[f"wf_{name}_skfolio_s"] = float(np.median(times["skfolio"]))
            out[f"wf_{name}_speedup"] = out[f"wf_{name}_skfolio_s"] / out[f"wf_{name}_s"]
    return out


_SKFOLIO_PROCESS = """
import warnings
warnings.simplefilter("ignore")
import pandas as pd
from skfolio import RiskMeasure
from skfolio.model_selection import WalkForward, cross_val_predict
from skfolio.optimization import MeanRisk
prices = pd.read_csv({path!r}, index_col="Date", parse_dates=True).loc["2004-01-01":]
returns = prices.pct_change().iloc[1:]
cv = WalkForward(train_size=252, test_size=21)
cross_val_predict(MeanRisk(risk_measure=RiskMeasure.VARIANCE), returns, cv=cv)
"""


def bench_process(repeats: int = 3) -> dict[str, Any]:
    """Whole processes, imports and output included: ``portfolio-rl backtest --strategies
    min_variance`` over 2005-2022 on sp500 (the run directory written, the table printed)
    against a fresh Python running skfolio's ``cross_val_predict`` with ``WalkForward(252,
    21)`` on the same data; alternating, medians of ``repeats``."""  # noqa: D205, D209
    import subprocess
    import sys
    import tempfile

    from portfolio_rl.data.sources import BUNDLED
    from portfolio_rl.plumbing.files import data_dir

    try:
        import skfolio  # noqa: F401
    except ImportError:
        return {}
    script = _SKFOLIO_PROCESS.format(path=str(data_dir() / BUNDLED["sp500"].file))
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            args = ["backtest", "--strategies", "min_variance", "--start", "2005-01-01"]
            command = [sys.executable, "-m", "portfolio_rl", *args, "--out", f"{tmp}/r{i}"]
            for cmd, times in ((command, ours), ([sys.executable, "-c", script], theirs)):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, cwd=Path(tmp))
                times.append(time.perf_counter() - t0)
    ours_s, theirs_s = float(np.median(ours)), float(np.median(theirs))
    return {
        "process_backtest_min_variance_s": ours_s,
        "process_skfolio_walkforward_s": theirs_s,
        "process_speedup": theirs_s / ours_s,
    }


def bench_cluster() -> dict[str, Any]:
    """The quick industries49 run on a local Ray cluster (`workflows.bench_cluster`)."""
    from portfolio_rl.workflows.bench_cluster import bench_cluster as cluster

    return cluster()


def bench_scale(repeats: int = 1) -> dict[str, Any]:
    """Baselines and GRPO on 20 to 500 assets (`portfolio_rl.workflows.bench_scale`)."""
    from portfolio_rl.workflows import bench_scale as scale

    return scale.bench_scale(repeats=repeats)


BENCHES: dict[str, Callable[[], dict[str, Any]]] = {
    "env": bench_env,
    "simulator": bench_simulator,
    "training": bench_training,
    "steer": bench_steer,
    "robust": bench_robust,
    "seeds": bench_seeds,
    "walkforward": bench_walkforward,
    "process": bench_process,
    "scale": bench_scale,
    "cluster": bench_cluster,
}
#: What ``bench`` runs without ``--only``: the scale and cluster benchmarks take minutes, so
#: they are asked for by name.
DEFAULT_BENCHES = tuple(n for n in BENCHES if n not in ("scale", "cluster"))


def run_benchmarks(names: list[str] | None = None, repeats: int = 1) -> dict[str, Any]:
    """Run the named benchmarks (all by default) and merge their figures; ``repeats`` is the
    number of alternating walk-forward timings per side."""  # noqa: D205, D209
    out: dict[str, Any] = {}
    for name in names or DEFAULT_BENCHES:
        if name in ("walkforward", "process", "scale"):
            out.update(BENCHES[name](repeats=repeats))
        else:
            out.update(BENCHES[name]())
    return out
