"""Steered policies: the untrained policy is its baseline, everywhere; nothing sees the future."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.backtest import steering as steering_module
from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.steering import steering_for
from portfolio_rl.cli import app
from portfolio_rl.data.sources import load_prices
from portfolio_rl.workflows import training
from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig, SplitConfig
from portfolio_rl.workflows.folds import fold_starts
from portfolio_rl.workflows.pipeline import SILENT

runner = CliRunner()
SPLIT = ["--train-end", "2003-12-31", "--val-end", "2008-12-31"]


@pytest.fixture(scope="module")
def prices_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("steered")
    prices = load_prices("industries49", start="2000-01-01", end="2011-12-31").iloc[:, :12]
    prices.to_csv(tmp / "p.csv")
    return tmp, tmp / "p.csv"


@pytest.mark.parametrize("cash", [False, True])
def test_the_untrained_policy_is_its_baseline_in_the_backtest_and_allocate(prices_file, cash):
    """The issue's check: ``train --steer ... --iterations 0``, then ``backtest --policy``."""
    tmp, path = prices_file
    flag = ["--cash"] if cash else []
    out = tmp / f"t{cash}"
    args = ["train", "--prices", str(path), *SPLIT, "--steer", "robust_mv_ellipsoid", *flag]
    result = runner.invoke(app, [*args, "--iterations", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "its baseline (robust_mv_ellipsoid) with the configured parameters" in result.output
    back = tmp / f"b{cash}"
    args = ["backtest", "--prices", str(path), "--policy", str(out), *flag]
    result = runner.invoke(app, [*args, "--strategies", "robust_mv_ellipsoid", "--out", str(back)])
    assert result.exit_code == 0, result.output
    policy = pd.read_csv(back / "weights" / "grpo.csv", index_col=0)
    baseline = pd.read_csv(back / "weights" / "robust_mv_ellipsoid.csv", index_col=0)
    assert len(policy) > 30
    assert np.abs(policy - baseline).to_numpy().max() <= 1e-4
    stats = pd.read_csv(back / "stats.csv", index_col=0)
    assert stats.loc["grpo", "anchor"] == "robust_mv_ellipsoid"
    assert stats.loc["grpo", "comparator"] == "robust_mv_ellipsoid"
    chosen = pd.read_csv(back / "steering" / "grpo.csv", index_col=0)
    assert len(chosen) == len(policy) and chosen["risk_aversion"].eq(5.0).all()
    alloc = {}
    for key, what in (("policy", str(out)), ("strategy", "robust_mv_ellipsoid")):
        target = tmp / f"{key}{cash}.json"
        extra = ["--policy" if key == "policy" else "--strategy", what]
        result = runner.invoke(
            app, ["allocate", *extra, "--prices", str(path), *flag, "--out", str(target)]
        )
        assert result.exit_code == 0, result.output
        alloc[key] = pd.Series(json.loads(target.read_text())["weights"])
    assert np.abs(alloc["policy"] - alloc["strategy"]).max() <= 1e-4


def steered_experiment():
    train = {"steer": "robust_mv_ellipsoid", "iterations": 3, "batch_starts": 4}
    rl = RLConfig(algos=("grpo",), seeds=(0,), train=train | {"group_size": 4}, fold_iterations=2)
    return ExperimentConfig(
        strategies=("equal_weight", "robust_mv_ellipsoid"),
        splits=SplitConfig(train_end="2007-12-31", val_end="2012-12-31"),
        rl=rl,
    )


def test_steering_reaches_worker_processes_after_a_solve():
    import pickle

    prices = load_prices("sp500", start="2014-01-01", end="2015-12-31")
    steering = steering_for(prices, "robust_mv_ellipsoid", {}, BacktestConfig(), "2015-06-30")
    assert steering.tables  # the model has solved, so cvxpy holds compiled solvers
    copy = pickle.loads(pickle.dumps(steering))
    day = next(iter(steering.tables))
    np.testing.assert_array_equal(copy.tables[day].weights, steering.tables[day].weights)
    x = prices.pct_change().iloc[1:253].to_numpy()
    values = copy.model.configured(20)
    np.testing.assert_allclose(
        copy.model.solve(x, values), steering.model.solve(x, values), atol=1e-9
    )


def test_changing_later_prices_changes_no_earlier_table_or_decision(tmp_path):
    exp = steered_experiment()
    prices = load_prices("sp500", start="2004-01-01", end="2014-12-31")
    later = prices.copy()
    later.loc["2013-07-01":] *= np.linspace(0.5, 2.0, len(later.loc["2013-07-01":]))[:, None]
    tables = [
        steering_for(p, "robust_mv_ellipsoid", {}, exp.backtest, "2013-12-31").tables
        for p in (prices, later)
    ]
    early = [d for d in tables[0] if d <= pd.Timestamp("2013-06-30")]
    assert len(early) > 50
    for day in early:
        a, b = tables[0][day], tables[1][day]
        for name in ("tau", "weights", "sigma2", "base"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    runs = []
    for k, frame in enumerate((prices, later)):
        starts = fold_starts(exp, frame)
        trained = training.train_policies(exp, frame, starts, tmp_path / str(k), SILENT)
        config = BacktestConfig(start="2013-01-01", rebalance_days=21)
        runs.append(run_backtest(frame, trained.policies, config))
    before = [r.weights["grpo_s0"].loc[:"2013-06-30"] for r in runs]
    assert len(before[0]) >= 6
    pd.testing.assert_frame_equal(*before)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steer": "robust_mv_ellipsoid", "algo": "ppo"}, "only grpo steers"),
        ({"steer": "robust_mv_ellipsoid", "anchor": "min_variance"}, "exclude each other"),
        ({"steer": "Robust MV"}, "steer must be none or a baseline"),
    ],
)
def test_unsupported_steering_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


@pytest.mark.parametrize(
    ("steer", "extra", "message"),
    [
        ("dro_cvar", {}, "cannot be steered"),
        ("robust_mv_ellipsoid", {"strategies": ("equal_weight",)}, "must be one of the run"),
        ("robust_mv_ellipsoid", {"splits": SplitConfig("2012-12-31", "2014-12-31")}, "5 years"),
    ],
)
def test_experiments_refuse_bad_steering(steer, extra, message):
    splits = extra.pop("splits", SplitConfig("2009-12-31", "2014-12-31"))
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(rl=RLConfig(("grpo",), train={"steer": steer}), splits=splits, **extra)


def test_a_guided_policy_is_trained_and_selected_on_the_tests_measure():
    """Anchored and steered policies get the certainty equivalent at the comparator's risk
    aversion and Sharpe on validation; a plain policy keeps log growth."""
    from portfolio_rl.workflows.experiment import train_config_for

    splits = SplitConfig("2009-12-31", "2014-12-31")
    params = {"robust_mv_ellipsoid": {"risk_aversion": 3.0}}
    for train in ({"steer": "robust_mv_ellipsoid"}, {"anchor": "min_variance"}):
        rl = RLConfig(("grpo",), train=train)
        exp = ExperimentConfig(rl=rl, splits=splits, strategy_params=params)
        cfg = train_config_for(exp, "grpo", 0)
        assert cfg.rewards == {"certainty_equivalent": 1.0}
        assert cfg.reward_params == {"risk_aversion": 6.0} and cfg.objective == "sharpe"
    plain = train_config_for(ExperimentConfig(), "grpo", 0)
    assert plain.rewards == {"log_growth": 1.0} and plain.objective == "log_growth"
    train = {"steer": "robust_mv_ellipsoid", "rewards": {"sharpe": 1}}
    given = ExperimentConfig(rl=RLConfig(("grpo",), train=train), splits=splits)
    assert train_config_for(given, "grpo", 0).rewards == {"sharpe": 1}


def test_the_untrained_policy_acts_as_its_baseline_in_the_env(prices_file):
    import torch

    from portfolio_rl.agents.checkpoint import load_policy
    from portfolio_rl.agents.steer_table import SteerContext
    from portfolio_rl.backtest.steering import EnvSteering
    from portfolio_rl.baselines import make_baseline
    from portfolio_rl.envs import PortfolioEnv

    tmp, path = prices_file
    out = tmp / "env-policy"
    args = ["train", "--prices", str(path), *SPLIT, "--steer", "robust_mv_ellipsoid"]
    assert runner.invoke(app, [*args, "--iterations", "0", "--out", str(out)]).exit_code == 0
    policy, meta = load_policy(out)
    env = PortfolioEnv(str(path), start="2009-01-01", steer=EnvSteering(policy, meta))
    assert env.action_space.shape == (3,)
    baseline = make_baseline("robust_mv_ellipsoid", cost_bps=10, holding_days=21)
    obs, info = env.reset(seed=0)
    for _ in range(4):
        features = torch.tensor(info["steer_features"], dtype=torch.float32)
        latent = policy(torch.from_numpy(obs), SteerContext(features, *[None] * 6)).scores
        window = env._window()
        expected = baseline.fit(window[1:] / window[:-1] - 1, info["weights"]).weights_
        np.testing.assert_allclose(env.to_weights(latent.detach().numpy()), expected, atol=1e-8)
        obs, _, _, _, info = env.step(latent.detach().numpy())


def test_tables_are_the_same_in_blocks_over_worker_processes(monkeypatch):
    monkeypatch.setattr(steering_module, "BLOCK", 5)
    prices = load_prices("sp500", start="2013-01-01", end="2015-12-31")
    alone, spread = (
        steering_for(
            prices, "robust_mv_ellipsoid", {}, BacktestConfig(), "2015-06-30", workers=n
        ).tables
        for n in (1, 2)
    )
    assert list(alone) == list(spread) and len(alone) > 2 * steering_module.BLOCK
    for day, table in alone.items():
        for field in dataclasses.fields(table):
            mine, theirs = (getattr(t, field.name) for t in (table, spread[day]))
            np.testing.assert_array_equal(mine, theirs)
