"""TrainConfig: each setting declared once, with its help, group, choices and bounds."""

import dataclasses
import re
import typing

import pytest

from portfolio_rl.agents.config import GROUPS, TrainConfig
from portfolio_rl.agents.registry import ALGORITHMS, Algorithm
from portfolio_rl.conventions.measures import RISK_MEASURES, RiskMeasure
from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.typed import from_mapping, literal_choices, settings_table


def test_every_setting_has_help_and_a_known_group():
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata.get("help"), f.name
        assert f.metadata.get("group") in GROUPS, f.name


def test_literal_types_match_their_registries():
    assert set(typing.get_args(Algorithm)) == set(ALGORITHMS)
    assert set(typing.get_args(RiskMeasure)) == set(RISK_MEASURES)


def test_the_table_shows_choices_and_bounds():
    rows = {r["name"]: r for r in settings_table(TrainConfig)}
    assert rows["lr_schedule"]["choices"] == "constant | linear | cosine"
    assert rows["group_size"]["choices"] == "2 .. 4096"
    assert rows["gamma"]["choices"] == "0 .. 1" and rows["gamma"]["group"] == "PPO only"
    assert rows["rewards"]["default"] == "{log_growth: 1.0}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr_schedule": "step"}, "lr_schedule must be one of ['constant', 'linear', 'cosine']"),
        ({"scenarios": 0}, "scenarios must lie in 1..256, got 0"),
        ({"patience": 0}, "patience must be at least 1, got 0"),
        ({"gamma": 1.5}, "gamma must lie in 0..1, got 1.5"),
        ({"lr": float("nan")}, "lr must be a finite number"),
    ],
)
def test_validation_messages_come_from_the_declarations(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**changes)


def test_from_mapping_refuses_a_value_outside_a_literal():
    with pytest.raises(ConfigError, match=r"rl\.train\.kl_estimator: expected one of"):
        from_mapping(TrainConfig, {"kl_estimator": "k2"}, "rl.train")
    assert literal_choices(typing.Literal["a", "b"] | None) == ("a", "b")
