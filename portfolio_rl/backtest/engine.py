"""Walk-forward engine: every strategy, one pass over the data, the shared cost model.

Timing (README): at each rebalance close t a strategy gets ``prices[t-window..t]`` (a
rolling window of ``window`` returns, or everything since the data start when
``expanding``) and its drifted weights; it returns target weights, which pay
[`portfolio_rl.conventions.market.rebalance`][] costs at that close and earn ``r[t+1]``
onward, drifting until the next rebalance. Daily net returns start at the first decision
close (its return is minus the cost of buying the first portfolio from cash).

Cash: when the prices end with a ``cash`` column
([`portfolio_rl.conventions.market.add_cash_prices`][]) every portfolio starts in it and
trades in it are free. A strategy that does not say ``uses_cash = True`` sees the risky
columns only and stays fully invested (its cash weight is 0, or the mandate's ``min_cash``).

A mandate ([`portfolio_rl.conventions.mandate.Mandate`][]): every strategy with a
``constrain(limits)`` method is handed its limits before the first decision (a fully invested
one those of its sleeve), and every decision is checked against them: weights outside are a
failed decision (the previous weights are kept, and the first fallback is projected onto the
limits), so every target the run holds meets the mandate. Between rebalances weights drift
with prices, as a real mandate's do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.backtest.strategies import Strategy, failures_of, status_of, uses_cash
from portfolio_rl.conventions.mandate import Limits, Mandate, project
from portfolio_rl.conventions.market import CASH, hold, rebalance, simple_returns, split_cash
from portfolio_rl.errors import DataError


@dataclass(frozen=True)
class BacktestConfig:
    """Walk-forward settings.

    Attributes
    ----------
    start, end : str, optional
        First decision date (on or after) and last date of the evaluated period.
    window : int
        Daily returns handed to a strategy at each rebalance (rolling), at least 2.
    expanding : bool
        Hand every return since the data start instead of a rolling window.
    rebalance_days : int
        Trading days between rebalances.
    cost_bps, impact_bps : float
        The cost model.

    Examples
    --------
    >>> from portfolio_rl.backtest import BacktestConfig
    >>> config = BacktestConfig(start="2018-01-01", cost_bps=5)
    >>> config.window, config.rebalance_days, config.cost_bps
    (252, 21, 5)
    """

    start: str | None = None
    end: str | None = None
    window: int = 252
    expanding: bool = False
    rebalance_days: int = 21
    cost_bps: float = 10.0
    impact_bps: float = 0.0

    def __post_init__(self) -> None:
        from portfolio_rl.plumbing.typed import parse_date

        for key in ("start", "end"):
            if getattr(self, key) is not None:
                parse_date(getattr(self, key), key)
        if not (np.isfinite(self.cost_bps) and np.isfinite(self.impact_bps)):
            raise ValueError("costs must be finite numbers of basis points")
        if self.cost_bps > 10_000 or self.impact_bps > 10_000:
            raise ValueError("a cost above 10,000 bps (100% of the trade) is not a cost model")
        if not 2 <= self.window <= 25_000:
            raise ValueError(f"window must be from 2 to 25000 returns, got {self.window}")
        if not 1 <= self.rebalance_days <= 2520:
            raise ValueError(f"rebalance_days must be from 1 to 2520, got {self.rebalance_days}")
        if self.cost_bps < 0 or self.impact_bps < 0:
            raise ValueError("costs must be non-negative")


@dataclass
class BacktestResult:
    """Everything a run directory holds about the backtest itself.

    Examples
    --------
    >>> from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, run_backtest
    >>> from portfolio_rl.baselines import EqualWeight, MinVariance
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2016-01-01", end="2019-12-31")
    >>> strategies = [BaselineStrategy("1/N", EqualWeight()), BaselineStrategy("mv", MinVariance())]
    >>> result = run_backtest(prices, strategies, BacktestConfig(start="2018-01-01", cost_bps=10))
    >>> list(result.returns.columns), result.weights["mv"].shape[1]
    (['1/N', 'mv'], 20)
    """

    returns: pd.DataFrame
    """(date x strategy) daily simple returns net of costs."""
    weights: dict[str, pd.DataFrame]
    """strategy -> (decision date x asset) target weights."""
    turnover: pd.DataFrame
    """(decision date x strategy) two-way turnover of each rebalance."""
    costs: pd.DataFrame
    """(decision date x strategy) cost of each rebalance (fraction of wealth)."""
    failures: pd.DataFrame
    """one row per failed decision: date, strategy, status (previous weights kept)."""
    config: BacktestConfig = field(default_factory=BacktestConfig)


def _valid(w: np.ndarray, n: int) -> bool:
    return w.shape == (n,) and bool(np.all(np.isfinite(w))) and abs(w.sum() - 1.0) < 1e-6


def decision_window(prices: pd.DataFrame, t: int, config: BacktestConfig) -> pd.DataFrame:
    """The prices a strategy sees at the decision close of row ``t``: the last ``window``
    returns (``window + 1`` prices), or everything since the data start when ``expanding``."""  # noqa: D205, D209
    return prices.iloc[0 if config.expanding else max(0, t - config.window) : t + 1]


def decide(
    strategy: Strategy,
    window: pd.DataFrame,
    held: np.ndarray,
    risky_only: bool,
    limits: Limits | None = None,
    cash_floor: float = 0.0,
) -> tuple[np.ndarray | None, str]:
    """One decision of one strategy at the last close of ``window``: the engine's rule.

    A strategy that does not use cash (``risky_only``) sees the risky columns and gets the
    cash weight ``cash_floor`` (0, or a mandate's ``min_cash``), its weights scaled by ``1 -
    cash_floor``. Returns ``(weights, "optimal")``, or ``(None, reason)`` when the strategy
    failed, raised, returned invalid weights or weights outside ``limits`` (the caller keeps
    the previous ones).
    """
    before = failures_of(strategy)
    try:
        if risky_only:
            w = strategy.decide(window.iloc[:, :-1], held[:-1].copy())
            w = np.append((1.0 - cash_floor) * np.asarray(w, dtype=float), cash_floor)
        else:
            w = np.asarray(strategy.decide(window, held.copy()), dtype=float)
    except Exception as exc:  # a strategy's failure is recorded, never fatal
        return None, f"{type(exc).__name__}: {exc}"
    status = status_of(strategy)
    if not _valid(w, window.shape[1]) or failures_of(strategy) != before:
        return None, status if status != "optimal" else "invalid"
    broken = None if limits is None else limits.violation(w)
    if broken is not None:
        return None, f"outside the mandate: {broken}"
    return w, "optimal"


def bind_mandate(
    strategies: Sequence[Strategy], columns: Sequence[str], mandate: Mandate | None
) -> tuple[Limits | None, dict[str, bool], float]:
    """Resolve ``mandate`` on the run's ``columns`` and hand each strategy its limits.

    Returns the limits of the whole portfolio (None without a binding mandate); by
    strategy name, whether it sees the risky columns only (a fully invested strategy in a
    run with cash); and the cash such a strategy holds (`decide`'s ``cash_floor``). A
    strategy with ``constrain(limits)`` gets the limits of what it weighs: the whole
    portfolio, or its sleeve (`Mandate.resolve`).
    """
    cash = len(columns) > 0 and columns[-1] == CASH
    risky_only = {s.name: cash and not uses_cash(s) for s in strategies}
    if mandate is None or not mandate.binding:
        return None, risky_only, 0.0
    limits, sleeve, floor = mandate.resolve(list(columns))
    for strategy in strategies:
        constrain = getattr(strategy, "constrain", None)
        if callable(constrain):
            constrain(sleeve if risky_only[strategy.name] else limits)
    return limits, risky_only, floor


def run_backtest(
    prices: pd.DataFrame,
    strategies: Sequence[Strategy],
    config: BacktestConfig,
    benchmark: pd.Series | None = None,
    progress: Callable[[int, int], None] | None = None,
    mandate: Mandate | None = None,
) -> BacktestResult:
    """Walk forward over ``prices`` with every strategy.

    Parameters
    ----------
    prices : DataFrame of shape (n_dates, n_assets)
        Validated prices, including the history before ``config.start`` that windows need;
        a last ``cash`` column makes cash an asset.
    strategies : sequence of Strategy
        Objects with ``name`` and ``decide(prices_window, prev_weights) -> weights``
        ([`Strategy`][portfolio_rl.backtest.strategies.Strategy]); anything else is refused.
    config : BacktestConfig
    benchmark : Series, optional
        Index level on the same dates; adds the ``benchmark`` column (buy-and-hold).
    progress : callable, optional
        ``progress(done, total)`` after each rebalance date.
    mandate : Mandate, optional
        Limits every decision must meet (see the module docstring).

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, run_backtest
    >>> from portfolio_rl.baselines import EqualWeight, MinVariance
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2016-01-01", end="2019-12-31")
    >>> strategies = [BaselineStrategy("1/N", EqualWeight()), BaselineStrategy("mv", MinVariance())]
    >>> result = run_backtest(prices, strategies, BacktestConfig(start="2018-01-01", cost_bps=10))
    >>> result.returns.index[0] >= result.weights["1/N"].index[0]  # it earns after it decides
    True
    """
    odd = [repr(s) for s in strategies if not isinstance(s, Strategy)]
    if odd:
        raise TypeError(f"not strategies (need a name and decide()): {', '.join(odd)}")
    dates = prices.index
    values = prices.to_numpy(dtype=float)
    rets = simple_returns(values)
    first = int(dates.searchsorted(pd.Timestamp(config.start))) if config.start else 0
    first = max(first, config.window)
    last = (
        len(dates) - 1
        if config.end is None
        else int(dates.searchsorted(pd.Timestamp(config.end), side="right") - 1)
    )
    if last - first < config.rebalance_days:
        raise DataError(
            f"not enough data for a backtest: need {config.window} days of history before the "
            f"first decision and at least {config.rebalance_days} days after it"
        )
    decisions = list(range(first, last, config.rebalance_days))
    n_assets, n_days = values.shape[1], last - first + 1
    names = [s.name for s in strategies]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate strategy names: {names}")

    _, cash = split_cash(prices)
    start = np.zeros(n_assets)
    if cash:
        start[-1] = 1.0
    held = {s.name: start.copy() for s in strategies}
    limits, risky_only, floor = bind_mandate(strategies, list(prices.columns), mandate)
    first_fallback = project(start if cash else np.full(n_assets, 1.0 / n_assets), limits)
    target = {s.name: first_fallback.copy() for s in strategies}
    wealth = {s.name: np.empty(n_days) for s in strategies}
    level = dict.fromkeys(names, 1.0)
    weights = {s.name: np.empty((len(decisions), n_assets)) for s in strategies}
    trades = {s.name: np.empty(len(decisions)) for s in strategies}
    costs = {s.name: np.empty(len(decisions)) for s in strategies}
    failures: list[tuple[pd.Timestamp, str, str]] = []

    if progress is not None:
        progress(0, len(decisions))  # the bar shows its total before the first (slowest) solve
    for k, t in enumerate(decisions):
        window = decision_window(prices, t, config)
        stop = decisions[k + 1] if k + 1 < len(decisions) else last
        for strat in strategies:
            name = strat.name
            w, status = decide(strat, window, held[name], risky_only[name], limits, floor)
            if w is None:
                failures.append((dates[t], name, status))
                w = target[name]
            target[name] = w
            trade, cost = rebalance(w, held[name], config.cost_bps, config.impact_bps, cash)
            weights[name][k], trades[name][k], costs[name][k] = w, trade, cost
            level[name] *= 1.0 - cost
            wealth[name][t - first] = level[name]
            value, held[name] = hold(w, rets[t + 1 : stop + 1])
            wealth[name][t + 1 - first : stop + 1 - first] = level[name] * value
            level[name] *= value[-1]
        if progress is not None:
            progress(k + 1, len(decisions))

    period = dates[first : last + 1]
    out = pd.DataFrame({n: _to_returns(wealth[n]) for n in names}, index=period)
    if benchmark is not None:
        bench = benchmark.reindex(period).ffill().to_numpy(dtype=float)
        _, cost0 = rebalance(np.ones(1), np.zeros(1), config.cost_bps, config.impact_bps)
        out["benchmark"] = _to_returns((1.0 - cost0) * bench / bench[0])
    decision_dates = dates[decisions]
    return BacktestResult(
        returns=out,
        weights={
            n: pd.DataFrame(weights[n], index=decision_dates, columns=prices.columns) for n in names
        },
        turnover=pd.DataFrame(trades, index=decision_dates),
        costs=pd.DataFrame(costs, index=decision_dates),
        failures=pd.DataFrame(failures, columns=["date", "strategy", "status"]),
        config=config,
    )


def _to_returns(wealth: np.ndarray) -> np.ndarray:
    """Daily returns from a wealth path that starts from 1.0 before the first close."""
    return np.diff(np.concatenate([[1.0], wealth])) / np.concatenate([[1.0], wealth[:-1]])


def config_dict(config: BacktestConfig) -> dict[str, Any]:
    """The config as plain JSON-able values."""
    return asdict(config)
