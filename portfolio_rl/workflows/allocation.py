"""What to hold after the latest close: one decision of a baseline or a trained policy.

The decision is the backtest engine's own ([`portfolio_rl.backtest.engine.decide`][]) on
the same window of prices, so ``allocate`` gives what a walk-forward backtest ending today
would decide; with the current holdings it lists the trades and their estimated cost under
the one cost model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_rl.errors import ConfigError, DataError, PortfolioRLError
from portfolio_rl.workflows.experiment import ExperimentConfig


@dataclass
class Allocation:
    """Target weights for the next trading day and, with holdings, the trades to get there."""

    strategy: str
    as_of: pd.Timestamp
    weights: pd.Series
    stale_days: int
    trades: pd.DataFrame | None = None
    turnover: float | None = None
    cost: float | None = None
    notes: list[str] = field(default_factory=list)
    """A policy that kept its untrained start says what it decides instead."""


#: The largest amount of money (holdings, capital) taken at face value: beyond it sums and
#: trades stop being exact numbers (1e308 overflowed to inf trades).
MAX_MONEY = 1e15


def read_holdings(path: Path) -> pd.Series:
    """Current positions from a CSV with columns ``asset`` and ``value`` (money, >= 0)."""
    try:
        frame = pd.read_csv(path, dtype=str)  # True/False stays text, never 1 and 0
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read holdings {path}: {exc}".splitlines()[0]) from None
    if not {"asset", "value"} <= set(frame.columns):
        raise DataError(f"{path}: holdings need the columns asset and value")
    values = pd.to_numeric(frame["value"].str.strip(), errors="coerce")
    if values.isna().any() or not ((values >= 0) & (values <= MAX_MONEY)).all():
        raise DataError(f"{path}: every value must be a number from 0 to {MAX_MONEY:.0e}")
    if frame["asset"].duplicated().any():
        raise DataError(f"{path}: an asset appears more than once")
    return pd.Series(values.to_numpy(), index=frame["asset"].astype(str), name="value")


def allocate(
    exp: ExperimentConfig,
    policy: Path | None = None,
    strategy: str | None = None,
    holdings: pd.Series | None = None,
    capital: float | None = None,
) -> Allocation:
    """The weights ``policy`` (a trained run) or ``strategy`` (a baseline) holds after the
    last close of ``exp``'s data, and the trades from ``holdings`` (money per asset).

    Examples
    --------
    >>> from portfolio_rl.workflows import allocate, load_experiment
    >>> done = allocate(load_experiment("backtests/sp500.yaml"), strategy="inverse_vol")
    >>> round(float(done.weights.sum()), 6), len(done.weights)
    (1.0, 20)
    """  # noqa: D205
    from portfolio_rl.backtest.engine import bind_mandate, decide, decision_window
    from portfolio_rl.backtest.runner import build_baselines
    from portfolio_rl.conventions.market import rebalance, split_cash
    from portfolio_rl.workflows.market import market_data
    from portfolio_rl.workflows.policies import load_policies

    if (policy is None) == (strategy is None):
        raise ConfigError("give one of --policy DIR or --strategy NAME")
    if capital is not None and not 0 < capital <= MAX_MONEY:
        raise ConfigError(f"--capital must be a positive amount up to {MAX_MONEY:.0e}")
    if strategy == "benchmark":
        raise ConfigError("the benchmark is an index, not an allocation")
    prices, _, _ = market_data(exp)
    if policy is not None:
        chosen = load_policies([policy])[0]
        chosen.check_assets(list(prices.columns))
        if chosen.meta.get("anchor"):
            from portfolio_rl.backtest.anchors import attach_anchors

            attach_anchors([chosen], prices, last_only=True)
        if chosen.meta.get("steer"):
            from portfolio_rl.backtest.steering import attach_steering

            attach_steering([chosen])
    else:
        chosen = build_baselines([strategy], exp.strategy_params, exp.backtest, exp.cash)[0]
    _, cash = split_cash(prices)
    assets = list(prices.columns)
    held = np.zeros(len(assets))
    total = 1.0
    if holdings is not None:
        unknown = sorted(set(holdings.index) - set(assets))
        if unknown:
            raise DataError(f"holdings name assets that are not in the data: {unknown}")
        total = float(holdings.sum())
        if total <= 0:
            raise DataError("holdings add up to nothing")
        held = holdings.reindex(assets, fill_value=0.0).to_numpy(dtype=float) / total
        if not cash and abs(held.sum() - 1) > 1e-9:
            held = held / held.sum()
    elif cash:
        held[-1] = 1.0
    bt = exp.backtest
    window = decision_window(prices, len(prices) - 1, bt)
    limits, risky_only, floor = bind_mandate([chosen], assets, exp.constraints)
    weights, status = decide(chosen, window, held, risky_only[chosen.name], limits, floor)
    as_of = prices.index[-1]
    if weights is None:
        raise PortfolioRLError(f"{chosen.name} could not decide on {as_of.date()}: {status}")
    out = Allocation(
        strategy=chosen.name,
        as_of=as_of,
        weights=pd.Series(weights, index=assets, name="weight"),
        stale_days=int((pd.Timestamp.today().normalize() - as_of).days),
    )
    if policy is not None:
        from portfolio_rl.agents.checkpoint import untrained_notes

        out.notes = untrained_notes([chosen])
    if holdings is not None or capital is not None:
        money = capital if capital is not None else total
        current = held * total if holdings is not None else np.zeros(len(assets))
        target = weights * money
        out.trades = pd.DataFrame(
            {"current": current, "target": target, "trade": target - current}, index=assets
        )
        turnover, cost = rebalance(weights, held, bt.cost_bps, bt.impact_bps, cash)
        out.turnover, out.cost = float(turnover), float(cost) * total
    return out
