"""Risk parity (equal risk contributions) through its convex log-barrier formulation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from portfolio_rl.baselines.base import ConvexModel, check_choice
from portfolio_rl.baselines.covariance import COVARIANCES, estimate_covariance, psd_factor
from portfolio_rl.conventions.market import PERIODS


@dataclass(eq=False, repr=False)
class RiskParity(ConvexModel):
    """Equal risk contributions ``w_i (Sigma w)_i = b_i w' Sigma w`` with budgets ``b``.

    Solves ``min 1/2 y' Sigma y - sum_i b_i log y_i`` over ``y > 0`` and sets
    ``w = y / sum(y)`` (Spinu 2013; Maillard, Roncalli & Teiletche 2010). The scaling makes
    weight bounds, turnover caps and cost terms inapplicable, so the model has none; the
    result is long-only.

    Parameters
    ----------
    risk_budget : array-like of shape (n_assets,), optional
        Budgets ``b`` (default equal), normalised to sum to one.
    covariance : {"sample", "ledoit_wolf"}
    solver, fallback_solver : str
        See [`ConvexModel`][portfolio_rl.baselines.base.ConvexModel].

    References
    ----------
    Maillard, S., Roncalli, T. & Teiletche, J. (2010). The properties of equally weighted
    risk contribution portfolios. Journal of Portfolio Management 36(4).
    Spinu, F. (2013). An algorithm for computing risk parity weights. SSRN 2297383.
    """

    name = "risk_parity"

    risk_budget: Any = None
    covariance: str = "sample"

    def _check(self) -> None:
        super()._check()
        check_choice("covariance", self.covariance, COVARIANCES)
        if self.risk_budget is not None:
            budget = np.asarray(self.risk_budget, dtype=float)
            if budget.ndim != 1 or not np.all(np.isfinite(budget)) or np.any(budget <= 0):
                raise ValueError("risk_budget must be a list of positive numbers")

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        y = cp.Variable(n_assets, pos=True)
        factor = cp.Parameter((n_assets, n_assets), name="F")
        budget = cp.Parameter(n_assets, nonneg=True, name="budget")
        objective = 0.5 * cp.sum_squares(factor @ y) - budget @ cp.log(y)
        problem = cp.Problem(cp.Minimize(objective))

        def weights() -> np.ndarray | None:
            if y.value is None:
                return None
            x = _newton_polish(
                np.asarray(y.value, float), factor.value.T @ factor.value, budget.value
            )
            return x / x.sum()

        return problem, {"F": factor, "budget": budget}, weights

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        n_assets = x.shape[1]
        cov = estimate_covariance(x, self.covariance) * PERIODS
        budget = (
            np.full(n_assets, 1.0 / n_assets)
            if self.risk_budget is None
            else np.asarray(self.risk_budget, float)
        )
        params["F"].value = psd_factor(cov)
        params["budget"].value = budget / budget.sum()


def _newton_polish(
    y: np.ndarray, cov: np.ndarray, budget: np.ndarray, steps: int = 8
) -> np.ndarray:
    """Refine the interior-point solution by Newton steps on ``Sigma y - b / y = 0``.

    The conic solver stops at ~1e-5 relative accuracy on exponential cones; a few Newton
    steps on the (strictly convex) optimality condition reach machine precision (Spinu 2013).
    """
    for _ in range(steps):
        grad = cov @ y - budget / y
        step = np.linalg.solve(cov + np.diag(budget / y**2), grad)
        t = 1.0
        while np.any(y - t * step <= 0):  # stay inside the positive orthant
            t /= 2
        y = y - t * step
        if np.max(np.abs(step) / y) < 1e-15:  # converged to machine precision
            break
    return y


def risk_contributions(weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Fractions of portfolio variance from each asset, ``w_i (Sigma w)_i / w' Sigma w``."""
    marginal = cov @ weights
    return weights * marginal / (weights @ marginal)
