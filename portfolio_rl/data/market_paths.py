"""Market paths: historical replay, stationary block bootstrap and synthetic markets.

A path is an array of daily simple returns of shape (n_days, n_assets) (or with a
leading batch axis). Bootstrap draws resample whole cross-sectional rows, so the
correlations between assets survive.
"""

from __future__ import annotations

import numpy as np


def stationary_bootstrap_indices(
    n_obs: int,
    length: int,
    mean_block: float,
    rng: np.random.Generator,
    size: int | None = None,
    first: np.ndarray | None = None,
) -> np.ndarray:
    """Row indices of stationary-bootstrap resamples (Politis & Romano 1994).

    Blocks start at a uniform row and have geometric lengths with mean ``mean_block``;
    a block that runs past the last row wraps around to the first.

    Parameters
    ----------
    n_obs : int
        Rows to draw from.
    length : int
        Rows per resample.
    mean_block : float
        Expected block length (>= 1); 1 is the i.i.d. bootstrap.
    rng : numpy.random.Generator
    size : int, optional
        Number of resamples; None returns a single one.
    first : ndarray of int, shape (size,), optional
        Where each resample's first block starts (default: uniform, like every block).

    Returns
    -------
    ndarray of int, shape (length,) or (size, length)

    References
    ----------
    Politis, D. N. & Romano, J. P. (1994). The stationary bootstrap. JASA 89(428).
    """
    if mean_block < 1:
        raise ValueError("mean_block must be >= 1")
    shape = (1 if size is None else size, length)
    new_block = rng.random(shape) < 1.0 / mean_block
    new_block[:, 0] = True
    dtype = np.int32 if max(n_obs, length) < 2**30 else np.int64  # half the memory traffic
    starts = np.zeros(shape, dtype=dtype)
    starts[new_block] = rng.integers(0, n_obs, size=int(new_block.sum()))  # only where used
    if first is not None:  # the first block continues from given rows
        starts[:, 0] = first
    # position of the latest block start at or before each step
    steps = np.arange(length, dtype=dtype)
    pos = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
    idx = np.take_along_axis(starts, pos, axis=1) + (steps - pos)
    while (past := idx >= n_obs).any():  # wrap around (an integer modulo is slower)
        idx[past] -= n_obs
    return idx[0] if size is None else idx


def bootstrap_returns(
    returns: np.ndarray,
    length: int,
    mean_block: float,
    rng: np.random.Generator,
    size: int | None = None,
    first: np.ndarray | None = None,
) -> np.ndarray:
    """Stationary-bootstrap paths of whole return rows.

    Parameters
    ----------
    returns : ndarray of shape (n_obs, n_assets)
    length, mean_block, rng, size
        See `stationary_bootstrap_indices`.

    Returns
    -------
    ndarray of shape (length, n_assets) or (size, length, n_assets)

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.data import bootstrap_returns
    >>> history = np.random.default_rng(0).normal(0, 0.01, (500, 3))
    >>> paths = bootstrap_returns(history, 126, mean_block=20, rng=np.random.default_rng(1), size=8)
    >>> paths.shape
    (8, 126, 3)
    """
    idx = stationary_bootstrap_indices(len(returns), length, mean_block, rng, size, first)
    return returns[idx]


def gbm_returns(
    mu: np.ndarray,
    cov: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Daily simple returns of a geometric Brownian motion market.

    Parameters
    ----------
    mu : ndarray of shape (n_assets,)
        Annual drifts (arithmetic).
    cov : ndarray of shape (n_assets, n_assets)
        Annual covariance of log returns.
    n_days : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_days, n_assets)
        ``exp(x) - 1`` with ``x ~ N((mu - diag(cov)/2)/252, cov/252)``.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.data import gbm_returns
    >>> returns = gbm_returns(np.full(2, 0.05), np.eye(2) * 0.04, 252, np.random.default_rng(0))
    >>> returns.shape
    (252, 2)
    """
    mu, cov = np.asarray(mu, float), np.asarray(cov, float)
    drift = (mu - 0.5 * np.diag(cov)) / 252
    x = rng.multivariate_normal(drift, cov / 252, size=n_days, method="cholesky")
    return np.expm1(x)


def regime_returns(
    mus: np.ndarray,
    vol: float,
    n_days: int,
    switch_prob: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns of a market whose drifts switch between persistent regimes (Markov chain).

    Parameters
    ----------
    mus : ndarray of shape (n_regimes, n_assets)
        Annual drift of each asset in each regime.
    vol : float
        Annual volatility of every asset (independent assets).
    n_days : int
    switch_prob : float
        Daily probability of leaving the current regime (to a uniformly drawn other one).
    rng : numpy.random.Generator

    Returns
    -------
    returns : ndarray of shape (n_days, n_assets)
    regimes : ndarray of int, shape (n_days,)
    """
    mus = np.asarray(mus, float)
    n_regimes, n_assets = mus.shape
    regimes = np.empty(n_days, dtype=int)
    state = int(rng.integers(n_regimes))
    switches = rng.random(n_days) < switch_prob
    jumps = rng.integers(1, max(n_regimes, 2), size=n_days)
    for t in range(n_days):
        if switches[t]:
            state = (state + jumps[t]) % n_regimes
        regimes[t] = state
    drift = (mus[regimes] - 0.5 * vol**2) / 252
    x = drift + vol / np.sqrt(252) * rng.standard_normal((n_days, n_assets))
    return np.expm1(x), regimes


def returns_to_prices(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    """Prices from simple returns, ``P[0] = start * (1 + r[0])``; shape (..., T, n).

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.data import returns_to_prices
    >>> returns_to_prices(np.array([[0.1], [-0.1]])).round(2).ravel().tolist()
    [110.0, 99.0]
    """
    return start * np.cumprod(1.0 + returns, axis=-2)


def volatility_regime_returns(
    n_days: int,
    n_assets: int,
    rng: np.random.Generator,
    calm: tuple[float, float] = (0.15, 0.10),
    storm: tuple[float, float] = (-0.50, 0.40),
    switch_prob: tuple[float, float] = (1 / 240, 1 / 80),
    correlation: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """A market whose volatility clusters and whose volatile spells lose money.

    A two-state Markov chain leaves the calm regime with probability ``switch_prob[0]`` a
    day and the storm regime with ``switch_prob[1]`` (storms are a quarter of the days by
    default, lasting 80 days on average); every asset has the regime's annual ``(drift,
    volatility)``, with equal pairwise ``correlation``. The leverage effect in caricature: when
    volatility is high the mean is low, which is the case where timing exposure pays
    (Moreira & Muir 2017).

    Returns
    -------
    returns : ndarray of shape (n_days, n_assets)
    storm_days : ndarray of bool, shape (n_days,)
    """
    state, storms = False, np.empty(n_days, dtype=bool)
    draws = rng.random(n_days)
    for t in range(n_days):
        state = state ^ bool(draws[t] < switch_prob[int(state)])
        storms[t] = state
    mu = np.where(storms, storm[0], calm[0])[:, None]
    vol = np.where(storms, storm[1], calm[1])[:, None]
    common = rng.standard_normal((n_days, 1))
    own = rng.standard_normal((n_days, n_assets))
    z = np.sqrt(correlation) * common + np.sqrt(1 - correlation) * own
    x = (mu - 0.5 * vol**2) / 252 + vol / np.sqrt(252) * z
    return np.expm1(x), storms


def stationary_bootstrap_sums(
    values: np.ndarray,
    mean_block: float,
    rng: np.random.Generator,
    size: int,
) -> np.ndarray:
    """Column sums of ``size`` stationary-bootstrap resamples of ``values``, by blocks.

    The same resamples as `stationary_bootstrap_indices` with ``length = n_obs`` and
    the same random draws, but each block's sum comes from prefix sums instead of gathering
    every resampled row: about 20 times less memory traffic for the bootstrap statistics.

    Parameters
    ----------
    values : ndarray of shape (n_obs, m)
    mean_block : float
    rng : numpy.random.Generator
    size : int

    Returns
    -------
    ndarray of shape (size, m)
        ``sum_t values[idx[b, t]]`` for each resample b.
    """
    n, length = len(values), len(values)
    new_block = rng.random((size, length)) < 1.0 / mean_block
    new_block[:, 0] = True
    rows, cols = np.nonzero(new_block)  # row-major: the draws' order in the index version
    starts = rng.integers(0, n, size=len(rows))
    ends = np.append(cols[1:], length)
    ends[np.flatnonzero(rows[:-1] != rows[1:])] = length  # a row's last block ends with it
    full_turns, rest = np.divmod(ends - cols, n)
    prefix = np.zeros((2 * n + 1, values.shape[1]))
    np.cumsum(np.concatenate([values, values]), axis=0, out=prefix[1:])
    blocks = prefix[starts + rest] - prefix[starts] + full_turns[:, None] * prefix[n]
    return np.add.reduceat(blocks, np.flatnonzero(cols == 0), axis=0)
