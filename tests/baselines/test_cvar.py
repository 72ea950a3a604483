import numpy as np
import pytest

from portfolio_rl.baselines import cvar as cvar_module
from portfolio_rl.baselines import make_baseline
from portfolio_rl.baselines.cvar import historical_cvar
from portfolio_rl.data.sources import load_prices


@pytest.fixture(scope="module")
def windows():
    returns = load_prices("sp500", start="2006-01-01", end="2012-12-31").pct_change().iloc[1:]
    x = returns.to_numpy()
    return [x[i : i + 252] for i in range(0, len(x) - 252, 126)]


def brute_force_cvar(losses, beta):
    """Rockafellar-Uryasev function minimised over a: piecewise linear, so at a loss."""
    c = 1 / ((1 - beta) * len(losses))
    return min(a + c * np.maximum(losses - a, 0).sum() for a in losses)


@pytest.mark.parametrize("n, beta", [(100, 0.95), (252, 0.95), (250, 0.99), (37, 0.9)])
def test_historical_cvar_is_the_minimum_of_the_rockafellar_uryasev_function(n, beta):
    losses = np.random.default_rng(n).standard_t(3, size=n)
    assert historical_cvar(losses, beta) == pytest.approx(brute_force_cvar(losses, beta), abs=1e-12)
    if ((1 - beta) * n).is_integer():  # an integer tail: the mean of the worst days
        k = round((1 - beta) * n)
        assert historical_cvar(losses, beta) == pytest.approx(np.sort(losses)[-k:].mean())


def test_historical_cvar_of_a_subset_counts_the_whole_window():
    losses = np.random.default_rng(0).normal(size=252)
    worst = np.argsort(losses)[-20:]
    assert historical_cvar(losses[worst], 0.95, 252) == pytest.approx(
        historical_cvar(losses, 0.95), abs=1e-15
    )
    with pytest.raises(ValueError, match="at least 13"):
        historical_cvar(losses[worst[:5]], 0.95, 252)


@pytest.mark.parametrize("name", ["min_cvar", "dro_cvar"])
@pytest.mark.parametrize("working_set", [14, 48])
def test_working_set_reaches_the_full_program_optimum(name, working_set, windows, monkeypatch):
    full = make_baseline(name, working_set=None)
    reduced = make_baseline(name, working_set=working_set)
    sizes = []
    solve = type(reduced)._solve
    monkeypatch.setattr(
        type(reduced), "_solve", lambda self, x, prev: sizes.append(len(x)) or solve(self, x, prev)
    )
    for x in windows:
        w_full = full.fit(x).weights_
        sizes.clear()
        w = reduced.fit(x).weights_
        np.testing.assert_allclose(w, w_full, atol=2e-3)
        f = objective(reduced, x)
        assert f(w) == pytest.approx(f(w_full), abs=1e-8)
        assert 252 not in sizes[:-1]  # the full program only ever as the last resort
    assert reduced.n_failures_ == 0


def objective(model, x):
    """The model's daily objective at weights w, in numpy."""

    def f(w):
        risk = historical_cvar(-x @ w, model.beta)
        if model.name == "min_cvar":
            return risk
        norm = model.radius * (1 + model.rho / (1 - model.beta)) * np.abs(w).max()
        return norm - x.mean(0) @ w + model.rho * risk

    return f


def test_working_set_falls_back_to_the_full_program(windows, monkeypatch):
    monkeypatch.setattr(cvar_module, "ROUNDS", 1)
    model = make_baseline("min_cvar", working_set=14)
    model.weights_ = np.eye(20)[0]  # a guess whose worst days are far from the optimum's
    sizes = []
    solve = type(model)._solve
    monkeypatch.setattr(
        type(model), "_solve", lambda self, x, prev: sizes.append(len(x)) or solve(self, x, prev)
    )
    w = model.fit(windows[0]).weights_
    assert sizes == [14, 252]
    full = make_baseline("min_cvar", working_set=None).fit(windows[0]).weights_
    np.testing.assert_allclose(w, full)


def test_dro_cvar_solves_the_esfahani_kuhn_program(windows):
    """The closed form used by DROCVaR against the LP of Theorem 6.3 written out."""
    import cvxpy as cp

    radius, rho, beta = 0.002, 1.0, 0.95
    a = (-1.0, -1.0 - rho / (1 - beta))
    b = (rho, rho * (1 - 1 / (1 - beta)))
    for x in windows[:3]:
        n_obs, n = x.shape
        w, tau, lam, s = cp.Variable(n), cp.Variable(), cp.Variable(), cp.Variable(n_obs)
        cons = [cp.sum(w) == 1, w >= 0]
        cons += [a[k] * (x @ w) + b[k] * tau <= s for k in (0, 1)]
        cons += [abs(a[k]) * cp.norm(w, "inf") <= lam for k in (0, 1)]
        lp = cp.Problem(cp.Minimize(lam * radius + cp.sum(s) / n_obs), cons)
        lp.solve(solver="CLARABEL")
        model = make_baseline("dro_cvar", radius=radius, rho=rho, beta=beta)
        ours = model.fit(x).weights_
        assert objective(model, x)(ours) == pytest.approx(lp.value, abs=1e-8)
        np.testing.assert_allclose(ours, w.value, atol=2e-3)
