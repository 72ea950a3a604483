"""The reward registry: hand-computed values, numpy = torch, per-step forms add up."""

import math

import numpy as np
import pytest
import torch

from portfolio_rl.conventions.rewards import REWARDS, check_weights, outcome_rewards, step_rewards
from portfolio_rl.envs.simulator import simulate


@pytest.fixture
def sim():
    gen = torch.Generator().manual_seed(0)
    weights = torch.softmax(torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64), -1)
    returns = 0.01 * torch.randn(2, 4 * 5, 5, generator=gen, dtype=torch.float64)
    return simulate(weights, returns, cost_bps=10.0)


def as_numpy(sim):
    return type(sim)(*(t.numpy() for t in sim))


def test_hand_computed_values(sim):
    d = sim.daily_returns
    torch.testing.assert_close(REWARDS["log_growth"].outcome(sim), sim.step_log_returns.sum(-1))
    torch.testing.assert_close(
        REWARDS["sharpe"].outcome(sim), d.mean(-1) / (d.std(-1) + 1e-8) * math.sqrt(252)
    )
    w = torch.cat([torch.ones_like(sim.wealth[..., :1]), sim.wealth], -1)
    worst = (1 - w / torch.cummax(w, -1).values).amax(-1)
    torch.testing.assert_close(REWARDS["drawdown_penalty"].outcome(sim), -worst)
    torch.testing.assert_close(REWARDS["turnover_penalty"].outcome(sim), -sim.turnover.sum(-1))
    torch.testing.assert_close(REWARDS["variance_penalty"].outcome(sim), -0.5 * (d * d).sum(-1))


def test_differential_sharpe_follows_moody_and_saffell():
    step_log = np.log1p(np.array([0.02, -0.01, 0.03]))
    traj = type("T", (), {})()
    traj.step_log_returns, traj.daily_returns = step_log, np.zeros(3 * 21)
    a, b, eta, expected = 0.0, 0.04 / 252 * 21, 1 / 252, []
    for r in (0.02, -0.01, 0.03):
        da, db = r - a, r * r - b
        expected.append((b * da - 0.5 * a * db) / (b - a * a) ** 1.5)
        a, b = a + eta * da, b + eta * db
    got = REWARDS["differential_sharpe"].per_step(traj)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_numpy_and_torch_agree(sim, name):
    ours = REWARDS[name].outcome(sim).numpy()
    np.testing.assert_allclose(REWARDS[name].outcome(as_numpy(sim)), ours, rtol=1e-10)


@pytest.mark.parametrize(
    "name", ["log_growth", "turnover_penalty", "variance_penalty", "differential_sharpe"]
)
def test_per_step_forms_add_up_to_the_outcome(sim, name):
    torch.testing.assert_close(REWARDS[name].per_step(sim).sum(-1), REWARDS[name].outcome(sim))


def test_trajectory_rewards_are_credited_to_the_last_step(sim):
    weights = {"log_growth": 1.0, "sharpe": 0.5, "turnover_penalty": 0.1}
    steps = step_rewards(sim, weights)
    expected = sim.step_log_returns - 0.1 * sim.turnover
    expected[..., -1] += 0.5 * REWARDS["sharpe"].outcome(sim)
    torch.testing.assert_close(steps, expected)
    torch.testing.assert_close(steps.sum(-1), outcome_rewards(sim, weights))
    unfinished = step_rewards(sim, weights, final=False)
    torch.testing.assert_close(unfinished, sim.step_log_returns - 0.1 * sim.turnover)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "rewards must map"),
        ({"alpha": 1.0}, "unknown reward"),
        ({"log_growth": "much"}, "finite number"),
        ({"log_growth": float("nan")}, "finite number"),
        ({"log_growth": True}, "finite number"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        check_weights(weights)


def test_certainty_equivalent_and_cvar_by_hand(sim):
    d = sim.daily_returns
    ce = REWARDS["certainty_equivalent"].outcome
    gamma = 3.0
    expected = d.shape[-1] / (1 - gamma) * torch.log(torch.mean((1 + d) ** (1 - gamma), dim=-1))
    torch.testing.assert_close(ce(sim, risk_aversion=gamma), expected)
    torch.testing.assert_close(ce(sim, risk_aversion=1.0), torch.log1p(d).sum(-1))
    assert (ce(sim, risk_aversion=10.0) < ce(sim, risk_aversion=1.0)).all()  # risk costs
    worst = torch.sort(d, dim=-1).values[..., :1]  # 5% of 20 days: the worst one
    torch.testing.assert_close(
        REWARDS["cvar_penalty"].outcome(sim, cvar_alpha=0.05, cvar_lambda=2.0), 2.0 * worst[..., 0]
    )
    weights = {"log_growth": 1.0, "cvar_penalty": 1.0}
    total = outcome_rewards(sim, weights, {"cvar_alpha": 0.05, "cvar_lambda": 2.0})
    torch.testing.assert_close(total, sim.step_log_returns.sum(-1) + 2.0 * worst[..., 0])
