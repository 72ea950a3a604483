"""Cases from an attack on the tool (issue 31), kept so they stay fixed: a setting is applied
or refused, never ignored; a cache is checked before it is served; a strategy that cannot
decide is refused before the backtest."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app
from portfolio_rl.data.sources import load_prices
from portfolio_rl.errors import ConfigError

runner = CliRunner()


@pytest.fixture(scope="module")
def small_prices(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    path = tmp / "p.csv"
    load_prices("sp500", start="2010-01-01", end="2016-12-31").iloc[:, :6].to_csv(path)
    return tmp, path


def test_train_set_anchor_is_applied_not_dropped(small_prices):
    tmp, path = small_prices
    out = tmp / "anchored"
    args = ["train", "--prices", str(path), "--train-end", "2013-12-31", "--val-end", "2014-12-31"]
    result = runner.invoke(
        app, [*args, "--set", "anchor=min_variance", "--set", "iterations=0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["anchor"] == "min_variance"
    assert json.loads((out / "policy.json").read_text())["anchor"]["name"] == "min_variance"


def test_quick_never_raises_an_explicit_iteration_count():
    from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig, quick_experiment

    exp = ExperimentConfig(rl=RLConfig(train={"iterations": 0}))
    assert quick_experiment(exp).rl.train["iterations"] == 0
    assert quick_experiment(ExperimentConfig()).rl.train["iterations"] == 20


def test_a_key_given_twice_in_yaml_is_an_error(tmp_path):
    from portfolio_rl.plumbing.typed import load_yaml

    path = tmp_path / "twice.yaml"
    path.write_text("rl:\n  seeds: [0]\n  seeds: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"key 'seeds' is given twice \(line 3\)"):
        load_yaml(path)
    path.write_text("rl:\n  seeds: [0]\nname: a\n")
    assert load_yaml(path)["rl"]["seeds"] == [0]


@pytest.mark.parametrize("damage", ["nan", "negative"])
def test_a_corrupt_anchor_table_is_computed_again(tmp_path, damage):
    from portfolio_rl.backtest.anchors import anchor_table, table_key

    prices = load_prices("sp500", start="2015-01-01", end="2016-06-30").iloc[:, :5]
    good = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path).weights
    path = tmp_path / "anchors" / f"{table_key(prices, 'inverse_vol', {}, 60)}.parquet"
    frame = pd.read_parquet(path)
    if damage == "nan":
        frame.iloc[100, 0] = np.nan
    else:  # the right shape and sums, negative weights
        frame.iloc[100, :2] = [-0.5, frame.iloc[100, 1] + frame.iloc[100, 0] + 0.5]
    frame.to_parquet(path)
    again = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path).weights
    pd.testing.assert_frame_equal(again, good)


def test_a_window_too_short_for_a_policy_is_refused_before_the_backtest(small_prices):
    tmp, path = small_prices
    out = tmp / "plain"
    args = ["train", "--prices", str(path), "--train-end", "2013-12-31", "--val-end", "2014-12-31"]
    assert runner.invoke(app, [*args, "--iterations", "0", "--out", str(out)]).exit_code == 0
    result = runner.invoke(
        app,
        ["backtest", "--prices", str(path), "--policy", str(out), "--window", "126",
         "--out", str(tmp / "b")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--window 126: the policies need windows of at least 252 returns" in result.output
    assert not (tmp / "b").exists()
