import numpy as np
import pandas as pd
import pytest

from portfolio_rl.conventions import measures as m


@pytest.fixture
def returns():
    rng = np.random.default_rng(0)
    r = rng.standard_t(4, size=1500) * 0.01 + 0.0004
    r[0] = abs(r[0])
    idx = pd.bdate_range("2015-01-01", periods=1500)
    return pd.Series(r, index=idx, name="s")


def test_measures_match_quantstats(returns):
    qs = pytest.importorskip("quantstats")
    r = returns.to_numpy()
    assert m.sharpe(r) == pytest.approx(qs.stats.sharpe(returns), abs=1e-9)
    assert m.sortino(r) == pytest.approx(qs.stats.sortino(returns), abs=1e-9)
    assert m.ann_vol(r) == pytest.approx(qs.stats.volatility(returns), abs=1e-9)
    assert m.max_drawdown(r) == pytest.approx(qs.stats.max_drawdown(returns), abs=1e-9)
    assert m.omega(r) == pytest.approx(qs.stats.omega(returns), abs=1e-9)
    assert m.tail_ratio(r) == pytest.approx(qs.stats.tail_ratio(returns), abs=1e-9)
    assert m.hit_rate(r) == pytest.approx(qs.stats.win_rate(returns), abs=1e-9)
    # quantstats takes an annual rf and de-annualises it the same way
    assert m.sharpe(r, rf=0.03) == pytest.approx(
        qs.stats.sharpe(returns, rf=0.03, periods=252), abs=1e-9
    )


def test_hand_computed_values():
    r = np.array([0.10, -0.20, 0.05, 0.0, 0.10])
    w = np.cumprod(1 + r)
    assert m.cagr(r) == pytest.approx(w[-1] ** (252 / 5) - 1)
    assert m.max_drawdown(r) == pytest.approx(0.8 - 1)  # from 1.1 down to 0.88
    assert m.max_dd_duration(r) == 4
    assert m.hit_rate(r) == pytest.approx(3 / 4)
    assert m.omega(r) == pytest.approx(0.25 / 0.20)
    assert m.sortino(r) == pytest.approx(r.mean() / np.sqrt(0.04 / 5) * np.sqrt(252))
    q = np.quantile(r, 0.05)
    assert m.cvar(r) == pytest.approx(r[r <= q].mean()) == pytest.approx(-0.20)
    assert m.max_drawdown(np.array([-0.1, 0.05])) == pytest.approx(-0.1)  # from the start


def test_sharpe_is_one_function_for_numpy_and_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(0.0005, 0.01, size=(3, 400))
    along_rows = m.sharpe(x, axis=-1)
    assert along_rows.shape == (3,)
    assert along_rows[1] == m.sharpe(x[1])
    np.testing.assert_allclose(m.sharpe(torch.tensor(x)).numpy(), along_rows, rtol=1e-12)
    assert np.isnan(m.sharpe(np.zeros(10)))
    assert m.sharpe(np.zeros(10), eps=1e-8) == 0.0
    assert m.sharpe(x[0], periods=1) == pytest.approx(x[0].mean() / x[0].std(ddof=1))


def test_risk_measures_of_four_outcomes_by_hand():
    import torch

    from portfolio_rl.conventions.measures import risk_value

    x = torch.tensor([[0.2, 0.2, 0.2, -0.3], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    assert risk_value(x, "mean").tolist() == pytest.approx([0.075, 2.5])
    assert risk_value(x, "worst").tolist() == pytest.approx([-0.3, 1.0])
    assert risk_value(x, "cvar", 0.25).tolist() == pytest.approx([-0.3, 1.0])
    # alpha = 0.375: the worst outcome whole and half of the next, (1 + 2 * 0.5) / 1.5
    assert risk_value(x, "cvar", 0.375)[1].item() == pytest.approx(4 / 3)
    assert risk_value(x, "cvar", 1.0).tolist() == pytest.approx([0.075, 2.5])
    assert risk_value(x, "mean_std", 1.0)[1].item() == pytest.approx(2.5 - np.sqrt(1.25))
    # entropic: between the worst case and the mean, tending to each at the extremes
    ent = risk_value(x, "entropic", 10.0)
    assert (ent > risk_value(x, "worst")).all() and (ent < risk_value(x, "mean")).all()
    assert risk_value(x, "entropic", 1e-6).tolist() == pytest.approx([0.075, 2.5], abs=1e-5)
    assert risk_value(x, "entropic", 1e4).tolist() == pytest.approx([-0.3, 1.0], abs=1e-3)
    assert risk_value(x.T, "worst", dim=0).tolist() == pytest.approx([-0.3, 1.0])


def test_cvar_and_max_drawdown_of_many_paths_equal_each_path_alone():
    from portfolio_rl.conventions.measures import cvar, max_drawdown

    paths = np.random.default_rng(0).normal(0.0, 0.02, (5, 300))
    assert cvar(paths) == pytest.approx([cvar(p) for p in paths], rel=1e-12)
    assert max_drawdown(paths) == pytest.approx([max_drawdown(p) for p in paths], rel=1e-12)
