"""Robust GRPO: scenario sets, bundles, risk-measure rewards, and what it learns."""

import numpy as np
import pandas as pd
import pytest
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData, historical_paths
from portfolio_rl.agents.registry import trainer
from portfolio_rl.agents.rollout import rollout
from portfolio_rl.agents.scenarios import bundle, robust_rewards, scenario_paths
from portfolio_rl.agents.setup import make_policy
from portfolio_rl.conventions.features import observation
from portfolio_rl.data.market_paths import gbm_returns, returns_to_prices

DATES = pd.bdate_range("2000-01-03", periods=900, name="Date")


def gbm_prices(n_assets=3, seed=0):
    rng = np.random.default_rng(seed)
    r = gbm_returns(np.full(n_assets, 0.05), np.eye(n_assets) * 0.04, len(DATES), rng)
    names = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(returns_to_prices(r), index=DATES, columns=names)


def config(**kw):
    base = dict(
        algo="robust_grpo",
        data_start="1990-01-01",
        train_end=str(DATES[700].date()),
        val_end=str(DATES[850].date()),
        iterations=3,
        batch_starts=3,
        group_size=4,
        steps=2,
        rebalance_days=5,
        scenarios=5,
        eval_every=2,
        patience=100,
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def prices():
    return gbm_prices()


def test_one_scenario_with_the_mean_is_plain_grpo_bit_for_bit(tmp_path, prices):
    kw = dict(iterations=4, scenarios=1, robust_measure="mean")
    trainer("robust_grpo")(config(**kw), prices, tmp_path / "robust")
    trainer("grpo")(config(**{**kw, "algo": "grpo"}), prices, tmp_path / "plain")
    robust = torch.load(tmp_path / "robust" / "last.pt", weights_only=True)["state"]["policy"]
    plain = torch.load(tmp_path / "plain" / "last.pt", weights_only=True)["state"]["policy"]
    assert all(torch.equal(robust[k], plain[k]) for k in plain)
    log = pd.read_csv(tmp_path / "robust" / "train_log.csv").iloc[1:]
    assert (log["robust_gap"] == 0).all() and (log["scenario_spread"] == 0).all()


@pytest.mark.parametrize("uncertainty", ["bootstrap", "drift_ellipsoid"])
def test_scenario_sets_keep_the_base_path_first_and_never_look_past_the_start(prices, uncertainty):
    cfg = config(uncertainty=uncertainty)
    data = MarketData.build(prices, cfg, torch.device("cpu"))
    starts = data.train_starts[[0, 50, -1]]
    base = historical_paths(data, starts, cfg.steps, cfg.rebalance_days)
    paths = scenario_paths(data, cfg, starts, base, np.random.default_rng(0))
    s, horizon = cfg.scenarios, cfg.steps * cfg.rebalance_days
    returns = paths.returns.view(len(starts), s, horizon, -1).double().numpy()
    assert torch.equal(paths.returns.view(len(starts), s, horizon, -1)[:, 0], base.returns)
    assert torch.equal(paths.features.view(len(starts), s, cfg.steps, 3, -1)[:, 0], base.features)
    # the first decision of every scenario sees the same history: the start state is shared
    first = paths.features.view(len(starts), s, cfg.steps, 3, -1)[:, :, 0]
    assert torch.equal(first, first[:, :1].expand_as(first))
    history = data.returns.double().numpy()
    for i, t in enumerate(starts):
        drawn = returns[i, 1:].reshape(-1, 3)
        if uncertainty == "bootstrap":  # every drawn row is a day on or before the start
            past = history[1 : t + 1].astype(np.float32).astype(np.float64)
            assert (np.abs(drawn[:, None] - past[None]).max(-1).min(1) == 0).all()
        else:  # a constant shift, on the ellipsoid's boundary, in antithetic pairs
            shift = returns[i, 1:] - returns[i, :1]
            delta = shift[:, 0]
            assert np.allclose(shift, delta[:, None], atol=1e-6)
            window = history[max(1, t + 1 - cfg.uncertainty_window) : t + 1]
            cov = np.cov(window, rowvar=False) / len(window)
            from scipy.stats import chi2

            radius = np.einsum("si,ij,sj->s", delta, np.linalg.inv(cov), delta)
            assert np.allclose(radius, chi2.ppf(0.95, 3), rtol=1e-3)
            assert np.allclose(delta[0], -delta[1], atol=1e-6)


def test_a_bundle_is_one_completion_of_s_times_k_steps_with_the_summed_log_prob(prices):
    cfg = config()
    data = MarketData.build(prices, cfg, torch.device("cpu"))
    starts = data.train_starts[[3, 9]]
    base = historical_paths(data, starts, cfg.steps, cfg.rebalance_days)
    paths = scenario_paths(data, cfg, starts, base, np.random.default_rng(1))
    policy = make_policy(cfg, torch.device("cpu"))
    torch.manual_seed(0)
    flat = rollout(policy, paths, cfg.group_size, cfg.rebalance_days, cfg.cost_bps)
    b = bundle(flat, cfg.scenarios)
    s, k, g = cfg.scenarios, cfg.steps, cfg.group_size
    assert b.logp.shape == (2, g, s * k)
    for start, member, scenario, step in [(0, 0, 0, 0), (1, 3, 4, 1), (1, 2, 2, 0)]:
        expected = flat.actions[start * s + scenario, member, step]
        assert torch.equal(b.actions[start, member, scenario * k + step], expected)
    # independent noise per scenario: the first actions differ across scenarios
    first = flat.actions.view(2, s, g, k, -1)[:, :, :, 0]
    assert not torch.allclose(first[:, 0], first[:, 1])
    # the bundle's log-probability is the sum over its scenarios and steps
    bundle_logp = b.logp.sum(-1)
    assert torch.allclose(bundle_logp[1, 2], flat.logp.view(2, s, g, k)[1, :, 2].sum())


def test_robust_rewards_take_the_measure_of_each_bundle():
    cfg = config(scenarios=4, robust_measure="worst")
    log_growth = torch.tensor([[0.1, 0.0], [0.2, 0.0], [-0.3, 0.0], [0.1, 0.0]])  # (B*S, G), B=1
    _, rewards, figures = robust_rewards({"log_growth": log_growth}, cfg, per_term=False)
    assert torch.equal(rewards, torch.tensor([[-0.3, 0.0]]))
    assert figures["robust_gap"] == pytest.approx((0.025 + 0.3) / 2)
    assert figures["scenario_spread"] == pytest.approx(np.std([0.1, 0.2, -0.3, 0.1]) / 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"scenarios": 0},
        {"robust_measure": "median"},
        {"robust_measure": "cvar", "robust_param": 1.5},
        {"robust_measure": "entropic", "robust_param": 0.0},
        {"uncertainty": "ball"},
        {"process_supervision": True},
        {"ellipsoid_confidence": 1.0},
    ],
)
def test_bad_robust_settings_are_refused(bad):
    with pytest.raises(ValueError):
        config(**bad)


# --- the one-step known answer ------------------------------------------------------------
# Two assets; every day is one of four equally likely scenarios: A returns +20%, +20%, +20%
# or -30% (mean +7.5%, mean log growth 4.8%), B returns +2% in all four (log growth 2.0%).
# One action, one day: plain GRPO should hold A; robust GRPO (worst case, or the CVaR of the
# worst quarter) should hold B.

FOUR = pd.bdate_range("2000-01-03", periods=700, name="Date")


def four_scenarios():
    a = np.tile([0.2, 0.2, 0.2, -0.3], len(FOUR) // 4 + 1)[: len(FOUR)]
    r = np.column_stack([a, np.full(len(FOUR), 0.02)])
    r[0] = 0.0
    return pd.DataFrame(np.cumprod(1 + r, axis=0), index=FOUR, columns=["A", "B"])


def weight_of_a(tmp_path, algo, **kw):
    cfg = TrainConfig(
        algo=algo,
        data_start="1990-01-01",
        train_end=str(FOUR[600].date()),
        val_end=str(FOUR[690].date()),
        iterations=60,
        batch_starts=16,
        group_size=8,
        steps=1,
        rebalance_days=1,
        path="bootstrap",
        block_length=1.0,
        scenarios=4,
        include_base_path=False,
        lr=1e-2,
        eval_every=100,
        patience=100,
        **kw,
    )
    prices = four_scenarios()
    trainer(algo)(cfg, prices, tmp_path / algo)
    policy = make_policy(cfg, torch.device("cpu"))
    policy.load_state_dict(
        torch.load(tmp_path / algo / "last.pt", weights_only=True)["state"]["policy"]
    )
    data = MarketData.build(prices, cfg, torch.device("cpu"))
    starts = data.train_starts
    obs = observation(data.features[starts], torch.full((len(starts), 2), 0.5))
    with torch.no_grad():
        return policy.mean_weights(policy(obs))[:, 0].mean().item()


def test_plain_grpo_takes_the_higher_mean_and_robust_grpo_the_safe_asset(tmp_path):
    assert weight_of_a(tmp_path / "plain", "grpo") > 0.8
    assert weight_of_a(tmp_path / "worst", "robust_grpo", robust_measure="worst") < 0.2
    assert weight_of_a(tmp_path / "cvar", "robust_grpo", robust_measure="cvar") < 0.2
    # the scenarios alone change nothing: the mean over the same four is plain GRPO's answer
    assert weight_of_a(tmp_path / "mean", "robust_grpo", robust_measure="mean") > 0.8


# --- a market with rare crashes -----------------------------------------------------------
# A drifts at 30%/yr with 13% volatility but falls 15% in a day about once a year (log growth
# about 16%/yr); B drifts at 7.5%/yr with 5% volatility. Plain GRPO should hold A; robust
# GRPO, scoring each bundle by its worst quarter of eight bootstrap scenarios, should hold
# less of it and lose less in the crashes out of sample.

CRASH_DATES = pd.bdate_range("1995-01-02", periods=5000, name="Date")


def crash_market(seed):
    rng = np.random.default_rng(seed)
    n = len(CRASH_DATES)
    a = 0.0012 + 0.008 * rng.standard_normal(n)
    a[rng.random(n) < 1 / 300] = -0.15
    b = 0.0003 + 0.003 * rng.standard_normal(n)
    r = np.column_stack([a, b])
    r[0] = 0.0
    return pd.DataFrame(returns_to_prices(r), index=CRASH_DATES, columns=["A", "B"])


@pytest.mark.slow
def test_robust_grpo_holds_less_of_the_crashing_asset_and_loses_less_out_of_sample(tmp_path):
    from portfolio_rl.agents.checkpoint import load_policy_strategy
    from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
    from portfolio_rl.conventions.measures import cvar, max_drawdown

    prices = crash_market(seed=0)
    common = dict(
        data_start="1990-01-01",
        train_end=str(CRASH_DATES[3200].date()),
        val_end=str(CRASH_DATES[3700].date()),
        iterations=100,
        batch_starts=16,
        group_size=8,
        steps=4,
        rebalance_days=10,
        eval_every=5,
        patience=100,
        lr=1e-2,
    )
    for algo in ("grpo", "robust_grpo"):
        trainer(algo)(TrainConfig(algo=algo, **common), prices, tmp_path / algo)
    bt = BacktestConfig(start=str(CRASH_DATES[3701].date()), rebalance_days=10, cost_bps=10)
    strategies = [load_policy_strategy(tmp_path / a) for a in ("grpo", "robust_grpo")]
    res = run_backtest(prices, strategies, bt)
    held = {a: res.weights[a]["A"].mean() for a in ("grpo", "robust_grpo")}
    r = {a: res.returns[a].to_numpy() for a in ("grpo", "robust_grpo")}
    figures = {
        "held": held,
        "cvar": {a: cvar(x) for a, x in r.items()},
        "mdd": {a: max_drawdown(x) for a, x in r.items()},
    }
    # robust GRPO left the 1/N start (selected on its own risk measure over validation
    # windows); seed 0: A held 0.99 vs 0.39, daily CVaR -1.6% vs -0.7%, drawdown -16% vs -6%
    assert held["grpo"] > 0.8 and held["robust_grpo"] < 0.45, figures
    assert figures["cvar"]["robust_grpo"] > figures["cvar"]["grpo"], figures  # losses < 0
    assert figures["mdd"]["robust_grpo"] > figures["mdd"]["grpo"], figures
