"""`allocate`: the weights after the last close are the backtest engine's last decision."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.cli import app
from portfolio_rl.data.sources import DataConfig, load_prices
from portfolio_rl.workflows.allocation import allocate
from portfolio_rl.workflows.experiment import ExperimentConfig

runner = CliRunner()
END = "2019-06-28"  # a Friday; the engine decides there when the data runs one day longer


def engine_last_row(strategies, end=END, cash=False):
    prices = load_prices("sp500", start="2017-01-01", end="2019-07-02")
    if cash:
        from portfolio_rl.conventions.market import add_cash_prices

        prices = add_cash_prices(prices, 0.02)
    day = prices.index.get_loc(pd.Timestamp(end))
    config = BacktestConfig(start=end, rebalance_days=1)
    result = run_backtest(prices.iloc[: day + 2], strategies, config)
    return {name: w.loc[pd.Timestamp(end)] for name, w in result.weights.items()}


def experiment(**kw):
    return ExperimentConfig(data=DataConfig(prices="sp500", start="2017-01-01", end=END), **kw)


@pytest.mark.parametrize("name", ["min_variance", "risk_parity", "equal_weight", "momentum"])
def test_a_baseline_allocates_what_the_engine_decides(name):
    exp = experiment()
    done = allocate(exp, strategy=name)
    assert done.as_of == pd.Timestamp(END)
    expected = engine_last_row(build_baselines([name], config=exp.backtest))[name]
    np.testing.assert_allclose(done.weights.to_numpy(), expected.to_numpy(), atol=1e-9)
    assert done.weights.sum() == pytest.approx(1.0)


def test_a_policy_allocates_what_the_engine_decides(tmp_path):
    from portfolio_rl.agents.checkpoint import load_policy_strategy

    result = runner.invoke(app, ["train", "--iterations", "3", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    done = allocate(experiment(), policy=tmp_path / "p")
    expected = engine_last_row([load_policy_strategy(tmp_path / "p")])["grpo"]
    np.testing.assert_array_equal(done.weights.to_numpy(), expected.to_numpy())
    other = allocate(ExperimentConfig(data=DataConfig(prices="factors")), policy=tmp_path / "p")
    assert len(other.weights) == 5 and other.weights.sum() == pytest.approx(1.0)  # carried


def test_with_cash_the_weights_and_the_trades_add_up(tmp_path):
    holdings = tmp_path / "h.csv"
    holdings.write_text("asset,value\nAAPL,6000\nMSFT,3000\ncash,1000\n")
    args = [
        "allocate",
        "--strategy",
        "vol_managed",
        "--cash",
        "--holdings",
        str(holdings),
        "--out",
        str(tmp_path / "a.json"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "a.json").read_text())
    weights = pd.Series(saved["weights"])
    assert "cash" in weights and weights.sum() == pytest.approx(1.0)
    assert "estimated cost" in result.output and "stale" in result.output.lower()
    bad = tmp_path / "bad.csv"
    bad.write_text("asset,value\nNOPE,10\n")
    result = runner.invoke(app, ["allocate", "--strategy", "equal_weight", "--holdings", str(bad)])
    assert result.exit_code == 2 and "not in the data" in result.output
    result = runner.invoke(app, ["allocate"])
    assert result.exit_code == 2 and "--policy DIR or --strategy NAME" in result.output
