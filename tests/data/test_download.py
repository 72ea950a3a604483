import numpy as np
import pandas as pd
import pytest

from portfolio_rl.data import download as dl
from portfolio_rl.data.download import download_prices, write_prices
from portfolio_rl.errors import DataWarning, DownloadError


class YFRateLimitError(Exception):
    """Same name as yfinance's rate-limit exception."""


class FakeYahoo:
    """Stand-in for yfinance.download: a scripted answer per call, a log of calls."""

    def __init__(self, script=None):
        self.calls = []
        self.script = dict(script or {})  # ticker -> list of behaviours, consumed in order

    def __call__(self, ticker, start, end):
        self.calls.append((ticker, start, end))
        plan = self.script.get(ticker, [])
        behaviour = plan.pop(0) if plan else "good"
        if behaviour == "raise":
            raise YFRateLimitError("Too Many Requests. Rate limited. Try after a while.")
        if behaviour == "empty":
            return pd.DataFrame()
        idx = pd.bdate_range(start, end - pd.Timedelta(days=1), name="Date")
        close = 100 + np.arange(len(idx), dtype=float) + (idx.day_of_year.to_numpy() / 1000)
        if behaviour == "nan":
            close = np.full(len(idx), np.nan)
        return pd.DataFrame({"Open": close, "Close": close, "Volume": 1.0}, index=idx)


def run(fake, tickers=("AAA",), start="2021-01-01", end="2021-03-01", **kw):
    sleeps = []
    frame = download_prices(tickers, start, end, downloader=fake, sleep=sleeps.append, **kw)
    return frame, sleeps


def test_good_download_and_cache_hit(tmp_path):
    fake = FakeYahoo()
    frame, _ = run(fake, ("AAA", "BBB"), cache=tmp_path)
    assert list(frame.columns) == ["AAA", "BBB"]
    assert frame.index[0] == pd.Timestamp("2021-01-01")
    assert frame.index[-1] < pd.Timestamp("2021-03-01")
    assert len(fake.calls) == 2
    again, _ = run(fake, ("AAA", "BBB"), cache=tmp_path)
    assert len(fake.calls) == 2, "an identical request must not call yfinance"
    pd.testing.assert_frame_equal(frame, again, check_freq=False)


def test_extension_fetches_only_missing_range(tmp_path):
    fake = FakeYahoo()
    run(fake, cache=tmp_path)
    frame, _ = run(fake, start="2020-12-01", end="2021-04-01", cache=tmp_path)
    assert [(c[1], c[2]) for c in fake.calls[1:]] == [
        (pd.Timestamp("2020-12-01"), pd.Timestamp("2021-01-01")),
        (pd.Timestamp("2021-03-01"), pd.Timestamp("2021-04-01")),
    ]
    assert frame.index[0] == pd.Timestamp("2020-12-01")
    assert frame.index.is_unique
    run(fake, start="2021-01-15", end="2021-02-15", cache=tmp_path)
    assert len(fake.calls) == 3


@pytest.mark.parametrize("failure", ["raise", "empty", "nan"])
def test_failures_are_retried_with_backoff(tmp_path, failure):
    fake = FakeYahoo({"AAA": [failure, failure]})
    frame, sleeps = run(fake, cache=tmp_path, retries=3, backoff=0.5)
    assert len(fake.calls) == 3
    assert sleeps == [0.5, 1.0]
    assert frame["AAA"].notna().all()


def test_persistent_failure_names_the_ticker(tmp_path):
    fake = FakeYahoo({"BAD": ["raise"] * 10})
    with pytest.raises(DownloadError, match=r"no data for BAD after 2 retries.*YFRateLimitError"):
        run(fake, ("AAA", "BAD"), cache=tmp_path, retries=2)
    assert not (tmp_path / "BAD.parquet").exists()


def test_drop_missing_warns_and_keeps_the_rest(tmp_path):
    fake = FakeYahoo({"BAD": ["empty"] * 10})
    with pytest.warns(DataWarning, match="dropped tickers with no data: BAD"):
        frame, _ = run(fake, ("AAA", "BAD"), cache=tmp_path, retries=1, drop_missing=True)
    assert list(frame.columns) == ["AAA"]


def test_backoff_is_bounded(tmp_path):
    fake = FakeYahoo({"AAA": ["raise"] * 9})
    _, sleeps = run(fake, cache=tmp_path, retries=9, backoff=1.0)
    assert max(sleeps) == 60.0


def test_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    def crash(table, path, *a, **k):
        with open(path, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        run(FakeYahoo(), cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cache_is_refetched(tmp_path):
    fake = FakeYahoo()
    run(fake, cache=tmp_path)
    (tmp_path / "AAA.parquet").write_bytes(b"garbage")
    frame, _ = run(fake, cache=tmp_path)
    assert len(fake.calls) == 2 and not frame.empty


def test_ticker_with_path_characters_is_refused(tmp_path):
    with pytest.raises(Exception, match="invalid ticker"):
        run(FakeYahoo(), ("../../etc/passwd",), cache=tmp_path)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTFOLIO_RL_CACHE", str(tmp_path / "envcache"))
    run(FakeYahoo())
    assert (tmp_path / "envcache" / "AAA.parquet").is_file()


def test_real_yfinance_call_is_explicit(monkeypatch):
    import yfinance

    seen = {}

    def fake_download(ticker, **kwargs):
        seen.update(kwargs, ticker=ticker)
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", fake_download)
    dl._yf_download("AAA", pd.Timestamp("2021-01-01"), pd.Timestamp("2021-02-01"))
    assert seen["auto_adjust"] is True and seen["multi_level_index"] is False
    assert seen["start"] == "2021-01-01" and seen["end"] == "2021-02-01"


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_write_prices_by_extension(tmp_path, toy_prices, suffix):
    from portfolio_rl.data.sources import load_prices

    path = write_prices(toy_prices, tmp_path / f"out{suffix}")
    np.testing.assert_allclose(load_prices(path).to_numpy(), toy_prices.to_numpy())
    with pytest.raises(DownloadError, match="unsupported output"):
        write_prices(toy_prices, tmp_path / "out.xlsx")


def cached_range(tmp_path, ticker="AAA"):
    import json

    import pyarrow.parquet as pq

    schema = pq.read_table(tmp_path / f"{ticker}.parquet").schema
    meta = json.loads(schema.metadata[b"portfolio_rl"])
    return meta["start"], meta["end"]


def test_a_failed_short_extension_is_an_error_and_not_recorded_as_covered(tmp_path):
    fake = FakeYahoo({"AAA": ["good", "raise", "raise"]})
    run(fake, end="2021-03-01", cache=tmp_path, retries=1)  # to Friday 2021-02-26
    with pytest.raises(DownloadError, match=r"2021-03-01\.\.2021-03-05 is not cached"):
        run(fake, end="2021-03-05", cache=tmp_path, retries=1)  # Mon-Thu, rate-limited
    assert cached_range(tmp_path) == ("2021-01-01", "2021-03-01")
    frame, _ = run(fake, end="2021-03-05", cache=tmp_path)  # a good retry gets the four days
    assert frame.index[-1] == pd.Timestamp("2021-03-04") and len(frame) == 45


def test_a_truncated_answer_is_cached_as_partial_and_fetched_again(tmp_path):
    class Truncated(FakeYahoo):
        def __call__(self, ticker, start, end):
            frame = super().__call__(ticker, start, end)
            return frame.iloc[:-10] if len(self.calls) == 1 else frame

    fake = Truncated()
    first, _ = run(fake, cache=tmp_path)
    assert cached_range(tmp_path)[1] == str((first.index[-1] + pd.Timedelta(days=1)).date())
    again, _ = run(fake, cache=tmp_path)
    assert len(fake.calls) == 2 and len(again) == len(first) + 10


def test_a_future_end_is_never_recorded_as_covered(tmp_path):
    fake = FakeYahoo()
    tomorrow = pd.Timestamp.today().normalize() + pd.Timedelta(days=30)
    run(fake, start="2024-01-01", end=str(tomorrow.date()), cache=tmp_path)
    assert pd.Timestamp(cached_range(tmp_path)[1]) <= pd.Timestamp.today().normalize()


class Window(FakeYahoo):
    """A source that only has the days in ``[have_lo, have_hi)`` (or fails when told to)."""

    def __init__(self, have_lo, have_hi, fail=False):
        super().__init__()
        self.have = (pd.Timestamp(have_lo), pd.Timestamp(have_hi))
        self.fail = fail

    def __call__(self, ticker, start, end):
        if self.fail:
            raise YFRateLimitError("Too Many Requests")
        lo, hi = max(start, self.have[0]), min(end, self.have[1])
        if lo >= hi:
            self.calls.append((ticker, start, end))
            return pd.DataFrame()
        return super().__call__(ticker, lo, hi)


def cache_range(tmp_path):
    cached = dl._read_cache(tmp_path / "AAA.parquet")
    return None if cached is None else (str(cached[1].date()), str(cached[2].date()))


def offline(tmp_path, start, end):
    return run(
        Window("2000-01-01", "2000-01-02", fail=True),
        start=start,
        end=end,
        cache=tmp_path,
        retries=0,
    )


def test_an_earlier_answer_that_stops_short_is_refused_and_not_recorded(tmp_path):
    """The issue's case: cached June-December, asked from January, the source answers January."""
    run(Window("2020-06-01", "2021-01-01"), start="2020-06-01", end="2020-12-31", cache=tmp_path)
    before = cache_range(tmp_path)
    with pytest.raises(DownloadError, match="stops at 2020-01-31: a hole"):
        run(
            Window("2020-01-01", "2020-02-01"),
            start="2020-01-01",
            end="2020-12-31",
            cache=tmp_path,
            retries=0,
        )
    assert cache_range(tmp_path) == before == ("2020-06-01", "2020-12-31")
    with pytest.raises(DownloadError):  # offline, the hole is an error, never an answer
        offline(tmp_path, "2020-01-01", "2020-12-31")
    frame, _ = offline(tmp_path, "2020-06-01", "2020-12-31")  # what was received is served
    assert frame.index[0] == pd.Timestamp("2020-06-01")


def test_a_later_answer_that_starts_late_is_refused(tmp_path):
    run(Window("2020-01-01", "2021-01-01"), start="2020-01-01", end="2020-03-02", cache=tmp_path)
    with pytest.raises(DownloadError, match="starts at 2020-06-01: a hole"):
        run(
            Window("2020-06-01", "2021-01-01"),
            start="2020-01-01",
            end="2020-12-31",
            cache=tmp_path,
            retries=0,
        )
    assert cache_range(tmp_path) == ("2020-01-01", "2020-03-02")


def test_earlier_later_and_both_extend_one_range(tmp_path):
    source = Window("2019-01-01", "2022-01-01")
    run(source, start="2020-03-02", end="2020-06-01", cache=tmp_path)
    run(source, start="2020-01-01", end="2020-06-01", cache=tmp_path)  # earlier
    assert cache_range(tmp_path) == ("2020-01-01", "2020-06-01")
    run(source, start="2020-01-01", end="2020-09-01", cache=tmp_path)  # later
    assert cache_range(tmp_path) == ("2020-01-01", "2020-09-01")
    frame, _ = run(source, start="2019-06-03", end="2020-12-01", cache=tmp_path)  # both
    assert cache_range(tmp_path) == ("2019-06-03", "2020-12-01")
    assert len(frame) == len(pd.bdate_range("2019-06-03", "2020-11-30"))
    calls = len(source.calls)
    offline(tmp_path, "2019-06-03", "2020-12-01")  # all received: served from the cache
    assert len(source.calls) == calls


def test_a_first_answer_that_starts_late_is_recorded_from_its_first_day(tmp_path):
    frame, _ = run(
        Window("2020-04-01", "2021-01-01"), start="2020-01-01", end="2020-12-31", cache=tmp_path
    )
    assert frame.index[0] == pd.Timestamp("2020-04-01")
    assert cache_range(tmp_path) == ("2020-04-01", "2020-12-31")
    with pytest.raises(DownloadError):
        offline(tmp_path, "2020-01-01", "2020-12-31")


def test_a_short_answer_is_recorded_to_its_last_day(tmp_path):
    run(Window("2020-01-01", "2020-05-01"), start="2020-01-01", end="2020-12-31", cache=tmp_path)
    assert cache_range(tmp_path) == ("2020-01-01", "2020-05-01")  # the day after April 30


def test_a_failure_in_the_middle_keeps_the_good_part(tmp_path):
    """Earlier succeeds, later fails: the earlier piece is recorded, then the error."""
    run(Window("2019-01-01", "2022-01-01"), start="2020-03-02", end="2020-06-01", cache=tmp_path)

    class EarlierOnly(Window):
        def __call__(self, ticker, start, end):
            self.fail = start >= pd.Timestamp("2020-06-01")
            return super().__call__(ticker, start, end)

    with pytest.raises(DownloadError, match="no data for AAA"):
        run(
            EarlierOnly("2019-01-01", "2022-01-01"),
            start="2020-01-01",
            end="2020-12-31",
            cache=tmp_path,
            retries=0,
        )
    assert cache_range(tmp_path) == ("2020-01-01", "2020-06-01")


def test_a_cache_of_an_older_format_is_fetched_again(tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    close = pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-02", "2020-01-03"]), name="Close")
    table = pa.Table.from_pandas(close.to_frame())
    meta = {dl._META_KEY: json.dumps({"start": "2020-01-01", "end": "2020-12-31"}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "AAA.parquet")
    assert cache_range(tmp_path) is None  # untrusted: it may record days never received


def test_a_cache_that_holds_less_than_it_claims_is_fetched_again_or_refused(tmp_path):
    from portfolio_rl.data.download import _write_cache

    fake = FakeYahoo()
    full, _ = run(fake, start="2015-01-01", end="2020-12-31", cache=tmp_path)
    path = tmp_path / "AAA.parquet"
    _write_cache(path, full.iloc[:10, 0], pd.Timestamp("2015-01-01"), pd.Timestamp("2020-12-31"))
    again, _ = run(fake, start="2015-01-01", end="2020-12-31", cache=tmp_path)
    assert len(again) == len(full)  # fetched again, not served as five years
    _write_cache(path, full.iloc[:10, 0], pd.Timestamp("2015-01-01"), pd.Timestamp("2020-12-31"))
    offline = FakeYahoo({"AAA": ["raise"] * 10})
    with pytest.raises(DownloadError, match=r"cache claims 2015-01-01\.\.2020-12-31 but holds 10"):
        run(offline, start="2015-01-01", end="2020-12-31", cache=tmp_path, retries=1)
