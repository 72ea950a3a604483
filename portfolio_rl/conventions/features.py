"""The one feature function, shared by the environment, training and the backtest.

Every feature of day ``t`` is a function of the prices of days ``t - LOOKBACK .. t`` only
(rolling windows computed on sliding views, never cumulative sums from the start of the
data), so a feature is bit-identical whether it is computed on the whole history or on a
window that ends at ``t``, and changing any later price cannot change it.

Per asset, in this order (``FEATURE_NAMES``; ``L`` is the log price, ``r`` the daily log
return, ``m`` the daily log return of the universe's equal-weight index, rebalanced daily,
``m[t] = log(mean_i P_i[t]/P_i[t-1])``):

| name | definition | window |
|---|---|---|
| `mom_5` | `(L[t] - L[t-5]) / (0.25 * sqrt(5/252))` | 5 days |
| `mom_21`, `mom_63`, `mom_252` | the same over 21, 63, 252 days | |
| `vol_21` | `log(std(r[t-20..t], ddof=1) * sqrt(252) / 0.25)` | 21 days |
| `vol_63` | the same over 63 days | |
| `drawdown_252` | `(L[t] - max(L[t-251..t])) / 0.25` | 252 days |
| `beta_252` | `cov(r_i, m) / var(m) - 1`: beta to the equal-weight index, minus 1 | 252 days |
| `idio_vol_252` | `log(sqrt((var(r_i) - beta^2 var(m)) * 252) / 0.25)`: idiosyncratic | 252 days |
| `avg_corr_252` | the mean over the other assets j of `corr(r_i, r_j)` | 252 days |

The last three make the covariance visible to a policy that scores each asset from its own
row: a single-index minimum-variance portfolio is a function of each asset's beta and
idiosyncratic volatility and the market's variance (Elton, Gruber & Padberg 1976, the
single-index model of Sharpe 1963). Then, the same on every asset's row, market-level
features of the equal-weight index, which tell a policy how risky the market is now
(Moreira & Muir 2017 time exposure on them):

| name | definition | window |
|---|---|---|
| `mkt_mom_21` | `sum(m[t-20..t]) / (0.25 * sqrt(21/252))` | 21 days |
| `mkt_mom_252` | `sum(m[t-251..t]) / 0.25` | 252 days |
| `mkt_vol_21` | `log(std(m[t-20..t], ddof=1) * sqrt(252) / 0.25)` | 21 days |
| `mkt_vol_63` | the same over 63 days | |
| `mkt_drawdown` | `min_j sum(m[t-j+1..t]) / 0.25` over j < 252 (from its high) | 252 days |
| `dispersion_21` | `log(21-day mean of the cross-sectional std of r * sqrt(252)/0.25)` | 21 days |

Trailing log returns are scaled by the move of a 25%-volatility asset over the horizon
and the drawdown by 25%, so typical values are of order one; every feature is clipped to
``[-CLIP, CLIP]``. Sums over windows and over assets are taken in a fixed order, so they too
are the same number on any window. The observation adds the asset's current drifted weight
times the number of assets (1.0 at equal weight): see
[`observation`][portfolio_rl.conventions.features.observation].
With cash, the features are those of the risky assets only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from portfolio_rl.conventions.market import is_torch

HORIZONS = (5, 21, 63, 252)
VOL_WINDOWS = (21, 63)
HIGH_WINDOW = 252
#: Window of the covariance-aware features (beta, idiosyncratic volatility, correlation).
COV_WINDOW = 252
#: Daily returns a feature looks back over: the first decision needs LOOKBACK + 1 prices.
LOOKBACK = max(*HORIZONS, *VOL_WINDOWS, HIGH_WINDOW, COV_WINDOW)
ASSET_FEATURE_NAMES = (
    *(f"mom_{h}" for h in HORIZONS),
    *(f"vol_{w}" for w in VOL_WINDOWS),
    f"drawdown_{HIGH_WINDOW}",
    f"beta_{COV_WINDOW}",
    f"idio_vol_{COV_WINDOW}",
    f"avg_corr_{COV_WINDOW}",
)
MARKET_FEATURE_NAMES = (
    "mkt_mom_21",
    "mkt_mom_252",
    "mkt_vol_21",
    "mkt_vol_63",
    "mkt_drawdown",
    "dispersion_21",
)
FEATURE_NAMES = (*ASSET_FEATURE_NAMES, *MARKET_FEATURE_NAMES)
N_FEATURES = len(FEATURE_NAMES)
#: Observation width per asset: the features plus the drifted weight.
OBS_FEATURES = N_FEATURES + 1
CLIP = 5.0
_ANN_VOL = 0.25


def _windows(x: np.ndarray, width: int) -> np.ndarray:
    """Sliding windows of ``width`` rows along axis -2: shape (..., T - width + 1, n, width)."""
    return np.lib.stride_tricks.sliding_window_view(x, width, axis=-2)


def _rolling_sum(x: np.ndarray, width: int) -> np.ndarray:
    """Sum of each run of ``width`` rows along axis -2, oldest row first (fixed order).

    Returns
    -------
    ndarray of shape (..., T - width + 1, n)
    """
    n_out = x.shape[-2] - width + 1
    total = np.zeros((*x.shape[:-2], n_out, x.shape[-1]))
    for j in range(width):
        total += x[..., j : j + n_out, :]
    return total


def _rolling_std(x: np.ndarray, width: int) -> np.ndarray:
    """Sample std (ddof=1) of each run of ``width`` rows along axis -2.

    Summed offset by offset, elementwise, so that every result is the same floating-point
    number wherever the window sits in the array (numpy's reductions over strided views
    group their partial sums by the position in the whole array, which is not).

    Returns
    -------
    ndarray of shape (..., T - width + 1, n)
    """
    n_out = x.shape[-2] - width + 1
    mean = _rolling_sum(x, width) / width
    sq = np.zeros_like(mean)
    for j in range(width):
        dev = x[..., j : j + n_out, :] - mean
        sq += dev * dev
    return np.sqrt(sq / (width - 1))


def asset_features(prices: np.ndarray, rows: slice | None = None) -> np.ndarray:
    """Features of every asset on every day, NaN where the history is too short.

    Parameters
    ----------
    prices : ndarray of shape (..., n_days, n_assets)
        Strictly positive prices (any leading batch shape).
    rows : slice, optional
        Only these days (the same numbers as in the full result, computed with less work:
        synthetic paths need the decision days only).

    Returns
    -------
    ndarray of shape (..., n_days, n_assets, N_FEATURES), float64
        Row ``t`` depends on ``prices[..., t - LOOKBACK : t + 1, :]`` only; rows
        ``t < LOOKBACK`` are NaN. With ``rows``, those rows only.
    """
    logp = np.log(np.asarray(prices, dtype=np.float64))
    *batch, n_days, n_assets = logp.shape
    out = np.full((*batch, n_days, n_assets, N_FEATURES), np.nan)
    if n_days <= LOOKBACK:
        return out
    logr = np.diff(logp, axis=-2)  # logr[t-1] is the return of day t
    f = 0
    for h in HORIZONS:
        out[..., h:, :, f] = (logp[..., h:, :] - logp[..., :-h, :]) / (_ANN_VOL * np.sqrt(h / 252))
        f += 1
    for w in VOL_WINDOWS:
        vol = _rolling_std(logr, w) * np.sqrt(252)
        out[..., w:, :, f] = np.log(np.maximum(vol, 1e-4) / _ANN_VOL)
        f += 1
    high = _windows(logp, HIGH_WINDOW).max(axis=-1)
    out[..., HIGH_WINDOW - 1 :, :, f] = (logp[..., HIGH_WINDOW - 1 :, :] - high) / _ANN_VOL
    f += 1
    ratio = np.asarray(prices, dtype=np.float64)
    ratio = ratio[..., 1:, :] / ratio[..., :-1, :]
    index_logr = np.log(_across_assets(ratio) / n_assets)
    out[..., COV_WINDOW:, :, f : f + 3] = _covariance_features(logr, index_logr)
    f += 3
    mean_logr = _across_assets(logr) / n_assets
    spread = np.sqrt(_across_assets((logr - mean_logr[..., None]) ** 2) / n_assets)
    out[..., f:] = _market_features(index_logr, spread)[..., None, :]
    out[..., :LOOKBACK, :, :] = np.nan
    return np.clip(out if rows is None else out[..., rows, :, :], -CLIP, CLIP)


def _across_assets(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, asset by asset in a fixed order.

    numpy's own reduction over a short last axis groups its partial sums differently
    depending on the rest of the array, so a row's sum could change with later rows.
    """
    total = np.zeros(x.shape[:-1])
    for i in range(x.shape[-1]):
        total += x[..., i]
    return total


def _covariance_features(logr: np.ndarray, index_logr: np.ndarray) -> np.ndarray:
    """``beta_252``, ``idio_vol_252`` and ``avg_corr_252`` of every window of COV_WINDOW returns.

    Deviations from each window's means are accumulated offset by offset (fixed order, as in
    [`_rolling_std`][portfolio_rl.conventions.features._rolling_std]); the sum over the other
    assets of ``corr(r_i, r_j)`` is ``sum_tau dev_i[tau] * z[tau] / ((w - 1) s_i)`` with
    ``z[tau] = sum_j dev_j[tau] / s_j``, which costs O(T w n), not O(T w n^2).

    Parameters
    ----------
    logr : ndarray of shape (..., T - 1, n)
        Daily log returns of the assets.
    index_logr : ndarray of shape (..., T - 1)
        Daily log returns of the equal-weight index.

    Returns
    -------
    ndarray of shape (..., T - COV_WINDOW, n, 3)
        Row ``o`` is the window of returns ``o .. o + COV_WINDOW - 1`` (ending on day
        ``o + COV_WINDOW``).
    """
    w, n = COV_WINDOW, logr.shape[-1]
    n_out = logr.shape[-2] - w + 1
    m = index_logr[..., None]
    mean = _rolling_sum(logr, w) / w
    mean_m = _rolling_sum(m, w) / w
    var, cov = np.zeros_like(mean), np.zeros_like(mean)
    var_m = np.zeros_like(mean_m)
    for k in range(w):
        dev = logr[..., k : k + n_out, :] - mean
        dev_m = m[..., k : k + n_out, :] - mean_m
        var += dev * dev
        var_m += dev_m * dev_m
        cov += dev * dev_m
    std = np.sqrt(np.maximum(var / (w - 1), 1e-16))
    cross = np.zeros_like(mean)
    for k in range(w):
        dev = logr[..., k : k + n_out, :] - mean
        cross += dev * _across_assets(dev / std)[..., None]
    sum_corr = cross / (w - 1) / std  # includes corr(r_i, r_i) = 1
    beta = cov / np.maximum(var_m, 1e-16)
    idio = np.maximum(var - beta * beta * var_m, 1e-16) / (w - 1)
    out = np.empty((*mean.shape, 3))
    out[..., 0] = beta - 1.0
    out[..., 1] = np.log(np.maximum(np.sqrt(idio * 252), 1e-4) / _ANN_VOL)
    out[..., 2] = (sum_corr - 1.0) / (n - 1) if n > 1 else 0.0
    return out


def _market_features(index_logr: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """The market-level features of every day, shape (..., T, len(MARKET_FEATURE_NAMES)).

    ``index_logr[..., k]`` and ``dispersion[..., k]`` are the equal-weight index's log
    return and the cross-sectional std of log returns of day k + 1.
    """
    m = index_logr[..., None]  # (..., T - 1, 1): rows are days, as the asset arrays
    n_days = m.shape[-2] + 1
    out = np.full((*m.shape[:-2], n_days, len(MARKET_FEATURE_NAMES)), np.nan)
    for f, h in enumerate((21, 252)):
        out[..., h:, f] = _rolling_sum(m, h)[..., 0] / (_ANN_VOL * np.sqrt(h / 252))
    for f, w in enumerate(VOL_WINDOWS, start=2):
        vol = _rolling_std(m, w)[..., 0] * np.sqrt(252)
        out[..., w:, f] = np.log(np.maximum(vol, 1e-4) / _ANN_VOL)
    # drawdown from the 252-day high: the worst sum of the latest j returns, newest first
    first = HIGH_WINDOW - 1
    partial = np.zeros((*m.shape[:-2], n_days - first))
    worst = partial.copy()
    for j in range(1, HIGH_WINDOW):
        partial = partial + index_logr[..., first - j : n_days - 1 - j + 1]
        worst = np.minimum(worst, partial)
    out[..., first:, 4] = worst / _ANN_VOL
    spread = _rolling_sum(dispersion[..., None], 21)[..., 0] / 21 * np.sqrt(252)
    out[..., 21:, 5] = np.log(np.maximum(spread, 1e-4) / _ANN_VOL)
    return out


def observation(features: Any, weights: Any) -> Any:
    """Policy input: features with the drifted weights (times n_assets) as the last column.

    The one observation builder of the environment, the training rollouts and the backtest.

    Parameters
    ----------
    features : ndarray or Tensor of shape (..., n_assets, N_FEATURES)
    weights : ndarray or Tensor of shape (..., n_assets)
        Broadcast against the leading axes of ``features``.

    Returns
    -------
    ndarray (float32) or Tensor (the features' dtype) of shape (..., n_assets, OBS_FEATURES)
    """
    n_assets = weights.shape[-1]
    column = (weights * n_assets)[..., None]
    if is_torch(features):
        import torch

        return torch.cat([features, column.to(features.dtype)], dim=-1)
    obs = np.concatenate([features, np.broadcast_to(column, (*features.shape[:-1], 1))], axis=-1)
    return obs.astype(np.float32)
