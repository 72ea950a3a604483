"""Risk parity (equal risk contributions) by Newton steps on Spinu's convex formulation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from portfolio_rl.baselines.base import BaseModel, check_choice
from portfolio_rl.baselines.covariance import COVARIANCES, estimate_covariance
from portfolio_rl.conventions.market import PERIODS


@dataclass(eq=False, repr=False)
class RiskParity(BaseModel):
    """Equal risk contributions ``w_i (Sigma w)_i = b_i w' Sigma w`` with budgets ``b``.

    Solves Spinu's convex problem ``min 1/2 y' Sigma y - sum_i b_i log y_i`` over ``y > 0``
    by damped Newton steps (the objective is self-concordant, so the steps of size
    ``1 / (1 + lambda)``, ``lambda`` the Newton decrement, converge from any start) and sets
    ``w = y / sum(y)``. Each fit starts from the previous solution (warm start); a method made
    for the problem rather than a generic conic solve, to machine precision. The scaling makes
    weight bounds, turnover caps and cost terms inapplicable, so the model has none; the
    result is long-only.

    Parameters
    ----------
    risk_budget : array-like of shape (n_assets,), optional
        Budgets ``b`` (default equal), normalised to sum to one.
    covariance : {"sample", "ledoit_wolf"}
    max_iter : int
        Newton steps at most per fit (a fit that has not converged keeps the previous
        weights and counts a failure).

    References
    ----------
    Maillard, S., Roncalli, T. & Teiletche, J. (2010). The properties of equally weighted
    risk contribution portfolios. Journal of Portfolio Management 36(4).
    Spinu, F. (2013). An algorithm for computing risk parity weights. SSRN 2297383.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import RiskParity
    >>> weights = RiskParity().fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    name = "risk_parity"

    risk_budget: Any = None
    covariance: str = "sample"
    max_iter: int = 100

    def _check(self) -> None:
        check_choice("covariance", self.covariance, COVARIANCES)
        if self.risk_budget is not None:
            budget = np.asarray(self.risk_budget, dtype=float)
            if budget.ndim != 1 or not np.all(np.isfinite(budget)) or np.any(budget <= 0):
                raise ValueError("risk_budget must be a list of positive numbers")
        if not self.max_iter >= 1:
            raise ValueError("max_iter must be at least 1")

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        n_assets = x.shape[1]
        cov = estimate_covariance(x, self.covariance) * PERIODS
        budget = (
            np.full(n_assets, 1.0 / n_assets)
            if self.risk_budget is None
            else np.asarray(self.risk_budget, float)
        )
        budget = budget / budget.sum()
        start = self.__dict__.get("_y")
        if start is None or len(start) != n_assets:
            start = np.sqrt(budget / np.maximum(np.diag(cov), 1e-300))  # inverse volatility
        y = spinu_newton(cov, budget, start, self.max_iter)
        if y is None:
            self.n_failures_ += 1
            self.last_status_ = f"Newton did not converge in {self.max_iter} steps"
            kept = getattr(self, "weights_", None)
            return kept.copy() if kept is not None and len(kept) == n_assets else budget.copy()
        self.__dict__["_y"] = y
        return y / y.sum()


def spinu_newton(
    cov: np.ndarray, budget: np.ndarray, y: np.ndarray, max_iter: int = 100
) -> np.ndarray | None:
    """Minimise ``1/2 y' Sigma y - b' log y`` by damped Newton steps (Spinu 2013).

    Parameters
    ----------
    cov : ndarray of shape (n, n)
    budget : ndarray of shape (n,), positive, summing to one
    y : ndarray of shape (n,), positive: the start
    max_iter : int

    Returns
    -------
    ndarray of shape (n,) or None
        The minimiser (Newton decrement below 1e-14), or None if it was not reached.
    """
    from scipy.linalg import cho_factor, cho_solve

    y = np.asarray(y, float)
    for _ in range(max_iter):
        grad = cov @ y - budget / y
        try:
            step = cho_solve(cho_factor(cov + np.diag(budget / y**2)), grad)
        except np.linalg.LinAlgError:
            return None
        decrement = float(np.sqrt(max(grad @ step, 0.0)))
        if not np.isfinite(decrement):
            return None
        if decrement < 1e-14:
            return y
        # damped step for large decrements, full Newton near the optimum (quadratic phase)
        t = 1.0 / (1.0 + decrement) if decrement > 0.25 else 1.0
        while np.any(y - t * step <= 0):  # stay inside the positive orthant
            t /= 2
        y = y - t * step
    return None


def risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Fractions of portfolio variance from each asset, ``w_i (Sigma w)_i / w' Sigma w``."""
    marginal = cov @ weights
    return weights * marginal / (weights @ marginal)
