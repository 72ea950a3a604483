import numpy as np
import pytest

from portfolio_rl.conventions.features import (
    FEATURE_NAMES,
    LOOKBACK,
    N_FEATURES,
    asset_features,
    observation,
)
from portfolio_rl.data.sources import load_prices


def test_shapes_and_warmup(toy_prices):
    feats = asset_features(toy_prices.to_numpy())
    assert feats.shape == (400, 3, N_FEATURES) == (400, 3, len(FEATURE_NAMES))
    assert np.isnan(feats[:LOOKBACK]).all()
    assert np.isfinite(feats[LOOKBACK:]).all()


def test_values_match_definitions(toy_prices):
    p = toy_prices.to_numpy()
    feats = asset_features(p)
    t, i = 300, 1
    logp = np.log(p[:, i])
    assert feats[t, i, 1] == pytest.approx((logp[t] - logp[t - 21]) / (0.25 * np.sqrt(21 / 252)))
    r = np.diff(logp)[t - 21 : t]  # the 21 returns of days t-20..t
    vol = np.std(r, ddof=1) * np.sqrt(252)
    assert feats[t, i, 4] == pytest.approx(np.log(vol / 0.25))
    dd = (logp[t] - logp[t - 251 : t + 1].max()) / 0.25
    assert feats[t, i, 6] == pytest.approx(dd)


def test_window_and_full_history_are_bit_identical():
    p = load_prices("sp500", start="2005-01-01").to_numpy()
    full = asset_features(p)
    t = 1000
    window = asset_features(p[t - LOOKBACK : t + 1])
    assert np.array_equal(full[t], window[-1])


def test_future_prices_do_not_change_features():
    p = load_prices("sp500", start="2005-01-01").to_numpy()
    d = 1500
    changed = p.copy()
    changed[d + 1 :] *= np.random.default_rng(1).uniform(0.5, 2.0, size=changed[d + 1 :].shape)
    before, after = asset_features(p)[: d + 1], asset_features(changed)[: d + 1]
    assert np.array_equal(before, after, equal_nan=True)


def test_batched_paths_equal_single(toy_prices):
    p = toy_prices.to_numpy()
    batch = np.stack([p, p * 1.5])
    out = asset_features(batch)
    np.testing.assert_array_equal(out[0], asset_features(p))
    np.testing.assert_allclose(out[1][LOOKBACK:], out[0][LOOKBACK:], atol=1e-12)


def test_observation_appends_scaled_weights():
    feats = np.zeros((4, N_FEATURES))
    obs = observation(feats, np.full(4, 0.25))
    assert obs.dtype == np.float32 and obs.shape == (4, N_FEATURES + 1)
    assert (obs[:, -1] == 1.0).all()


def test_covariance_features_match_numpy():
    from portfolio_rl.data import load_prices

    p = load_prices("industries49", start="1990-01-01", end="1992-06-30").to_numpy()[:, :12]
    feats = asset_features(p)
    names = list(FEATURE_NAMES)
    t = 400
    r = np.diff(np.log(p[t - 252 : t + 1]), axis=0)
    m = np.log((p[t - 251 : t + 1] / p[t - 252 : t]).mean(axis=1))
    beta = np.array([np.cov(r[:, i], m)[0, 1] for i in range(12)]) / m.var(ddof=1)
    idio = np.sqrt((r.var(axis=0, ddof=1) - beta**2 * m.var(ddof=1)) * 252)
    avg_corr = (np.corrcoef(r.T).sum(axis=1) - 1) / 11
    np.testing.assert_allclose(feats[t, :, names.index("beta_252")], beta - 1, atol=1e-12)
    np.testing.assert_allclose(
        feats[t, :, names.index("idio_vol_252")], np.log(idio / 0.25), atol=1e-12
    )
    np.testing.assert_allclose(feats[t, :, names.index("avg_corr_252")], avg_corr, atol=1e-12)
    assert np.isnan(feats[251, :, names.index("beta_252")]).all()


def test_chunks_of_days_rows_and_windows_agree_bit_for_bit():
    # 300 assets: the days are computed in chunks of 54, so chunk edges fall inside the range
    rng = np.random.default_rng(3)
    p = np.exp(np.cumsum(rng.normal(0, 0.01, (400, 300)), axis=0))
    full = asset_features(p)
    rows = np.array([399, 260, 10, 252, 331])
    np.testing.assert_array_equal(asset_features(p, rows=rows), full[rows])
    for every in (slice(260, 400, 7), slice(0, 400, 21), slice(399, 250, -3)):
        np.testing.assert_array_equal(asset_features(p, rows=every), full[every])
    for t in (252, 305, 306, 399):
        assert np.array_equal(asset_features(p[t - LOOKBACK : t + 1])[-1], full[t])


@pytest.mark.parametrize("stack", [1, 700, 2**18])
def test_windows_in_blocks_of_rows_are_the_loop_over_rows(monkeypatch, stack):
    # a window's rows come in stacked blocks (_STACK numbers); any block size, for a slice of
    # days (views) or a list of days (gathers), gives the features of the plain loop
    from portfolio_rl.conventions import features

    rng = np.random.default_rng(5)
    p = np.exp(np.cumsum(rng.normal(0, 0.01, (2, 300, 6)), axis=-2))
    slices, rows = slice(252, 300, 5), np.array([299, 252, 260])
    before = asset_features(p, rows=slices), asset_features(p, rows=rows)
    monkeypatch.setattr(features, "_STACK", stack)
    assert asset_features(p, rows=slices).tobytes() == before[0].tobytes()
    assert asset_features(p, rows=rows).tobytes() == before[1].tobytes()

    def loop_sum(x, width, ends):  # the definition: one row after another, oldest first
        total = np.zeros_like(features._at(x, ends))
        for j in range(width):
            total += features._at(x, ends, j + 1 - width)
        return total

    logr = np.diff(np.log(p), axis=-2)
    for ends in (slice(251, 299, 5), rows - 1):
        expected = loop_sum(logr, 252, ends)
        assert features._window_sum(logr, 252, ends).tobytes() == expected.tobytes()


def test_paths_in_groups_equal_each_path_alone(monkeypatch):
    # a (2, 3) batch of 300-asset paths in groups of two paths: groups end inside a row
    from portfolio_rl.conventions import features

    rng = np.random.default_rng(4)
    p = np.exp(np.cumsum(rng.normal(0, 0.01, (2, 3, 280, 300)), axis=-2))
    monkeypatch.setattr(features, "_SERIES", 2 * 280 * 300)
    rows = slice(252, 280, 9)
    out = asset_features(p, rows=rows)
    assert out.shape == (2, 3, 4, 300, N_FEATURES)
    for i, j in np.ndindex(2, 3):
        assert out[i, j].tobytes() == asset_features(p[i, j], rows=rows).tobytes()


def test_sums_over_assets_add_in_order():
    from portfolio_rl.conventions.features import _across_assets

    x = np.random.default_rng(0).normal(size=(7, 5, 40)) * 10.0 ** np.arange(-20, 20)
    x[0, 0] = -0.0
    expected = np.zeros((7, 5))
    for i in range(40):
        expected += x[..., i]
    assert _across_assets(x).tobytes() == expected.tobytes()
