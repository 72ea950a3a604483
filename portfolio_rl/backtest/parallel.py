"""The walk-forward backtest with the baselines spread over worker processes.

Each strategy walks forward alone (its own holdings, costs and fallbacks), so splitting the
strategies into groups and joining the groups' results gives exactly the one-process result,
bit for bit. The optimizers dominate at hundreds of assets; the trained policies and anchors
(torch modules, cached tables) stay in the main process and run while the workers solve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from portfolio_rl.conventions.mandate import Mandate


def run_backtest_in_processes(
    prices: pd.DataFrame,
    baselines: Sequence[Any],
    policies: Sequence[Any],
    config: BacktestConfig,
    benchmark: pd.Series | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    mandate: Mandate | None = None,
    address: str | None = None,
) -> BacktestResult:
    """`run_backtest` of ``[*baselines, *policies]``, the baselines in ``workers`` processes.

    Parameters
    ----------
    prices, config, benchmark, mandate
        As for [`run_backtest`][portfolio_rl.backtest.engine.run_backtest].
    baselines : sequence of BaselineStrategy
        Picklable strategies, dealt round-robin to the worker processes.
    policies : sequence of Strategy
        Run in this process (trained policies and anchors).
    progress : callable, optional
        ``progress(done, total)`` over every group's rebalances.
    workers : int
        Worker processes; with 1 (or one baseline) this is `run_backtest` itself.
    address : str, optional
        A Ray cluster: each policy and each baseline is a task there
        (`portfolio_rl.plumbing.cluster`), with the same result. The pool sends tasks in
        the order given as CPUs free, so the longest go first (a policy's walk, then the
        solvers, then the rules) and the last ones to end are short: on two one-CPU nodes
        the two CPUs ended 0.8 s apart.

    Returns
    -------
    BacktestResult
        Equal to ``run_backtest(prices, [*baselines, *policies], ...)``.
    """
    order = [s.name for s in [*baselines, *policies]]
    if address is None:
        groups = _deal(baselines, workers)
    else:  # on a cluster: each policy and each baseline a task, the longest first
        groups = [[p] for p in policies] + _deal(baselines, len(baselines))
        policies = []
    if len(groups) <= 1 and address is None:
        return run_backtest(prices, [*baselines, *policies], config, benchmark, progress, mandate)
    import queue as queues

    from portfolio_rl.plumbing.processes import open_pool

    done = [0] * (len(groups) + bool(policies))  # the last slot: this process's policies
    totals = done.copy()

    def tick(group: int, k: int, total: int) -> None:
        done[group], totals[group] = k, total
        if progress is not None and all(totals):
            progress(sum(done), sum(totals))

    with open_pool(len(groups), address) as (manager, pool):
        ticks = manager.Queue()

        def drain() -> None:
            while True:
                try:
                    tick(*ticks.get_nowait())
                except queues.Empty:
                    return

        pending = [
            pool.apply_async(
                _group,
                (prices, group, config, ticks, g, benchmark if g == 0 else None, mandate),
                **({} if address is None else {"what": f"the backtest of {group[0].name}, ..."}),
            )
            for g, group in enumerate(groups)
        ]
        mine = [
            run_backtest(
                prices,
                policies,
                config,
                progress=lambda k, n: (drain(), tick(-1, k, n)),
                mandate=mandate,
            )
        ] if policies else []  # fmt: skip
        while not all(job.ready() for job in pending):
            if address is not None:  # back when a task ends, to send the next at once
                pool.wait(0.2)
                drain()
                continue
            try:
                tick(*ticks.get(timeout=0.2))
            except queues.Empty:
                continue
        drain()
        parts = [job.get() for job in pending]  # raises a worker's error here
    return join([*parts, *mine], order)


def _deal(baselines: Sequence[Any], n: int) -> list[list[Any]]:
    """The baselines dealt round-robin into at most ``n`` groups, the solvers first.

    A convex model's walk-forward costs seconds and a rule's (1/N, momentum) milliseconds:
    dealing the solvers first spreads them evenly (49 industries over 42 years: groups of 22
    and 18 s instead of 26 and 15 s). Each strategy walks alone, so results do not change.
    """
    from portfolio_rl.baselines.base import ConvexModel

    ranked = sorted(baselines, key=lambda s: not isinstance(getattr(s, "model", None), ConvexModel))
    return [ranked[i::n] for i in range(min(n, len(ranked)))]


#: A worker reports every TICK-th rebalance: each report is a message to the main process
#: (on a cluster, to the mailbox actor), and one per rebalance of each task cost the CPUs more
#: than the bar is worth.
TICK = 25


def _group(
    prices: pd.DataFrame,
    strategies: list[Any],
    config: BacktestConfig,
    ticks: Any,
    group: int,
    benchmark: pd.Series | None,
    mandate: Mandate | None = None,
) -> BacktestResult:
    """A worker's group of strategies (one BLAS thread); the start, every `TICK`-th
    rebalance and the last report ``(group, done, total)``."""  # noqa: D205, D209
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return run_backtest(
            prices,
            strategies,
            config,
            benchmark,
            progress=lambda k, total: (
                None if k % TICK and k < total else ticks.put((group, k, total))
            ),
            mandate=mandate,
        )


def join(parts: Sequence[BacktestResult], order: Sequence[str]) -> BacktestResult:
    """One result from results on disjoint strategies: columns in ``order`` (then the
    benchmark), failures by date and then by strategy as one walk would list them."""  # noqa: D205, D209
    returns = pd.concat([p.returns for p in parts], axis=1)
    columns = [*order, *(["benchmark"] if "benchmark" in returns else [])]
    weights = {n: w for p in parts for n, w in p.weights.items()}
    failed = [p.failures for p in parts if len(p.failures)]
    failures = parts[0].failures
    if failed:
        failures = pd.concat(failed, ignore_index=True)
        rank = failures["strategy"].map({n: k for k, n in enumerate(order)})
        failures = (
            failures.assign(_rank=rank)
            .sort_values(["date", "_rank"], kind="stable")
            .drop(columns="_rank")
            .reset_index(drop=True)
        )
    return BacktestResult(
        returns=returns[columns],
        weights={n: weights[n] for n in order},
        turnover=pd.concat([p.turnover for p in parts], axis=1)[list(order)],
        costs=pd.concat([p.costs for p in parts], axis=1)[list(order)],
        failures=failures,
        config=parts[0].config,
    )
