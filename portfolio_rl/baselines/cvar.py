"""CVaR models: minimum CVaR and Wasserstein distributionally robust mean-CVaR."""

from __future__ import annotations

from typing import Any

import numpy as np

from portfolio_rl.baselines.base import PERIODS, ConvexModel


class MinCVaR(ConvexModel):
    """Minimum historical CVaR of the portfolio loss ``-r'w`` at level ``beta``.

    ``min_{w, a, u} a + sum(u) / ((1 - beta) T)`` s.t. ``u >= -R w - a``, ``u >= 0``
    (Rockafellar & Uryasev 2000), on the T daily returns of the window.

    Parameters
    ----------
    beta : float
        Confidence level (0.95: the mean of the worst 5% of days).
    **kwargs
        Common constraints, see :class:`~portfolio_rl.baselines.base.ConvexModel`.

    References
    ----------
    Rockafellar, R. T. & Uryasev, S. (2000). Optimization of conditional value-at-risk.
    Journal of Risk 2(3).
    """

    name = "min_cvar"

    def __init__(self, beta: float = 0.95, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 < beta < 1:
            raise ValueError("beta must lie in (0, 1)")
        self.beta = beta

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        w = cp.Variable(n_assets)
        alpha = cp.Variable()
        u = cp.Variable(n_obs, nonneg=True)
        returns = cp.Parameter((n_obs, n_assets), name="returns")
        cons, cost, common = self._common(w, n_assets)
        cvar = alpha + cp.sum(u) / ((1 - self.beta) * n_obs)
        problem = cp.Problem(
            cp.Minimize(PERIODS * cvar + cost),
            [u >= -returns @ w - alpha, cp.sum(w) == 1, *cons],
        )
        return problem, {"returns": returns} | common, lambda: w.value

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        params["returns"].value = x


class DROCVaR(ConvexModel):
    """Wasserstein distributionally robust mean-CVaR (Esfahani & Kuhn 2018, §7.1).

    Minimises the worst case of ``E[-r'w] + rho * CVaR_beta(-r'w)`` over all distributions
    within Wasserstein distance ``radius`` (transport cost: 1-norm of the return difference,
    unbounded support) of the window's empirical distribution. With the loss written as
    ``max_k a_k r'w + b_k tau`` (``a_1 = -1, b_1 = rho``; ``a_2 = -1 - rho/(1-beta)``,
    ``b_2 = rho (1 - 1/(1-beta))``), their Theorem 6.3 gives the linear program

    ``min lambda * radius + mean(s)`` s.t. ``a_k R w + b_k tau <= s`` for k = 1, 2 and
    ``|a_k| * ||w||_inf <= lambda`` (the dual norm of the 1-norm).

    Parameters
    ----------
    radius : float
        Wasserstein radius in daily-return units (0 gives empirical mean-CVaR).
    rho : float
        Weight of CVaR against the mean loss.
    beta : float
        CVaR confidence level.
    **kwargs
        Common constraints, see :class:`~portfolio_rl.baselines.base.ConvexModel`.

    References
    ----------
    Mohajerin Esfahani, P. & Kuhn, D. (2018). Data-driven distributionally robust
    optimization using the Wasserstein metric. Mathematical Programming 171.
    """

    name = "dro_cvar"

    def __init__(
        self, radius: float = 0.002, rho: float = 1.0, beta: float = 0.95, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if radius < 0 or rho <= 0 or not 0 < beta < 1:
            raise ValueError("need radius >= 0, rho > 0 and 0 < beta < 1")
        self.radius, self.rho, self.beta = radius, rho, beta

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        w = cp.Variable(n_assets)
        tau, lam = cp.Variable(), cp.Variable(nonneg=True)
        s = cp.Variable(n_obs)
        returns = cp.Parameter((n_obs, n_assets), name="returns")
        a1, b1 = -1.0, self.rho
        a2, b2 = -1.0 - self.rho / (1 - self.beta), self.rho * (1 - 1 / (1 - self.beta))
        cons, cost, common = self._common(w, n_assets)
        port = returns @ w
        problem = cp.Problem(
            cp.Minimize(PERIODS * (lam * self.radius + cp.sum(s) / n_obs) + cost),
            [
                a1 * port + b1 * tau <= s,
                a2 * port + b2 * tau <= s,
                abs(a2) * cp.norm(w, "inf") <= lam,
                cp.sum(w) == 1,
                *cons,
            ],
        )
        return problem, {"returns": returns} | common, lambda: w.value

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        params["returns"].value = x
