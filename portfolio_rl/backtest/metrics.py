"""Performance measures of daily net returns, with one set of conventions (README).

Conventions: 252 periods a year; ``rf`` is an annual rate turned into a daily one by
``(1 + rf)^(1/252) - 1`` (0 unless given); sample std with ddof=1; Sortino with target 0 over
all observations, ``sqrt(mean(min(r, 0)^2))``; drawdowns on compounded wealth starting
from 1.0 before the first return; CVaR and VaR historical (VaR the 5% quantile with linear
interpolation, CVaR the mean of the returns at or below it); hit rate over non-zero days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PERIODS = 252
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


def _daily_rf(rf: float) -> float:
    return (1.0 + rf) ** (1.0 / PERIODS) - 1.0


def wealth(returns: np.ndarray) -> np.ndarray:
    """Compounded wealth path ``prod(1 + r)``, starting from 1.0 before the first return."""
    return np.cumprod(1.0 + np.asarray(returns, float))


def cagr(returns: np.ndarray) -> float:
    """Compound annual growth: ``W_N^(252/N) - 1``."""
    r = np.asarray(returns, float)
    return float(wealth(r)[-1] ** (PERIODS / len(r)) - 1.0)


def ann_vol(returns: np.ndarray) -> float:
    """Annualised volatility: ``std(r, ddof=1) * sqrt(252)``."""
    return float(np.std(returns, ddof=1) * np.sqrt(PERIODS))


def sharpe(returns: np.ndarray, rf: float = 0.0) -> float:
    """Annualised Sharpe ratio: ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(252)``."""
    x = np.asarray(returns, float) - _daily_rf(rf)
    sd = np.std(x, ddof=1)
    return float(x.mean() / sd * np.sqrt(PERIODS)) if sd > 0 else float("nan")


def sortino(returns: np.ndarray, rf: float = 0.0) -> float:
    """Annualised Sortino ratio, target 0: ``mean(x) / sqrt(mean(min(x, 0)^2)) * sqrt(252)``."""
    x = np.asarray(returns, float) - _daily_rf(rf)
    downside = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2))
    return float(x.mean() / downside * np.sqrt(PERIODS)) if downside > 0 else float("nan")


def drawdowns(returns: np.ndarray) -> np.ndarray:
    """Drawdown of each day ``W / max(1, running max W) - 1`` (<= 0)."""
    w = wealth(returns)
    peak = np.maximum.accumulate(np.concatenate([[1.0], w]))[1:]
    return w / peak - 1.0


def max_drawdown(returns: np.ndarray) -> float:
    """Largest drawdown, a negative number (0 if wealth never fell below a peak)."""
    return float(drawdowns(returns).min())


def max_dd_duration(returns: np.ndarray) -> int:
    """Longest run of consecutive days below a previous peak, in trading days."""
    under = drawdowns(returns) < 0
    longest = run = 0
    for flag in under:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def calmar(returns: np.ndarray) -> float:
    """CAGR divided by the absolute maximum drawdown."""
    mdd = max_drawdown(returns)
    return cagr(returns) / abs(mdd) if mdd < 0 else float("nan")


def cvar(returns: np.ndarray, level: float = 0.95) -> float:
    """Historical CVaR: mean of the returns at or below the ``1 - level`` quantile (negative)."""
    r = np.asarray(returns, float)
    var = np.quantile(r, 1.0 - level)
    return float(r[r <= var].mean())


def omega(returns: np.ndarray, threshold: float = 0.0) -> float:
    """Omega ratio: ``sum(max(r - th, 0)) / sum(max(th - r, 0))``."""
    x = np.asarray(returns, float) - threshold
    loss = -x[x < 0].sum()
    return float(x[x > 0].sum() / loss) if loss > 0 else float("nan")


def tail_ratio(returns: np.ndarray) -> float:
    """``|q95 / q5|`` of daily returns."""
    r = np.asarray(returns, float)
    low = np.quantile(r, 0.05)
    return float(abs(np.quantile(r, 0.95) / low)) if low != 0 else float("nan")


def hit_rate(returns: np.ndarray) -> float:
    """Share of positive days among the days with a non-zero return."""
    r = np.asarray(returns, float)
    nonzero = r[r != 0]
    return float((nonzero > 0).mean()) if len(nonzero) else float("nan")


def compute_metrics(
    returns: pd.DataFrame,
    turnover: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    rf: float = 0.0,
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
    rf : float
        Annual risk-free rate.

    Returns
    -------
    DataFrame of shape (n_strategies, len(MEASURES))
    """
    rows = {}
    for name in returns.columns:
        r = returns[name].dropna().to_numpy()
        years = len(r) / PERIODS
        one_way = (
            0.5 * turnover[name].sum() / years if turnover is not None and name in turnover else 0.0
        )
        paid = costs[name].sum() / years if costs is not None and name in costs else 0.0
        rows[name] = {
            "cagr": cagr(r),
            "ann_vol": ann_vol(r),
            "sharpe": sharpe(r, rf),
            "sortino": sortino(r, rf),
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
