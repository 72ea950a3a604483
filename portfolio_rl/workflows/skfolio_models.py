"""skfolio's estimators equivalent to our baselines, for the benchmarks and the tests.

skfolio is a test-only dependency: this module imports it inside the function only.
"""

from __future__ import annotations

from typing import Any

#: Our model name -> how to build skfolio's equivalent (a test-only dependency).
SKFOLIO_EQUIVALENTS = (
    "min_variance",
    "mean_variance",
    "max_sharpe",
    "robust_mv_ellipsoid",
    "min_cvar",
    "risk_parity",
)


def skfolio_model(name: str) -> Any:
    """A fresh skfolio estimator equivalent to our baseline ``name``."""
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting
    from skfolio.uncertainty_set import EmpiricalMuUncertaintySet

    utility = ObjectiveFunction.MAXIMIZE_UTILITY
    return {
        "min_variance": lambda: MeanRisk(risk_measure=RiskMeasure.VARIANCE),
        "mean_variance": lambda: MeanRisk(
            risk_measure=RiskMeasure.VARIANCE, objective_function=utility, risk_aversion=5.0
        ),
        "max_sharpe": lambda: MeanRisk(
            risk_measure=RiskMeasure.VARIANCE, objective_function=ObjectiveFunction.MAXIMIZE_RATIO
        ),
        "robust_mv_ellipsoid": lambda: MeanRisk(
            risk_measure=RiskMeasure.VARIANCE,
            objective_function=utility,
            risk_aversion=5.0,
            mu_uncertainty_set_estimator=EmpiricalMuUncertaintySet(
                confidence_level=0.95, diagonal=False
            ),
        ),
        "min_cvar": lambda: MeanRisk(risk_measure=RiskMeasure.CVAR),
        "risk_parity": lambda: RiskBudgeting(risk_measure=RiskMeasure.VARIANCE),
    }[name]()
