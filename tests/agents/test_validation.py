"""Validation scores: the objective over the path or over validation years."""

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from portfolio_rl.agents.checkpoint import load_policy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData
from portfolio_rl.agents.grpo import train_grpo as train
from portfolio_rl.agents.rollout import (
    _score,
    equal_weight_score,
    validation_returns,
    validation_score,
    year_slices,
)
from portfolio_rl.conventions.market import PERIODS


def test_year_slices_are_calendar_years_with_short_parts_joined():
    days = pd.bdate_range("2013-01-01", "2015-01-06")  # 2013, 2014 and four days of 2015
    years = year_slices(days)
    assert [days[y][0].year for y in years] == [2013, 2014]
    assert years[0].start == 0 and years[-1].stop == len(days)
    assert all(a.stop == b.start for a, b in itertools.pairwise(years))
    march = pd.bdate_range("2013-03-01", "2014-12-31")  # a 10-month year joins nothing
    assert len(year_slices(march)) == 2
    autumn = pd.bdate_range("2013-10-01", "2014-12-31")  # a quarter joins the next year
    assert year_slices(autumn) == [slice(0, len(autumn))]


@pytest.mark.parametrize(
    ("how", "year"),
    [("median_year", 2), ("worst_year", 0)],  # the years earn -0.1%, +0.2%, +0.1% a day
)
def test_years_are_scored_apart_and_aggregated(how, year):
    daily = [-0.001, 0.002, 0.001]
    dates = pd.bdate_range("2013-01-01", "2015-12-31")
    sizes = [int((dates.year == y).sum()) for y in (2013, 2014, 2015)]
    r = np.concatenate([np.full(k, d) for k, d in zip(sizes, daily, strict=True)])
    data = SimpleNamespace(cash=False, val_start=-1, dates=dates)  # day 0 is the first
    path = _score(r, data, TrainConfig(val_aggregate="path"))
    assert path == pytest.approx(np.log1p(r).mean() * PERIODS)
    got = _score(r, data, TrainConfig(val_aggregate=how))
    assert got == pytest.approx(np.log1p(daily[year]) * PERIODS)
    assert got != pytest.approx(path)


def test_bad_aggregation_is_refused():
    with pytest.raises(ValueError, match="val_aggregate must be one of"):
        TrainConfig(val_aggregate="best_year")


def test_selection_uses_the_worst_validation_year(tmp_path):
    from portfolio_rl.data.sources import load_prices

    prices = load_prices("sp500", start="2000-01-01", end="2014-12-31")
    config = TrainConfig(
        iterations=4, batch_starts=4, group_size=4, eval_every=2, val_aggregate="worst_year"
    )
    train(config, prices, tmp_path)
    policy, _ = load_policy(tmp_path)
    data = MarketData.build(prices, config, "cpu")
    saved = json.loads((tmp_path / "policy.json").read_text())["val_score"]
    assert saved == pytest.approx(validation_score(policy, data, config))
    r = validation_returns(policy, data, config)
    dates = data.dates[data.val_start + 1 : data.val_start + 1 + len(r)]
    years = [np.log1p(r[y]).mean() * PERIODS for y in year_slices(dates)]
    assert len(years) == 2 and saved == pytest.approx(min(years))
    one_path = TrainConfig(**{**config.to_dict(), "val_aggregate": "path"})
    assert equal_weight_score(data, config) < equal_weight_score(data, one_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["val_aggregate"] == "worst_year"
    assert config.objective_label == "log growth, worst year"
