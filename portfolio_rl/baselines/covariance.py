"""Covariance estimators shared by the baselines."""

from __future__ import annotations

import numpy as np

COVARIANCES = ("sample", "ledoit_wolf")


def estimate_covariance(returns: np.ndarray, method: str = "sample") -> np.ndarray:
    """Covariance of daily returns.

    Parameters
    ----------
    returns : ndarray of shape (n_observations, n_assets)
    method : {"sample", "ledoit_wolf"}
        ``sample``: unbiased sample covariance (ddof=1). ``ledoit_wolf``: shrinkage towards
        a scaled identity with the optimal intensity of Ledoit & Wolf (2004), computed by
        scikit-learn.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    References
    ----------
    Ledoit, O. & Wolf, M. (2004). A well-conditioned estimator for large-dimensional
    covariance matrices. Journal of Multivariate Analysis 88(2).
    """
    if method == "sample":
        return np.cov(returns, rowvar=False, ddof=1).reshape(returns.shape[1], returns.shape[1])
    if method == "ledoit_wolf":
        from sklearn.covariance import LedoitWolf

        return LedoitWolf(assume_centered=False).fit(returns).covariance_
    raise ValueError(f"covariance must be one of {COVARIANCES}, got {method!r}")


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """A matrix ``F`` with ``F.T @ F == cov`` (Cholesky, with a tiny ridge if needed).

    Parameters
    ----------
    cov : ndarray of shape (n, n)

    Returns
    -------
    ndarray of shape (n, n), upper triangular
    """
    n = len(cov)
    ridge = 0.0
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + ridge * np.eye(n)).T
        except np.linalg.LinAlgError:
            ridge = max(ridge * 10, 1e-12 * max(np.trace(cov) / n, 1e-300))
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.sqrt(np.clip(vals, 0, None))).T


def covariance_factor(returns: np.ndarray, method: str = "sample") -> tuple[np.ndarray, float]:
    """A factor of the covariance that grows with the data: ``cov = F.T @ F + s**2 * I``.

    With fewer observations than assets, ``F`` is the centred return window itself (scaled),
    of shape (n_observations, n_assets), so a problem built on it carries T x n numbers, not
    n x n, and its solver factors a T x T system; otherwise ``F`` is the Cholesky factor of
    the (unshrunk part of the) covariance, of shape (n_assets, n_assets). ``s`` is the
    Ledoit-Wolf shrinkage towards ``mu * I`` (0 for the sample covariance): the same
    matrices as `estimate_covariance`.

    Parameters
    ----------
    returns : ndarray of shape (n_observations, n_assets)
    method : {"sample", "ledoit_wolf"}

    Returns
    -------
    F : ndarray of shape (min(n_observations, n_assets), n_assets)
    s : float
    """
    n_obs, n_assets = returns.shape
    centred = returns - returns.mean(axis=0)
    if method == "sample":
        scale, s = 1.0 / (n_obs - 1), 0.0
    elif method == "ledoit_wolf":
        from sklearn.covariance import ledoit_wolf_shrinkage

        delta = float(ledoit_wolf_shrinkage(returns))
        mu = float((centred**2).sum() / n_obs / n_assets)  # trace of the ML covariance / n
        scale, s = (1.0 - delta) / n_obs, float(np.sqrt(delta * mu))
    else:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {method!r}")
    if n_obs <= n_assets:
        return centred * np.sqrt(scale), s
    return psd_factor(centred.T @ centred * scale), s


def shrunk_factor(
    returns: np.ndarray, method: str = "sample", shrinkage: float = 0.0
) -> tuple[np.ndarray, float]:
    """`covariance_factor` moved ``shrinkage`` of the way to the scaled identity.

    ``(1 - shrinkage) Sigma + shrinkage tr(Sigma)/n I = F'F + s^2 I`` with ``F`` scaled by
    ``sqrt(1 - shrinkage)`` and ``s^2`` raised accordingly; ``shrinkage = 0`` is
    `covariance_factor` itself.
    """
    factor, s = covariance_factor(returns, method)
    if shrinkage > 0:
        n = returns.shape[1]
        level = ((factor**2).sum() + n * s**2) / n
        factor = factor * np.sqrt(1 - shrinkage)
        s = float(np.sqrt((1 - shrinkage) * s**2 + shrinkage * level))
    return factor, s
