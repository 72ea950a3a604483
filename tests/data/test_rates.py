"""The user's risk-free series: a file, a ticker through the cache, a bundled series, a number;
what cash earns and what Sharpe is in excess of, checked against hand computations."""

import numpy as np
import pandas as pd
import pytest

from portfolio_rl.data.rates import risk_free
from portfolio_rl.data.sources import DataConfig
from portfolio_rl.errors import DataError


def rate_file(tmp_path, rates: dict[str, float], name="rf.csv"):
    days = pd.bdate_range("1999-12-01", "2022-12-30")
    level = pd.Series(np.nan, index=days)
    for since, rate in rates.items():
        level[days >= pd.Timestamp(since)] = rate
    path = tmp_path / name
    level.rename("yield").rename_axis("Date").to_csv(path)
    return path


def test_a_file_of_annual_percent_rates_becomes_daily_rates(tmp_path):
    path = rate_file(tmp_path, {"1999-12-01": 5.0, "2018-01-01": 2.0})
    days = pd.bdate_range("2017-12-20", "2018-01-10")
    data = DataConfig(risk_free=str(path), risk_free_units="annual_percent")
    rf = risk_free(data, days)
    expected = np.where(days < "2018-01-01", 1.05 ** (1 / 252) - 1, 1.02 ** (1 / 252) - 1)
    np.testing.assert_allclose(rf.to_numpy(), expected, rtol=1e-12)


def test_cash_earns_the_series_and_sharpe_is_in_excess_of_it(tmp_path):
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.workflows import backtest, load_experiment

    path = rate_file(tmp_path, {"1999-12-01": 4.0, "2019-06-01": 0.5})
    exp = load_experiment("backtests/sp500.yaml")
    data = replace(exp.data, risk_free=str(path), risk_free_units="annual_percent")
    exp = replace(exp, data=data, cash=True, strategies=["equal_weight", "vol_managed"])
    done = backtest(exp, out=tmp_path / "run")
    returns = done.result.returns
    rf = np.where(returns.index < "2019-06-01", 1.04 ** (1 / 252) - 1, 1.005 ** (1 / 252) - 1)
    for name in ("equal_weight", "vol_managed"):
        excess = returns[name].to_numpy() - rf
        hand = excess.mean() / excess.std(ddof=1) * np.sqrt(252)
        assert done.metrics.loc[name, "sharpe"] == pytest.approx(hand, rel=1e-9)
    held = done.result.weights["vol_managed"]["cash"]
    assert (held > 0.01).any()  # cash was held, at the series' rate (the env's own check)


def test_a_series_that_misses_part_of_the_range_is_an_error_unless_filled(tmp_path):
    path = rate_file(tmp_path, {"1999-12-01": 3.0})
    frame = pd.read_csv(path, index_col=0, parse_dates=True)
    frame.loc["2016-03-01":"2016-05-31"] = np.nan  # three months without rates
    frame.dropna().to_csv(path)
    days = pd.bdate_range("2015-01-01", "2017-12-29")
    data = DataConfig(risk_free=str(path), risk_free_units="annual_percent")
    with pytest.raises(DataError, match=r"no rates from 2016-02-29 to 2016-06-01"):
        risk_free(data, days)
    filled = risk_free(DataConfig(risk_free=str(path), risk_free_units="annual_percent",
                                  risk_free_fill=True), days)  # fmt: skip
    assert filled.notna().all()


def test_a_ticker_is_read_through_the_cache_and_works_offline_afterwards(tmp_path, monkeypatch):
    from portfolio_rl.data import download as dl

    monkeypatch.setenv("PORTFOLIO_RL_CACHE", str(tmp_path / "cache"))
    calls = []

    def yahoo(ticker, start, end):
        calls.append(ticker)
        days = pd.bdate_range(start, end - pd.Timedelta(days=1))
        return pd.DataFrame({"Close": 4.5}, index=days)  # ^IRX quotes annual percent

    monkeypatch.setattr(dl, "_yf_download", yahoo)
    days = pd.bdate_range("2020-01-01", "2020-12-31")
    first = risk_free(DataConfig(risk_free="^IRX"), days)
    np.testing.assert_allclose(first.to_numpy(), 1.045 ** (1 / 252) - 1, rtol=1e-12)

    def offline(ticker, start, end):
        raise OSError("no network")

    monkeypatch.setattr(dl, "_yf_download", offline)
    again = risk_free(DataConfig(risk_free="^IRX"), days)
    pd.testing.assert_series_equal(first, again)
    assert calls == ["^IRX"]


def test_a_number_and_the_bundled_series(tmp_path):
    days = pd.bdate_range("2000-01-03", periods=3)
    flat = risk_free(DataConfig(risk_free="0.03"), days)
    np.testing.assert_allclose(flat.to_numpy(), 1.03 ** (1 / 252) - 1)
    french = risk_free(DataConfig(prices="sp500", risk_free="french_rf"), days)
    own = risk_free(DataConfig(prices="industries49"), days)  # industries49's own series
    pd.testing.assert_series_equal(french, own)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"risk_free": "rates.csv"}, "risk_free_units: say whether rates.csv holds"),
        ({"risk_free": "2"}, "risk_free 2.0 is not an annual rate"),
        ({"risk_free": "../etc"}, "invalid risk-free ticker"),
    ],
)
def test_bad_risk_free_settings_are_refused(fields, message):
    with pytest.raises((ValueError, Exception), match=message):
        DataConfig(**fields)


def test_later_rates_never_change_earlier_returns_or_any_decision(tmp_path):
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.workflows import backtest, load_experiment

    exp = load_experiment("backtests/sp500.yaml")
    results = []
    for k, later in enumerate((1.0, 9.0)):  # the same rates to 2019, then different
        path = rate_file(tmp_path, {"1999-12-01": 2.0, "2019-01-01": later}, f"rf{k}.csv")
        data = replace(exp.data, risk_free=str(path), risk_free_units="annual_percent")
        run = replace(exp, data=data, cash=True, strategies=["vol_managed", "mean_variance"])
        results.append(backtest(run, out=tmp_path / f"run{k}").result)
    a, b = results
    for name in ("vol_managed", "mean_variance"):  # no decision reads the cash rate's future
        assert np.array_equal(a.weights[name].to_numpy(), b.weights[name].to_numpy())
    before = a.returns.loc[:"2018-12-31"].to_numpy(), b.returns.loc[:"2018-12-31"].to_numpy()
    assert np.array_equal(*before)
    after = a.returns.loc["2019-01-02":, "vol_managed"], b.returns.loc["2019-01-02":, "vol_managed"]
    assert (after[1] - after[0]).mean() > 0  # cash earned the higher rate from then on
