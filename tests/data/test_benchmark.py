"""A benchmark for any universe: a bundled index, a file, a ticker through the cache; the
active return, tracking error and information ratio against it."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from portfolio_rl.data.sources import DataConfig, benchmark_of
from portfolio_rl.errors import DataError


@pytest.fixture
def level_file(tmp_path):
    days = pd.bdate_range("1999-12-01", "2022-12-30")
    level = 100 * np.cumprod(1 + np.random.default_rng(0).normal(0.0003, 0.01, len(days)))
    path = tmp_path / "bench.csv"
    pd.Series(level, index=days.rename("Date"), name="INDEX").to_csv(path)
    return path


def test_a_file_benchmark_gives_active_return_tracking_error_and_information_ratio(
    tmp_path, level_file
):
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.report.benchmark import page_benchmark
    from portfolio_rl.report.charts import colours
    from portfolio_rl.report.run import Run
    from portfolio_rl.workflows import backtest, load_experiment

    exp = load_experiment("backtests/sp500.yaml")
    exp = replace(exp, data=replace(exp.data, benchmark=str(level_file)),
                  strategies=["equal_weight", "min_variance", "benchmark"])  # fmt: skip
    done = backtest(exp, out=tmp_path / "run")
    r = done.result.returns
    active = r["equal_weight"] - r["benchmark"]
    m = done.metrics.loc["equal_weight"]
    assert m["active_return"] == pytest.approx(active.mean() * 252, rel=1e-12)
    assert m["tracking_error"] == pytest.approx(active.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert m["information_ratio"] == pytest.approx(m["active_return"] / m["tracking_error"])
    level = pd.read_csv(level_file, index_col=0, parse_dates=True)["INDEX"]
    held = level.loc[r.index[0] : r.index[-1]]
    assert (1 + r["benchmark"]).prod() == pytest.approx(held.iloc[-1] / held.iloc[0], rel=2e-3)
    run = Run(tmp_path / "run")
    assert page_benchmark(run, colours(list(run.returns.columns))) is not None


def test_a_ticker_benchmark_is_read_through_the_cache(tmp_path, monkeypatch):
    from portfolio_rl.data import download as dl

    monkeypatch.setenv("PORTFOLIO_RL_CACHE", str(tmp_path / "cache"))

    def yahoo(ticker, start, end):
        days = pd.bdate_range(start, end - pd.Timedelta(days=1))
        return pd.DataFrame({"Close": np.linspace(100, 200, len(days))}, index=days)

    monkeypatch.setattr(dl, "_yf_download", yahoo)
    days = pd.bdate_range("2020-01-01", "2020-12-31")
    level = benchmark_of(DataConfig(prices="factors", benchmark="SPY"), days)
    assert level.index.equals(days) and level.notna().all() and level.name == "SPY"
    from portfolio_rl.data.sources import load_data

    tickers = DataConfig(tickers=("AAA", "BBB"), start="2020-01-01", benchmark="SPY")
    prices, bench = load_data(tickers, min_rows=10)  # a download gets its benchmark too
    assert bench is not None and bench.index.equals(prices.index)
    assert load_data(replace(tickers, benchmark=None), min_rows=10)[1] is None


def test_defaults_and_a_benchmark_that_does_not_cover_the_prices(tmp_path, level_file):
    days = pd.bdate_range("1995-01-02", "2000-12-29")
    with pytest.raises(DataError, match=r"the benchmark .*bench.csv covers 1999-12-01"):
        benchmark_of(DataConfig(benchmark=str(level_file)), days)
    assert benchmark_of(DataConfig(prices="factors"), days) is None  # no index of its own
    assert benchmark_of(DataConfig(prices="sp500", benchmark="none"), days) is None
    assert benchmark_of(DataConfig(prices="sp500"), days).notna().all()  # the bundled index
