"""The one cost model and wealth dynamics, for numpy arrays and torch tensors alike.

Timing convention (see README): ``P[t]`` is the close of day t and ``r[t] = P[t]/P[t-1] - 1``.
A decision at the close of t sees ``P[..t]``; the target weights are bought at that close,
paying ``cost = cost_bps/1e4 * sum_i |w_target_i - w_drifted_i|`` (plus the optional
square-law impact ``impact_bps/1e4 * sum_i (w_target_i - w_drifted_i)^2``) as a fraction of
that day's wealth, and then earn ``r[t+1]`` onward, drifting with prices until the next
rebalance. With a cash column (the last one, ``cash=True``), trades in cash are free.

Every function works on the trailing axis and broadcasts over leading ones, so the
gymnasium env, the batched torch simulator and the backtest engine share one formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from portfolio_rl.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

Array = Any  # np.ndarray or torch.Tensor

#: Trading days a year: the one annualisation constant of the project.
PERIODS = 252


def is_torch(x: Array) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    return type(x).__module__.startswith("torch")


def rebalance(
    w_target: Array,
    w_drifted: Array,
    cost_bps: float,
    impact_bps: float = 0.0,
    cash: bool = False,
) -> tuple[Array, Array]:
    """Turnover and cost of a rebalance: the one cost model.

    ``turnover = sum|dw|`` and ``cost = cost_bps/1e4 * sum|dw| + impact_bps/1e4 * sum dw^2``
    as a fraction of wealth, over the risky assets, where ``dw = w_target - w_drifted``: a
    proportional (commission plus half-spread) cost and an optional square-law impact term.

    Parameters
    ----------
    w_target, w_drifted : array of shape (..., n_assets)
    cost_bps, impact_bps : float
    cash : bool
        The last column is cash and trades in it are free.

    Returns
    -------
    turnover, cost : arrays of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import rebalance
    >>> turnover, cost = rebalance(np.array([0.5, 0.5]), np.array([1.0, 0.0]), cost_bps=10.0)
    >>> float(turnover), round(float(cost), 6)
    (1.0, 0.001)
    """
    trade = w_target - w_drifted
    if cash:
        trade = trade[..., :-1]
    two_way = abs(trade).sum(-1)
    cost = cost_bps / 1e4 * two_way
    if impact_bps:
        cost = cost + impact_bps / 1e4 * (trade * trade).sum(-1)
    return two_way, cost


def hold(weights: Array, returns: Array) -> tuple[Array, Array]:
    """Hold ``weights`` (set at a close) through the following days' ``returns``.

    Parameters
    ----------
    weights : array of shape (..., n_assets)
        Weights just after the rebalance.
    returns : array of shape (..., h, n_assets)
        Simple returns of the next h days.

    Returns
    -------
    value : array of shape (..., h)
        Portfolio value on each day relative to the rebalance close (1.0 there).
    drifted : array of shape (..., n_assets)
        Weights at the close of the last day, after drifting with prices.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import hold
    >>> value, drifted = hold(np.array([0.5, 0.5]), np.array([[0.10, 0.0], [0.0, 0.0]]))
    >>> value.round(3).tolist(), drifted.round(4).tolist()
    ([1.05, 1.05], [0.5238, 0.4762])
    """
    growth = _growth(returns)
    value = (growth * weights[..., None, :]).sum(-1)
    drifted = weights * growth[..., -1, :] / value[..., -1:]
    return value, drifted


def drift(weights: Array, returns: Array) -> Array:
    """The drifted weights of [`hold`][portfolio_rl.conventions.market.hold], the same
    numbers, without the value of every day: shape (..., n_assets)."""  # noqa: D205, D209
    last = _growth(returns)[..., -1, :]
    return weights * last / (last * weights).sum(-1)[..., None]


def _growth(returns: Array) -> Array:
    """Growth of one unit held from the rebalance close, ``cumprod(1 + r)`` over the days."""
    if is_torch(returns):
        import torch

        return torch.cumprod(1.0 + returns, dim=-2)
    return np.cumprod(1.0 + returns, axis=-2)


#: Column name of the cash asset (lower case, so it cannot clash with a ticker).
CASH = "cash"


def daily_rate(annual_rate: float) -> float:
    """Daily simple rate equivalent to ``annual_rate``: ``(1 + r)^(1/252) - 1``."""
    return (1.0 + annual_rate) ** (1.0 / PERIODS) - 1.0


def add_cash(returns: np.ndarray, annual_rate: float = 0.0) -> np.ndarray:
    """Append a cash column earning ``annual_rate`` (see `daily_rate`).

    Parameters
    ----------
    returns : ndarray of shape (..., n_days, n_assets)

    Returns
    -------
    ndarray of shape (..., n_days, n_assets + 1)
    """
    cash = np.full((*returns.shape[:-1], 1), daily_rate(annual_rate))
    return np.concatenate([returns, cash], axis=-1)


def add_cash_prices(prices: pd.DataFrame, rate: float | pd.Series) -> pd.DataFrame:
    """Append a ``cash`` price column, 1.0 on the first day, earning the risk-free rate.

    Parameters
    ----------
    prices : DataFrame of shape (n_days, n_assets)
    rate : float or Series
        An annual rate (compounded daily, `daily_rate`), or the daily simple rate of
        each day (a Series on ``prices.index``; the first day's is not earned: cash is
        bought at its close), e.g. the Fama-French ``RF`` column.

    Returns
    -------
    DataFrame of shape (n_days, n_assets + 1), cash last: ``simple_returns`` of its column
    give back the daily rates.
    """
    if CASH in prices.columns:
        raise DataError(
            f"the prices already have a column named {CASH!r}: rename it (cash: true adds "
            "its own cash column, earning the risk-free rate)"
        )
    if np.isscalar(rate):
        growth = (1.0 + daily_rate(float(rate))) ** np.arange(len(prices))
    else:
        daily = np.asarray(rate.reindex(prices.index), dtype=float)
        if not np.all(np.isfinite(daily[1:])):
            raise DataError("the risk-free series has gaps on the price dates")
        growth = np.concatenate([[1.0], np.cumprod(1.0 + daily[1:])])
    return prices.assign(**{CASH: growth})


def split_cash(prices: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The risky columns of ``prices`` and whether a last ``cash`` column was there."""
    if len(prices.columns) and prices.columns[-1] == CASH:
        return prices.iloc[:, :-1], True
    return prices, False


def simple_returns(prices: np.ndarray) -> np.ndarray:
    """``r[t] = P[t]/P[t-1] - 1`` with ``r[0] = 0``, same shape as ``prices`` (..., T, n).

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import simple_returns
    >>> simple_returns(np.array([[100.0], [110.0], [99.0]])).round(3).ravel().tolist()
    [0.0, 0.1, -0.1]
    """
    prices = np.asarray(prices, dtype=np.float64)
    out = np.zeros_like(prices)
    out[..., 1:, :] = prices[..., 1:, :] / prices[..., :-1, :] - 1.0
    return out
