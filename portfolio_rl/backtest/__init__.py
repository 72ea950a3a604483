"""The walk-forward backtest: one engine for every strategy, its metrics and its statistics.

Examples
--------
>>> from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, compute_metrics
>>> from portfolio_rl.backtest import run_backtest
>>> from portfolio_rl.baselines import EqualWeight, MinVariance
>>> from portfolio_rl.data import load_prices
>>> prices = load_prices("sp500", start="2015-01-01", end="2018-12-31")
>>> strategies = [BaselineStrategy("1/N", EqualWeight()), BaselineStrategy("mv", MinVariance())]
>>> result = run_backtest(prices, strategies, BacktestConfig(start="2017-01-01"))
>>> metrics = compute_metrics(result.returns, result.turnover, result.costs)
>>> metrics.index.tolist(), bool(metrics.loc["mv", "ann_vol"] < metrics.loc["1/N", "ann_vol"])
(['1/N', 'mv'], True)
"""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "BacktestConfig": "portfolio_rl.backtest.engine",
        "BacktestResult": "portfolio_rl.backtest.engine",
        "run_backtest": "portfolio_rl.backtest.engine",
        "BaselineStrategy": "portfolio_rl.backtest.strategies",
        "Strategy": "portfolio_rl.backtest.strategies",
        "compute_metrics": "portfolio_rl.backtest.metrics",
        "compute_stats": "portfolio_rl.backtest.stats",
        "hac_sharpe_test": "portfolio_rl.backtest.stats",
    },
)
