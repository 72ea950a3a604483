"""The data a run reads: prices (with cash), the benchmark, the risk-free series, splits."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portfolio_rl.data.rates import risk_free
from portfolio_rl.data.sources import load_data
from portfolio_rl.workflows.experiment import ExperimentConfig, SplitConfig
from portfolio_rl.workflows.hooks import SILENT, Hooks


def auto_splits(prices: pd.DataFrame) -> SplitConfig:
    """Train / validation / test as the first 60% / next 20% / last 20% of the dates."""
    dates = prices.index
    return SplitConfig(
        train_end=str(dates[int(len(dates) * 0.6)].date()),
        val_end=str(dates[int(len(dates) * 0.8)].date()),
    )


def market_data(
    exp: ExperimentConfig, min_rows: int = 2, hooks: Hooks | None = None
) -> tuple[pd.DataFrame, pd.Series | None, pd.Series]:
    """Prices (with a last ``cash`` column when ``exp.cash``), benchmark and risk-free rate.

    The daily risk-free series is the dataset's own (``industries49``: the French ``RF``)
    or ``exp.rf``; the same series is what cash earns and what Sharpe is in excess of. A
    mandate (``exp.constraints``) that names other assets or that no portfolio of these
    can meet is a ConfigError here, before any work.
    """
    from portfolio_rl.conventions.market import add_cash_prices

    if exp.data.tickers:
        with (hooks or SILENT).bar("download", len(exp.data.tickers)) as update:
            prices, bench = load_data(exp.data, min_rows=min_rows, progress=update)
    else:
        prices, bench = load_data(exp.data, min_rows=min_rows)
    rf = risk_free(exp.data, prices.index, exp.rf)
    if exp.cash:
        prices = add_cash_prices(prices, rf)
    check_mandate(exp, list(prices.columns))
    return prices, bench, rf


def check_mandate(exp: ExperimentConfig, columns: list[str]) -> None:
    """Resolve the experiment's mandate on ``columns`` as the backtest will (`Mandate.resolve`:
    the fully invested strategies' sleeve too, with cash): a ConfigError names what cannot
    be met."""  # noqa: D205, D209
    from portfolio_rl.errors import ConfigError

    if not exp.constraints.binding:
        return
    try:
        exp.constraints.resolve(columns)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def risk_free_summary(rf: pd.Series, exp: ExperimentConfig) -> dict[str, Any]:
    """What the report says of the risk-free series over the test period, and its source."""
    from portfolio_rl.conventions.market import PERIODS

    data = exp.data
    source = f"a flat {exp.rf:.2%} a year"
    if data.risk_free is not None:
        source = str(data.risk_free)
        source += " (forward-filled where it has no rate)" if data.risk_free_fill else ""
    elif data.prices == "industries49" and not data.tickers:
        source = "the dataset's own series (French RF)"
    return {
        "source": source,
        "annualised_mean": float((1 + rf).prod() ** (PERIODS / max(len(rf), 1)) - 1),
        "first": float(rf.iloc[0]) if len(rf) else 0.0,
        "last": float(rf.iloc[-1]) if len(rf) else 0.0,
    }
