"""The one feature function, shared by the environment, training and the backtest.

Every feature of day ``t`` is a function of the prices of days ``t - LOOKBACK .. t`` only
(rolling windows computed on sliding views, never cumulative sums from the start of the
data), so a feature is bit-identical whether it is computed on the whole history or on a
window that ends at ``t``, and changing any later price cannot change it.

Per asset, in this order (``FEATURE_NAMES``):

==================  ======================================================  ==========
name                definition (``L = log price``, ``r`` = daily log return)  window
==================  ======================================================  ==========
``mom_5``           ``(L[t] - L[t-5]) / (0.25 * sqrt(5/252))``                  5 days
``mom_21``          same over 21 days                                         21 days
``mom_63``          same over 63 days                                         63 days
``mom_252``         same over 252 days                                        252 days
``vol_21``          ``log(std(r[t-20..t], ddof=1) * sqrt(252) / 0.25)``        21 days
``vol_63``          same over 63 days                                         63 days
``drawdown_252``    ``(L[t] - max(L[t-251..t])) / 0.25``                      252 days
==================  ======================================================  ==========

Trailing log returns are scaled by the move of a 25%-volatility asset over the horizon
and the drawdown by 25%, so typical values are of order one; every feature is clipped to
``[-CLIP, CLIP]``. The observation adds the asset's current drifted weight times the
number of assets (1.0 at equal weight): see :func:`observation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from portfolio_rl.market import is_torch

HORIZONS = (5, 21, 63, 252)
VOL_WINDOWS = (21, 63)
HIGH_WINDOW = 252
#: Daily returns a feature looks back over: the first decision needs LOOKBACK + 1 prices.
LOOKBACK = max(*HORIZONS, *VOL_WINDOWS, HIGH_WINDOW)
FEATURE_NAMES = (
    *(f"mom_{h}" for h in HORIZONS),
    *(f"vol_{w}" for w in VOL_WINDOWS),
    f"drawdown_{HIGH_WINDOW}",
)
N_FEATURES = len(FEATURE_NAMES)
#: Observation width per asset: the features plus the drifted weight.
OBS_FEATURES = N_FEATURES + 1
CLIP = 5.0
_ANN_VOL = 0.25


def _windows(x: np.ndarray, width: int) -> np.ndarray:
    """Sliding windows of ``width`` rows along axis -2: shape (..., T - width + 1, n, width)."""
    return np.lib.stride_tricks.sliding_window_view(x, width, axis=-2)


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
    total = np.zeros((*x.shape[:-2], n_out, x.shape[-1]))
    for j in range(width):
        total += x[..., j : j + n_out, :]
    mean = total / width
    sq = np.zeros_like(total)
    for j in range(width):
        dev = x[..., j : j + n_out, :] - mean
        sq += dev * dev
    return np.sqrt(sq / (width - 1))


def asset_features(prices: np.ndarray) -> np.ndarray:
    """Features of every asset on every day, NaN where the history is too short.

    Parameters
    ----------
    prices : ndarray of shape (..., n_days, n_assets)
        Strictly positive prices (any leading batch shape).

    Returns
    -------
    ndarray of shape (..., n_days, n_assets, N_FEATURES), float64
        Row ``t`` depends on ``prices[..., t - LOOKBACK : t + 1, :]`` only; rows
        ``t < LOOKBACK`` are NaN.
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
    out[..., :LOOKBACK, :, :] = np.nan
    return np.clip(out, -CLIP, CLIP)


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
