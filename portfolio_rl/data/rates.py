"""The daily risk-free rate: what cash earns and what Sharpe and Sortino are in excess of."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.data.checks import date_index, read_file
from portfolio_rl.data.sources import (
    BUNDLED,
    BUNDLED_RF,
    check_source,
    flat_rate,
    on_days,
    ticker_series,
)
from portfolio_rl.errors import DataError
from portfolio_rl.plumbing.files import data_dir

if TYPE_CHECKING:
    from portfolio_rl.data.sources import DataConfig


def risk_free(data: DataConfig, index: pd.DatetimeIndex, annual_rate: float = 0.0) -> pd.Series:
    """The daily risk-free rate on ``index``: the dataset's own series, else ``annual_rate``.

    The same series is what cash earns, what Sharpe and Sortino are in excess of, and what
    the report shows. A bundled series is forward-filled over dates it lacks and, before its
    first date, set to its first value (the French ``RF`` starts in 1970, the industry
    returns in July 1969).

    Returns
    -------
    Series of daily simple rates, named ``rf``

    Examples
    --------
    >>> import pandas as pd
    >>> from portfolio_rl.data import DataConfig, risk_free
    >>> days = pd.bdate_range("2020-01-01", periods=3)
    >>> risk_free(DataConfig(prices="sp500"), days, annual_rate=0.02).round(6).tolist()
    [7.9e-05, 7.9e-05, 7.9e-05]
    """
    if data.risk_free is not None:
        rate = flat_rate(data.risk_free)
        if rate is not None:
            return pd.Series((1.0 + rate) ** (1.0 / PERIODS) - 1.0, index=index, name="rf")
        return _cover(_daily_series(data, index), index, data)
    spec = BUNDLED.get(data.prices) if not data.tickers else None
    if spec is None or spec.risk_free_file is None:
        rate = (1.0 + annual_rate) ** (1.0 / PERIODS) - 1.0
        return pd.Series(rate, index=index, name="rf")
    daily = _bundled_rf(spec.risk_free_file, spec.risk_free_column)
    return on_days(daily, index).bfill().rename("rf")


def _bundled_rf(file: str, column: str) -> pd.Series:
    raw = date_index(read_file(data_dir() / file))
    return raw[column].astype(float) / 100.0


def _daily_series(data: DataConfig, index: pd.DatetimeIndex) -> pd.Series:
    """The daily simple rates of ``data.risk_free``: bundled, a file or a ticker."""
    source = str(data.risk_free)
    if source in BUNDLED_RF:
        return _bundled_rf(*BUNDLED_RF[source])
    units = data.risk_free_units
    if Path(source).suffix:
        check_source(source)
        frame = date_index(read_file(Path(source)))
        columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if len(columns) != 1:
            raise DataError(
                f"risk-free file {source}: give a date column and one rate column, "
                f"found {list(frame.columns)}"
            )
        rates = frame[columns[0]].astype(float).dropna()
    else:
        rates = ticker_series(source, index)
        units = units or "annual_percent"  # Yahoo quotes T-bill yields in annual percent
    if units == "annual_percent":
        return (1.0 + rates / 100.0) ** (1.0 / PERIODS) - 1.0
    return rates


def _cover(daily: pd.Series, index: pd.DatetimeIndex, data: DataConfig) -> pd.Series:
    """``daily`` on ``index``, forward-filled over holidays; a series that misses part of
    the prices' range (a gap of more than a week, or a start or end beyond one) is an
    error naming it, unless ``data.risk_free_fill``."""  # noqa: D205, D209
    daily = daily[~daily.index.duplicated(keep="last")].sort_index()
    if daily.empty:
        raise DataError(f"the risk-free series {data.risk_free} holds no rates")
    if not data.risk_free_fill:
        week = pd.Timedelta(days=7)
        inside = daily.loc[index[0] - week : index[-1]]
        edges = pd.DatetimeIndex([index[0] - week, *inside.index, index[-1]])
        gaps = edges[1:] - edges[:-1]
        if len(inside) == 0 or (gaps > week).any():
            k = int(np.argmax(gaps > week)) if len(inside) else 0
            lo, hi = (edges[k], edges[k + 1]) if len(inside) else (index[0], index[-1])
            raise DataError(
                f"the risk-free series {data.risk_free} has no rates from {lo.date()} to "
                f"{hi.date()} inside the prices' range {index[0].date()}..{index[-1].date()}; "
                "give a longer series or set data.risk_free_fill: true"
            )
    return on_days(daily, index).bfill().rename("rf")
