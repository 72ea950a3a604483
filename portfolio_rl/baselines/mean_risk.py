"""Mean-risk models: minimum variance, mean-variance, max Sharpe, robust mean-variance.

All are written in annualised units (mean x 252, covariance x 252), which leaves their
solutions unchanged, with ``w' Sigma w = ||F w||^2 + ||s w||^2`` for the factor ``F`` and
shrinkage ``s`` of `covariance_factor` (the centred return window when there are more
assets than days, so a 500-asset problem is T x n, not n x n), so the problems are DPP with
``F`` and ``s`` parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from portfolio_rl.baselines.base import ConstrainedModel
from portfolio_rl.baselines.covariance import shrunk_factor
from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.conventions.measures import ellipsoid_kappa


@dataclass(eq=False, repr=False)
class _MeanRisk(ConstrainedModel):
    """Shared data parameters: annualised mean ``mu`` and covariance factor ``F``.

    ``shrinkage`` moves the covariance estimate further towards the scaled identity,
    ``(1 - shrinkage) Sigma + shrinkage tr(Sigma)/n I`` (0: the estimate itself). A model made
    `parametric` takes new risk aversions and shrinkages without compiling its problem
    again (a steered policy's solves, [`portfolio_rl.baselines.steering`][]): the risk
    aversion ``lambda`` is folded into the data parameters, ``F <- sqrt(lambda) F`` and the
    ellipsoid's radius divided by ``sqrt(lambda)``, which keeps the problem DPP and its
    solution the same.
    """

    #: Whether the model uses the mean (minimum variance does not, and skips setting it).
    uses_mean = True
    shrinkage: float = 0.0

    def _check(self) -> None:
        super()._check()
        if not 0 <= self.shrinkage < 1:
            raise ValueError("shrinkage must lie in [0, 1)")

    def parametric(self) -> _MeanRisk:
        """Make the risk aversion and shrinkage parameters of the problem (same solutions)."""
        self.__dict__["_parametric"] = True
        self.__dict__.pop("_problems", None)
        return self

    def _data_params(self, n_obs: int, n_assets: int) -> dict[str, Any]:
        import cvxpy as cp

        rows = min(n_obs, n_assets)
        params = {"F": cp.Parameter((rows, n_assets), name="F")}
        steered = self.__dict__.get("_parametric", False)
        if self.covariance != "sample" or self.shrinkage > 0 or steered:
            params["s"] = cp.Parameter(nonneg=True, name="shrink")
        if self.uses_mean:
            params["mu"] = cp.Parameter(n_assets, name="mu")
        return params

    def _folded(self) -> float:
        """``sqrt(lambda)`` folded into the factor of a parametric model, else 1."""
        if self.__dict__.get("_parametric", False) and hasattr(self, "risk_aversion"):
            return float(np.sqrt(self.risk_aversion))
        return 1.0

    def _risk(self, w: Any, params: dict[str, Any]) -> Any:
        """The stacked factor times ``w``: ``||_risk(w)||^2 = w' Sigma w``."""
        import cvxpy as cp

        fw = params["F"] @ w
        return fw if "s" not in params else cp.hstack([fw, params["s"] * w])

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        factor, s = shrunk_factor(x, self.covariance, self.shrinkage)
        scale = self._folded() * np.sqrt(PERIODS)
        if "mu" in params:
            params["mu"].value = x.mean(axis=0) * PERIODS
        params["F"].value = factor * scale
        if "s" in params:
            params["s"].value = s * scale
        variance = ((factor**2).sum(axis=0) + s**2) * PERIODS  # the diagonal of Sigma
        self._set_extra(params, x, variance)

    def _set_extra(self, params: dict[str, Any], x: np.ndarray, variance: np.ndarray) -> None:
        pass


@dataclass(eq=False, repr=False)
class MinVariance(_MeanRisk):
    """Minimum variance: ``min w' Sigma w`` subject to the common constraints.

    Examples
    --------
    >>> from portfolio_rl.baselines import MinVariance
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2019-01-01", end="2019-12-31")
    >>> model = MinVariance(max_weight=0.2).fit(prices.pct_change().iloc[1:])
    >>> w = model.weights  # a Series named by asset
    >>> round(float(w.sum()), 6), bool(w.max() <= 0.2 + 1e-6), w.index[0]
    (1.0, True, 'AAPL')

    References
    ----------
    Markowitz, H. (1952). Portfolio selection. Journal of Finance 7(1).
    """

    name = "min_variance"
    uses_mean = False
    solver: str = "auto"  # OSQP alone is 2x faster than Clarabel at 500 assets, as exact

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        w = cp.Variable(n_assets)
        params = self._data_params(n_obs, n_assets)
        cons, cost, common = self._common(w, n_assets)
        objective = cp.sum_squares(self._risk(w, params)) + cost
        problem = cp.Problem(cp.Minimize(objective), [cp.sum(w) == 1, *cons])
        return problem, params | common, lambda: w.value


@dataclass(eq=False, repr=False)
class MeanVariance(_MeanRisk):
    """Mean-variance utility: ``max mu'w - risk_aversion * w' Sigma w``.

    Parameters
    ----------
    risk_aversion : float
        ``lambda`` in annualised units (the same number as in daily units).
    covariance, min_weight, max_weight, max_turnover, cost_bps, holding_days, solver, \
fallback_solver
        Common constraints, see `portfolio_rl.baselines.base.ConstrainedModel`.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import MeanVariance
    >>> weights = MeanVariance(risk_aversion=5.0).fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    risk_aversion: float = 5.0
    solver: str = "OSQP"  # a QP (the robust ellipsoid, a cone program, sets Clarabel)

    name = "mean_variance"

    def _check(self) -> None:
        super()._check()
        if not self.risk_aversion >= 0:
            raise ValueError("risk_aversion must be non-negative")

    def _penalty(self, w: Any, params: dict[str, Any]) -> tuple[Any, list[Any]]:
        """The worst-case term of the mean and its constraints (none for plain utility)."""
        return 0.0, []

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        w = cp.Variable(n_assets)
        params = self._data_params(n_obs, n_assets)
        cons, cost, common = self._common(w, n_assets)
        penalty, extra = self._penalty(w, params)
        risk = cp.sum_squares(self._risk(w, params))
        aversion = 1.0 if self.__dict__.get("_parametric", False) else self.risk_aversion
        utility = params["mu"] @ w - penalty - aversion * risk
        problem = cp.Problem(cp.Maximize(utility - cost), [cp.sum(w) == 1, *cons, *extra])
        return problem, params | common, lambda: w.value


@dataclass(eq=False, repr=False)
class RobustMeanVariance(MeanVariance):
    """Mean-variance with the worst case of ``mu`` over an uncertainty set.

    Ellipsoid: ``max mu'w - kappa * ||(Sigma/T)^(1/2) w||_2 - lambda * w' Sigma w`` with
    ``kappa = sqrt(chi2.ppf(confidence_level, n_assets))`` (Goldfarb & Iyengar 2003; the set
    of skfolio's ``EmpiricalMuUncertaintySet(diagonal=False)``).
    Box: ``max mu'w - delta'|w| - lambda * w' Sigma w`` with
    ``delta_i = z_{(1+c)/2} * sigma_i / sqrt(T)``, the two-sided confidence half-width of
    each sample mean (Tütüncü & Koenig 2004).

    Parameters
    ----------
    uncertainty : {"ellipsoid", "box"}
    confidence_level : float
    kappa : float, optional
        Ellipsoid radius; default from the chi-square quantile.
    risk_aversion, covariance, min_weight, max_weight, max_turnover, cost_bps, holding_days, \
solver, fallback_solver
        See `MeanVariance`.

    References
    ----------
    Goldfarb, D. & Iyengar, G. (2003). Robust portfolio selection problems. Mathematics of
    Operations Research 28(1). Tütüncü, R. H. & Koenig, M. (2004). Robust asset allocation.
    Annals of Operations Research 132.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import RobustMeanVariance
    >>> weights = RobustMeanVariance(uncertainty="ellipsoid").fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    uncertainty: str = "ellipsoid"
    confidence_level: float = 0.95
    kappa: float | None = None
    solver: str = "CLARABEL"  # the ellipsoid's norm is a second-order cone

    @property
    def name(self) -> str:  # type: ignore[override]
        """``robust_mv_box`` or ``robust_mv_ellipsoid``."""
        return f"robust_mv_{self.uncertainty}"

    def _check(self) -> None:
        super()._check()
        if self.uncertainty not in ("ellipsoid", "box"):
            raise ValueError("uncertainty must be 'ellipsoid' or 'box'")
        if not 0 < self.confidence_level < 1:
            raise ValueError("confidence_level must lie in (0, 1)")
        if self.kappa is not None and not self.kappa >= 0:
            raise ValueError("kappa must be non-negative")

    def _penalty(self, w: Any, params: dict[str, Any]) -> tuple[Any, list[Any]]:
        import cvxpy as cp

        if self.uncertainty == "ellipsoid":
            # radius * ||F w|| via an epigraph variable, so the problem stays DPP
            params["radius"] = cp.Parameter(nonneg=True, name="radius")
            spread = cp.Variable(nonneg=True, name="spread")
            return params["radius"] * spread, [cp.norm(self._risk(w, params), 2) <= spread]
        params["delta"] = cp.Parameter(w.shape[0], nonneg=True, name="delta")
        return params["delta"] @ cp.abs(w), []

    def _set_extra(self, params: dict[str, Any], x: np.ndarray, variance: np.ndarray) -> None:
        n_obs, n_assets = x.shape
        if self.uncertainty == "ellipsoid":
            kappa = self.kappa
            if kappa is None:
                kappa = ellipsoid_kappa(n_assets, self.confidence_level)
            # daily kappa * ||(S_d/T)^(1/2) w||, times 252, in terms of the annual S = 252 S_d
            params["radius"].value = kappa * np.sqrt(PERIODS / n_obs) / self._folded()
        else:
            z = special.ndtri(0.5 + self.confidence_level / 2)
            params["delta"].value = z * np.sqrt(variance / n_obs)


@dataclass(eq=False, repr=False)
class MaxSharpe(_MeanRisk):
    """Maximum Sharpe ratio through the change of variables of Cornuejols & Tütüncü.

    ``min y' Sigma y`` s.t. ``mu'y = 1``, ``sum(y) = k``, ``k >= 0``, bounds and turnover
    scaled by ``k``; then ``w = y / k``. Infeasible when no portfolio has a positive mean
    (the fit then keeps the previous weights and counts a failure). The cost term is not
    homogeneous and is not used by this model.

    References
    ----------
    Cornuejols, G. & Tütüncü, R. (2007). Optimization Methods in Finance, §8.2.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import MaxSharpe
    >>> weights = MaxSharpe().fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    name = "max_sharpe"

    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        import cvxpy as cp

        y = cp.Variable(n_assets)
        k = cp.Variable(nonneg=True)
        params = self._data_params(n_obs, n_assets)
        cons, _, common = self._common(y, n_assets, scale=k)
        problem = cp.Problem(
            cp.Minimize(cp.sum_squares(self._risk(y, params))),
            [params["mu"] @ y == 1, cp.sum(y) == k, *cons],
        )

        def weights() -> np.ndarray | None:
            if y.value is None or k.value is None or k.value <= 1e-12:
                return None
            return y.value / k.value

        return problem, params | common, weights
