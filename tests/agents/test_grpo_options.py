"""GRPO's options each change training the way they say, on small runs."""

import numpy as np
import pandas as pd
import pytest
import torch

from portfolio_rl.agents.checkpoint import load_policy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.losses import process_advantages
from portfolio_rl.agents.registry import trainer
from portfolio_rl.data.market_paths import gbm_returns, returns_to_prices

DATES = pd.bdate_range("2000-01-03", periods=1500, name="Date")


def market(n_assets, seed=0):
    rng = np.random.default_rng(seed)
    r = gbm_returns(np.full(n_assets, 0.05), np.eye(n_assets) * 0.04, len(DATES), rng)
    names = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(returns_to_prices(r), index=DATES, columns=names)


def small(**kw):
    base = dict(
        data_start="1990-01-01",
        train_end=str(DATES[1100].date()),
        val_end=str(DATES[1400].date()),
        iterations=4,
        batch_starts=4,
        group_size=4,
        steps=3,
        eval_every=2,
        patience=100,
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def prices():
    return market(4)


def run(tmp_path, prices, name, **kw):
    result = trainer("grpo")(small(**kw), prices, tmp_path / name)
    assert result.log["iteration"].iloc[0] == -1  # the initial policy is scored first
    return result.log.iloc[1:]


@pytest.mark.parametrize(
    "option",
    [
        {"process_supervision": True},
        {"kl_estimator": "exact"},
        {"scale_rewards": "none"},
        {"scale_rewards": "batch"},
        {"loss_aggregation": "step", "rewards": {"log_growth": 1.0, "sharpe": 0.1}},
        {"distribution": "dirichlet"},
        {"importance_sampling_level": "sequence", "mu": 3},
        {"rewards": {"log_growth": 1.0, "cvar_penalty": 1.0}, "reward_params": {"cvar_lambda": 5}},
        {"rewards": {"certainty_equivalent": 1.0}, "reward_params": {"risk_aversion": 3.0}},
    ],
)
def test_each_option_trains_and_changes_the_run(tmp_path, prices, option):
    base = run(tmp_path, prices, "base")
    other = run(tmp_path, prices, "other", **option)
    numeric = other.drop(columns=["iteration"]).select_dtypes("number")
    assert np.isfinite(numeric.drop(columns=["val_score"]).to_numpy()).all()
    assert not base["loss"].equals(other["loss"]) or not base["kl"].equals(other["kl"])


def test_exact_kl_is_the_logged_kl(tmp_path, prices):
    log = run(tmp_path, prices, "exact", kl_estimator="exact", beta=0.5, lr=3e-2)
    assert (log["kl"] >= 0).all() and log["kl"].iloc[-1] > 0


def test_process_supervision_sums_normalised_step_rewards_from_t_on():
    rewards = torch.tensor([[[0.01, 0.02, -0.01], [0.00, 0.01, 0.03], [0.02, 0.0, 0.0]]])
    adv = process_advantages(rewards)
    z = (rewards - rewards.mean(dim=1, keepdim=True)) / rewards.std(dim=1, keepdim=True)
    torch.testing.assert_close(adv[..., 0], z.sum(-1))
    torch.testing.assert_close(adv[..., 2], z[..., 2])


def test_process_supervision_ignores_the_market_move_common_to_the_group():
    gen = torch.Generator().manual_seed(0)
    own = 0.01 * torch.randn(4, 8, 6, generator=gen)
    market = 0.05 * torch.randn(4, 1, 6, generator=gen)  # the same for every member
    torch.testing.assert_close(process_advantages(own + market), process_advantages(own))


def test_dynamic_sampling_skips_groups_without_spread(tmp_path):
    one_asset = market(1)  # every allocation is 100% in it: no reward spread at all
    log = run(tmp_path, one_asset, "ds", dynamic_sampling=True, iterations=3, eval_every=1)
    assert (log["frac_reward_zero_std"] == 1.0).all()
    assert (log["loss"] == 0.0).all() and (log["grad_norm"] == 0.0).all()
    policy, _ = load_policy(tmp_path / "ds")
    fresh = trainer("grpo")(small(iterations=1, eval_every=1, lr=0.0), one_asset, tmp_path / "f")
    assert fresh.best_iteration == -1  # lr = 0: the initial policy is never beaten
    for k, v in load_policy(tmp_path / "f")[0].state_dict().items():
        assert torch.equal(v, policy.state_dict()[k]), k


def test_normalize_then_sum_gives_each_reward_its_own_scale():
    from portfolio_rl.agents.grpo import normalize_then_sum
    from portfolio_rl.agents.losses import group_advantages

    large = torch.tensor([[100.0, 300.0, 200.0]])  # a reward in large units
    tiny = torch.tensor([[0.03, 0.01, 0.02]])  # and one in small units, ranking the other way
    summed = group_advantages(large + tiny)
    normalised = group_advantages(large) + group_advantages(tiny)
    assert summed.argmax().item() == 1  # the large-scale reward wins outright
    torch.testing.assert_close(normalised, torch.zeros(1, 3), atol=1e-6, rtol=0)  # they cancel
    assert normalize_then_sum(small(rewards={"log_growth": 1, "sharpe": 1}), 2)
    assert not normalize_then_sum(small(), 1)
    assert not normalize_then_sum(small(reward_aggregation="sum_then_normalize"), 2)
