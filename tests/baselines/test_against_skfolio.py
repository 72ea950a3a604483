"""Our cvxpy models against skfolio's MeanRisk on the same windows (test-only dependency)."""

import numpy as np
import pytest

from portfolio_rl.baselines import make_baseline
from portfolio_rl.data.sources import load_prices

skfolio = pytest.importorskip("skfolio")
from skfolio import RiskMeasure  # noqa: E402
from skfolio.optimization import MeanRisk, ObjectiveFunction  # noqa: E402
from skfolio.uncertainty_set import EmpiricalMuUncertaintySet  # noqa: E402


@pytest.fixture(scope="module")
def windows():
    returns = load_prices("sp500", start="2008-01-01", end="2014-12-31").pct_change().iloc[1:]
    return [returns.iloc[i : i + 252] for i in (0, 300, 600, 900, 1200)]


def test_min_variance_matches_skfolio(windows):
    for x in windows:
        ref = MeanRisk(risk_measure=RiskMeasure.VARIANCE).fit(x).weights_
        ours = make_baseline("min_variance").fit(x).weights_
        np.testing.assert_allclose(ours, ref, atol=1e-3)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_robust_ellipsoid_matches_skfolio(windows, confidence):
    for x in windows:
        ref = (
            MeanRisk(
                risk_measure=RiskMeasure.VARIANCE,
                objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
                risk_aversion=5.0,
                mu_uncertainty_set_estimator=EmpiricalMuUncertaintySet(
                    confidence_level=confidence, diagonal=False
                ),
            )
            .fit(x)
            .weights_
        )
        ours = (
            make_baseline("robust_mv_ellipsoid", confidence_level=confidence, risk_aversion=5.0)
            .fit(x)
            .weights_
        )
        np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_min_cvar_matches_skfolio(windows):
    # One model across the windows, so later fits start from a working set of days
    model = make_baseline("min_cvar")
    for x in windows:
        ref = MeanRisk(risk_measure=RiskMeasure.CVAR, cvar_beta=0.95).fit(x).weights_
        np.testing.assert_allclose(model.fit(x).weights_, ref, atol=1e-3)


@pytest.mark.parametrize("name", ["min_variance", "robust_mv_ellipsoid", "risk_parity"])
def test_500_assets_match_skfolio(name):
    """The T x n risk factor and the Newton risk parity: skfolio's weights at 500 assets."""
    from portfolio_rl.workflows.bench_scale import one_factor_prices
    from portfolio_rl.workflows.skfolio_models import skfolio_model

    x = one_factor_prices(500, years=2).pct_change().iloc[1:253]
    ref = skfolio_model(name).fit(x)
    ours = make_baseline(name).fit(x).weights_
    np.testing.assert_allclose(ours, ref.weights_, atol=1e-3)
