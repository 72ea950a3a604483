"""Adjusted closes from yfinance, with a per-ticker parquet cache and bounded retries.

yfinance reports failed tickers and rate limits (``YFRateLimitError``) inconsistently: it
raises, or returns an empty frame, or a column of NaN. All three count as a failure here
and are retried with exponential backoff; the cache is per ticker, written atomically
(temporary file + rename), and records the date range it covers so that an identical
request never calls yfinance again and an extended request fetches only what is missing.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.errors import DataWarning, DownloadError
from portfolio_rl.plumbing.files import atomic_write, cache_dir, child_path

_META_KEY = b"portfolio_rl"
#: An extension of a cached range shorter than this may hold no trading day at all.
_SHORT_RANGE_DAYS = 7


def _yf_download(ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """``yfinance.download`` of one ticker, with its logging and printed noise kept quiet
    (failures are reported once, by `download_prices`)."""  # noqa: D205, D209
    import contextlib
    import io
    import logging

    import yfinance as yf

    logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        return yf.download(
            ticker,
            start=start.strftime("%Y-%m-%d"),
            end=end.strftime("%Y-%m-%d"),
            auto_adjust=True,
            multi_level_index=False,
            actions=False,
            progress=False,
            threads=False,
        )


def yahoo_reachable(timeout: float = 3.0) -> bool:
    """Whether Yahoo Finance's API host answers a TCP connection (asked only after every
    ticker failed, to tell "offline" from "no such ticker")."""  # noqa: D205, D209
    import socket

    try:
        with socket.create_connection(("query1.finance.yahoo.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _close_column(frame: Any) -> pd.Series | None:
    """The adjusted close of a yfinance frame, or None when it holds no usable price."""
    if not isinstance(frame, pd.DataFrame) or frame.empty or "Close" not in frame.columns:
        return None
    close = frame["Close"]
    if isinstance(close, pd.DataFrame):  # a MultiIndex slipped through
        close = close.iloc[:, 0]
    close = pd.to_numeric(close, errors="coerce").dropna()
    close = close[close > 0]
    if close.empty:
        return None
    index = pd.to_datetime(close.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    close.index = index.normalize().rename("Date")
    return close.astype(float)


def _fetch(
    ticker: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    downloader: Callable[..., Any],
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> tuple[pd.Series | None, str]:
    """One ticker and range, retried; returns (close or None, last failure reason)."""
    reason = "empty result"
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(backoff * 2 ** (attempt - 1), 60.0))
        try:
            close = _close_column(downloader(ticker, start, end))
        except Exception as exc:  # yfinance raises many types, rate limits among them
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            continue
        if close is not None:
            return close, ""
        reason = "empty or all-NaN result"
    return None, reason


#: The cache format: a file written by another version is fetched again, never trusted (an
#: older version could record days it never received).
_CACHE_VERSION = 2


def _read_cache(path: Path) -> tuple[pd.Series, pd.Timestamp, pd.Timestamp] | str | None:
    """The cached closes and the range they cover; None if absent or of another version,
    and a sentence when the file does not hold what it claims (it is fetched again)."""  # noqa: D205, D209
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[_META_KEY])
        if meta.get("version") != _CACHE_VERSION:
            return None
        close = table.to_pandas()["Close"]
        start, end = pd.Timestamp(meta["start"]), pd.Timestamp(meta["end"])
    except Exception:  # an unreadable cache is refetched, never trusted
        return "the cache file cannot be read"
    problem = _coverage_problem(close, start, end)
    if problem:
        return f"the cache claims {start.date()}..{end.date()} but {problem}"
    return close, start, end


def _coverage_problem(close: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """Why ``close`` does not cover ``[start, end)`` as a daily series ('' when it does).

    A daily close has a row on nearly every weekday (exchange holidays are under 4% of
    them), from the first weekdays of the range to its last.
    """
    if close.empty or not isinstance(close.index, pd.DatetimeIndex) or start >= end:
        return "holds no rows"
    if close.isna().any() or not (close.to_numpy() > 0).all():
        return "holds missing or non-positive prices"
    if not close.index.is_monotonic_increasing or close.index.has_duplicates:
        return "its dates are out of order"
    weekdays = len(pd.bdate_range(start, end - pd.Timedelta(days=1)))
    inside = close.loc[start : end - pd.Timedelta(days=1)]
    if len(inside) < 0.9 * weekdays - 3:
        return f"holds {len(inside)} rows for {weekdays} weekdays"
    if inside.empty or _weekdays(start, inside.index[0]) > 3:
        return "its rows start late"
    if _weekdays(inside.index[-1] + pd.Timedelta(days=1), end) > 3:
        return f"its rows end on {inside.index[-1].date()}"
    return ""


def _write_cache(path: Path, close: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(close.rename("Close").to_frame())
    meta = dict(table.schema.metadata or {})
    record = {"start": str(start.date()), "end": str(end.date()), "version": _CACHE_VERSION}
    meta[_META_KEY] = json.dumps(record).encode()
    table = table.replace_schema_metadata(meta)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def download_prices(
    tickers: Iterable[str],
    start: str,
    end: str,
    *,
    cache: str | Path | None = None,
    drop_missing: bool = False,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Callable[..., None] | None = None,
    downloader: Callable[..., Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Adjusted daily closes for ``tickers`` over ``[start, end)``, through the cache.

    Parameters
    ----------
    tickers : iterable of str
        Yahoo tickers; each becomes a cache file name, so path characters are refused.
    start, end : str
        ``YYYY-MM-DD``; ``end`` is exclusive, as in yfinance.
    cache : str or Path, optional
        Cache folder (default: see `portfolio_rl.plumbing.files.cache_dir`).
    drop_missing : bool
        Drop tickers with no data (with a warning) instead of failing.
    retries : int
        Retries after the first try, with backoff ``backoff * 2**k`` seconds (at most 60 s).
    progress : callable, optional
        ``progress(done, total, figures)`` after each ticker (the console draws a bar).
    downloader : callable, optional
        Stand-in for ``yfinance.download`` in tests: ``downloader(ticker, start, end)``.
    sleep : callable
        Stand-in for ``time.sleep`` in tests.

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers)
        Raw (not yet validated) closes, NaN where a ticker has no row on a date.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from portfolio_rl.data import download_prices
    >>> def stand_in(ticker, start, end):  # yfinance.download's answer, offline
    ...     days = pd.bdate_range(start, end - pd.Timedelta(days=1))
    ...     return pd.DataFrame({"Close": range(1, len(days) + 1)}, index=days, dtype=float)
    >>> frame = download_prices(["AAA", "BBB"], "2021-01-01", "2021-02-01",
    ...                         cache=tempfile.mkdtemp(), downloader=stand_in)
    >>> frame.shape
    (21, 2)
    """
    tickers = list(dict.fromkeys(t.strip().upper() for t in tickers if t.strip()))
    if not tickers:
        raise DownloadError("no tickers given")
    try:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise DownloadError(f"unparseable date: {exc}") from None
    if lo >= hi:
        raise DownloadError(f"start {start} must be before end {end}")
    folder = cache_dir(cache)
    paths = {t: child_path(folder, t, ".parquet", what="ticker") for t in tickers}
    fetch = downloader or _yf_download
    kwargs = dict(downloader=fetch, retries=retries, backoff=backoff, sleep=sleep)

    closes: dict[str, pd.Series] = {}
    failed: dict[str, str] = {}
    for i, ticker in enumerate(tickers):
        series, reason = _ticker_through_cache(ticker, lo, hi, paths[ticker], kwargs)
        if series is None:
            failed[ticker] = reason
        else:
            closes[ticker] = series
        if progress is not None:
            progress(i + 1, len(tickers), ticker)

    if failed:
        detail = "; ".join(f"{t} ({r})" for t, r in failed.items())
        if not closes and downloader is None and not yahoo_reachable():
            raise DownloadError(
                "Yahoo Finance could not be reached (no network?); use a bundled dataset "
                "(--prices sp500, industries49) or a CSV file"
            )
        if not drop_missing or not closes:
            names = ", ".join(failed)
            raise DownloadError(f"no data for {names} after {retries} retries: {detail}")
        warnings.warn(f"dropped tickers with no data: {detail}", DataWarning, stacklevel=2)
    frame = pd.DataFrame(closes)
    frame.index.name = "Date"
    return frame.sort_index()


def _covered_until(received: pd.Series, requested_end: pd.Timestamp) -> pd.Timestamp:
    """The exclusive end of what a fetch really covers: the requested end when only a
    weekend follows the last day received, else the day after it (a truncated or
    rate-limited answer is fetched again next time); never past today (later days do not
    exist yet)."""  # noqa: D205, D209
    today = pd.Timestamp.today().normalize()
    after_last = received.index[-1] + pd.Timedelta(days=1)
    weekdays_missing = len(pd.bdate_range(after_last, requested_end - pd.Timedelta(days=1)))
    return min(today, requested_end if weekdays_missing == 0 else after_last)


def _covered_from(received: pd.Series, requested_start: pd.Timestamp) -> pd.Timestamp:
    """The start of what a fetch really covers: the requested start when only a weekend
    comes before the first day received, else that first day (an answer that starts late
    covers nothing before it)."""  # noqa: D205, D209
    first = received.index[0]
    weekdays_missing = len(pd.bdate_range(requested_start, first - pd.Timedelta(days=1)))
    return requested_start if weekdays_missing == 0 else first


def _weekdays(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Weekdays in ``[a, b)``."""
    return len(pd.bdate_range(a, b - pd.Timedelta(days=1))) if a < b else 0


def _short(a: pd.Timestamp, b: pd.Timestamp) -> bool:
    """A gap of a few days (a weekend and a holiday), not a hole in the data."""
    return (b - a).days < _SHORT_RANGE_DAYS


def _ticker_through_cache(
    ticker: str, lo: pd.Timestamp, hi: pd.Timestamp, path: Path, kwargs: dict[str, Any]
) -> tuple[pd.Series | None, str]:
    """One ticker over ``[lo, hi)`` through its cache file.

    The cache records exactly the one range it received, without holes: a first answer
    from the day it starts (not from the day asked), an extension only when it joins the
    cached range (an answer that stops short of it, or starts after it, is refused and
    nothing is recorded), each good extension written before the next is fetched.
    """
    cached = _read_cache(path)
    if cached is None or isinstance(cached, str):
        close, reason = _fetch(ticker, lo, hi, **kwargs)
        if close is None:
            return None, reason if cached is None else f"{cached}; fetching again: {reason}"
        _write_cache(path, close, _covered_from(close, lo), _covered_until(close, hi))
        return close.loc[lo : hi - pd.Timedelta(days=1)], ""

    close, c_lo, c_hi = cached
    if lo < c_lo:  # earlier: the new piece must reach the cached start
        extra, reason = _fetch(ticker, lo, c_lo, **kwargs)
        if extra is None:
            if _weekdays(lo, c_lo):  # a failed fetch is never a harmless gap
                return None, f"{lo.date()}..{c_lo.date()} is not cached: {reason}"
        elif not _short(_covered_until(extra, c_lo), c_lo):
            end = extra.index[-1].date()
            return None, f"the answer for {lo.date()}..{c_lo.date()} stops at {end}: a hole"
        else:
            close = pd.concat([extra, close])
            close = close[~close.index.duplicated(keep="last")].sort_index()
            c_lo = _covered_from(extra, lo)
            _write_cache(path, close, c_lo, c_hi)
    if hi > c_hi:  # later: the new piece must start where the cache ends
        extra, reason = _fetch(ticker, c_hi, hi, **kwargs)
        if extra is None:
            today = pd.Timestamp.today().normalize()  # today's close may not exist yet
            if _weekdays(c_hi, min(hi, today)):
                return None, f"{c_hi.date()}..{hi.date()} is not cached: {reason}"
        elif not _short(c_hi, _covered_from(extra, c_hi)):
            start = extra.index[0].date()
            return None, f"the answer for {c_hi.date()}..{hi.date()} starts at {start}: a hole"
        else:
            close = pd.concat([close, extra])
            close = close[~close.index.duplicated(keep="last")].sort_index()
            c_hi = _covered_until(extra, hi)
            _write_cache(path, close, c_lo, c_hi)
    out = close.loc[lo : hi - pd.Timedelta(days=1)]
    return (out, "") if not out.empty else (None, "no rows in the requested range")


def check_output(path: str | Path) -> Path:
    """Refuse an output path that ``write_prices`` cannot write, before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise DownloadError(f"{path} is a folder: give a file ending .csv, .csv.gz or .parquet")
    if not path.name.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz")):
        raise DownloadError(f"unsupported output type {path.name!r}: use .csv, .csv.gz or .parquet")
    return path


def write_prices(prices: pd.DataFrame, path: str | Path) -> Path:
    """Write a price frame atomically; the format follows the extension (csv or parquet)."""
    path = check_output(path)
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        atomic_write(path, lambda tmp: prices.to_parquet(tmp))
    else:
        compression = "gzip" if name.endswith(".gz") else None
        atomic_write(path, lambda tmp: prices.to_csv(tmp, compression=compression))
    return path
