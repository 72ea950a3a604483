"""Price sources and their validation: one loader for bundled data, files and downloads.

Every source ends as one validated wide frame of adjusted closes: a ``DatetimeIndex`` named
``Date`` (sorted, unique) by one float column per asset, strictly positive, no NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.data.checks import check_stale, date_index, read_file, validate_prices
from portfolio_rl.errors import DataError
from portfolio_rl.plumbing.files import data_dir


@dataclass(frozen=True)
class BundledDataset:
    """A dataset shipped with the package.

    Attributes
    ----------
    name : str
        Name used on the command line (``sp500``).
    file : str
        File name of the prices in the data folder.
    description : str
        One line for ``portfolio-rl data list``.
    benchmark_file : str or None
        File name of the benchmark index level, if the dataset has one.
    returns_pct : bool
        The file holds daily returns in percent, not prices: loading turns them into a
        price index from 100 on the business day before the first return, so that the
        returns of the index give back every return of the file.
    risk_free_file, risk_free_column : str or None
        File and column of the dataset's own daily risk-free rate in percent (what cash
        earns and Sharpe is in excess of); None: a flat rate from the config.
    known_stale : tuple of str
        Series whose runs of identical prices are documented in ``data/README.md`` (the
        3-decimal rounding of the 1990s): loading does not warn of them again.
    """

    name: str
    file: str
    description: str
    benchmark_file: str | None = None
    returns_pct: bool = False
    risk_free_file: str | None = None
    risk_free_column: str | None = None
    known_stale: tuple[str, ...] = ()


BUNDLED: dict[str, BundledDataset] = {
    "sp500": BundledDataset(
        "sp500",
        "sp500_dataset.csv.gz",
        "20 S&P 500 constituents, adjusted daily closes (benchmark: S&P 500 index)",
        "sp500_index.csv.gz",
        known_stale=("RRC",),
    ),
    "factors": BundledDataset(
        "factors",
        "factors_dataset.csv.gz",
        "5 US factor ETFs (MTUM, QUAL, SIZE, USMV, VLUE), adjusted daily closes",
    ),
    "industries49": BundledDataset(
        "industries49",
        "industries49_daily_pct.csv.gz",
        "Kenneth French's 49 value-weighted US industry portfolios, daily 1969-2021, "
        "survivorship-free (risk-free: one-month T-bill, RF)",
        returns_pct=True,
        risk_free_file="ff_factors_daily_pct.csv.gz",
        risk_free_column="RF",
    ),
}


#: Risk-free series shipped with the package: name -> (file, column), daily percent.
BUNDLED_RF = {"french_rf": ("ff_factors_daily_pct.csv.gz", "RF")}


def flat_rate(source: str | None) -> float | None:
    """A ``risk_free`` that is a number, as a float (else None)."""
    try:
        return None if source is None else float(source)
    except ValueError:
        return None


@dataclass(frozen=True)
class DataConfig:
    """Where the prices come from.

    Attributes
    ----------
    prices : str
        Bundled name or CSV/parquet path; ignored when ``tickers`` is given.
    tickers : list of str, optional
        Download these with yfinance (through the cache) instead.
    start, end : str, optional
        Date range of the prices loaded (history for features included).
    risk_free : str, optional
        What cash earns and Sharpe is in excess of: an annual rate (``0.04``), a bundled
        series (``french_rf``: the one-month T-bill of Kenneth French's data), a file
        (a date column and one rate column), or a Yahoo ticker downloaded through the price
        cache (``^IRX``: the 13-week T-bill yield). Default: the dataset's own series
        (``industries49``), else the experiment's flat ``rf``.
    risk_free_units : {"annual_percent", "daily_decimal"}, optional
        How a file's or a ticker's rates are written (a ticker: annual percent by default).
    risk_free_fill : bool
        Forward-fill the series over dates it lacks (the report says so); without it, a
        series that misses part of the prices' range is an error naming the gap.
    benchmark : str, optional
        The index the report measures active return, tracking error and the information
        ratio against: a bundled index (``sp500``), a file (a date column and one level
        column) or a Yahoo ticker through the price cache (``SPY``); ``none`` for no
        benchmark. Default: the dataset's own index (the bundled S&P 500 sample's).

    Examples
    --------
    >>> from portfolio_rl.data import DataConfig
    >>> DataConfig(prices="industries49", start="1990-01-01").risk_free is None
    True
    """

    prices: str = "sp500"
    tickers: tuple[str, ...] | None = None
    start: str | None = "2000-01-01"
    end: str | None = None
    risk_free: str | None = None
    risk_free_units: Literal["annual_percent", "daily_decimal"] | None = None
    risk_free_fill: bool = False
    benchmark: str | None = None

    def __post_init__(self) -> None:
        from portfolio_rl.plumbing.typed import parse_date

        lo = None if self.start is None else parse_date(self.start, "start")
        hi = None if self.end is None else parse_date(self.end, "end")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"start {self.start} is after end {self.end}")
        rate = flat_rate(self.risk_free)
        if rate is not None and not -1 < rate <= 1:
            raise ValueError(f"risk_free {rate} is not an annual rate above -1 and at most 1")
        bench = self.benchmark
        if bench not in (None, "none") and bench not in BUNDLED and not Path(bench).suffix:
            from portfolio_rl.plumbing.files import safe_name

            safe_name(bench.strip().upper(), "benchmark ticker")
        if self.risk_free and rate is None and self.risk_free not in BUNDLED_RF:
            if Path(self.risk_free).suffix and self.risk_free_units is None:
                raise ValueError(
                    f"risk_free_units: say whether {self.risk_free} holds annual_percent or "
                    "daily_decimal rates"
                )
            if not Path(self.risk_free).suffix:
                from portfolio_rl.plumbing.files import safe_name

                safe_name(self.risk_free.strip().upper(), "risk-free ticker")


def load_data(
    data: DataConfig, min_rows: int = 2, progress: Callable[..., None] | None = None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Prices and benchmark (None when the source has none) of a `DataConfig`.

    ``progress(done, total, ticker)`` follows a download.
    """
    if data.tickers:
        from portfolio_rl.data.download import download_prices

        end = data.end or pd.Timestamp.today().strftime("%Y-%m-%d")
        raw = download_prices(data.tickers, data.start or "2000-01-01", end, progress=progress)
        prices = load_prices(validate_prices(raw), min_rows=min_rows)
    else:
        prices = load_prices(data.prices, start=data.start, end=data.end, min_rows=min_rows)
    return prices, benchmark_of(data, prices.index)


def benchmark_of(data: DataConfig, index: pd.DatetimeIndex) -> pd.Series | None:
    """The benchmark's level on ``index`` (forward-filled over holidays), or None.

    A series that starts after ``index`` or stops more than a week before its end is an
    error naming the gap: a benchmark line must cover the whole test.
    """
    source = data.benchmark
    if source == "none" or (source is None and (data.tickers or data.prices not in BUNDLED)):
        return None
    if source is None or source in BUNDLED:
        level = load_benchmark(source or data.prices)
        if level is None:
            return None
    elif Path(source).suffix:
        frame = load_prices(source)
        if frame.shape[1] != 1:
            raise DataError(f"benchmark file {source}: give a date column and one level column")
        level = frame.iloc[:, 0]
    else:
        level = ticker_series(source, index)
    name = source or data.prices
    if level.index[0] > index[0] or level.index[-1] < index[-1] - pd.Timedelta(days=7):
        raise DataError(
            f"the benchmark {name} covers {level.index[0].date()}..{level.index[-1].date()}, "
            f"not the prices' {index[0].date()}..{index[-1].date()}: give a longer series, "
            "shorten data.start/end, or set data.benchmark: none"
        )
    return on_days(level, index).rename(name)


def on_days(series: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """``series`` on ``index``: each day its latest value on or before it (NaN before the
    first), so holidays of the series do not leave holes."""  # noqa: D205, D209
    return series.reindex(index.union(series.index)).ffill().reindex(index)


def ticker_series(ticker: str, index: pd.DatetimeIndex) -> pd.Series:
    """A Yahoo ticker's closes over ``index`` (from ten days before it), through the cache."""
    from portfolio_rl.data.download import download_prices

    end = (index[-1] + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    start = (index[0] - pd.Timedelta(days=10)).strftime("%Y-%m-%d")
    return download_prices([ticker], start, end).iloc[:, 0].dropna()


def load_prices(
    source: str | Path | pd.DataFrame,
    start: str | None = None,
    end: str | None = None,
    min_rows: int = 2,
) -> pd.DataFrame:
    """Load and validate prices from a bundled name, a CSV/parquet path or a DataFrame.

    Parameters
    ----------
    source : str, Path or DataFrame
        ``sp500`` / ``factors``, a ``.csv``/``.csv.gz``/``.parquet`` file with a ``Date``
        column (or index) and one column per asset, or a frame of the same shape.
    start, end : str, optional
        Inclusive date bounds (``YYYY-MM-DD``) applied after loading.
    min_rows : int
        Fewer rows than this (after the date bounds) is an error: the lookback needs them.

    Returns
    -------
    DataFrame of shape (n_dates, n_assets)
        Validated adjusted closes.

    Examples
    --------
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2015-01-01", end="2015-12-31")
    >>> prices.shape, str(prices.index[0].date())
    ((252, 20), '2015-01-02')
    """
    frame = _read_source(source)
    prices = _slice_dates(validate_prices(frame, warn_stale=False), start, end, min_rows)
    known = BUNDLED[source].known_stale if isinstance(source, str) and source in BUNDLED else ()
    check_stale(prices.drop(columns=list(known)))
    return prices


def load_benchmark(source: str | Path | pd.DataFrame) -> pd.Series | None:
    """The benchmark index level of a bundled dataset (``SP500`` for ``sp500``), else None."""
    if not isinstance(source, str) or source not in BUNDLED:
        return None
    spec = BUNDLED[source]
    if spec.benchmark_file is None:
        return None
    frame = validate_prices(read_file(data_dir() / spec.benchmark_file))
    return frame.iloc[:, 0]


def _slice_dates(
    prices: pd.DataFrame, start: str | None, end: str | None, min_rows: int
) -> pd.DataFrame:
    try:
        lo = pd.Timestamp(start) if start else None
        hi = pd.Timestamp(end) if end else None
    except (ValueError, TypeError) as exc:
        raise DataError(f"unparseable date bound: {exc}") from None
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"start {start} is after end {end}")
    out = prices.loc[lo:hi]
    if len(out) < min_rows:
        span = f"{out.index[0].date()}..{out.index[-1].date()}" if len(out) else "no dates"
        raise DataError(
            f"only {len(out)} price rows ({span}) but at least {min_rows} are needed "
            "(the feature lookback plus the evaluation period); widen the date range"
        )
    return out


def check_source(source: str | Path) -> None:
    """Raise a one-line DataError unless ``source`` is a bundled dataset or an existing file."""
    if isinstance(source, str) and source in BUNDLED:
        return
    path = Path(source)
    if not path.suffix:
        names = ", ".join(BUNDLED)
        raise DataError(
            f"unknown dataset {str(source)!r}: bundled datasets are {names}, "
            "or give a .csv/.parquet file"
        )
    if not path.is_file():
        raise DataError(f"price file not found: {path}")


def _read_source(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    check_source(source)
    if isinstance(source, str) and source in BUNDLED:
        spec = BUNDLED[source]
        frame = read_file(data_dir() / spec.file)
        return _price_index(frame) if spec.returns_pct else frame
    return read_file(Path(source))


def _price_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily returns in percent (a Date column and one column per asset) as a price index.

    ``P = 100 * cumprod(1 + r / 100)``, from 100 on the business day before the first
    return, so ``P[t] / P[t-1] - 1`` gives back every return of the file (to ~1e-12).
    """
    frame = date_index(frame)
    returns = frame.astype(float) / 100.0
    base = pd.bdate_range(end=returns.index[0] - pd.Timedelta(days=1), periods=1)
    prices = 100.0 * (1.0 + returns).cumprod()
    start = pd.DataFrame(100.0, index=base.rename("Date"), columns=prices.columns)
    return pd.concat([start, prices])


def summarize(prices: pd.DataFrame) -> pd.DataFrame:
    """Per-asset summary: first/last date, observations, missing, annualised return and vol.

    Annualisation uses 252 trading days; return is the geometric (CAGR) rate.

    Parameters
    ----------
    prices : DataFrame of shape (n_dates, n_assets)

    Returns
    -------
    DataFrame indexed by asset.
    """
    rets = prices.pct_change().iloc[1:]
    n = len(rets)
    growth = prices.iloc[-1] / prices.iloc[0]
    return pd.DataFrame(
        {
            "first": [prices[c].first_valid_index().date() for c in prices],
            "last": [prices[c].last_valid_index().date() for c in prices],
            "rows": prices.notna().sum(),
            "missing": prices.isna().sum(),
            "ann_return": growth ** (PERIODS / max(n, 1)) - 1,
            "ann_vol": rets.std(ddof=1) * np.sqrt(PERIODS),
        }
    )
