import pytest

from portfolio_rl.errors import ConfigError
from portfolio_rl.workflows.experiment import ExperimentConfig, default_config_path, load_experiment


def write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_defaults_and_shipped_config_load():
    assert load_experiment(None) == ExperimentConfig()
    exp = load_experiment(default_config_path())
    assert exp.data.prices == "sp500"


def test_values_are_converted(tmp_path):
    exp = load_experiment(
        write(
            tmp_path,
            """
name: t
backtest: {rebalance_days: 5, cost_bps: 2.5}
strategies: equal_weight, min_variance
rl: {seeds: [1, 2], algos: [grpo]}
""",
        )
    )
    assert exp.backtest.rebalance_days == 5 and exp.backtest.cost_bps == 2.5
    assert exp.strategies == ("equal_weight", "min_variance")
    assert exp.rl.seeds == (1, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: red", "unknown key.*colour"),
        ("backtest: {rebalanse_days: 5}", r"backtest: unknown key.*rebalanse_days"),
        ("backtest: {rebalance_days: 0}", "rebalance_days must be from 1 to 2520"),
        ("backtest: {cost_bps: ten}", "expected a number"),
        ("rl: {algos: [dqn]}", "unknown algorithm"),
        ("splits: {train_end: 2015-01-01, val_end: 2014-01-01}", "train_end must be before"),
        ("data: [1, 2]", "expected a mapping"),
        ("a: [unclosed", "invalid YAML"),
        ("!!python/object/apply:os.system ['echo hacked']", "invalid YAML"),
    ],
)
def test_bad_configs_are_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_experiment("nope.yaml")
