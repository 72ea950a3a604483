import numpy as np
import pytest

from portfolio_rl.baselines import BASELINES, make_baseline
from portfolio_rl.baselines.covariance import estimate_covariance
from portfolio_rl.baselines.risk_parity import risk_contributions
from portfolio_rl.data.sources import load_prices


@pytest.fixture(scope="module")
def sp500_returns():
    prices = load_prices("sp500", start="2010-01-01", end="2016-12-31")
    return prices.pct_change().iloc[1:]


def windows(returns, n=4, size=252):
    return [returns.iloc[i : i + size] for i in range(0, n * 200, 200)]


@pytest.mark.parametrize("name", [n for n in BASELINES if n != "benchmark"])
def test_every_baseline_gives_valid_long_only_weights(name, sp500_returns):
    model = make_baseline(name)
    for window in windows(sp500_returns, n=2):
        w = model.fit(window).weights_
        assert w.shape == (20,)
        assert np.all(np.isfinite(w)) and np.all(w >= 0)
        assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert model.n_failures_ == 0


def test_equal_weight_and_inverse_vol_closed_form(sp500_returns):
    x = sp500_returns.iloc[:252]
    np.testing.assert_array_equal(make_baseline("equal_weight").fit(x).weights_, np.full(20, 0.05))
    inv = 1 / x.std(ddof=1).to_numpy()
    np.testing.assert_allclose(make_baseline("inverse_vol").fit(x).weights_, inv / inv.sum())


def test_two_asset_min_variance_by_hand():
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal([0, 0], [[4e-4, 0.5e-4], [0.5e-4, 1e-4]], size=500)
    s = np.cov(x.T, ddof=1)
    w1 = (s[1, 1] - s[0, 1]) / (s[0, 0] + s[1, 1] - 2 * s[0, 1])
    w = make_baseline("min_variance").fit(x).weights_
    assert 0.05 < w1 < 0.3  # interior: the long-only bound is not active
    np.testing.assert_allclose(w, [w1, 1 - w1], atol=1e-6)


def test_risk_parity_contributions_are_equal(sp500_returns):
    for window in windows(sp500_returns, n=2):
        w = make_baseline("risk_parity").fit(window).weights_
        rc = risk_contributions(w, estimate_covariance(window.to_numpy()))
        np.testing.assert_allclose(rc, np.full(20, 0.05), atol=1e-6)


def test_max_sharpe_beats_other_portfolios_in_sample(sp500_returns):
    x = sp500_returns.iloc[:252].to_numpy()
    mu, cov = x.mean(0), np.cov(x.T, ddof=1)

    def sr(w):
        return mu @ w / np.sqrt(w @ cov @ w)

    w = make_baseline("max_sharpe").fit(x).weights_
    rng = np.random.default_rng(1)
    assert all(sr(w) >= sr(v) - 1e-6 for v in rng.dirichlet(np.ones(20), size=500))
    assert sr(w) >= sr(make_baseline("mean_variance").fit(x).weights_) - 1e-6


def test_robust_box_optimises_the_worst_case_and_shrinks_to_mean_variance(sp500_returns):
    from scipy import stats

    x = sp500_returns.iloc[:252].to_numpy()
    mu, cov = 252 * x.mean(0), 252 * np.cov(x.T, ddof=1)
    delta = stats.norm.ppf(0.995) * np.sqrt(np.diag(cov) * 252 / len(x))

    def worst_case_utility(w):
        return mu @ w - delta @ np.abs(w) - 5.0 * w @ cov @ w

    mv = make_baseline("mean_variance").fit(x).weights_
    box = make_baseline("robust_mv_box", confidence_level=0.99).fit(x).weights_
    assert worst_case_utility(box) >= worst_case_utility(mv) - 1e-7
    assert not np.allclose(box, mv, atol=1e-3)
    tiny = make_baseline("robust_mv_box", confidence_level=1e-9).fit(x).weights_
    np.testing.assert_allclose(tiny, mv, atol=1e-4)


def test_min_cvar_has_the_lowest_historical_cvar(sp500_returns):
    x = sp500_returns.iloc[:252].to_numpy()

    def cvar(w):
        loss = -x @ w
        var = np.quantile(loss, 0.95)
        return var + np.maximum(loss - var, 0).mean() / 0.05

    w = make_baseline("min_cvar").fit(x).weights_
    others = [make_baseline(n).fit(x).weights_ for n in ("min_variance", "equal_weight")]
    assert all(cvar(w) <= cvar(v) + 1e-9 for v in others)


def test_dro_radius_zero_is_empirical_and_large_radius_tends_to_equal_weight(sp500_returns):
    x = sp500_returns.iloc[:252].to_numpy()
    w_big = make_baseline("dro_cvar", radius=1.0).fit(x).weights_
    np.testing.assert_allclose(w_big, np.full(20, 0.05), atol=1e-4)
    w0 = make_baseline("dro_cvar", radius=0.0).fit(x).weights_
    assert np.abs(w0 - 0.05).max() > 0.05


def test_bounds_turnover_cap_and_cost_term(sp500_returns):
    x = sp500_returns.iloc[:252].to_numpy()
    prev = np.full(20, 0.05)
    w = make_baseline("min_variance", max_weight=0.1).fit(x).weights_
    assert w.max() <= 0.1 + 1e-7
    w = make_baseline("min_variance", max_turnover=0.2).fit(x, prev).weights_
    assert np.abs(w - prev).sum() <= 0.2 + 1e-6
    free = make_baseline("min_variance").fit(x, prev).weights_
    costly = make_baseline("min_variance", cost_bps=500).fit(x, prev).weights_
    assert np.abs(costly - prev).sum() < np.abs(free - prev).sum()


def test_failed_solve_keeps_previous_weights_and_is_counted(sp500_returns, monkeypatch):
    import cvxpy as cp

    model = make_baseline("min_variance")
    x = sp500_returns.iloc[:252].to_numpy()
    first = model.fit(x).weights_.copy()

    def broken(self, *a, **k):
        raise cp.SolverError("simulated failure")

    monkeypatch.setattr(cp.Problem, "solve", broken)
    w = model.fit(sp500_returns.iloc[200:452].to_numpy()).weights_
    np.testing.assert_array_equal(w, first)
    assert model.n_failures_ == 1 and "SolverError" in model.last_status_


def test_osqp_solves_with_its_own_settings_not_the_fallback(sp500_returns):
    import warnings

    model = make_baseline("mean_variance")  # OSQP first
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a setting OSQP refuses or deprecates would fall back
        model.fit(sp500_returns.iloc[:252])
    ((problem, _, _),) = model._problems.values()
    assert problem.solver_stats.solver_name == "OSQP" and model.last_status_ == "optimal"


def test_infeasible_max_sharpe_is_a_counted_failure():
    x = -np.abs(np.random.default_rng(0).normal(0.001, 0.01, size=(100, 3)))
    model = make_baseline("max_sharpe")
    w = model.fit(x).weights_
    np.testing.assert_allclose(w, np.full(3, 1 / 3))
    assert model.n_failures_ == 1


@pytest.mark.parametrize(("name", "shapes"), [("robust_mv_ellipsoid", 1), ("min_cvar", 2)])
def test_problem_is_compiled_once(name, shapes, sp500_returns, monkeypatch):
    model = make_baseline(name)
    built = []
    build = type(model)._build
    monkeypatch.setattr(type(model), "_build", lambda self, *a: built.append(a) or build(self, *a))
    for window in windows(sp500_returns, n=4):
        model.fit(window)
    # one program per window shape (min CVaR: its working set of days and the full window)
    assert len(built) == len(model._problems) <= shapes
    assert all(problem.is_dpp() for problem, _, _ in model._problems.values())


def test_ledoit_wolf_covariance_is_shrunk(sp500_returns):
    x = sp500_returns.iloc[:60].to_numpy()
    sample, lw = estimate_covariance(x), estimate_covariance(x, "ledoit_wolf")
    assert np.linalg.cond(lw) < np.linalg.cond(sample)
    w = make_baseline("min_variance", covariance="ledoit_wolf").fit(x).weights_
    assert w.sum() == pytest.approx(1)


def test_baselines_are_scikit_learn_estimators(sp500_returns):
    from sklearn.base import clone

    model = make_baseline("robust_mv_ellipsoid", risk_aversion=2.0, max_weight=0.3)
    params = model.get_params()
    assert params["risk_aversion"] == 2.0 and params["max_weight"] == 0.3
    assert params["uncertainty"] == "ellipsoid" and model.name == "robust_mv_ellipsoid"
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    x = sp500_returns.iloc[:252].to_numpy()
    first = model.fit(x).weights_.copy()
    # set_params drops the compiled problem: the new risk aversion is the one solved
    model.set_params(risk_aversion=50.0)
    again = model.fit(x).weights_
    np.testing.assert_allclose(
        again,
        make_baseline("robust_mv_ellipsoid", risk_aversion=50.0, max_weight=0.3).fit(x).weights_,
        atol=1e-6,
    )
    assert np.abs(first - again).sum() > 1e-3
    assert "max_turnover" not in make_baseline("risk_parity").get_params()
    nested = make_baseline("vol_target", base="min_variance", base_params={"max_weight": 0.2})
    assert nested.get_params()["base__max_weight"] == 0.2
    nested.set_params(base__max_weight=0.5, target_vol=0.2)
    assert nested.base.max_weight == 0.5 and clone(nested).get_params()["base__max_weight"] == 0.5
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(nonsense=1)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("min_variance", {"solver": "MAGIC"}, "solver must be one of"),
        ("min_variance", {"covariance": "shrunk"}, "covariance must be one of"),
        ("risk_parity", {"risk_budget": [1.0, -1.0]}, "positive numbers"),
        ("min_cvar", {"beta": 1.5}, "beta must lie"),
        ("risk_parity", {"max_turnover": 0.1}, "unexpected keyword"),
    ],
)
def test_bad_parameters_are_refused_when_built(name, params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make_baseline(name, **params)
    if "unexpected" not in message:
        with pytest.raises(ValueError, match=message):
            make_baseline(name).set_params(**params)
