"""Estimator base classes: ``Model(**params).fit(returns_window, prev_weights) -> self``.

Every baseline is a scikit-learn-style estimator: a dataclass whose fields are its keyword
parameters, validated in ``_check``, with fitted state in trailing-underscore attributes.
``get_params``, ``set_params`` (nested ``base__param`` too) and ``sklearn.base.clone`` work
(tests check them) without importing scikit-learn, whose import (with scipy.stats) would be
a fifth of a whole baselines backtest.

Convex models write their cvxpy problem once per window shape with ``cp.Parameter``s
(disciplined parametrized programming), so each rebalance only sets parameter values and
re-solves. A failed or
inaccurate solve keeps the previous weights (or equal weights when there are none), counts
the failure in ``n_failures_`` and never returns NaN.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from portfolio_rl.baselines.covariance import COVARIANCES
from portfolio_rl.conventions.mandate import Limits, project
from portfolio_rl.conventions.market import PERIODS

#: Solvers a convex model may name (cvxpy names; checked before any solve).
SOLVERS = ("CLARABEL", "SCS", "ECOS", "OSQP", "HIGHS")


def check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{key} must be one of {list(allowed)}, got {value!r}")


@dataclass(eq=False, repr=False)
class BaseModel:
    """Allocation estimator.

    Parameters
    ----------
    limits : Limits, optional
        A mandate's limits on the columns the model weighs
        ([`portfolio_rl.conventions.mandate.Mandate.limits`][]; the backtest sets them): a
        convex model solves with them, any other model's weights are projected onto them
        ([`portfolio_rl.conventions.mandate.project`][]).

    Attributes
    ----------
    weights_ : ndarray of shape (n_assets,)
        Target weights of the last ``fit``.
    feature_names_in_ : ndarray of str, shape (n_assets,)
        The asset names, when ``fit`` was given a DataFrame (as in scikit-learn);
        `weights` pairs them with ``weights_``.
    n_failures_ : int
        Fits whose solve failed and kept the previous weights, since construction.
    last_status_ : str
        Solver status of the last fit (``optimal`` or the reason of a failure).
    """

    name: ClassVar[str] = "base"
    #: Whether the backtest hands the model its cost rate and holding period.
    uses_costs: ClassVar[bool] = False
    #: Whether the model sets a cash weight (it then gets the cash column's returns last);
    #: a model that does not stays fully invested in the risky assets.
    uses_cash: ClassVar[bool] = False
    #: Whether the model's own problem holds the limits (else its weights are projected).
    native_limits: ClassVar[bool] = False

    limits: Limits | None = field(default=None, kw_only=True, repr=False)

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        """Raise ValueError for parameter values the model cannot use."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The keyword parameters (scikit-learn API); nested ones as ``name__param``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value
            if deep and isinstance(value, BaseModel):
                out.update({f"{f.name}__{k}": v for k, v in value.get_params().items()})
        return out

    def set_params(self, **params: Any) -> BaseModel:
        """Set parameters (scikit-learn API), check them and drop compiled problems."""
        names = {f.name for f in dataclasses.fields(self)}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in names:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        self._check()
        self.__dict__.pop("_problems", None)
        return self

    def __repr__(self) -> str:
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.repr and (f.default is dataclasses.MISSING or getattr(self, f.name) != f.default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def fit(self, returns: Any, prev_weights: np.ndarray | None = None) -> BaseModel:
        """Fit on a window of daily simple returns ending at the decision date.

        Parameters
        ----------
        returns : array-like of shape (n_observations, n_assets)
        prev_weights : ndarray of shape (n_assets,), optional
            Weights currently held (drifted), used by cost and turnover terms.

        Returns
        -------
        self
        """
        self.n_failures_ = getattr(self, "n_failures_", 0)
        self.last_status_ = "optimal"
        if hasattr(returns, "columns"):
            self.feature_names_in_ = np.asarray(returns.columns, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        x = np.asarray(returns, dtype=float)
        w = self._weights(x, None if prev_weights is None else np.asarray(prev_weights, float))
        if self.limits is not None and not self.native_limits:
            w = project(w, self.limits)
        self.weights_ = w
        return self

    @property
    def weights(self) -> Any:
        """``weights_`` as a pandas Series named by asset (``feature_names_in_``, if any)."""
        import pandas as pd

        names = getattr(self, "feature_names_in_", None)
        return pd.Series(self.weights_, index=names, name=type(self).__name__)

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError


@dataclass(eq=False, repr=False)
class ConvexModel(BaseModel):
    """A cvxpy model, compiled once per window shape and re-solved with new parameters.

    Parameters
    ----------
    solver, fallback_solver : str
        cvxpy solver names (one of ``SOLVERS``); ``solver`` may also be ``auto``: OSQP for a
        quadratic program without trade terms, Clarabel when a cost or turnover cap adds
        ``|w - prev|`` (OSQP's ADMM crawls on those kinks: minimum variance at 500 assets
        with 10 bps costs took 4.0 s a rebalance with OSQP, 1.0 s with Clarabel).
    """

    solver: str = "CLARABEL"
    fallback_solver: str = "SCS"

    #: Settings passed to Clarabel (not to the fallback solver).
    clarabel_options: ClassVar[dict[str, Any]] = {}
    #: Settings passed to OSQP: tolerances tight enough that bounds and turnover caps hold to
    #: 1e-7 (its defaults let a cap be passed by 4e-5), and the polishing step (`_osqp_polish`).
    osqp_options: ClassVar[dict[str, Any]] = {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iter": 50_000}

    def _check(self) -> None:
        check_choice("solver", self.solver, (*SOLVERS, "auto"))
        check_choice("fallback_solver", self.fallback_solver, SOLVERS)

    def _primary_solver(self) -> str:
        """The solver tried first (``auto`` is resolved by `ConstrainedModel`)."""
        return "CLARABEL" if self.solver == "auto" else self.solver

    # -- subclasses -------------------------------------------------------------------
    def _build(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        """Return (the cvxpy problem, its parameters by name, a function giving the weights)."""
        raise NotImplementedError

    def _set(self, params: dict[str, Any], x: np.ndarray) -> None:
        """Set the data parameters from the returns window."""
        raise NotImplementedError

    def _problem(self, n_obs: int, n_assets: int) -> tuple[Any, dict[str, Any], Any]:
        problems = self.__dict__.setdefault("_problems", {})
        key = (n_obs, n_assets)
        if key not in problems:
            problems[key] = self._build(n_obs, n_assets)
        return problems[key]

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        w = self._solve(x, prev)
        if w is not None:
            return w
        self.n_failures_ += 1
        kept = getattr(self, "weights_", None)
        if kept is None or len(kept) != x.shape[1]:
            kept = project(np.full(x.shape[1], 1.0 / x.shape[1]), self.limits)
        return kept.copy()

    def _solve(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray | None:
        """Solve the problem on the data ``x``.

        Returns
        -------
        ndarray of shape (n_assets,) or None
            The cleaned weights, or None when estimation or every solver failed; the
            reason is in ``last_status_``. Failures are counted by the caller.
        """
        n_obs, n_assets = x.shape
        problem, params, weights_of = self._problem(n_obs, n_assets)
        if "prev" in params:
            held = prev if prev is not None and prev.sum() > 0 else None
            params["prev"].value = held if held is not None else np.zeros(n_assets)
            params["cap"].value = (
                2.0 if held is None or self.max_turnover is None else self.max_turnover
            )
            params["cost"].value = (
                0.0 if held is None else self.cost_bps / 1e4 * PERIODS / self.holding_days
            )
        try:
            self._set(params, x)
        except (np.linalg.LinAlgError, ValueError) as exc:
            self.last_status_ = f"estimation failed: {exc}"
            return None
        status = "not solved"
        osqp = {**self.osqp_options, _osqp_polish(): True}
        options = {"CLARABEL": self.clarabel_options, "OSQP": osqp}
        for solver in (self._primary_solver(), self.fallback_solver):
            try:
                with warnings.catch_warnings():  # an inaccurate status is ours to report
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                    problem.solve(solver=solver, **options.get(solver, {}))
                status = problem.status
            except Exception as exc:  # cvxpy.SolverError and solver-specific errors
                status = f"{solver}: {type(exc).__name__}"
                continue
            if status == "optimal":
                w = weights_of()
                if w is not None and np.all(np.isfinite(w)):
                    self.last_status_ = "optimal"
                    return _clean(w, getattr(self, "min_weight", 0.0), self.limits)
                status = "optimal but no finite weights"
        self.last_status_ = status
        return None


@functools.cache
def _osqp_polish() -> str:
    """OSQP's name for its polishing setting.

    ``polishing`` from OSQP 1.0, ``polish`` before (1.x still takes ``polish``, with a
    DeprecationWarning at every solve).
    """
    from importlib.metadata import version

    return "polishing" if int(version("osqp").split(".")[0]) >= 1 else "polish"


def _clean(w: np.ndarray, min_weight: float, limits: Limits | None = None) -> np.ndarray:
    """Remove solver noise: clip at the lower bound (long-only: 0) and renormalise; with a
    mandate's limits, project onto them (exact bounds; the solver met them to its tolerance)."""  # noqa: D205, D209
    w = np.asarray(w, dtype=float).ravel()
    if limits is not None:
        return project(w, limits)
    if min_weight >= 0:
        w = np.clip(w, 0.0, None)
    return w / w.sum()


@dataclass(eq=False, repr=False)
class ConstrainedModel(ConvexModel):
    """A convex model with budget, long-only/bounds, turnover cap and cost term.

    Parameters
    ----------
    covariance : {"sample", "ledoit_wolf"}
    min_weight, max_weight : float
        Bounds on every weight (long-only when ``min_weight >= 0``).
    max_turnover : float, optional
        Cap on the two-way turnover ``sum|w - prev_weights|`` (ignored without prev weights).
    cost_bps : float
        Cost term ``cost_bps/1e4 * sum|w - prev_weights| * 252/holding_days`` in the
        annualised objective (amortised over the holding period).
    holding_days : int
        Days until the next rebalance, for the amortisation above.
    solver, fallback_solver : str
        See `ConvexModel`.
    """

    covariance: str = "sample"
    min_weight: float = 0.0
    max_weight: float = 1.0
    max_turnover: float | None = None
    cost_bps: float = 0.0
    holding_days: int = 21

    uses_costs: ClassVar[bool] = True
    native_limits: ClassVar[bool] = True

    def _check(self) -> None:
        super()._check()
        check_choice("covariance", self.covariance, COVARIANCES)
        if self.limits is not None and (self.min_weight, self.max_weight) != (0.0, 1.0):
            raise ValueError("give weight bounds as min_weight/max_weight or as limits, not both")
        if not self.min_weight <= self.max_weight:
            raise ValueError("min_weight must not exceed max_weight")
        if self.max_turnover is not None and not self.max_turnover >= 0:
            raise ValueError("max_turnover must be non-negative")
        if not (self.cost_bps >= 0 and self.holding_days >= 1):
            raise ValueError("need cost_bps >= 0 and holding_days >= 1")

    def _primary_solver(self) -> str:
        if self.solver != "auto":
            return self.solver
        trades = self.cost_bps > 0 or self.max_turnover is not None
        return "CLARABEL" if trades else "OSQP"

    def _common(
        self, w: Any, n_assets: int, scale: Any = None
    ) -> tuple[list[Any], Any, dict[str, Any]]:
        """Bounds, turnover cap and cost term on ``w``.

        With ``scale`` (a variable), the constraints are written for ``w = y / scale`` in the
        homogenised variable ``y`` (max Sharpe). Terms that cannot bind are left out, since
        every row and parameter costs time at each re-solve: the upper bound when it is
        implied by the budget, and the trade terms when there is neither a cost nor a cap.
        """
        import cvxpy as cp

        s = 1.0 if scale is None else scale
        if self.limits is not None:  # a mandate: its bounds and group caps
            limits = self.limits
            if len(limits.names) != n_assets:
                raise ValueError(f"limits on {len(limits.names)} assets, data on {n_assets}")
            cons = [w >= limits.lower * s, w <= limits.upper * s]
            if len(limits.caps):
                cons.append(limits.members @ w <= limits.caps * s)
        else:
            cons = [w >= self.min_weight * s]
            if self.max_weight < 1 or self.min_weight < 0:
                cons.append(w <= self.max_weight * s)
        if self.cost_bps == 0 and self.max_turnover is None:
            return cons, 0.0, {}
        prev = cp.Parameter(n_assets, name="prev")
        cap = cp.Parameter(nonneg=True, name="turnover_cap")
        cost = cp.Parameter(nonneg=True, name="cost")
        held = prev if scale is None else prev * scale
        # |w - prev| through an auxiliary variable keeps the problem DPP: a parameter may
        # multiply a variable, not an expression that already holds a parameter.
        trade = cp.Variable(n_assets, nonneg=True, name="trade")
        cons += [trade >= w - held, trade >= held - w, cp.sum(trade) <= cap * s]
        return cons, cost * cp.sum(trade), {"prev": prev, "cap": cap, "cost": cost}
