import warnings

import numpy as np
import pandas as pd
import pytest

from portfolio_rl.data.checks import MAX_FFILL_ROWS, validate_prices
from portfolio_rl.data.sources import load_benchmark, load_prices, summarize
from portfolio_rl.errors import DataError, DataWarning


def test_bundled_sp500_loads():
    prices = load_prices("sp500")
    assert prices.shape == (8313, 20)
    assert prices.index.is_monotonic_increasing and prices.index.is_unique
    assert prices.index[0] == pd.Timestamp("1990-01-02")
    assert prices.index[-1] == pd.Timestamp("2022-12-28")
    assert (prices.to_numpy() > 0).all()
    bench = load_benchmark("sp500")
    assert bench.name == "SP500" and len(bench) == 8313


def test_bundled_factors_and_date_bounds():
    prices = load_prices("factors", start="2015-01-01", end="2015-12-31")
    assert list(prices.columns) == ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
    assert prices.index[0].year == 2015 and prices.index[-1].year == 2015
    assert load_benchmark("factors") is None


def test_csv_and_parquet_roundtrip(tmp_path, toy_prices):
    csv = tmp_path / "p.csv"
    toy_prices.to_csv(csv)
    pq = tmp_path / "p.parquet"
    toy_prices.to_parquet(pq)
    for path in (csv, pq):
        loaded = load_prices(path)
        np.testing.assert_allclose(loaded.to_numpy(), toy_prices.to_numpy())
        assert list(loaded.columns) == ["A", "B", "C"]


def _frame(**cols):
    idx = pd.bdate_range("2020-01-01", periods=len(next(iter(cols.values()))))
    out = pd.DataFrame(cols, index=idx)
    out.index.name = "Date"
    return out.reset_index()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": [1, 2], "A": [1.0, 2.0]}), "no date column"),
        (pd.DataFrame({"Date": ["2020-01-01", "not a date"], "A": [1.0, 2.0]}), "unparseable"),
        (pd.DataFrame({"Date": ["2020-01-01", "2020-01-01"], "A": [1.0, 2.0]}), "duplicated dates"),
        (_frame(A=[1.0, "abc", 2.0]), "non-numeric"),
        (_frame(A=[1.0, 0.0, 2.0]), "non-positive"),
        (_frame(A=[1.0, -3.0, 2.0]), "non-positive"),
        (_frame(A=[1.0, 2.0, 3.0], B=[np.nan] * 3), "no data for asset"),
        (pd.DataFrame({"Date": ["2020-01-01"]}), "no asset columns"),
    ],
)
def test_validation_errors(frame, message):
    with pytest.raises(DataError, match=message):
        validate_prices(frame)


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'nasdaq'"):
        load_prices("nasdaq")
    with pytest.raises(DataError, match="not found"):
        load_prices(tmp_path / "missing.csv")
    bad = tmp_path / "prices.xlsx"
    bad.write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_prices(bad)


def test_unsorted_dates_are_sorted_with_warning():
    frame = pd.DataFrame({"Date": ["2020-01-03", "2020-01-01", "2020-01-02"], "A": [3.0, 1, 2]})
    with pytest.warns(DataWarning, match="sorted"):
        out = validate_prices(frame)
    assert list(out["A"]) == [1.0, 2.0, 3.0]


def test_short_gap_is_filled_long_gap_is_an_error():
    a = np.linspace(1, 2, 30)
    short = a.copy()
    short[10 : 10 + MAX_FFILL_ROWS] = np.nan
    with pytest.warns(DataWarning, match="forward-filled"):
        out = validate_prices(_frame(A=short, B=a))
    assert out["A"].iloc[10 + MAX_FFILL_ROWS - 1] == a[9]
    long = a.copy()
    long[10 : 11 + MAX_FFILL_ROWS] = np.nan
    with pytest.raises(DataError, match=r"gap of 6 missing prices in 'A' from 2020-01-15"):
        validate_prices(_frame(A=long, B=a))


def test_leading_rows_dropped_until_every_asset_trades():
    a = np.linspace(1, 2, 30)
    b = a.copy()
    b[:7] = np.nan
    with pytest.warns(DataWarning, match="dropped 7 leading rows"):
        out = validate_prices(_frame(A=a, B=b))
    assert len(out) == 23


def test_stale_series_warns():
    a = np.linspace(1, 2, 60)
    stale = a.copy()
    stale[20:45] = stale[20]
    with pytest.warns(DataWarning, match="stale series 'S'"):
        validate_prices(_frame(A=a, S=stale))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_prices(_frame(A=a))


def test_too_few_rows_for_lookback():
    with pytest.raises(DataError, match="at least 300 are needed"):
        load_prices("factors", start="2022-01-01", min_rows=300)
    with pytest.raises(DataError, match="after end"):
        load_prices("factors", start="2022-01-01", end="2021-01-01")


def test_summary_figures(toy_prices):
    s = summarize(toy_prices)
    rets = toy_prices["A"].pct_change().dropna()
    assert s.loc["A", "ann_vol"] == pytest.approx(rets.std() * np.sqrt(252))
    growth = toy_prices["A"].iloc[-1] / toy_prices["A"].iloc[0]
    assert s.loc["A", "ann_return"] == pytest.approx(growth ** (252 / 399) - 1)


def test_every_bundled_file_ships_in_the_wheel():
    import tomllib

    from portfolio_rl.data.sources import BUNDLED
    from portfolio_rl.plumbing.files import CHECKOUT_DIR

    pyproject = tomllib.loads((CHECKOUT_DIR / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    for spec in BUNDLED.values():
        for name in filter(None, (spec.file, spec.benchmark_file)):
            assert shipped[f"data/{name}"] == f"portfolio_rl/_data/{name}"
    assert shipped["backtests/sp500.yaml"] == "portfolio_rl/_data/sp500.yaml"


def test_industries49_gives_back_every_return_of_the_file():
    from portfolio_rl.data.rates import risk_free
    from portfolio_rl.data.sources import DataConfig
    from portfolio_rl.plumbing.files import data_dir

    prices = load_prices("industries49")
    raw = (
        pd.read_csv(
            data_dir() / "industries49_daily_pct.csv.gz", index_col="Date", parse_dates=True
        )
        / 100
    )
    assert prices.shape[1] == 49 and len(raw) == 13245
    returns = prices.pct_change().iloc[1:]
    assert returns.index.equals(raw.index)
    assert returns.index[0] == pd.Timestamp("1969-07-01")
    assert returns.index[-1] == pd.Timestamp("2021-12-31")
    np.testing.assert_allclose(returns.to_numpy(), raw.to_numpy(), rtol=0, atol=1e-10)
    rf = risk_free(DataConfig(prices="industries49"), prices.index)
    factors = (
        pd.read_csv(data_dir() / "ff_factors_daily_pct.csv.gz", index_col="Date", parse_dates=True)[
            "RF"
        ]
        / 100
    )
    assert rf.notna().all()
    np.testing.assert_allclose(rf.loc[factors.index], factors, rtol=0, atol=1e-15)
    assert (rf.loc[:"1969-12-31"] == factors.iloc[0]).all()  # before RF starts: its first value
    flat = risk_free(DataConfig(prices="sp500"), prices.index[:5], annual_rate=0.02)
    assert flat.iloc[0] == pytest.approx(1.02 ** (1 / 252) - 1)
