import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from portfolio_rl.backtest import stats
from portfolio_rl.backtest.seeds import seed_summary


def test_jobson_korkie_memmel_by_hand():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0008, 0.01, 1000)
    b = 0.5 * a + rng.normal(0.0002, 0.008, 1000)
    sa, sb = a.mean() / a.std(ddof=1), b.mean() / b.std(ddof=1)
    rho = np.corrcoef(a, b)[0, 1]
    theta = 2 * (1 - rho) + 0.5 * (sa**2 + sb**2 - 2 * sa * sb * rho**2)
    z = (sa - sb) / np.sqrt(theta / 1000)
    diff, p = stats.sharpe_difference_test(a, b)
    assert diff == pytest.approx((sa - sb) * np.sqrt(252))
    assert p == pytest.approx(2 * st.norm.sf(abs(z)))
    assert stats.sharpe_difference_test(a, a)[1] == pytest.approx(1.0)


def test_sharpe_test_has_the_right_size():
    # under the null (same Sharpe) about 5% of p-values fall below 0.05
    rng = np.random.default_rng(1)
    pvals = [
        stats.sharpe_difference_test(rng.normal(5e-4, 0.01, 500), rng.normal(5e-4, 0.01, 500))[1]
        for _ in range(400)
    ]
    assert 0.02 < np.mean(np.array(pvals) < 0.05) < 0.09


def test_psr_and_dsr():
    rng = np.random.default_rng(2)
    r = rng.normal(0.001, 0.01, 2000)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = st.skew(r), st.kurtosis(r, fisher=False)
    expected = st.norm.cdf(sr * np.sqrt(1999) / np.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert stats.probabilistic_sharpe(r) == pytest.approx(expected)
    trials = rng.normal(0.03, 0.02, 20)
    assert stats.deflated_sharpe(r, trials) < stats.probabilistic_sharpe(r)


def test_bootstrap_ci_covers_point_estimates():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(4e-4, 0.01, size=(1000, 2)), columns=["x", "y"])
    ci = stats.bootstrap_ci(frame, n_boot=500)
    for c in frame:
        r = frame[c].to_numpy()
        sr = r.mean() / r.std(ddof=1) * np.sqrt(252)
        assert ci.loc[c, "sharpe_lo"] < sr < ci.loc[c, "sharpe_hi"]
        assert ci.loc[c, "sharpe_hi"] - ci.loc[c, "sharpe_lo"] > 0.5  # 4 years: wide
    again = stats.bootstrap_ci(frame, n_boot=500)
    pd.testing.assert_frame_equal(ci, again)


def test_seed_summary_by_hand():
    from scipy import stats as sps

    metrics = pd.DataFrame(
        {
            "sharpe": [1.0, 0.8, 0.9, 0.5],
            "cagr": [0.1, 0.08, 0.09, 0.05],
            "max_drawdown": [-0.2, -0.3, -0.25, -0.1],
        },
        index=["grpo_s0", "grpo_s1", "grpo_s2", "ppo_s0"],
    )
    names = {
        "grpo_s0": ("grpo", 0),
        "grpo_s1": ("grpo", 1),
        "grpo_s2": ("grpo", 2),
        "ppo_s0": ("ppo", 0),
    }
    out = seed_summary(metrics, names, {"grpo_s0": 2.0}).set_index("strategy")
    row = out.loc["grpo (mean)"]
    sd = np.std([1.0, 0.8, 0.9], ddof=1)
    half = sps.t.ppf(0.975, 2) * sd / np.sqrt(3)
    assert row["sharpe"] == pytest.approx(0.9)
    assert row["sharpe_std"] == pytest.approx(sd)
    assert (row["sharpe_lo"], row["sharpe_hi"]) == pytest.approx((0.9 - half, 0.9 + half))
    assert np.isnan(out.loc["ppo (mean)", "sharpe_lo"])  # one seed: no interval
    assert out.loc["grpo_s0", "train_wall_s"] == 2.0


def test_long_run_covariance_by_hand():
    y = np.array([[1.0, 0.5], [-2.0, 1.0], [0.5, -1.0], [0.5, -0.5]])
    y = y - y.mean(axis=0)
    # Bartlett, bandwidth 2: weights 1 - j/2 -> lag 1 weight 0.5, lag 2 weight 0
    g0 = sum(np.outer(r, r) for r in y) / 4
    g1 = sum(np.outer(y[t], y[t - 1]) for t in range(1, 4)) / 4
    expected = g0 + 0.5 * (g1 + g1.T)
    np.testing.assert_allclose(stats.long_run_covariance(y, "bartlett", 2.0), expected)


def test_hac_sharpe_test_matches_jkm_on_iid_data_and_widens_with_autocorrelation():
    rng = np.random.default_rng(0)
    common = rng.normal(0, 0.01, 3000)
    a = common + rng.normal(0.0004, 0.004, 3000)
    b = common + rng.normal(0.0001, 0.004, 3000)
    d_jkm, p_jkm = stats.sharpe_difference_test(a, b)
    d_hac, p_hac = stats.hac_sharpe_test(a, b)
    assert d_hac == pytest.approx(d_jkm, rel=1e-3)
    assert p_hac == pytest.approx(p_jkm, rel=0.2)
    noise = np.zeros(3000)
    shocks = rng.normal(0, 0.004, 3000)
    for t in range(1, 3000):  # an AR(1) difference: i.i.d. tests are overconfident
        noise[t] = 0.5 * noise[t - 1] + shocks[t]
    _, p_jkm = stats.sharpe_difference_test(common + noise + 3e-4, common)
    _, p_hac = stats.hac_sharpe_test(common + noise + 3e-4, common)
    assert p_hac > 10 * p_jkm
    assert stats.hac_sharpe_test(a, a)[1] == 1.0


def test_hac_covariance_agrees_with_statsmodels():
    sandwich = pytest.importorskip("statsmodels.stats.sandwich_covariance")
    y = np.random.default_rng(3).normal(size=(500, 4))
    y = y - y.mean(axis=0)
    ours = stats.long_run_covariance(y, "bartlett", bandwidth=6.0)  # lags 1..5
    reference = sandwich.S_hac_simple(y, nlags=5) / len(y)  # statsmodels does not divide by T
    np.testing.assert_allclose(ours, reference, rtol=1e-10)


def test_tail_intervals_cover_the_point_estimates_and_order_the_risks():
    from portfolio_rl.backtest.stats import tail_intervals
    from portfolio_rl.conventions.measures import cvar, max_drawdown

    rng = np.random.default_rng(3)
    r = pd.DataFrame({"calm": rng.normal(3e-4, 0.005, 2000), "wild": rng.normal(3e-4, 0.02, 2000)})
    out = tail_intervals(r, n_boot=300)
    for name in r:
        assert out.loc[name, "cvar_lo"] <= cvar(r[name].to_numpy()) <= out.loc[name, "cvar_hi"]
        assert out.loc[name, "mdd_lo"] <= max_drawdown(r[name].to_numpy()) <= 0
    assert out.loc["wild", "cvar_hi"] < out.loc["calm", "cvar_lo"]  # four times the volatility
