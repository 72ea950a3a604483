"""Validation of a raw price frame: the checks and the stated repairs of every source.

Every source ends as one validated wide frame of adjusted closes: a ``DatetimeIndex`` named
``Date`` (sorted, unique) by one float column per asset, strictly positive, no NaN.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_rl.errors import DataError, DataWarning

#: Interior or trailing gaps up to this many rows are forward-filled (a stated repair);
#: longer gaps are an error naming the asset and dates.
MAX_FFILL_ROWS = 5
#: A run of this many identical prices in a row is reported as a stale series.
STALE_RUN_ROWS = 20


def read_file(path: Path) -> pd.DataFrame:
    """A CSV (.csv, .csv.gz, .txt) or parquet file as a raw frame (DataError if unreadable)."""
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz", ".txt")):
            _check_header(path)
            return pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    raise DataError(f"unsupported file type {path.name!r}: use .csv, .csv.gz or .parquet")


def _check_header(path: Path) -> None:
    """Refuse repeated column names (pandas would quietly rename the second ``A`` to ``A.1``)."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as fh:
        header = [h.strip() for h in next(csv.reader(fh), [])]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DataError(f"{path.name}: column(s) {', '.join(repeated)} appear more than once")


def date_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame indexed by its parsed dates (a Date column or index), normalised to days."""
    date_cols = [c for c in frame.columns if str(c).strip().lower() in ("date", "datetime")]
    if len(date_cols) > 1:  # never trade one of them as an asset
        names = ", ".join(repr(str(c)) for c in date_cols)
        raise DataError(f"more than one date column ({names}): keep one")
    if date_cols:
        frame = frame.set_index(date_cols[0])
    elif not isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.name).lower() != "date":
        raise DataError("no date column: the prices need a 'Date' column or a date index")
    raw = frame.index
    text = pd.Index(raw.astype(str).str.strip())
    try:
        if text.str.fullmatch(r"\d{8}").all():  # 20050103: a date written as a number
            index = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        else:
            index = pd.to_datetime(raw, errors="coerce")
    except (ValueError, TypeError):
        index = pd.DatetimeIndex([pd.NaT] * len(raw))
    if index.tz is not None:
        index = index.tz_localize(None)
    bad = index.isna()
    if bad.any():
        examples = ", ".join(map(str, list(raw[bad][:3])))
        raise DataError(f"{int(bad.sum())} unparseable dates (e.g. {examples})")
    from portfolio_rl.plumbing.typed import YEARS

    outside = (index.year < YEARS[0]) | (index.year > YEARS[1])
    if outside.any():
        raise DataError(
            f"date {index[outside][0].date()} is not between {YEARS[0]} and {YEARS[1]} "
            "(a typo, or dates read as numbers?)"
        )
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

    Examples
    --------
    >>> import pandas as pd
    >>> from portfolio_rl.data import validate_prices
    >>> raw = pd.DataFrame({"Date": ["2020-01-03", "2020-01-02"], "A": [101.0, 100.0]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the repairs are reported as DataWarnings
    ...     clean = validate_prices(raw)
    >>> clean["A"].tolist(), str(clean.index[0].date())
    ([100.0, 101.0], '2020-01-02')
    """
    frame = date_index(frame.copy())
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
        if pd.api.types.is_bool_dtype(frame[col]):
            raise DataError(f"column {col!r} holds true/false values, not prices")
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
    _check_moves(frame)
    if warn_stale:
        check_stale(frame)
    return frame


#: A day-to-day price ratio beyond this (either way) is no price series: a unit error,
#: a wrong column, or a number too large for returns and their squares to stay finite.
MAX_DAILY_RATIO = 1e4


def _check_moves(frame: pd.DataFrame) -> None:
    values = frame.to_numpy()
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = values[1:] / values[:-1]
    bad = ~np.isfinite(ratio) | (ratio > MAX_DAILY_RATIO) | (ratio < 1 / MAX_DAILY_RATIO)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise DataError(
            f"{frame.columns[col]!r} moves by a factor of {ratio[row, col]:.3g} on "
            f"{frame.index[row + 1].date()}: not a price series (a unit error, a wrong column?)"
        )


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


def check_stale(frame: pd.DataFrame) -> None:
    """Warn of series with ``STALE_RUN_ROWS`` or more identical prices in a row."""
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
