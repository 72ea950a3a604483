"""Walk-forward folds: a later fold whose training diverges keeps its starting policy."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import torch

from portfolio_rl.agents import registry
from portfolio_rl.data.sources import load_prices
from portfolio_rl.errors import TrainingDiverged
from portfolio_rl.workflows import training
from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig, SplitConfig
from portfolio_rl.workflows.pipeline import SILENT


def experiment():
    rl = RLConfig(
        algos=("grpo",),
        seeds=(0,),
        train={"iterations": 2, "batch_starts": 4, "group_size": 4, "eval_every": 1},
        fold_iterations=2,
    )
    splits = SplitConfig(train_end="2012-12-31", val_end="2014-12-31")
    return ExperimentConfig(strategies=("equal_weight",), splits=splits, rl=rl)


def test_a_diverging_later_fold_keeps_the_previous_folds_policy(tmp_path, monkeypatch):
    real = registry.trainer("grpo")

    def trainer(algo):
        def train(config, prices, folder, resume=False, progress=None, anchor=None, steering=None):
            if config.init_policy is not None:  # every later fold blows up at once
                config = dataclasses.replace(config, max_kl=1e-12)
            return real(config, prices, folder, resume, progress, anchor, steering)

        return train

    monkeypatch.setattr(registry, "trainer", trainer)
    exp = experiment()
    prices = load_prices("sp500", start="2004-01-01", end="2016-12-31")
    starts = [pd.Timestamp("2015-01-01"), pd.Timestamp("2016-01-01")]
    trained = training.train_policies(exp, prices, starts, tmp_path, SILENT)
    diverged, policies = trained.diverged, trained.policies
    assert len(diverged) == 1 and "fold 2" in diverged[0] and "diverged" in diverged[0]
    first, second = (tmp_path / "policies" / "grpo-s0" / f"fold-0{k}" for k in (0, 1))
    a = torch.load(first / "policy.pt", weights_only=True)["state"]
    b = torch.load(second / "policy.pt", weights_only=True)["state"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # fold 2 trades fold 1's policy
    assert len(policies) == 1


def test_a_diverging_first_fold_stops_the_run(tmp_path):
    exp = dataclasses.replace(
        experiment(),
        rl=dataclasses.replace(experiment().rl, train={**experiment().rl.train, "max_kl": 1e-12}),
    )
    prices = load_prices("sp500", start="2004-01-01", end="2016-12-31")
    with pytest.raises(TrainingDiverged):
        training.train_policies(exp, prices, [pd.Timestamp("2015-01-01")], tmp_path, SILENT)


def test_guided_folds_validate_on_an_expanding_window_and_plain_ones_on_a_rolling_one():
    from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig, SplitConfig
    from portfolio_rl.workflows.folds import fold_configs

    starts = [pd.Timestamp("2015-01-01"), pd.Timestamp("2016-01-01"), pd.Timestamp("2017-01-01")]
    splits = SplitConfig("2009-12-31", "2014-12-31")
    for train, after in (({"anchor": "min_variance"}, "2009-12-31"), ({}, None)):
        exp = ExperimentConfig(splits=splits, rl=RLConfig(("grpo",), train=train))
        configs = [cfg for _, _, cfg in fold_configs(exp, "grpo", 0, starts, Path("f"))]
        assert [c.val_after for c in configs] == [None, after, after]
        ends = [c.train_end for c in configs]  # the training range still moves with the fold
        assert ends[0] == "2009-12-31" and ends == sorted(set(ends))
    rolling = ExperimentConfig(
        splits=splits,
        rl=RLConfig(("grpo",), train={"anchor": "min_variance"}, validation="rolling"),
    )
    assert all(
        c.val_after is None for _, _, c in fold_configs(rolling, "grpo", 0, starts, Path("f"))
    )


def test_an_expanding_window_validates_from_the_earlier_day():
    import torch

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.data import MarketData

    prices = load_prices("sp500", start="2004-01-01", end="2016-12-31")
    rolling = TrainConfig(data_start="2004-01-01", train_end="2012-12-31", val_end="2014-12-31")
    expanding = TrainConfig(**(rolling.to_dict() | {"val_after": "2010-12-31"}))
    a = MarketData.build(prices, rolling, torch.device("cpu"))
    b = MarketData.build(prices, expanding, torch.device("cpu"))
    assert b.dates[b.val_start] == pd.Timestamp("2010-12-31") and a.val_start > b.val_start
    assert b.val_steps > a.val_steps and (a.train_starts == b.train_starts).all()
