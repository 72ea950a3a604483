"""Seeds trained together: bit for bit a seed alone on CPU, equal to ~1e-6 when vmapped."""

import pandas as pd
import pytest
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.grpo import train_grpo as train
from portfolio_rl.agents.seeds import StackedPolicy, train_seeds
from portfolio_rl.conventions.market import add_cash_prices
from portfolio_rl.data.market_paths import returns_to_prices, volatility_regime_returns

DATES = pd.bdate_range("2000-01-03", periods=1200, name="Date")


@pytest.fixture(scope="module")
def prices():
    import numpy as np

    r, _ = volatility_regime_returns(len(DATES), 4, np.random.default_rng(2))
    frame = pd.DataFrame(returns_to_prices(r), index=DATES, columns=list("ABCD"))
    return add_cash_prices(frame, 0.02)


def config(seed, **kw):
    base = dict(
        seed=seed,
        data_start="1990-01-01",
        train_end=str(DATES[900].date()),
        val_end=str(DATES[1150].date()),
        iterations=6,
        batch_starts=4,
        group_size=4,
        steps=3,
        rebalance_days=10,
        eval_every=2,
        patience=100,
        cash=True,  # the exposure head too
        lr=1e-2,
    )
    return TrainConfig(**{**base, **kw})


def train_both(tmp_path, prices, seeds=(0, 1, 2), **kw):
    together = train_seeds(
        [config(s, **kw) for s in seeds], prices, [tmp_path / f"together-{s}" for s in seeds]
    )
    alone = [train(config(s, **kw), prices, tmp_path / f"alone-{s}") for s in seeds]
    return together, alone


@pytest.mark.parametrize(
    "kw",
    [{}, {"distribution": "dirichlet", "cash": False, "max_grad_norm": 0.01, "mu": 3}],
    ids=["default", "dirichlet-clipped"],
)
def test_seeds_together_on_cpu_are_each_seed_alone_bit_for_bit(tmp_path, prices, kw):
    together, alone = train_both(tmp_path, prices, **kw)
    for s, (a, b) in enumerate(zip(alone, together, strict=True)):
        assert b.best_iteration == a.best_iteration
        pd.testing.assert_frame_equal(b.log, a.log)
        same = tmp_path / f"alone-{s}" / "policy.pt", tmp_path / f"together-{s}" / "policy.pt"
        assert same[0].read_bytes() == same[1].read_bytes()
    # and the seeds differ from each other: each has its own stream
    assert together[0].log["reward_mean"].iloc[1] != together[1].log["reward_mean"].iloc[1]


def test_seeds_together_match_alone_when_a_rollout_step_takes_several_passes(
    tmp_path, prices, monkeypatch
):
    from portfolio_rl.agents import rollout

    monkeypatch.setattr(rollout, "ROLLOUT_ROWS", 100)  # a run alone passes a few starts at once
    together, alone = train_both(tmp_path, prices, seeds=(0, 1))
    for a, b in zip(alone, together, strict=True):
        pd.testing.assert_frame_equal(b.log, a.log)


def test_seeds_together_vmapped_as_on_a_gpu_match_each_seed_alone(tmp_path, prices, monkeypatch):
    monkeypatch.setattr(StackedPolicy, "vmapped_devices", ("cpu",))  # the GPU's way, on CPU
    together, alone = train_both(tmp_path, prices)
    for s, (a, b) in enumerate(zip(alone, together, strict=True)):
        pa = torch.load(tmp_path / f"alone-{s}" / "policy.pt", weights_only=True)["state"]
        pb = torch.load(tmp_path / f"together-{s}" / "policy.pt", weights_only=True)["state"]
        gap = max((pa[k] - pb[k]).abs().max().item() for k in pa)
        assert 0 <= gap < 1e-4, gap  # the batched products round differently, that is all
        # the same starts, paths and action noise: the rewards agree to float rounding
        assert (a.log["reward_mean"] - b.log["reward_mean"]).abs().max() < 1e-5
        assert (a.log["val_score"] - b.log["val_score"]).abs().max() < 1e-5
        assert b.best_iteration == a.best_iteration


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"lr": 3e-3}),
        ({}, {"algo": "ppo"}),
        ({"dynamic_sampling": True}, {"dynamic_sampling": True}),
        ({"scale_rewards": "batch"}, {"scale_rewards": "batch"}),
    ],
)
def test_only_grpo_configs_equal_but_for_the_seed_train_together(tmp_path, prices, first, second):
    with pytest.raises(ValueError, match=r"alone|equal but for the seed"):
        train_seeds([config(0, **first), config(1, **second)], prices, [tmp_path, tmp_path])
