import subprocess
import sys

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from portfolio_rl.conventions.features import OBS_FEATURES
from portfolio_rl.conventions.market import simple_returns
from portfolio_rl.conventions.rewards import REWARDS, step_rewards
from portfolio_rl.envs.portfolio_env import PortfolioEnv
from portfolio_rl.envs.simulator import simulate


@pytest.fixture(scope="module")
def sp500_env():
    return PortfolioEnv(start="2000-01-01", rebalance_days=21, episode_days=252)


def test_make_with_no_arguments_after_importing_the_package():
    code = (
        "import gymnasium as gym, portfolio_rl.envs\n"
        "from gymnasium.utils.env_checker import check_env\n"
        "env = gym.make('portfolio_rl/Portfolio-v0')\n"
        "check_env(env.unwrapped, skip_render_check=True)\n"
        "obs, info = env.reset(seed=0)\n"
        "print(obs.shape, obs.dtype, type(info['date']).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == f"(20, {OBS_FEATURES}) float32 Timestamp", out.stderr
    # gymnasium's module prefix still works too
    env = gym.make("portfolio_rl.envs.portfolio_env:portfolio_rl/Portfolio-v0")
    assert env.reset(seed=0)[0].shape == (20, OBS_FEATURES)


@pytest.mark.parametrize("path", ["historical", "bootstrap"])
def test_check_env(path):
    env = PortfolioEnv(start="2005-01-01", end="2010-12-31", path=path)
    check_env(env, skip_render_check=True)


@pytest.mark.parametrize("reward", sorted(REWARDS))
def test_rewards_finite_and_episode_truncates(reward):
    env = PortfolioEnv(start="2005-01-01", end="2010-12-31", rewards={reward: 1}, episode_days=63)
    env.reset(seed=1)
    steps, truncated = 0, False
    while not truncated:
        _, r, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(r) and not terminated
        steps += 1
    assert steps == 3


def test_start_date_option(sp500_env):
    _, info = sp500_env.reset(options={"start_date": "2010-06-05"})
    assert info["date"] == pd.Timestamp("2010-06-07")  # next trading day
    with pytest.raises(ValueError, match="start_date must lie"):
        sp500_env.reset(options={"start_date": "1990-01-01"})


def test_same_seed_same_episode():
    env = PortfolioEnv(start="2005-01-01", path="bootstrap")
    a = [env.reset(seed=7)[0]] + [env.step(np.ones(20))[0] for _ in range(3)]
    b = [env.reset(seed=7)[0]] + [env.step(np.ones(20))[0] for _ in range(3)]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


def test_zero_cost_holding_drifted_weights_is_buy_and_hold(toy_prices):
    env = PortfolioEnv(
        toy_prices, cost_bps=0, rebalance_days=5, episode_days=100, action_transform="simplex"
    )
    w0 = np.array([0.2, 0.3, 0.5])
    _, info = env.reset(options={"start_date": toy_prices.index[260]})
    t0 = toy_prices.index.get_loc(info["date"])
    _, _, _, _, info = env.step(w0)
    for _ in range(19):
        _, _, _, _, info = env.step(info["weights"])
    t1 = toy_prices.index.get_loc(info["date"])
    p = toy_prices.to_numpy()
    assert info["wealth"] == pytest.approx((w0 * p[t1] / p[t0]).sum(), rel=1e-12)


def test_env_and_simulator_give_the_same_wealth_path(toy_prices):
    h, k = 5, 20
    env = PortfolioEnv(
        toy_prices,
        cost_bps=25,
        impact_bps=30,
        rebalance_days=h,
        episode_days=h * k,
        action_transform="simplex",
    )
    rng = np.random.default_rng(0)
    targets = rng.dirichlet(np.ones(3), size=k)
    _, info = env.reset(options={"start_date": toy_prices.index[270]})
    t0 = toy_prices.index.get_loc(info["date"])
    env_wealth = []
    for w in targets:
        _, _, _, _, info = env.step(w)
        env_wealth.append(info["wealth"])
    r = simple_returns(toy_prices.to_numpy())[t0 + 1 : t0 + 1 + h * k]
    res = simulate(torch.tensor(targets)[None, None], torch.tensor(r)[None], 25, impact_bps=30)
    sim_wealth = np.exp(np.cumsum(res.step_log_returns[0, 0].numpy()))
    np.testing.assert_allclose(env_wealth, sim_wealth, rtol=0, atol=1e-10)


def test_observations_before_d_do_not_see_later_prices():
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2000-01-01", end="2008-12-31")
    d = pd.Timestamp("2004-06-30")
    changed = prices.copy()
    later = changed.index > d
    changed.loc[later] *= np.random.default_rng(0).uniform(0.5, 2, size=(later.sum(), 20))
    actions = np.random.default_rng(1).normal(size=(40, 20))
    runs = []
    for frame in (prices, changed):
        env = PortfolioEnv(frame, rebalance_days=10, episode_days=400)
        obs, info = env.reset(options={"start_date": "2003-06-02"})
        seen = [(info["date"], obs)]
        for a in actions:
            obs, _, _, _, info = env.step(a)
            seen.append((info["date"], obs))
        runs.append(seen)
    checked = 0
    for (date_a, obs_a), (date_b, obs_b) in zip(*runs, strict=True):
        assert date_a == date_b
        if date_a <= d:
            assert np.array_equal(obs_a, obs_b)
            checked += 1
    assert 10 < checked < 41
    assert not np.array_equal(runs[0][-1][1], runs[1][-1][1])  # the change was visible later


def test_cash_asset_earns_its_rate_and_trades_in_it_are_free():
    env = PortfolioEnv(
        start="2005-01-01", end="2010-12-31", cash_rate=0.05, action_transform="simplex"
    )
    check_env(env, skip_render_check=True)
    assert env.assets[-1] == "cash" and len(env.assets) == 21
    obs, info = env.reset(seed=0)
    assert obs.shape == (20, OBS_FEATURES)  # the risky assets; cash is what they leave
    assert info["weights"][-1] == 1.0 and (obs[:, -1] == 0.0).all()  # starts fully in cash
    all_cash = np.eye(21)[-1]
    for _ in range(3):
        _, reward, _, _, info = env.step(all_cash)
        assert info["cost"] == 0.0 and info["turnover"] == 0.0
        assert reward == pytest.approx(21 / 252 * np.log(1.05), rel=1e-9)
    assert info["wealth"] == pytest.approx(1.05 ** (3 * 21 / 252), rel=1e-12)
    _, _, _, _, info = env.step(np.full(21, 1 / 21))  # out of cash: only the risky leg costs
    assert info["turnover"] == pytest.approx(20 / 21)
    assert info["cost"] == pytest.approx(10 / 1e4 * 20 / 21)


def test_cash_earns_a_daily_risk_free_series():
    from portfolio_rl.data.rates import risk_free
    from portfolio_rl.data.sources import DataConfig, load_prices

    prices = load_prices("industries49", start="1990-01-01", end="1994-12-31")
    rf = risk_free(DataConfig(prices="industries49"), prices.index)
    env = PortfolioEnv(prices, cash_rate=rf, action_transform="simplex", episode_days=63)
    env.reset(options={"start_date": "1992-03-02"})
    t0 = env._t0
    all_cash = np.eye(50)[-1]
    wealth = [env.step(all_cash)[4]["wealth"] for _ in range(3)]
    expected = np.cumprod(1 + rf.to_numpy()[t0 + 1 : t0 + 64])[[20, 41, 62]]
    np.testing.assert_allclose(wealth, expected, rtol=1e-13)


@pytest.mark.parametrize(
    "rewards",
    [
        {"log_growth": 1.0},
        {"log_growth": 1.0, "variance_penalty": 3.0, "turnover_penalty": 0.01},
        {"differential_sharpe": 1.0},
        {"sharpe": 1.0, "drawdown_penalty": 2.0},
    ],
)
def test_env_rewards_are_the_training_rewards(rewards):
    """The env pays, step by step, what training's step rewards give for the same weights.

    A step's reward is paid when the step ends, before the next rebalance is known, so a
    per-step reward that reads the step's daily returns sees its last day without the next
    trade's cost; all else is the same number.
    """
    import torch

    env = PortfolioEnv(start="2005-01-01", end="2010-12-31", episode_days=126, rewards=rewards)
    env.reset(options={"start_date": "2007-03-01"})
    rng = np.random.default_rng(3)
    actions = rng.normal(size=(6, len(env.assets)))
    paid = []
    for action in actions:
        paid.append(env.step(action)[1])
    t0 = env._t0
    weights = np.stack([env.to_weights(a) for a in actions])
    returns = env._ret[t0 + 1 : t0 + 1 + 126]
    sim = simulate(
        torch.tensor(weights[None, None]), torch.tensor(returns[None]), cost_bps=env.cost_bps
    )
    expected = step_rewards(sim, rewards).numpy()[0, 0]
    tol = 2e-4 if "variance_penalty" in rewards else 1e-10  # next cost: about turnover x 10 bps
    np.testing.assert_allclose(paid, expected, rtol=0, atol=tol)
