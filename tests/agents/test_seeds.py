"""Seeds trained together: the same paths and noise as alone, results equal to ~1e-6."""

import pandas as pd
import pytest
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.grpo import train
from portfolio_rl.agents.seeds import StackedPolicy, train_seeds
from portfolio_rl.envs.paths import returns_to_prices, volatility_regime_returns
from portfolio_rl.market import add_cash_prices

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


@pytest.mark.parametrize("vmapped", [(), ("cpu",)], ids=["per-seed-calls", "vmap"])
def test_seeds_together_match_each_seed_alone(tmp_path, prices, monkeypatch, vmapped):
    monkeypatch.setattr(StackedPolicy, "vmapped_devices", vmapped)  # the GPU's way on CPU
    seeds = (0, 1, 2)
    together = train_seeds(
        [config(s) for s in seeds], prices, [tmp_path / f"together-{s}" for s in seeds]
    )
    for s, res in zip(seeds, together, strict=True):
        alone = train(config(s), prices, tmp_path / f"alone-{s}")
        a = torch.load(tmp_path / f"alone-{s}" / "last.pt", weights_only=True)["policy"]
        b = torch.load(tmp_path / f"together-{s}" / "last.pt", weights_only=True)["policy"]
        gap = max((a[k] - b[k]).abs().max().item() for k in a)
        assert 0 <= gap < 1e-4, gap  # the batched products round differently, that is all
        la = pd.read_csv(tmp_path / f"alone-{s}" / "train_log.csv")
        lb = pd.read_csv(tmp_path / f"together-{s}" / "train_log.csv")
        # the same starts, paths and action noise: the rewards agree to float rounding
        assert (la["reward_mean"] - lb["reward_mean"]).abs().max() < 1e-5
        assert (la["val_score"] - lb["val_score"]).abs().max() < 1e-5
        assert res.best_iteration == alone.best_iteration
    # and the seeds differ from each other: each has its own stream
    logs = [pd.read_csv(tmp_path / f"together-{s}" / "train_log.csv") for s in seeds]
    assert logs[0]["reward_mean"].iloc[1] != logs[1]["reward_mean"].iloc[1]


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
