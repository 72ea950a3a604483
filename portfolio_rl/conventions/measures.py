"""Performance measures of daily returns, with one set of conventions (README).

Conventions: ``PERIODS = 252`` periods a year; ``rf`` is an annual rate turned into a daily
one by ``(1 + rf)^(1/252) - 1`` (0 unless given); sample std with ddof=1; Sortino with
target 0 over all observations, ``sqrt(mean(min(r, 0)^2))``; drawdowns on compounded wealth
starting from 1.0 before the first return; CVaR and VaR historical (VaR the 5% quantile with
linear interpolation, CVaR the mean of the returns at or below it); hit rate over non-zero
days.

These are the only definitions of the measures: the backtest's metrics table, the training
reward and validation score, the bootstrap intervals and the report's charts all call them.
`sharpe` works on numpy arrays and torch tensors along any axis.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS, daily_rate, is_torch

Array = Any  # np.ndarray or torch.Tensor


def excess(returns: Array, rf: float | np.ndarray = 0.0) -> Array:
    """``r - rf_d``: ``rf`` an annual rate (its daily rate is subtracted) or daily rates.

    Parameters
    ----------
    returns : ndarray or Tensor of shape (..., n_days)
    rf : float or ndarray of shape (n_days,)
        An annual rate, or the daily risk-free rate of each day (a dataset's own series).
    """
    if np.isscalar(rf):
        return returns - daily_rate(float(rf)) if rf else returns
    return returns - np.asarray(rf, dtype=float)


def sharpe(
    returns: Array,
    rf: float | np.ndarray = 0.0,
    axis: int = -1,
    eps: float = 0.0,
    periods: int = PERIODS,
) -> Array:
    """Annualised Sharpe ratio ``mean(x) / (std(x, ddof=1) + eps) * sqrt(periods)``.

    ``x = r - rf_d``, the excess return over the risk-free rate (`excess`).

    Parameters
    ----------
    returns : ndarray or Tensor of shape (..., n_days, ...)
        Daily simple returns along ``axis``.
    rf : float or ndarray
        Annual risk-free rate, or daily rates along the last axis.
    axis : int
        The time axis.
    eps : float
        Added to the std: a training reward needs a finite value for a constant path
        (``eps > 0``); a reported measure is NaN there (``eps = 0``).
    periods : int
        Periods a year; 1 gives the per-period ratio.

    Returns
    -------
    float, ndarray or Tensor with ``axis`` removed

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import sharpe
    >>> daily = np.tile([0.012, -0.008], 126)  # a year: mean 0.2%, std 1% a day
    >>> round(float(sharpe(daily)), 2)
    3.17
    """
    x = excess(returns, rf)
    if is_torch(x):
        return x.mean(axis) / (x.std(axis) + eps) * float(np.sqrt(periods))
    x = np.asarray(x, dtype=float)
    sd = x.std(axis=axis, ddof=1) + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, x.mean(axis=axis) / np.where(sd > 0, sd, 1.0), np.nan)
    out = out * np.sqrt(periods)
    return float(out) if out.ndim == 0 else out


def wealth(returns: np.ndarray) -> np.ndarray:
    """Compounded wealth path ``prod(1 + r)`` along the last axis, from 1.0 before day one."""
    return np.cumprod(1.0 + np.asarray(returns, float), axis=-1)


def cagr(returns: np.ndarray) -> float:
    """Compound annual growth: ``W_N^(252/N) - 1``."""
    r = np.asarray(returns, float)
    return float(wealth(r)[-1] ** (PERIODS / len(r)) - 1.0)


def ann_vol(returns: np.ndarray) -> float:
    """Annualised volatility: ``std(r, ddof=1) * sqrt(252)``."""
    return float(np.std(returns, ddof=1) * np.sqrt(PERIODS))


def sortino(returns: np.ndarray, rf: float | np.ndarray = 0.0) -> float:
    """Annualised Sortino ratio of the excess return ``x`` (`excess`), target 0:
    ``mean(x) / sqrt(mean(min(x, 0)^2)) * sqrt(252)``."""  # noqa: D205, D209
    x = np.asarray(returns, float) - (daily_rate(rf) if np.isscalar(rf) else np.asarray(rf))
    downside = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2))
    return float(x.mean() / downside * np.sqrt(PERIODS)) if downside > 0 else float("nan")


def drawdowns(returns: np.ndarray) -> np.ndarray:
    """Drawdown of each day ``W / max(1, running max W) - 1`` (<= 0), along the last axis."""
    w = wealth(returns)
    peak = np.maximum(np.maximum.accumulate(w, axis=-1), 1.0)
    return w / peak - 1.0


def max_drawdown(returns: np.ndarray) -> Any:
    """Largest drawdown, a negative number (0 if wealth never fell below a peak); a float for
    one path, an array for paths along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import max_drawdown
    >>> round(float(max_drawdown(np.array([0.10, -0.50, 0.20]))), 2)
    -0.5
    """  # noqa: D205
    out = drawdowns(returns).min(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


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


def cvar(returns: np.ndarray, level: float = 0.95) -> Any:
    """Historical CVaR: mean of the returns at or below the ``1 - level`` quantile (negative);
    a float for one path, an array for paths along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import cvar
    >>> returns = np.array([-0.04, -0.02, 0.0, 0.01, 0.02] * 20)
    >>> round(float(cvar(returns, 0.8)), 4)
    -0.04
    """  # noqa: D205
    r = np.asarray(returns, float)
    tail = r <= np.quantile(r, 1.0 - level, axis=-1, keepdims=True)
    out = np.where(tail, r, 0.0).sum(axis=-1) / tail.sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


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


def rolling_sharpe(returns: pd.DataFrame, window: int = PERIODS) -> pd.DataFrame:
    """Sharpe ratio of each trailing ``window`` days (NaN before a full window).

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)

    Returns
    -------
    DataFrame of shape (n_days, n_strategies)
    """
    roll = returns.rolling(window)
    return roll.mean() / roll.std(ddof=1) * np.sqrt(PERIODS)


def drawdown_frame(returns: pd.DataFrame) -> pd.DataFrame:
    """`drawdowns` of every column of ``returns`` (n_days, n_strategies)."""
    return returns.apply(lambda col: pd.Series(drawdowns(col.to_numpy()), index=col.index))


def ellipsoid_kappa(n_assets: int, confidence: float) -> float:
    """Radius of the ellipsoidal uncertainty set of the mean, ``sqrt(chi2.ppf(c, n))``.

    The set ``{mu_hat + kappa (Sigma/T)^(1/2) u : ||u|| <= 1}`` holds the true mean with
    probability ``c`` for normal returns (Goldfarb & Iyengar 2003); the robust mean-variance
    baseline and robust GRPO's ``drift_ellipsoid`` scenarios share it.
    """
    from scipy import special

    return float(np.sqrt(special.chdtri(n_assets, 1 - confidence)))


#: Risk measures of robust GRPO over a bundle's scenario outcomes, with their default
#: parameter (None: the measure has none).
#: The names of `RISK_MEASURES` as a type (a test keeps the two equal).
RiskMeasure = Literal["mean", "worst", "cvar", "mean_std", "entropic"]
RISK_MEASURES: dict[str, float | None] = {
    "mean": None,
    "worst": None,
    "cvar": 0.25,
    "mean_std": 1.0,
    "entropic": 10.0,
}


def risk_value(outcomes: Any, measure: str, param: float | None = None, dim: int = -1) -> Any:
    """A risk-adjusted value (higher is better) of equally likely outcomes along ``dim``.

    * ``mean``: the expectation (robust GRPO with one scenario and this is plain GRPO).
    * ``worst``: the minimum, the worst case over the uncertainty set (Ben-Tal & Nemirovski
      1998).
    * ``cvar``: the mean of the worst ``alpha`` fraction of outcomes (``param = alpha``), with
      the boundary outcome weighted fractionally, which is exactly
      ``max_z z - E[(z - X)^+] / alpha`` of the discrete distribution (Rockafellar &
      Uryasev 2000), i.e. minus the CVaR of the loss ``-X``; ``alpha = 1`` is the mean and
      ``alpha <= 1/S`` the worst case.
    * ``mean_std``: ``mean - kappa * std`` (population std; ``param = kappa``).
    * ``entropic``: ``-1/eta log mean exp(-eta X)`` (``param = eta``), the certainty
      equivalent of exponential utility, minus the entropic risk measure of Föllmer & Schied
      (2002); it tends to the mean as ``eta -> 0`` and to the worst case as ``eta -> inf``.

    Parameters
    ----------
    outcomes : Tensor of shape (..., S, ...)
    measure : str
        A name of `RISK_MEASURES`.
    param : float, optional
        The measure's parameter; its default from `RISK_MEASURES` when None.
    dim : int
        The scenario axis, reduced away.

    Returns
    -------
    Tensor with ``dim`` removed.

    References
    ----------
    Ben-Tal, A. & Nemirovski, A. (1998). Robust convex optimization. Math. of OR 23(4).
    Rockafellar, R. T. & Uryasev, S. (2000). Optimization of conditional value-at-risk.
    Journal of Risk 2(3). Föllmer, H. & Schied, A. (2002). Convex measures of risk and
    trading constraints. Finance and Stochastics 6(4).
    """
    import torch

    if measure not in RISK_MEASURES:
        raise ValueError(f"unknown risk measure {measure!r}; choose from {list(RISK_MEASURES)}")
    p = RISK_MEASURES[measure] if param is None else float(param)
    if measure == "mean":
        return outcomes.mean(dim=dim)
    if measure == "worst":
        return outcomes.amin(dim=dim)
    if measure == "mean_std":
        return outcomes.mean(dim=dim) - p * outcomes.std(dim=dim, correction=0)
    if measure == "entropic":
        s = outcomes.shape[dim]
        return -(torch.logsumexp(-p * outcomes, dim=dim) - np.log(s)) / p
    s = outcomes.shape[dim]
    ordered = outcomes.sort(dim=dim).values
    # probability mass 1/S each; the worst alpha of it, the boundary outcome in part
    below = torch.arange(s, dtype=outcomes.dtype, device=outcomes.device) / s
    mass = torch.clamp(p - below, min=0.0, max=1.0 / s)
    shape = [1] * outcomes.ndim
    shape[dim] = s
    return (ordered * mass.view(shape)).sum(dim=dim) / p
