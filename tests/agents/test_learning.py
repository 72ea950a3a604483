"""Learning with the DEFAULT settings on synthetic markets whose answer is known.

Nothing here sets a training hyperparameter: ``TrainConfig`` gets the data's dates only (the
splits of the default sp500 experiment: train to 2012, validate 2013-2014, test 2015-2019,
on 20 years of daily data), as ``portfolio-rl train`` would. A market's own spec (its
assets, cash, how often it is traded) is the experiment's, not the trainer's.
"""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.agents.checkpoint import load_policy_strategy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.registry import train
from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.cli import app
from portfolio_rl.conventions.market import add_cash_prices
from portfolio_rl.conventions.measures import sharpe
from portfolio_rl.data.market_paths import (
    gbm_returns,
    regime_returns,
    returns_to_prices,
    volatility_regime_returns,
)

DATES = pd.bdate_range("2000-01-03", "2019-12-31", name="Date")
SPLITS = {"data_start": "1990-01-01", "train_end": "2012-12-31", "val_end": "2014-12-31"}
TEST = "2015-01-01"


def dominant_market(seed, sharpe_ratio=1.5):
    """One asset at 10% volatility with the given Sharpe ratio, four at 0 drift and 25%."""
    mu = np.array([0.10 * sharpe_ratio, 0, 0, 0, 0])
    vol = np.array([0.10, 0.25, 0.25, 0.25, 0.25])
    returns = gbm_returns(mu, np.diag(vol**2), len(DATES), np.random.default_rng(seed))
    return pd.DataFrame(returns_to_prices(returns), index=DATES, columns=list("WBCDE"))


def test_default_train_then_backtest_holds_the_dominant_asset(tmp_path):
    """The issue's market and commands: ``train`` then ``backtest --policy``, no flag set."""
    path = tmp_path / "dominant.csv"
    dominant_market(seed=1).to_csv(path)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--prices", str(path), "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    args = ["backtest", "--prices", str(path), "--policy", str(tmp_path / "t")]
    result = runner.invoke(
        app, [*args, "--strategies", "equal_weight", "--out", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    weights = pd.read_csv(tmp_path / "b" / "weights" / "grpo.csv", index_col=0, parse_dates=True)
    assert weights.index[0] >= pd.Timestamp(TEST)
    assert weights["W"].mean() >= 0.9, weights.mean()  # 0.999


def dominant_weight(tmp_path, seed, sharpe_ratio):
    prices = dominant_market(seed, sharpe_ratio)
    train(TrainConfig(**SPLITS), prices, tmp_path)
    run = run_backtest(prices, [load_policy_strategy(tmp_path)], BacktestConfig(start=TEST))
    return run.weights["grpo"]["W"].mean()


@pytest.mark.slow
@pytest.mark.parametrize(("sharpe_ratio", "at_least"), [(1.5, 4), (3.0, 6)])
def test_the_dominant_asset_over_several_markets(tmp_path, sharpe_ratio, at_least):
    # Sharpe 1.5: 0.64, 1.00, 1.00, 1.00, 1.00, 0.23 on draws 0-5. On draws 0 and 5 a
    # zero-drift asset rose 134% (and 77%) in the two validation years, and selection kept
    # the iteration that held it: the validation evidence, not the training, decides there.
    weights = [dominant_weight(tmp_path / str(s), s, sharpe_ratio) for s in range(6)]
    assert sum(w >= 0.9 for w in weights) >= at_least, weights


class Constant:
    def __init__(self, w):
        self.name, self.w = f"const_{w:.1f}", np.array([w, 1 - w])

    def decide(self, prices, prev):
        return self.w


def regime_margin(tmp_path, seed):
    """Log growth of GRPO over the best constant mix, out of sample, in a regime market."""
    mus = np.array([[1.0, -1.0], [-1.0, 1.0]])
    returns, _ = regime_returns(mus, 0.15, len(DATES), 1 / 120, np.random.default_rng(seed))
    prices = pd.DataFrame(returns_to_prices(returns), index=DATES, columns=["X", "Y"])
    train(TrainConfig(**SPLITS), prices, tmp_path)
    mixes = [Constant(w) for w in np.linspace(0, 1, 11)]
    strategies = [load_policy_strategy(tmp_path), *mixes]
    growth = np.log1p(run_backtest(prices, strategies, BacktestConfig(start=TEST)).returns).sum()
    return growth["grpo"] - growth.drop("grpo").max()


def test_grpo_times_persistent_regimes_better_than_any_constant_mix(tmp_path):
    assert regime_margin(tmp_path, seed=0) > 0.3  # 1.2 in log growth over 2015-2019


@pytest.mark.slow
def test_regimes_over_several_markets(tmp_path):
    margins = [regime_margin(tmp_path / str(s), s) for s in range(3)]  # 1.2, 0.97, 2.5
    assert min(margins) > 0.3, margins


def storm_figures(tmp_path, seed):
    """A market whose volatile spells lose money, with cash, traded weekly."""
    returns, storms = volatility_regime_returns(len(DATES), 3, np.random.default_rng(seed))
    prices = pd.DataFrame(returns_to_prices(returns), index=DATES, columns=list("ABC"))
    prices = add_cash_prices(prices, 0.0)
    train(TrainConfig(**SPLITS, cash=True, rebalance_days=5), prices, tmp_path)
    config = BacktestConfig(start=TEST, rebalance_days=5)
    strategies = [load_policy_strategy(tmp_path), *build_baselines(["equal_weight"], cash=True)]
    run = run_backtest(prices, strategies, config)
    exposure = 1 - run.weights["grpo"]["cash"]
    in_storm = pd.Series(storms, index=DATES).reindex(exposure.index).to_numpy()
    return {
        "sharpe_gain": sharpe(run.returns["grpo"].to_numpy())
        - sharpe(run.returns["equal_weight"].to_numpy()),
        "calm": exposure[~in_storm].mean(),
        "storm": exposure[in_storm].mean(),
    }


def derisks(f):
    return f["sharpe_gain"] > 0 and f["storm"] < f["calm"] - 0.25


def test_grpo_with_cash_holds_less_risk_in_storms(tmp_path):
    f = storm_figures(tmp_path, seed=4)
    assert derisks(f) and f["sharpe_gain"] > 0.2, f  # +0.63 Sharpe; exposure 0.95 calm, 0.38


@pytest.mark.slow
def test_storms_over_several_markets(tmp_path):
    # exposure in storms 0.62, 0.92, 0.89, 0.38, 0.71, 0.01 against 0.89-0.98 in calm spells
    results = [storm_figures(tmp_path / str(s), s) for s in range(1, 7)]
    assert sum(map(derisks, results)) >= 3, results


def steered_figures(tmp_path, market, seed, rewards=None):
    """A steered GRPO (robust_mv_ellipsoid) trained with the experiment's defaults, tested.

    ``min_variance``: six assets with one drift and volatilities from 8% to 40%, where
    minimum variance is the best portfolio and a mean estimate is noise; ``storms``: the
    market of `storm_figures` with cash, traded weekly. The splits validate on five years
    (the least a steered policy takes).
    """
    from portfolio_rl.backtest.steering import attach_steering
    from portfolio_rl.data.sources import DataConfig
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.experiment import ExperimentConfig, SplitConfig, train_config_for

    rng = np.random.default_rng(seed)
    storms = None
    if market == "min_variance":
        vol = np.array([0.08, 0.12, 0.18, 0.25, 0.32, 0.40])
        cov = (np.full((6, 6), 0.2) + 0.8 * np.eye(6)) * np.outer(vol, vol)
        returns, columns, cash, h = (
            gbm_returns(np.full(6, 0.04), cov, len(DATES), rng),
            "ABCDEF",
            False,
            21,
        )
    else:
        returns, storms = volatility_regime_returns(len(DATES), 3, rng)
        columns, cash, h = "ABC", True, 5
    prices = pd.DataFrame(returns_to_prices(returns), index=DATES, columns=list(columns))
    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    exp = ExperimentConfig(
        data=DataConfig(prices=str(path), start="2000-01-01"),
        splits=SplitConfig("2009-12-31", "2014-12-31"),
        backtest=BacktestConfig(rebalance_days=h),
        cash=cash,
    )
    extra = {} if rewards is None else {"rewards": rewards}
    config = train_config_for(exp, "grpo", 0, steer="robust_mv_ellipsoid", **extra)
    pipeline.train(exp, config, tmp_path / "t")
    policy = load_policy_strategy(tmp_path / "t")
    attach_steering([policy])
    names = ["robust_mv_ellipsoid", "min_variance"]
    baselines = build_baselines(names, {}, BacktestConfig(rebalance_days=h), cash=cash)
    frame = add_cash_prices(prices, 0.0) if cash else prices
    run = run_backtest(frame, [policy, *baselines], BacktestConfig(start=TEST, rebalance_days=h))
    w = run.weights
    out = {c: sharpe(run.returns[c].to_numpy()) for c in run.returns}
    out["to_min_variance"] = (w["grpo"] - w["min_variance"]).abs().sum(axis=1).mean()
    out["baseline_to_min_variance"] = (
        (w["robust_mv_ellipsoid"] - w["min_variance"]).abs().sum(axis=1).mean()
    )
    if storms is not None:
        exposure = 1 - w["grpo"]["cash"]
        in_storm = pd.Series(storms, index=DATES).reindex(exposure.index).to_numpy()
        out["calm"], out["storm"] = exposure[~in_storm].mean(), exposure[in_storm].mean()
    return out


def moves_to_min_variance(f):
    return f["to_min_variance"] < 0.8 * f["baseline_to_min_variance"]


def steered_derisks(f):
    return f["storm"] < f["calm"] - 0.25 and f["grpo"] > f["robust_mv_ellipsoid"]


def test_steered_grpo_moves_towards_minimum_variance_where_it_is_best(tmp_path):
    f = steered_figures(tmp_path, "min_variance", seed=3)
    # L1 distance to minimum variance 0.21 against the baseline's 0.34; Sharpe 0.52 vs 0.31
    assert moves_to_min_variance(f) and f["grpo"] > f["robust_mv_ellipsoid"], f


def test_steered_grpo_with_cash_lowers_its_exposure_in_storms(tmp_path):
    f = steered_figures(tmp_path, "storms", seed=1)
    assert steered_derisks(f), f  # exposure 0.98 calm, 0.14 in storms; Sharpe 0.35 vs -0.44


@pytest.mark.slow
def test_steered_markets_over_several_draws(tmp_path):
    # min variance, draws 0-4: kept the start on draw 0 (validation preferred it), moved
    # closer on 1-4; storms, draws 1-3: de-risked on all three
    moved = [
        moves_to_min_variance(steered_figures(tmp_path / f"m{s}", "min_variance", s))
        for s in range(5)
    ]
    derisked = [
        steered_derisks(steered_figures(tmp_path / f"s{s}", "storms", s)) for s in (1, 2, 3)
    ]
    assert sum(moved) >= 3 and sum(derisked) >= 2, (moved, derisked)


@pytest.mark.slow
def test_the_default_reward_beats_the_differential_sharpe_ratio_on_these_markets(tmp_path):
    """The evidence behind the default: on the same draws the certainty equivalent moves the
    parameters the right way more often than the differential Sharpe ratio (measured: 4/4
    against 1/4 towards minimum variance, 3/3 against 1/3 out of storms)."""
    wins = {}
    for name, rewards in (("ce", None), ("dsr", {"differential_sharpe": 1.0})):
        moved = [
            moves_to_min_variance(
                steered_figures(tmp_path / f"{name}m{s}", "min_variance", s, rewards)
            )
            for s in (1, 2, 3, 4)
        ]
        derisked = [
            steered_derisks(steered_figures(tmp_path / f"{name}s{s}", "storms", s, rewards))
            for s in (1, 2, 3)
        ]
        wins[name] = sum(moved) + sum(derisked)
    assert wins["ce"] > wins["dsr"], wins
