"""The steered baselines' exact solves and their frontier tables, against cvxpy."""

import numpy as np
import pytest
import torch

from portfolio_rl.agents.steer import steer_values
from portfolio_rl.agents.steer_table import SteerContext, frontier_weights
from portfolio_rl.baselines import make_baseline
from portfolio_rl.baselines.covariance import estimate_covariance
from portfolio_rl.baselines.frontier import critical_line, frontier_at
from portfolio_rl.baselines.steering import SHRINK_NODES, SteeredModel, check_steerable
from portfolio_rl.data.sources import load_prices

NAMES = ("risk_aversion", "kappa", "shrinkage")


@pytest.fixture(scope="module")
def windows():
    prices = load_prices("industries49", start="1995-01-01", end="2003-12-31").iloc[:, :20]
    r = prices.pct_change().iloc[1:].to_numpy()
    return [r[i : i + 252] for i in range(0, 1500, 250)]


def mv_objective(x, w, gamma):
    return x.mean(0) * 252 @ w - gamma * w @ (estimate_covariance(x) * 252) @ w


@pytest.mark.parametrize("max_weight", [1.0, 0.15])
def test_the_critical_line_is_the_mean_variance_solution_at_every_gamma(windows, max_weight):
    model = SteeredModel("mean_variance", {"max_weight": max_weight})
    for x in windows[:3]:
        cov, mu = model._covariance(x, 0.0), x.mean(0) * 252
        start = make_baseline("min_variance", max_weight=max_weight).fit(x).weights_
        taus, corners = critical_line(cov, mu, start, 2.0, 0.0, max_weight)
        assert taus[0] == 0 and np.all(np.diff(taus) >= 0) and taus[-1] == 2.0
        for gamma in (0.3, 1.0, 4.0, 17.0, 90.0, 600.0):
            cvx = make_baseline("mean_variance", risk_aversion=gamma, max_weight=max_weight)
            exact = cvx.fit(x).weights_
            w = frontier_at(taus, corners, 0.5 / gamma)
            assert w.min() >= -1e-12 and w.max() <= max_weight + 1e-9
            assert abs(w.sum() - 1) < 1e-9
            assert np.abs(w - exact).max() < 1e-4
            # the corners are at least as optimal as the solver (its tolerance is the gap)
            assert mv_objective(x, w, gamma) >= mv_objective(x, exact, gamma) - 1e-9


def test_the_table_gives_the_robust_ellipsoid_for_any_steered_parameters(windows):
    """The training transform against cvxpy's exact solve of the same parameters."""
    model = SteeredModel("robust_mv_ellipsoid", {"risk_aversion": 5.0})
    rng = np.random.default_rng(0)
    worst = 0.0
    for x in windows:
        f = model.frontier(x)
        cfg = model.configured(x.shape[1])
        ctx = SteerContext(
            *(torch.tensor(np.asarray(v)) for v in (np.zeros(3), f.tau, f.sigma2, f.cross)),
            torch.tensor(f.weights),
            torch.tensor(f.shrink),
            torch.tensor(f.radius),
        )
        for k in range(6):
            latent = torch.tensor(rng.normal(0, 1.2, 3) if k else np.zeros(3))
            values = steer_values(latent, NAMES, cfg, SHRINK_NODES)
            table = frontier_weights(ctx, values, cfg).numpy()
            plain = {key: float(v) for key, v in values.items()}
            exact = model.solve(x, plain)
            worst = max(worst, np.abs(table - exact).max())
            cov = model._covariance(x, plain["shrinkage"])
            mu, rho = x.mean(0) * 252, f.radius * plain["kappa"] / cfg["kappa"]

            def robust(w, cov=cov, mu=mu, rho=rho, lam=plain["risk_aversion"]):
                return mu @ w - rho * np.sqrt(w @ cov @ w) - lam * w @ cov @ w

            assert robust(table) >= robust(exact) - 1e-8
            if k == 0:  # the configured point is the baseline's own solve
                np.testing.assert_allclose(table, f.base, atol=1e-4)
    assert worst < 2e-4, worst


def test_a_parametric_model_solves_the_same_problem(windows):
    x = windows[1]
    for name, params in [
        ("robust_mv_ellipsoid", {"risk_aversion": 3.0, "shrinkage": 0.2}),
        ("mean_variance", {"risk_aversion": 8.0}),
        ("min_variance", {"shrinkage": 0.1}),
    ]:
        plain = make_baseline(name, **params).fit(x).weights_
        steered = make_baseline(name, **params).parametric().fit(x).weights_
        assert np.abs(plain - steered).max() < 1e-4


def test_shrinkage_moves_the_covariance_towards_the_scaled_identity(windows):
    x = windows[0]
    s = estimate_covariance(x)
    target = 0.7 * s + 0.3 * np.trace(s) / len(s) * np.eye(len(s))
    w = make_baseline("min_variance", shrinkage=0.3).fit(x).weights_
    inv = np.linalg.solve(target, np.ones(len(s)))
    closed = inv / inv.sum()  # the unconstrained minimum
    if closed.min() >= 0:
        np.testing.assert_allclose(w, closed, atol=1e-5)
    assert w @ target @ w <= closed.clip(0) @ target @ closed.clip(0) / closed.clip(0).sum() ** 2
    with pytest.raises(ValueError, match="shrinkage"):
        make_baseline("min_variance", shrinkage=1.0)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("dro_cvar", {}, "cannot be steered"),
        ("robust_mv_box", {}, "cannot be steered"),
        ("robust_mv_ellipsoid", {"uncertainty": "box"}, "ellipsoidal"),
    ],
)
def test_only_the_mean_variance_family_is_steered(name, params, message):
    with pytest.raises(ValueError, match=message):
        check_steerable(name, params)
