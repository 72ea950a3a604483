"""Mean-variance-family baselines solved with steered parameters, and their frontier tables.

A steered policy ([`portfolio_rl.agents.steer`][]) chooses, at each decision, the parameters
of a named baseline (risk aversion ``lambda``, the ellipsoid's radius ``kappa``, extra
covariance ``shrinkage``); the portfolio is the baseline solved with them on the window of
returns that ends that day (`SteeredModel.solve`, cvxpy, exact, the baseline's own problem
with those values as parameters).

Training samples thousands of parameter sets an iteration, so it reads a table instead
(`SteeredModel.frontier`). The table rests on one fact: with the same covariance in the
uncertainty set and the risk term, the robust ellipsoid's solution is a mean-variance
solution. At the optimum ``w*`` the gradient of ``rho ||Sigma^1/2 w||`` is
``rho Sigma w* / sigma*``, so the KKT conditions of
``max mu'w - rho ||Sigma^1/2 w|| - lambda w'Sigma w`` are those of mean-variance with
``gamma = lambda + rho / (2 sigma*)``, ``sigma* = ||Sigma^1/2 w*||`` (strict concavity makes
that point the only one). Every (lambda, kappa) therefore lands on the long-only
mean-variance frontier, which is piecewise linear in ``tau = 1 / (2 gamma)`` (the critical
line of Markowitz 1956). A table holds, for each shrinkage level, the frontier's corner
portfolios (`portfolio_rl.baselines.frontier.critical_line`, exact) and their variances; a
sampled (lambda, kappa) is found on it by the scalar root of
``gamma = lambda + rho / (2 sigma(gamma))``, so the table gives the baseline's own solution
(the tests hold it within 2e-4 of cvxpy's, with a robust objective never below cvxpy's).
The table has no previous weights, so no cost term, like an anchor's; the backtest,
``allocate`` and the env solve with cvxpy, with the held weights.

References
----------
Goldfarb, D. & Iyengar, G. (2003). Robust portfolio selection problems. Mathematics of
Operations Research 28(1). Markowitz, H. (1956). The optimization of a quadratic function
subject to linear constraints. Naval Research Logistics Quarterly 3. Costa, G. & Iyengar,
G. (2023). Distributionally robust end-to-end portfolio construction. Quantitative Finance
23(10) (learning an optimizer's parameters, there through the solver).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from portfolio_rl.baselines import BASELINES, make_baseline
from portfolio_rl.baselines.covariance import shrunk_factor
from portfolio_rl.baselines.frontier import critical_line
from portfolio_rl.baselines.mean_risk import MinVariance
from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.conventions.measures import ellipsoid_kappa

#: The baselines a policy can steer and their steered parameters, in the action's order.
STEERABLE: dict[str, tuple[str, ...]] = {
    "robust_mv_ellipsoid": ("risk_aversion", "kappa", "shrinkage"),
    "mean_variance": ("risk_aversion", "shrinkage"),
    "min_variance": ("shrinkage",),
}
#: The shrinkage levels a steered policy chooses among, added to the configured shrinkage
#: (a table holds one frontier per level; the portfolio moves fast with the first bit of
#: shrinkage, so a level between two is not their mix).
SHRINK_NODES = (0.0, 0.1, 0.3)
#: The frontier of a table runs from minimum variance to ``tau = 1 / (2 gamma)`` of this
#: (gamma = 0.25, below any steered risk aversion: the table is never left).
TAU_END = 2.0


def check_steerable(name: str, params: dict[str, Any] | None = None) -> None:
    """Raise ValueError unless ``name`` (with ``params``) can be steered."""
    if name not in STEERABLE:
        raise ValueError(
            f"steer: {name!r} cannot be steered; choose none or one of {', '.join(STEERABLE)} "
            "(the mean-variance family, whose solutions a frontier table holds)"
        )
    if name == "robust_mv_ellipsoid" and (params or {}).get("uncertainty", "ellipsoid") != (
        "ellipsoid"
    ):
        raise ValueError("steer: robust_mv_ellipsoid must keep its ellipsoidal uncertainty set")


@dataclass
class Frontier:
    """One day's table: the steered baseline's exact frontier at each shrinkage level.

    Attributes
    ----------
    tau : ndarray of shape (n_shrink, n_corners)
        ``1 / (2 gamma)`` of each corner portfolio, ascending from 0 (minimum variance).
    weights : ndarray of shape (n_shrink, n_corners, n_assets)
        The corner portfolios (`portfolio_rl.baselines.frontier.critical_line`).
    sigma2 : ndarray of shape (n_shrink, n_corners)
        Annualised variance of each corner under its shrinkage's covariance.
    cross : ndarray of shape (n_shrink, n_corners)
        ``w_k' Sigma w_{k+1}`` of consecutive corners (the last: its own variance), so the
        variance between corners is exact too.
    shrink : ndarray of shape (n_shrink,)
        Each row's shrinkage.
    base : ndarray of shape (n_assets,)
        The configured parameters' portfolio (no previous weights), by cvxpy.
    base_sigma : float
        Its annualised volatility.
    radius : float
        ``kappa * sqrt(252 / T)`` of the configured kappa (0 without an uncertainty set).
    """

    tau: np.ndarray
    weights: np.ndarray
    sigma2: np.ndarray
    cross: np.ndarray
    shrink: np.ndarray
    base: np.ndarray
    base_sigma: float
    radius: float


class SteeredModel:
    """A steerable baseline: exact solves with any parameters, and frontier tables.

    Parameters
    ----------
    name : str
        One of `STEERABLE`.
    params : dict
        Its configured parameters (the experiment's ``strategy_params[name]``), including
        ``cost_bps`` and ``holding_days`` as the backtest hands them.
    """

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        check_steerable(name, params)
        self.name, self.params = name, dict(params)
        self.model = make_baseline(name, **self.params).parametric()
        self.baseline = make_baseline(name, **self.params)  # the configured point, as is
        self._min_var = MinVariance(
            **{
                k: self.params[k]
                for k in ("covariance", "min_weight", "max_weight")
                if k in self.params
            }
        )
        self.steered = STEERABLE[name]
        self.status = "optimal"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its name and parameters (worker processes compile their own problems)."""
        return SteeredModel, (self.name, self.params)

    def configured(self, n_assets: int) -> dict[str, float]:
        """The configured values of the steered parameters (kappa from its chi-square
        quantile unless given)."""  # noqa: D205, D209
        base = BASELINES[self.name][1] | self.params
        out = {"shrinkage": float(base.get("shrinkage", 0.0))}
        if "risk_aversion" in self.steered:
            out["risk_aversion"] = float(base.get("risk_aversion", 5.0))
        if "kappa" in self.steered:
            kappa = base.get("kappa")
            confidence = float(base.get("confidence_level", 0.95))
            out["kappa"] = float(
                kappa if kappa is not None else ellipsoid_kappa(n_assets, confidence)
            )
        return out

    def solve(
        self, x: np.ndarray, values: dict[str, float], prev: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The baseline's weights on the returns ``x`` (T, n) with the steered ``values``.

        Returns None when the solve failed (``status`` says why); the caller keeps the
        previous weights, as the engine does for a baseline. At the configured values the
        baseline's own problem is solved, so the untrained policy decides its weights bit
        for bit (the parametric problem agrees to the solver's tolerance, about 1e-5).
        """
        model = self.model
        if values == self.configured(x.shape[1]):
            model = self.baseline
        for key, value in values.items():
            setattr(model, key, float(value))
        before = getattr(model, "n_failures_", 0)
        model.fit(x, prev)
        self.status = model.last_status_
        return None if model.n_failures_ > before else np.asarray(model.weights_, float)

    def base(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """The configured baseline's portfolio on ``x`` (no previous weights) and its
        annualised volatility; equal weights when the solve fails."""  # noqa: D205, D209
        cfg = self.configured(x.shape[1])
        w = self.solve(x, cfg)
        if w is None:
            w = np.full(x.shape[1], 1.0 / x.shape[1])
        return w, float(np.sqrt(w @ self._covariance(x, cfg["shrinkage"]) @ w))

    def frontier(self, x: np.ndarray, tau_end: float = TAU_END) -> Frontier:
        """The table of the window ``x`` of shape (T, n) (see the module docstring)."""
        n_obs, n = x.shape
        cfg = self.configured(n)
        base, base_sigma = self.base(x)
        radius = cfg.get("kappa", 0.0) * np.sqrt(PERIODS / n_obs)
        mu = x.mean(axis=0) * PERIODS
        lo, hi = self.model.min_weight, self.model.max_weight
        rows = []
        for node in SHRINK_NODES:
            shrink = cfg["shrinkage"] + node
            cov = self._covariance(x, shrink)
            if "risk_aversion" in self.steered:
                self._min_var.shrinkage = shrink
                self._min_var.fit(x)
                taus, ws = critical_line(cov, mu, self._min_var.weights_, tau_end, lo, hi)
            else:  # minimum variance: its portfolio alone
                self._min_var.shrinkage = shrink
                ws = self._min_var.fit(x).weights_[None]
                taus = np.zeros(1)
            var = np.einsum("ki,ij,kj->k", ws, cov, ws)
            cross = np.append(np.einsum("ki,ij,kj->k", ws[:-1], cov, ws[1:]), var[-1])
            rows.append((taus, ws, var, cross))
        width = max(len(r[0]) for r in rows)
        parts = [np.array([_pad(r[k], width) for r in rows]) for k in range(4)]
        shrinks = cfg["shrinkage"] + np.array(SHRINK_NODES)
        return Frontier(*parts, shrinks, base, base_sigma, float(radius))

    def _covariance(self, x: np.ndarray, shrink: float) -> np.ndarray:
        """The model's annualised covariance of ``x`` with ``shrink`` extra shrinkage."""
        factor, s = shrunk_factor(x, self.model.covariance, shrink)
        return (factor.T @ factor + s**2 * np.eye(x.shape[1])) * PERIODS


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    """A row of corners made ``width`` long by repeating its last (zero-length segments)."""
    return np.concatenate([values, np.repeat(values[-1:], width - len(values), axis=0)])


__all__ = ["SHRINK_NODES", "STEERABLE", "TAU_END", "Frontier", "SteeredModel"]
