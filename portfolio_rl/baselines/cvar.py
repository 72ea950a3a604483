"""CVaR models: minimum CVaR and Wasserstein distributionally robust mean-CVaR.

Both minimise the Rockafellar-Uryasev form of historical CVaR,
``a + sum_t max(0, -r_t'w - a) / ((1 - beta) T)``, a linear program with one auxiliary
variable and one constraint per day of the window. Only the worst days of the optimal
portfolio have a positive term, so each rebalance first solves the program on a *working
set* of the days that were worst for the previous weights (scenario generation, Kunzi-Bay
& Mayer 2006). Dropping days can only lower the objective, so when the days left out all
lie at or below the solution's value-at-risk its CVaR over the whole window equals the
reduced optimum: the solution is optimal for the full program. Otherwise the working set
is rebuilt around the new solution; after a few rounds the full program is solved.

References
----------
Kunzi-Bay, A. & Mayer, J. (2006). Computational aspects of minimizing conditional
value-at-risk. Computational Management Science 3(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from portfolio_rl.baselines.base import ConstrainedModel
from portfolio_rl.conventions.market import PERIODS

#: Working-set rounds before the full program is solved.
ROUNDS = 3


def historical_cvar(losses: np.ndarray, beta: float, n_obs: int | None = None) -> float:
    """Historical CVaR: ``min_a a + sum(max(0, losses - a)) / ((1 - beta) n_obs)``.

    The minimum is at ``a`` = the m-th largest loss, ``m = floor((1 - beta) n_obs) + 1``
    (Rockafellar & Uryasev 2000, Theorem 1).

    Parameters
    ----------
    losses : ndarray of shape (k,)
        Daily losses; with ``n_obs`` greater than ``k`` the other days count as losses
        too small to enter the tail.
    beta : float
        Confidence level.
    n_obs : int, optional
        Days in the window (default ``k``).
    """
    n_obs = len(losses) if n_obs is None else n_obs
    m = math.floor((1 - beta) * n_obs) + 1
    if m > len(losses):
        raise ValueError(f"need at least {m} losses for CVaR at {beta} over {n_obs} days")
    var = -np.partition(-losses, m - 1)[m - 1]
    return float(var + np.maximum(losses - var, 0.0).sum() / ((1 - beta) * n_obs))


@dataclass(eq=False, repr=False)
class _ScenarioCVaR(ConstrainedModel):
    """CVaR program with a working set of days; subclasses add terms to the objective.

    Parameters
    ----------
    beta : float
        CVaR confidence level (0.95: the mean of the worst 5% of days).
    working_set : int, optional
        Days in the reduced program; None (or a window too short for it) solves the full
        program at every rebalance. Either way the solution is the same to solver tolerance.
    covariance, min_weight, max_weight, max_turnover, cost_bps, holding_days, solver, \
fallback_solver
        Common constraints, see `portfolio_rl.baselines.base.ConstrainedModel`.
    """

    beta: float = 0.95
    working_set: int | None = 48

    # Iterative refinement of each KKT solve takes half of Clarabel's time on these linear
    # programs and changes no answer here. Clarabel's stopping test (residuals and gap of
    # the program itself, 1e-8) still certifies each solution; a solve it does not certify
    # goes to the fallback solver like any other failure.
    clarabel_options: ClassVar[dict[str, Any]] = {"iterative_refinement_enable": False}

    def _check(self) -> None:
        super()._check()
        if not 0 < self.beta < 1:
            raise ValueError("beta must lie in (0, 1)")
        if self.working_set is not None and self.working_set < 1:
            raise ValueError("working_set must be a positive number of days")

    def _objective(self, w: Any, cvar: Any, params: dict[str, Any]) -> Any:
        """The daily objective from the weights and the CVaR expression."""
        return cvar

    def _extra_params(self, n_assets: int) -> dict[str, Any]:
        return {}

    def _set_extra(self, params: dict[str, Any], window: np.ndarray) -> None:
        pass

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        w = cp.Variable(n_assets)
        alpha = cp.Variable()
        u = cp.Variable(n_obs, nonneg=True)
        returns = cp.Parameter((n_obs, n_assets), name="returns")
        tail = cp.Parameter(nonneg=True, name="tail_weight")
        params = {"returns": returns, "tail_weight": tail} | self._extra_params(n_assets)
        cons, cost, common = self._common(w, n_assets)
        cvar = alpha + tail * cp.sum(u)
        problem = cp.Problem(
            cp.Minimize(PERIODS * self._objective(w, cvar, params) + cost),
            [u >= -returns @ w - alpha, cp.sum(w) == 1, *cons],
        )
        return problem, params | common, lambda: w.value

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        window = getattr(self, "_window", None)
        window = x if window is None else window
        params["returns"].value = x
        params["tail_weight"].value = 1.0 / ((1 - self.beta) * len(window))
        self._set_extra(params, window)

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        n_obs, n_assets = x.shape
        k = self.working_set
        if k is None or not math.floor((1 - self.beta) * n_obs) + 1 < k < n_obs:
            return super()._weights(x, prev)
        guess = getattr(self, "weights_", None)
        if guess is None or len(guess) != n_assets:
            guess = np.full(n_assets, 1.0 / n_assets)
        self._window = x
        try:
            for _ in range(ROUNDS):
                days = np.argpartition(x @ guess, k - 1)[:k]  # the k worst days for guess
                w = self._solve(x[days], prev)
                if w is None:
                    break
                losses = -x @ w
                gap = historical_cvar(losses, self.beta) - historical_cvar(
                    losses[days], self.beta, n_obs
                )
                if gap <= 1e-12:
                    return w
                guess = w
        finally:
            self._window = None
        return super()._weights(x, prev)


@dataclass(eq=False, repr=False)
class MinCVaR(_ScenarioCVaR):
    """Minimum historical CVaR of the portfolio loss ``-r'w`` at level ``beta``.

    ``min_{w, a, u} a + sum(u) / ((1 - beta) T)`` s.t. ``u >= -R w - a``, ``u >= 0``
    (Rockafellar & Uryasev 2000), on the T daily returns of the window.

    Parameters
    ----------
    beta, working_set, covariance, min_weight, max_weight, max_turnover, cost_bps, \
holding_days, solver, fallback_solver
        See `_ScenarioCVaR`.

    References
    ----------
    Rockafellar, R. T. & Uryasev, S. (2000). Optimization of conditional value-at-risk.
    Journal of Risk 2(3).

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import MinCVaR
    >>> weights = MinCVaR(beta=0.95).fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    name = "min_cvar"


@dataclass(eq=False, repr=False)
class DROCVaR(_ScenarioCVaR):
    """Wasserstein distributionally robust mean-CVaR (Esfahani & Kuhn 2018, §7.1).

    Minimises the worst case of ``E[-r'w] + rho * CVaR_beta(-r'w)`` over all distributions
    within Wasserstein distance ``radius`` (transport cost: 1-norm of the return difference,
    unbounded support) of the window's empirical distribution. With the loss written as
    ``max_k a_k r'w + b_k tau`` (``a_1 = -1, b_1 = rho``; ``a_2 = -1 - rho/(1-beta)``,
    ``b_2 = rho (1 - 1/(1-beta))``), their Theorem 6.3 gives the linear program

    ``min lambda * radius + mean(s)`` s.t. ``a_k R w + b_k tau <= s`` for k = 1, 2 and
    ``|a_k| * ||w||_inf <= lambda`` (the dual norm of the 1-norm).

    At the optimum ``lambda = |a_2| ||w||_inf`` and ``mean(s)`` is the empirical mean loss
    plus ``rho`` times the Rockafellar-Uryasev CVaR in ``tau``, so the program solved is
    ``radius * (1 + rho/(1-beta)) * ||w||_inf + mean(-R w) + rho * CVaR`` (a test checks
    it against the Theorem 6.3 program).

    Parameters
    ----------
    radius : float
        Wasserstein radius in daily-return units (0 gives empirical mean-CVaR).
    rho : float
        Weight of CVaR against the mean loss.
    beta, working_set, covariance, min_weight, max_weight, max_turnover, cost_bps, \
holding_days, solver, fallback_solver
        See `_ScenarioCVaR`.

    References
    ----------
    Mohajerin Esfahani, P. & Kuhn, D. (2018). Data-driven distributionally robust
    optimization using the Wasserstein metric. Mathematical Programming 171.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import DROCVaR
    >>> weights = DROCVaR(radius=0.002).fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    radius: float = 0.002
    rho: float = 1.0

    name = "dro_cvar"

    def _check(self) -> None:
        super()._check()
        if not (self.radius >= 0 and self.rho > 0):
            raise ValueError("need radius >= 0 and rho > 0")

    def _extra_params(self, n_assets: int) -> dict[str, Any]:
        import cvxpy as cp

        return {"mean": cp.Parameter(n_assets, name="mean")}

    def _set_extra(self, params: dict[str, Any], window: np.ndarray) -> None:
        params["mean"].value = window.mean(axis=0)

    def _objective(self, w: Any, cvar: Any, params: dict[str, Any]) -> Any:
        import cvxpy as cp

        lipschitz = 1 + self.rho / (1 - self.beta)
        return self.radius * lipschitz * cp.norm(w, "inf") - params["mean"] @ w + self.rho * cvar
