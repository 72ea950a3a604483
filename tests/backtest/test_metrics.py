import numpy as np
import pandas as pd
import pytest

from portfolio_rl.backtest.metrics import MEASURES, compute_metrics


def test_compute_metrics_turnover_and_costs():
    idx = pd.bdate_range("2020-01-01", periods=504)
    rets = pd.DataFrame({"a": np.full(504, 0.001)}, index=idx)
    turnover = pd.DataFrame({"a": np.full(24, 0.5)})
    costs = pd.DataFrame({"a": np.full(24, 0.0005)})
    out = compute_metrics(rets, turnover, costs)
    assert out.loc["a", "turnover"] == pytest.approx(0.5 * 0.5 * 24 / 2)
    assert out.loc["a", "avg_cost"] == pytest.approx(0.0005 * 24 / 2)
    assert list(out.columns) == list(MEASURES)
