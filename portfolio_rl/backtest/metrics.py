"""The metrics table of a backtest: each measure of ``conventions.measures``, per strategy.

The conventions (252 periods a year, sample std, historical CVaR, drawdowns from 1.0) are
written once, in [`portfolio_rl.conventions.measures`][] and the README.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.conventions.measures import (
    ann_vol,
    cagr,
    calmar,
    cvar,
    hit_rate,
    max_dd_duration,
    max_drawdown,
    omega,
    sharpe,
    sortino,
    tail_ratio,
)

MEASURES = (
    "cagr",
    "ann_vol",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "cvar_95",
    "omega",
    "tail_ratio",
    "hit_rate",
    "turnover",
    "avg_cost",
    "max_dd_duration",
)


def compute_metrics(
    returns: pd.DataFrame,
    turnover: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    rf: float | pd.Series = 0.0,
) -> pd.DataFrame:
    """Every measure for every strategy.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
        Daily net simple returns.
    turnover, costs : DataFrame of shape (n_rebalances, n_strategies), optional
        Two-way turnover and cost of each rebalance. ``turnover`` in the output is
        annualised one-way (half the two-way sum per year); ``avg_cost`` the costs paid per
        year as a fraction of wealth.
    rf : float or Series
        Annual risk-free rate, or the daily rate of each day (on ``returns.index``): what
        Sharpe and Sortino are in excess of.

    Returns
    -------
    DataFrame of shape (n_strategies, len(MEASURES))

    Examples
    --------
    >>> from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, run_backtest
    >>> from portfolio_rl.baselines import EqualWeight, MinVariance
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2016-01-01", end="2019-12-31")
    >>> strategies = [BaselineStrategy("1/N", EqualWeight()), BaselineStrategy("mv", MinVariance())]
    >>> result = run_backtest(prices, strategies, BacktestConfig(start="2018-01-01", cost_bps=10))
    >>> from portfolio_rl.backtest import compute_metrics
    >>> metrics = compute_metrics(result.returns, result.turnover, result.costs)
    >>> metrics.loc["1/N", ["cagr", "sharpe"]].round(3).tolist()
    [0.152, 0.999]
    """
    rows = {}
    for name in returns.columns:
        col = returns[name].dropna()
        r = col.to_numpy()
        rf_r = rf if np.isscalar(rf) else rf.reindex(col.index).to_numpy()
        years = len(r) / PERIODS
        one_way = (
            0.5 * turnover[name].sum() / years if turnover is not None and name in turnover else 0.0
        )
        paid = costs[name].sum() / years if costs is not None and name in costs else 0.0
        rows[name] = {
            "cagr": cagr(r),
            "ann_vol": ann_vol(r),
            "sharpe": sharpe(r, rf_r),
            "sortino": sortino(r, rf_r),
            "max_drawdown": max_drawdown(r),
            "calmar": calmar(r),
            "cvar_95": cvar(r),
            "omega": omega(r),
            "tail_ratio": tail_ratio(r),
            "hit_rate": hit_rate(r),
            "turnover": float(one_way),
            "avg_cost": float(paid),
            "max_dd_duration": max_dd_duration(r),
        }
    return pd.DataFrame.from_dict(rows, orient="index")[list(MEASURES)]
