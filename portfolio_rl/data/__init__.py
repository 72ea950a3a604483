"""Price data: bundled and file sources, their checks, yfinance downloads and market paths.

Every source ends as one validated wide frame of adjusted closes: dates by assets,
strictly positive, no NaN.

Examples
--------
>>> from portfolio_rl.data import load_prices
>>> prices = load_prices("sp500", start="2020-01-01", end="2020-12-31")
>>> prices.index.name, prices.shape[1], bool((prices > 0).all().all())
('Date', 20, True)
"""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "BUNDLED": "portfolio_rl.data.sources",
        "DataConfig": "portfolio_rl.data.sources",
        "load_prices": "portfolio_rl.data.sources",
        "risk_free": "portfolio_rl.data.rates",
        "download_prices": "portfolio_rl.data.download",
        "validate_prices": "portfolio_rl.data.checks",
        "bootstrap_returns": "portfolio_rl.data.market_paths",
        "gbm_returns": "portfolio_rl.data.market_paths",
        "returns_to_prices": "portfolio_rl.data.market_paths",
    },
)
