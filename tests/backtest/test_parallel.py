import numpy as np
import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.parallel import run_backtest_in_processes
from portfolio_rl.backtest.runner import build_baselines


class FailsInOddMonths:
    """A strategy (in this process) that raises on every other rebalance."""

    name = "flaky"

    def decide(self, window: pd.DataFrame, prev: np.ndarray) -> np.ndarray:
        if window.index[-1].month % 2:
            raise RuntimeError("no answer")
        return np.full(window.shape[1], 1.0 / window.shape[1])


def test_baselines_in_worker_processes_give_the_one_process_result_bit_for_bit():
    from portfolio_rl.data import load_prices

    prices = load_prices("sp500", start="2015-01-01", end="2017-12-31")
    benchmark = prices.mean(axis=1)
    config = BacktestConfig(start="2016-01-04", cost_bps=10)
    names = ["equal_weight", "min_variance", "risk_parity", "inverse_vol"]
    ticks = []
    split = run_backtest_in_processes(
        prices,
        build_baselines(names, config=config),
        [FailsInOddMonths()],
        config,
        benchmark,
        progress=lambda k, n: ticks.append((k, n)),
        workers=2,
    )
    one = run_backtest(
        prices, [*build_baselines(names, config=config), FailsInOddMonths()], config, benchmark
    )
    pd.testing.assert_frame_equal(split.returns, one.returns, check_exact=True)
    pd.testing.assert_frame_equal(split.turnover, one.turnover, check_exact=True)
    pd.testing.assert_frame_equal(split.costs, one.costs, check_exact=True)
    pd.testing.assert_frame_equal(split.failures, one.failures)
    assert list(split.weights) == list(one.weights)
    for name in one.weights:
        pd.testing.assert_frame_equal(split.weights[name], one.weights[name], check_exact=True)
    assert len(one.failures) > 0 and ticks[-1][0] == ticks[-1][1]  # the bar reaches its end
