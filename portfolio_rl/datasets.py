"""Price sources and their validation: one loader for bundled data, files and downloads.

Every source ends as one validated wide frame of adjusted closes: a ``DatetimeIndex`` named
``Date`` (sorted, unique) by one float column per asset, strictly positive, no NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_rl.errors import DataError, DataWarning
from portfolio_rl.market import PERIODS
from portfolio_rl.paths import data_dir

#: Interior or trailing gaps up to this many rows are forward-filled (a stated repair);
#: longer gaps are an error naming the asset and dates.
MAX_FFILL_ROWS = 5
#: A run of this many identical prices in a row is reported as a stale series.
STALE_RUN_ROWS = 20


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
    """

    name: str
    file: str
    description: str
    benchmark_file: str | None = None


BUNDLED: dict[str, BundledDataset] = {
    "sp500": BundledDataset(
        "sp500",
        "sp500_dataset.csv.gz",
        "20 S&P 500 constituents, adjusted daily closes (benchmark: S&P 500 index)",
        "sp500_index.csv.gz",
    ),
    "factors": BundledDataset(
        "factors",
        "factors_dataset.csv.gz",
        "5 US factor ETFs (MTUM, QUAL, SIZE, USMV, VLUE), adjusted daily closes",
    ),
}


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
    """

    prices: str = "sp500"
    tickers: tuple[str, ...] | None = None
    start: str | None = "2000-01-01"
    end: str | None = None


def load_data(
    data: DataConfig, min_rows: int = 2, progress: Callable[..., None] | None = None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Prices and benchmark (None when the source has none) of a :class:`DataConfig`.

    ``progress(done, total, ticker)`` follows a download.
    """
    if data.tickers:
        from portfolio_rl.download import download_prices

        end = data.end or pd.Timestamp.today().strftime("%Y-%m-%d")
        raw = download_prices(data.tickers, data.start or "2000-01-01", end, progress=progress)
        return load_prices(validate_prices(raw), min_rows=min_rows), None
    prices = load_prices(data.prices, start=data.start, end=data.end, min_rows=min_rows)
    bench = load_benchmark(data.prices)
    if bench is not None:
        bench = bench.reindex(prices.index).ffill()
    return prices, bench


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
    """
    frame = _read_source(source)
    prices = _slice_dates(validate_prices(frame, warn_stale=False), start, end, min_rows)
    _warn_stale(prices)
    return prices


def load_benchmark(source: str | Path | pd.DataFrame) -> pd.Series | None:
    """The benchmark index level of a bundled dataset (``SP500`` for ``sp500``), else None."""
    if not isinstance(source, str) or source not in BUNDLED:
        return None
    spec = BUNDLED[source]
    if spec.benchmark_file is None:
        return None
    frame = validate_prices(_read_file(data_dir() / spec.benchmark_file))
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


def _read_source(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, str) and source in BUNDLED:
        return _read_file(data_dir() / BUNDLED[source].file)
    path = Path(source)
    if not path.suffix:
        names = ", ".join(BUNDLED)
        raise DataError(
            f"unknown dataset {str(source)!r}: bundled datasets are {names}, "
            "or give a .csv/.parquet file"
        )
    if not path.is_file():
        raise DataError(f"price file not found: {path}")
    return _read_file(path)


def _read_file(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    raise DataError(f"unsupported file type {path.name!r}: use .csv, .csv.gz or .parquet")


def _date_index(frame: pd.DataFrame) -> pd.DataFrame:
    date_cols = [c for c in frame.columns if str(c).strip().lower() in ("date", "datetime")]
    if date_cols:
        frame = frame.set_index(date_cols[0])
    elif not isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.name).lower() != "date":
        raise DataError("no date column: the prices need a 'Date' column or a date index")
    raw = frame.index
    try:
        index = pd.to_datetime(raw, errors="coerce")
    except (ValueError, TypeError):
        index = pd.DatetimeIndex([pd.NaT] * len(raw))
    if index.tz is not None:
        index = index.tz_localize(None)
    bad = index.isna()
    if bad.any():
        examples = ", ".join(map(str, list(raw[bad][:3])))
        raise DataError(f"{int(bad.sum())} unparseable dates (e.g. {examples})")
    frame.index = index.normalize().rename("Date")
    return frame


def validate_prices(frame: pd.DataFrame, warn_stale: bool = True) -> pd.DataFrame:
    """Check a raw price frame and apply the documented repairs.

    Errors: no date column, unparseable or duplicated dates, non-numeric, zero or
    negative prices, an asset with no data, a gap longer than ``MAX_FFILL_ROWS``.
    Repairs (each stated as a ``DataWarning``): unsorted dates are sorted; leading rows
    before every asset has a price are dropped; gaps up to ``MAX_FFILL_ROWS`` rows are
    forward-filled. Stale series (``STALE_RUN_ROWS`` identical prices in a row) are warned.

    Parameters
    ----------
    frame : DataFrame
        Raw prices with a date column or index and one column per asset.
    warn_stale : bool
        Check for stale series here (``load_prices`` checks after its date bounds).

    Returns
    -------
    DataFrame of shape (n_dates, n_assets)
        Float prices on a sorted, unique ``DatetimeIndex``.
    """
    frame = _date_index(frame.copy())
    if frame.shape[1] == 0:
        raise DataError("no asset columns next to the dates")
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise DataError("duplicated asset column names")
    dup = frame.index.duplicated()
    if dup.any():
        raise DataError(f"duplicated dates, e.g. {frame.index[dup][0].date()}")
    if not frame.index.is_monotonic_increasing:
        warnings.warn("dates were not sorted; sorted them", DataWarning, stacklevel=2)
        frame = frame.sort_index()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = values.isna() & frame[col].notna()
            if bad.any():
                raise DataError(
                    f"non-numeric price in {col!r} on {frame.index[bad][0].date()}: "
                    f"{frame[col][bad].iloc[0]!r}"
                )
            frame[col] = values
    frame = frame.astype(float)
    values = frame.to_numpy()
    if np.isinf(values).any():
        col = frame.columns[np.isinf(values).any(axis=0)][0]
        raise DataError(f"infinite price in {col!r}")
    nonpos = values <= 0
    if nonpos.any():
        col_i = int(np.argmax(nonpos.any(axis=0)))
        row_i = int(np.argmax(nonpos[:, col_i]))
        raise DataError(
            f"non-positive price {values[row_i, col_i]} in {frame.columns[col_i]!r} "
            f"on {frame.index[row_i].date()}"
        )
    empty = frame.columns[frame.isna().all()]
    if len(empty):
        raise DataError(f"no data for asset(s): {', '.join(empty)}")
    first_valid = max(frame[c].first_valid_index() for c in frame.columns)
    if first_valid != frame.index[0]:
        n_drop = int((frame.index < first_valid).sum())
        warnings.warn(
            f"dropped {n_drop} leading rows before every asset has a price "
            f"(common start {first_valid.date()})",
            DataWarning,
            stacklevel=2,
        )
        frame = frame.loc[first_valid:]
    _fill_gaps(frame)
    if warn_stale:
        _warn_stale(frame)
    return frame


def _fill_gaps(frame: pd.DataFrame) -> None:
    missing = frame.isna()
    if not missing.any().any():
        return
    for col in frame.columns[missing.any()]:
        gap = missing[col].to_numpy()
        # run lengths of consecutive missing rows
        starts = np.flatnonzero(gap & ~np.r_[False, gap[:-1]])
        ends = np.flatnonzero(gap & ~np.r_[gap[1:], False])
        lengths = ends - starts + 1
        if lengths.max() > MAX_FFILL_ROWS:
            i = int(np.argmax(lengths))
            raise DataError(
                f"gap of {lengths[i]} missing prices in {col!r} from "
                f"{frame.index[starts[i]].date()} to {frame.index[ends[i]].date()} "
                f"(at most {MAX_FFILL_ROWS} are forward-filled)"
            )
    n = int(missing.to_numpy().sum())
    frame.ffill(inplace=True)
    warnings.warn(
        f"forward-filled {n} missing prices (gaps of at most {MAX_FFILL_ROWS} rows)",
        DataWarning,
        stacklevel=3,
    )


def _warn_stale(frame: pd.DataFrame) -> None:
    values = frame.to_numpy()
    if len(values) <= STALE_RUN_ROWS:
        return
    same = values[1:] == values[:-1]
    window = np.lib.stride_tricks.sliding_window_view(same, STALE_RUN_ROWS - 1, axis=0)
    stale = window.all(axis=-1).any(axis=0)
    for col in frame.columns[stale]:
        warnings.warn(
            f"stale series {col!r}: {STALE_RUN_ROWS} or more identical prices in a row",
            DataWarning,
            stacklevel=3,
        )


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
