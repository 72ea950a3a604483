"""The exact long-only mean-variance frontier: Markowitz's critical line algorithm.

For ``tau >= 0`` the problem ``max tau mu'w - w'Sigma w / 2`` subject to ``sum(w) = 1`` and
``lo <= w <= hi`` (the mean-variance problem of risk aversion ``gamma = 1 / (2 tau)``) has a
solution that is piecewise linear in ``tau``: while the set of assets strictly inside their
bounds (the free set F) stays the same, the KKT system on F gives ``w_F = p + q tau`` and
the bound multipliers of the other assets are linear in ``tau`` too. A breakpoint ("corner
portfolio") is where a free weight reaches a bound or a bounded asset's multiplier reaches
zero. Starting at the minimum-variance portfolio (``tau = 0``) and walking from corner to
corner gives every solution on ``[0, tau_end]`` exactly: between two corners the solution is
their linear interpolation.

References
----------
Markowitz, H. (1956). The optimization of a quadratic function subject to linear
constraints. Naval Research Logistics Quarterly 3. Bailey, D. H. & López de Prado, M.
(2013). An open-source implementation of the critical-line algorithm for portfolio
optimization. Algorithms 6(1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class _Segment(NamedTuple):
    p: np.ndarray  # (n,) weights at tau = 0 along this segment's line (bounded: their bound)
    q: np.ndarray  # (n,) slope in tau (0 for bounded assets)
    m0: np.ndarray  # (n,) gradient-plus-multiplier of every asset at tau = 0 ...
    m1: np.ndarray  # (n,) ... and its slope: (Sigma w - tau mu + nu)_j


def _segment(cov: np.ndarray, mu: np.ndarray, bound: np.ndarray, free: np.ndarray) -> _Segment:
    """The line ``w(tau)`` with the free set ``free`` and the others at ``bound``."""
    f = np.flatnonzero(free)
    fixed = ~free
    w_b = np.where(fixed, bound, 0.0)
    r = cov[np.ix_(f, np.flatnonzero(fixed))] @ w_b[fixed] if fixed.any() else np.zeros(len(f))
    c = 1.0 - w_b[fixed].sum()
    chol = np.linalg.cholesky(cov[np.ix_(f, f)])

    def solve(b: np.ndarray) -> np.ndarray:
        return np.linalg.solve(chol.T, np.linalg.solve(chol, b))

    g, k_mu, k_r = solve(np.ones(len(f))), solve(mu[f]), solve(r)
    s = g.sum()
    nu1, nu0 = k_mu.sum() / s, -(k_r.sum() + c) / s
    p, q = w_b.copy(), np.zeros(len(mu))
    p[f] = -k_r - nu0 * g
    q[f] = k_mu - nu1 * g if len(f) > 1 else 0.0  # one free asset: the budget pins it
    # (Sigma w)_j - tau mu_j + nu: 0 on F; the bound multipliers' signs elsewhere
    m0 = cov @ p + nu0
    m1 = cov @ q - mu + nu1
    return _Segment(p, q, m0, m1)


def _polish(
    cov: np.ndarray, mu: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """The exact minimum-variance (``tau = 0``) active set near the approximate ``w``.

    Returns the free mask and the bound of every asset (its bound, or 0 when free).
    """
    free = (w > lo + 1e-7) & (w < hi - 1e-7)
    if not free.any():
        free[int(np.argmax(np.minimum(w - lo, hi - w)))] = True
    bound = np.where(w >= hi - 1e-7, hi, lo)
    for _ in range(4 * len(mu)):
        seg = _segment(cov, mu, bound, free)
        w = seg.p
        below, above = free & (w < lo - tol), free & (w > hi + tol)
        if below.any() or above.any():
            gap = np.where(below, lo - w, 0.0) + np.where(above, w - hi, 0.0)
            i = int(np.argmax(gap))
            free[i], bound[i] = False, lo[i] if below[i] else hi[i]
            continue
        # multipliers: at a lower bound m0 >= 0, at an upper bound m0 <= 0
        wrong = np.where(~free & (bound == lo), -seg.m0, 0.0) + np.where(
            ~free & (bound == hi), seg.m0, 0.0
        )
        if wrong.max(initial=0.0) > tol:
            free[int(np.argmax(wrong))] = True
            continue
        return free, bound
    raise np.linalg.LinAlgError("the active-set search did not settle")


def critical_line(
    cov: np.ndarray,
    mu: np.ndarray,
    start: np.ndarray,
    tau_end: float,
    lo: float = 0.0,
    hi: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The corner portfolios of the frontier on ``[0, tau_end]``.

    Parameters
    ----------
    cov : ndarray of shape (n, n)
        Positive-definite covariance (annualised, like ``mu``).
    mu : ndarray of shape (n,)
    start : ndarray of shape (n,)
        The minimum-variance portfolio from a solver (its active set is checked and
        corrected here, so solver noise does not matter).
    tau_end : float
        The last ``tau = 1 / (2 gamma)`` wanted.
    lo, hi : float
        Bounds on every weight.

    Returns
    -------
    taus : ndarray of shape (k,)
        0, the corners in between, and ``tau_end``.
    weights : ndarray of shape (k, n)
        The exact solution at each; linear in ``tau`` in between.

    Raises
    ------
    numpy.linalg.LinAlgError
        When the covariance is not positive definite on a free set or the walk does not end.
    """
    n = len(mu)
    lo_v, hi_v = np.full(n, float(lo)), np.full(n, float(hi))
    scale = float(np.abs(np.diag(cov)).max()) + float(np.abs(mu).max())
    tol = 1e-11 * max(scale, 1e-300)
    free, bound = _polish(cov, mu, lo_v, hi_v, np.asarray(start, float), tol)
    tau, taus, weights = 0.0, [], []
    for _ in range(8 * n + 8):
        seg = _segment(cov, mu, bound, free)
        taus.append(tau)
        weights.append(seg.p + seg.q * tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            hit_lo = np.where(free & (seg.q < 0), (lo_v - seg.p) / seg.q, np.inf)
            hit_hi = np.where(free & (seg.q > 0), (hi_v - seg.p) / seg.q, np.inf)
            at_lo, at_hi = ~free & (bound == lo_v), ~free & (bound == hi_v)
            leave = np.where(
                (at_lo & (seg.m1 < 0)) | (at_hi & (seg.m1 > 0)), -seg.m0 / seg.m1, np.inf
            )
        events = np.minimum(np.minimum(hit_lo, hit_hi), leave)
        events[events < tau] = tau  # an event a rounding error behind: now
        i = int(np.argmin(events))
        nxt = float(events[i])
        if not np.isfinite(nxt) or nxt >= tau_end:
            taus.append(tau_end)
            weights.append(seg.p + seg.q * tau_end)
            return np.array(taus), np.clip(np.array(weights), lo_v, hi_v)
        tau = nxt
        if free[i]:
            free[i], bound[i] = False, lo_v[i] if hit_lo[i] <= hit_hi[i] else hi_v[i]
            if not free.any():  # the budget pins the last asset: it stays free
                free[i] = True
        else:
            free[i] = True
    raise np.linalg.LinAlgError("the critical line did not reach its end")


def frontier_at(taus: np.ndarray, weights: np.ndarray, tau: float) -> np.ndarray:
    """The frontier's portfolio at ``tau`` (linear between corners, clamped at the ends)."""
    return np.array([np.interp(tau, taus, weights[:, j]) for j in range(weights.shape[1])])
