"""Hand-computed values for the pieces of the GRPO objective."""

import math

import pytest
import torch

from portfolio_rl.agents.losses import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    k3_kl,
)
from portfolio_rl.agents.policy import SimplexPolicy
from portfolio_rl.agents.ppo import gae


def test_group_advantages_by_hand_with_a_zero_spread_group():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    adv = group_advantages(rewards, "group", std_floor=1e-4)
    # group 0: mean 2, sample std 1 -> (-1, 0, 1); group 1: no spread -> zeros, no NaN
    torch.testing.assert_close(adv, torch.tensor([[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))
    none = group_advantages(rewards, "none")
    torch.testing.assert_close(none, torch.tensor([[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))
    batch = group_advantages(rewards, "batch")
    torch.testing.assert_close(batch[0], torch.tensor([-1.0, 0.0, 1.0]) / rewards.std())


def test_std_floor_stops_blow_up():
    rewards = torch.tensor([[1.0, 1.0 + 1e-9]])
    adv = group_advantages(rewards, "group", std_floor=1e-3)
    assert adv.abs().max() < 1e-5


def test_clipped_surrogate_on_tiny_tensors():
    logp_old = torch.zeros(4)
    ratio = torch.tensor([0.5, 1.1, 1.5, 0.9])
    adv = torch.tensor([-1.0, 2.0, 2.0, 1.0])
    surr, low, high = clipped_surrogate(ratio.log(), logp_old, adv, 0.2, 0.28)
    # min(r A, clip(r) A): 0.5*-1 vs 0.8*-1 -> -0.8 ; 1.1*2 ; 1.5*2 vs 1.28*2 -> 2.56 ; 0.9*1
    torch.testing.assert_close(surr, torch.tensor([-0.8, 2.2, 2.56, 0.9]))
    assert low.tolist() == [True, False, False, False]
    assert high.tolist() == [False, False, True, False]


def test_k3_is_nonnegative_and_zero_at_the_reference():
    logp = torch.randn(1000)
    assert torch.all(k3_kl(logp, logp) == 0)
    assert torch.all(k3_kl(logp, logp + torch.randn(1000)) >= 0)
    # r - log r - 1 at r = e: e - 2
    assert k3_kl(torch.tensor(0.0), torch.tensor(1.0)).item() == pytest.approx(math.e - 2)


def test_k3_estimates_the_exact_kl():
    torch.manual_seed(0)
    policy = SimplexPolicy(8, hidden=8)
    obs = torch.randn(4, 5, 8)
    out = policy(obs)
    ref = type(out)(out.scores + 0.1 * torch.randn_like(out.scores), out.log_std + 0.05)
    action = policy.sample(type(out)(out.scores.expand(20000, 4, 5), out.log_std))
    k3 = k3_kl(policy.log_prob(out, action), policy.log_prob(ref, action)).mean(0)
    torch.testing.assert_close(k3, policy.kl(out, ref), rtol=0.1, atol=2e-3)


def test_aggregation_modes_by_hand():
    per_step = torch.tensor([[1.0, 3.0, 2.0], [5.0, 7.0, 9.0]])
    assert aggregate(per_step, "trajectory").item() == pytest.approx((2.0 + 7.0) / 2)
    assert aggregate(per_step, "step").item() == pytest.approx(27.0 / 6)
    # the first trajectory was truncated after one step: per trajectory (1 + 7) / 2,
    # per step (1 + 5 + 7 + 9) / 4, which weighs the long trajectory more
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert aggregate(per_step, "trajectory", mask).item() == pytest.approx(4.0)
    assert aggregate(per_step, "step", mask).item() == pytest.approx(22.0 / 4)


def test_gae_by_hand():
    rewards = torch.tensor([1.0, 0.0, 2.0])
    values = torch.tensor([0.5, 0.5, 0.5])
    g, lam = 0.9, 0.8
    d = torch.tensor([1 + g * 0.5 - 0.5, 0 + g * 0.5 - 0.5, 2 - 0.5])
    expected = torch.tensor(
        [d[0] + g * lam * d[1] + (g * lam) ** 2 * d[2], d[1] + g * lam * d[2], d[2]]
    )
    torch.testing.assert_close(gae(rewards, values, g, lam), expected)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [("constant", [1.0, 1.0, 1.0]), ("linear", [1.0, 0.75, 0.5]), ("cosine", [1.0, 0.8536, 0.5])],
)
def test_lr_schedules_by_hand(schedule, expected):
    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.optim import lr_at

    cfg = TrainConfig(lr=1.0, lr_schedule=schedule, iterations=4)
    got = [lr_at(cfg, i) for i in range(3)]
    assert got == pytest.approx(expected, abs=1e-4)
