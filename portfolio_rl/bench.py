"""``portfolio-rl bench``: the throughput figures the project promises, measured here.

Each figure is a median over repeats after a warm-up, inside one process; they are
benchmarks to read, not timed tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


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


BENCHES: dict[str, Callable[[], dict[str, Any]]] = {
    "env": bench_env,
    "simulator": bench_simulator,
}


def run_benchmarks(names: list[str] | None = None) -> dict[str, Any]:
    """Run the named benchmarks (all by default) and merge their figures."""
    out: dict[str, Any] = {}
    for name in names or list(BENCHES):
        out.update(BENCHES[name]())
    return out
