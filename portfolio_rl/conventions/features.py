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

from collections.abc import Iterator
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
#: Numbers in one (..., days, n) array of a chunk of days (128 KB).
_CHUNK = 2**14
#: Numbers in one daily series of a group of paths (8 MB).
_SERIES = 2**20
#: Numbers in one stack of a window's rows (2 MB; see `_rows_of`).
_STACK = 2**18


Rows = slice | np.ndarray


def _at(x: np.ndarray, rows: Rows, offset: int = 0) -> np.ndarray:
    """``x[..., rows + offset, :]``: a view when ``rows`` is a slice (of step >= 1), else a
    gather."""  # noqa: D205, D209
    if isinstance(rows, slice):
        return x[..., rows.start + offset : rows.stop + offset : rows.step, :]
    return x[..., rows + offset, :]


def _rows_of(
    x: np.ndarray, ends: Rows, offsets: range, like: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """``_at(x, ends, j)`` for each ``j`` of ``offsets`` in order, stacked in blocks.

    Each block has shape (J, ..., len(ends), n) and at most about ``_STACK`` numbers
    (counted on ``like`` when given, so that two arrays come in the same blocks), so that a
    window's loop is a few whole-array operations, not one small one per row. With a slice
    of days a block is a read-only view, else a gather.
    """
    per = max(1, _STACK // max(_at(x if like is None else like, ends).size, 1))
    for lo in range(0, len(offsets), per):
        part = offsets[lo : lo + per]
        if isinstance(ends, slice):
            first = _at(x, ends, part[0])
            shape, strides = (len(part), *first.shape), (x.strides[-2] * part.step, *first.strides)
            yield np.lib.stride_tricks.as_strided(first, shape, strides, writeable=False)
        else:
            yield np.moveaxis(x[..., ends[None, :] + np.array(part)[:, None], :], -3, 0)


def _running_sums(total: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """``total + terms[0]``, ``(total + terms[0]) + terms[1]``, ...: the partial sums of
    adding the terms one after another (a loop over whole rows: ``np.add.accumulate`` over
    the first axis adds in the same order, 20 times slower)."""  # noqa: D205, D209
    out = np.empty_like(terms)
    np.add(total, terms[0], out=out[0])
    for k in range(1, len(terms)):
        np.add(out[k - 1], terms[k], out=out[k])
    return out


def _add_in_order(total: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """``((total + terms[0]) + terms[1]) + ...``, added into ``total``."""
    for term in terms:
        total += term
    return total


def _window_sum(x: np.ndarray, width: int, ends: Rows) -> np.ndarray:
    """Sum of the ``width`` rows of ``x`` that end at each row of ``ends``, oldest row first.

    The same additions in the same order wherever the window sits, so every sum is the same
    floating-point number on the whole history or on a window of it (numpy's own reductions
    group their partial sums by the position in the whole array, which would not be).

    Returns
    -------
    ndarray of shape (..., len(ends), n)
    """
    total = np.zeros_like(_at(x, ends))
    for rows in _rows_of(x, ends, range(1 - width, 1)):
        total = _add_in_order(total, rows)
    return total


def _window_std(x: np.ndarray, width: int, ends: Rows) -> np.ndarray:
    """Sample std (ddof=1) of the ``width`` rows ending at each of ``ends``, summed in order."""
    mean = _window_sum(x, width, ends) / width
    sq = np.zeros_like(mean)
    for rows in _rows_of(x, ends, range(1 - width, 1)):
        dev = rows - mean
        sq = _add_in_order(sq, dev * dev)
    return np.sqrt(sq / (width - 1))


def asset_features(prices: np.ndarray, rows: slice | np.ndarray | None = None) -> np.ndarray:
    """Features of every asset on every day, NaN where the history is too short.

    Parameters
    ----------
    prices : ndarray of shape (..., n_days, n_assets)
        Strictly positive prices (any leading batch shape).
    rows : slice or ndarray of int, optional
        Only these days: the same numbers as in the full result, with work in proportion to
        the days asked for (synthetic paths need their decision days only).

    Returns
    -------
    ndarray of shape (..., n_days, n_assets, N_FEATURES), float64
        Row ``t`` depends on ``prices[..., t - LOOKBACK : t + 1, :]`` only; rows
        ``t < LOOKBACK`` are NaN. With ``rows``, those rows only.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import FEATURE_NAMES, asset_features
    >>> prices = 100 * np.cumprod(1 + np.random.default_rng(0).normal(0, 0.01, (300, 3)), axis=0)
    >>> features = asset_features(prices)
    >>> features.shape == (300, 3, len(FEATURE_NAMES)), bool(np.isnan(features[0]).all())
    (True, True)
    """
    prices = np.asarray(prices, dtype=np.float64)
    *batch, n_days, n_assets = prices.shape
    wanted = np.arange(n_days) if rows is None else np.arange(n_days)[rows]
    # days evenly spaced (all of them, or a slice) are read through views, not gathers
    step = 1 if rows is None else max(rows.step or 1, 0) if isinstance(rows, slice) else 0
    out = np.full((*batch, len(wanted), n_assets, N_FEATURES), np.nan)
    ready = np.flatnonzero(wanted >= LOOKBACK)
    if not len(ready):
        return out
    paths = prices.reshape(-1, n_days, n_assets)
    flat = out.reshape(len(paths), len(wanted), n_assets, N_FEATURES)  # a view of out
    # a few paths at a time, so that their daily series stay small, and a few days at a
    # time, so that every (paths, days, n) array of the windowed loops stays in the cache
    # (paths and days are independent: the numbers do not change)
    group = max(1, _SERIES // max(n_days * n_assets, 1))
    for first in range(0, len(paths), group):
        series = _daily_series(paths[first : first + group])
        size = max(1, _CHUNK // (n_assets * len(series[0])))
        for lo in range(0, len(ready), size):
            part = ready[lo : lo + size]
            days = slice(wanted[part[0]], wanted[part[-1]] + 1, step) if step else wanted[part]
            flat[first : first + group, part] = np.clip(_features_at(series, days), -CLIP, CLIP)
    return out


def _daily_series(prices: np.ndarray) -> tuple[np.ndarray, ...]:
    """Log prices (..., T, n); log returns (..., T - 1, n), ``logr[t - 1]`` of day t; and the
    equal-weight index's log return and the cross-sectional std of log returns (..., T - 1, 1)."""  # noqa: D205, D209
    n_assets = prices.shape[-1]
    logp = np.log(prices)
    logr = np.diff(logp, axis=-2)
    ratio = prices[..., 1:, :] / prices[..., :-1, :]
    index_logr = np.log(_across_assets(ratio) / n_assets)[..., None]
    mean_logr = _across_assets(logr)[..., None] / n_assets
    spread = np.sqrt(_across_assets((logr - mean_logr) ** 2) / n_assets)[..., None]
    return logp, logr, index_logr, spread


def _features_at(series: tuple[np.ndarray, ...], days: Rows) -> np.ndarray:
    """Every feature of the given days (each at least LOOKBACK), shape (..., days, n, N)."""
    logp, logr, index_logr, spread = series
    ends = slice(days.start - 1, days.stop - 1, days.step) if isinstance(days, slice) else days - 1
    now = _at(logp, days)
    f = [(now - _at(logp, days, -h)) / (_ANN_VOL * np.sqrt(h / 252)) for h in HORIZONS]
    for w in VOL_WINDOWS:
        vol = _window_std(logr, w, ends) * np.sqrt(252)
        f.append(np.log(np.maximum(vol, 1e-4) / _ANN_VOL))
    high = now.copy()
    for rows in _rows_of(logp, days, range(-1, -HIGH_WINDOW, -1)):
        np.maximum(high, rows.max(axis=0), out=high)  # log prices: no NaN, no -0.0
    f.append((now - high) / _ANN_VOL)
    f.extend(np.moveaxis(_covariance_features(logr, index_logr, ends), -1, 0))
    market = _market_features(index_logr, spread, ends)  # (..., days, 1, M)
    asset = np.stack(f, axis=-1)
    return np.concatenate(
        [asset, np.broadcast_to(market, (*asset.shape[:-1], market.shape[-1]))], axis=-1
    )


def _across_assets(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, asset by asset in a fixed order.

    numpy's own reduction over a short last axis groups its partial sums differently
    depending on the rest of the array, so a row's sum could change with later rows. Here
    each row is ``((0 + x_0) + x_1) + ...`` by construction, one asset at a time over every
    row at once (``np.add.accumulate`` over the last axis adds in the same order but element
    by element, 16 times slower); ``+ 0.0`` turns the ``-0.0`` of an all-``-0.0`` row into
    the ``0.0`` that sum starts at.
    """
    if x.shape[-1] == 0:
        return np.zeros(x.shape[:-1])
    total = x[..., 0].copy()
    for i in range(1, x.shape[-1]):
        total += x[..., i]
    return total + 0.0


def _covariance_features(logr: np.ndarray, m: np.ndarray, ends: Rows) -> np.ndarray:
    """``beta_252``, ``idio_vol_252`` and ``avg_corr_252`` of the windows ending at ``ends``.

    Deviations from each window's means are accumulated offset by offset in a fixed order,
    as in [`_window_std`][portfolio_rl.conventions.features._window_std]; the sum over the
    other assets of ``corr(r_i, r_j)`` is ``sum_tau dev_i[tau] z[tau] / ((w - 1) s_i)`` with
    ``z[tau] = sum_j dev_j[tau] / s_j``, which costs O(T w n), not O(T w n^2).

    Parameters
    ----------
    logr : ndarray of shape (..., T - 1, n)
        Daily log returns of the assets.
    m : ndarray of shape (..., T - 1, 1)
        Daily log returns of the equal-weight index.
    ends : slice or ndarray of int
        The last return of each window (``logr`` rows).

    Returns
    -------
    ndarray of shape (..., len(ends), n, 3)
    """
    w, n = COV_WINDOW, logr.shape[-1]
    offsets = range(1 - w, 1)  # oldest first
    mean, mean_m = _window_sum(logr, w, ends) / w, _window_sum(m, w, ends) / w
    var, var_m, cov = np.zeros_like(mean), np.zeros_like(mean_m), np.zeros_like(mean)
    blocks = zip(_rows_of(logr, ends, offsets), _rows_of(m, ends, offsets, logr), strict=True)
    for rows, rows_m in blocks:
        dev, dev_m = rows - mean, rows_m - mean_m
        var = _add_in_order(var, dev * dev)
        var_m = _add_in_order(var_m, dev_m * dev_m)
        cov = _add_in_order(cov, dev * dev_m)
    std = np.sqrt(np.maximum(var / (w - 1), 1e-16))
    sum_corr = np.zeros_like(mean)
    for rows in _rows_of(logr, ends, offsets):
        dev = rows - mean
        sum_corr = _add_in_order(sum_corr, dev * _across_assets(dev / std)[..., None])
    sum_corr = sum_corr / (w - 1) / std  # with corr(r_i, r_i) = 1
    beta = cov / np.maximum(var_m, 1e-16)
    idio = np.maximum(var - beta * beta * var_m, 1e-16) / (w - 1)
    out = np.empty((*mean.shape, 3))
    out[..., 0] = beta - 1.0
    out[..., 1] = np.log(np.maximum(np.sqrt(idio * 252), 1e-4) / _ANN_VOL)
    out[..., 2] = (sum_corr - 1.0) / (n - 1) if n > 1 else 0.0
    return out


def _market_features(m: np.ndarray, spread: np.ndarray, ends: Rows) -> np.ndarray:
    """The market-level features of the days whose last return is ``ends``.

    ``m`` and ``spread`` (shape (..., T - 1, 1)) are the equal-weight index's log return and
    the cross-sectional std of log returns of each day. Returns shape (..., days, 1, M).
    """
    f = [_window_sum(m, h, ends) / (_ANN_VOL * np.sqrt(h / 252)) for h in (21, 252)]
    for w in VOL_WINDOWS:
        vol = _window_std(m, w, ends) * np.sqrt(252)
        f.append(np.log(np.maximum(vol, 1e-4) / _ANN_VOL))
    # drawdown from the 252-day high: the worst sum of the latest j returns, newest first
    partial = np.zeros_like(_at(m, ends))
    worst = partial.copy()
    for rows in _rows_of(m, ends, range(0, 1 - HIGH_WINDOW, -1)):
        partials = _running_sums(partial, rows)
        worst = np.minimum(worst, partials.min(axis=0))
        partial = partials[-1]
    f.append(worst / _ANN_VOL)
    dispersion = _window_sum(spread, 21, ends) / 21 * np.sqrt(252)
    f.append(np.log(np.maximum(dispersion, 1e-4) / _ANN_VOL))
    return np.stack(f, axis=-1)


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

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions import FEATURE_NAMES, observation
    >>> obs = observation(np.zeros((4, len(FEATURE_NAMES))), np.full(4, 0.25))
    >>> obs.shape == (4, len(FEATURE_NAMES) + 1), obs[:, -1].tolist()
    (True, [1.0, 1.0, 1.0, 1.0])
    """
    n_assets = weights.shape[-1]
    column = (weights * n_assets)[..., None]
    if is_torch(features):
        import torch

        return torch.cat([features, column.to(features.dtype)], dim=-1)
    obs = np.concatenate([features, np.broadcast_to(column, (*features.shape[:-1], 1))], axis=-1)
    return obs.astype(np.float32)
