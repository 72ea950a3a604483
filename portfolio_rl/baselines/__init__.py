"""Robust-optimization and naive baselines, as estimators with ``fit(returns, prev_weights)``.

``BASELINES`` maps the strategy names of the command line to their classes and default
parameters (the one registry of strategies: adding a baseline is one class and one line
here); `make_baseline` builds one with overrides.

Examples
--------
>>> import numpy as np
>>> from portfolio_rl.baselines import make_baseline
>>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
>>> model = make_baseline("risk_parity").fit(returns)
>>> model.weights_.shape, round(float(model.weights_.sum()), 6)
((4,), 1.0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portfolio_rl.baselines.base import BaseModel
from portfolio_rl.baselines.cvar import DROCVaR, MinCVaR
from portfolio_rl.baselines.mean_risk import (
    MaxSharpe,
    MeanVariance,
    MinVariance,
    RobustMeanVariance,
)
from portfolio_rl.baselines.naive import (
    Benchmark,
    EqualWeight,
    InverseVolatility,
    Momentum,
    VolTarget,
)
from portfolio_rl.baselines.risk_parity import RiskParity

if TYPE_CHECKING:
    import pandas as pd

BASELINES: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "equal_weight": (EqualWeight, {}),
    "inverse_vol": (InverseVolatility, {}),
    "benchmark": (Benchmark, {}),
    "min_variance": (MinVariance, {}),
    "mean_variance": (MeanVariance, {}),
    "max_sharpe": (MaxSharpe, {}),
    "robust_mv_box": (RobustMeanVariance, {"uncertainty": "box"}),
    "robust_mv_ellipsoid": (RobustMeanVariance, {"uncertainty": "ellipsoid"}),
    "min_cvar": (MinCVaR, {}),
    "dro_cvar": (DROCVaR, {}),
    "risk_parity": (RiskParity, {}),
    "momentum": (Momentum, {}),
    "vol_managed": (VolTarget, {}),
    "vol_target": (VolTarget, {"base": "min_variance"}),
}
#: The robust-optimization baselines among which the "best robust baseline" is chosen.
ROBUST = ("robust_mv_box", "robust_mv_ellipsoid", "dro_cvar", "min_cvar")


def default_strategies(cash: bool) -> tuple[str, ...]:
    """Every baseline that applies: those that need cash only when there is cash."""
    return tuple(n for n, (cls, _) in BASELINES.items() if cash or not cls.uses_cash)


def make_baseline(name: str, **params: Any) -> BaseModel:
    """Build the baseline ``name`` with its defaults updated by ``params``.

    A ``base`` given by name (``vol_target``'s) is built here too, with ``base_params``.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import make_baseline
    >>> weights = make_baseline("min_variance", max_weight=0.3).fit(returns).weights_
    >>> bool(weights.max() <= 0.3 + 1e-6), round(float(weights.sum()), 6)
    (True, 1.0)
    """
    if name not in BASELINES:
        raise KeyError(name)
    cls, defaults = BASELINES[name]
    params = defaults | params
    if isinstance(params.get("base"), str):
        base, base_params = params.pop("base"), params.pop("base_params", None) or {}
        if base not in BASELINES:
            raise ValueError(f"unknown base {base!r}")
        params["base"] = make_baseline(base, **base_params)
    return cls(**params)


#: A strategy whose decisions failed more often than this share of the rebalances is marked
#: failed (``metrics.csv``'s ``failed``): its figures are the weights it kept, not a result,
#: and the verdict leaves it out.
FAILED_SHARE = 0.5


def failed_strategies(metrics: pd.DataFrame) -> list[str]:
    """The strategies of ``metrics`` marked failed (see `FAILED_SHARE`)."""
    if "failed" not in metrics:
        return []
    return [str(n) for n in metrics.index[metrics["failed"].astype(bool)]]


def best_robust(metrics: pd.DataFrame) -> str | None:
    """The robust baseline with the highest Sharpe ratio in ``metrics``, if any (never one
    marked failed)."""  # noqa: D205, D209
    failed = set(failed_strategies(metrics))
    robust = [n for n in ROBUST if n in metrics.index and n not in failed]
    return str(metrics.loc[robust, "sharpe"].idxmax()) if robust else None


#: The public names: the registry, the models, and `make_baseline` (the base classes and the
#: helpers of the report and the workflows stay importable, not documented as public).
__all__ = [
    "BASELINES",
    "Benchmark",
    "DROCVaR",
    "EqualWeight",
    "InverseVolatility",
    "MaxSharpe",
    "MeanVariance",
    "MinCVaR",
    "MinVariance",
    "Momentum",
    "RiskParity",
    "RobustMeanVariance",
    "VolTarget",
    "make_baseline",
]
