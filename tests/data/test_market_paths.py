import numpy as np

from portfolio_rl.conventions.market import simple_returns
from portfolio_rl.data.market_paths import (
    bootstrap_returns,
    gbm_returns,
    regime_returns,
    stationary_bootstrap_indices,
)
from portfolio_rl.data.sources import load_prices


def test_bootstrap_block_lengths_are_geometric_with_given_mean():
    rng = np.random.default_rng(0)
    idx = stationary_bootstrap_indices(10_000, 5000, mean_block=10.0, rng=rng, size=20)
    assert idx.shape == (20, 5000) and idx.min() >= 0 and idx.max() < 10_000
    continues = (np.diff(idx, axis=1) % 10_000) == 1
    mean_block = 1 / (1 - continues.mean())
    assert 9.0 < mean_block < 11.0


def test_bootstrap_keeps_cross_correlation():
    r = simple_returns(load_prices("sp500", start="2000-01-01").to_numpy())[1:]
    rng = np.random.default_rng(1)
    path = bootstrap_returns(r, 100_000, mean_block=20, rng=rng)
    hist, boot = np.corrcoef(r.T), np.corrcoef(path.T)
    assert np.abs(hist - boot).max() < 0.05
    assert hist[np.triu_indices(20, 1)].mean() > 0.2  # the test has something to keep


def test_gbm_moments():
    rng = np.random.default_rng(2)
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    r = gbm_returns(np.array([0.10, 0.0]), cov, 200_000, rng)
    x = np.log1p(r)
    np.testing.assert_allclose(np.cov(x.T) * 252, cov, rtol=0.03)
    growth = np.expm1(x.mean(axis=0) * 252)
    np.testing.assert_allclose(growth, np.expm1([0.10 - 0.02, -0.045]), atol=0.02)


def test_regimes_persist():
    rng = np.random.default_rng(3)
    _, regimes = regime_returns(np.array([[0.5, -0.5], [-0.5, 0.5]]), 0.1, 10_000, 0.01, rng)
    switches = (np.diff(regimes) != 0).mean()
    assert 0.005 < switches < 0.015
