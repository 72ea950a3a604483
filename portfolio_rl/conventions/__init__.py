"""Conventions shared by every layer: the market and cost model, features, measures, rewards.

Examples
--------
>>> import numpy as np
>>> from portfolio_rl.conventions import rebalance
>>> turnover, cost = rebalance(np.array([0.5, 0.5]), np.array([1.0, 0.0]), cost_bps=10.0)
>>> float(turnover), round(float(cost), 6)
(1.0, 0.001)
"""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "PERIODS": "portfolio_rl.conventions.market",
        "hold": "portfolio_rl.conventions.market",
        "rebalance": "portfolio_rl.conventions.market",
        "simple_returns": "portfolio_rl.conventions.market",
        "FEATURE_NAMES": "portfolio_rl.conventions.features",
        "asset_features": "portfolio_rl.conventions.features",
        "observation": "portfolio_rl.conventions.features",
        "REWARDS": "portfolio_rl.conventions.rewards",
        "sharpe": "portfolio_rl.conventions.measures",
        "max_drawdown": "portfolio_rl.conventions.measures",
        "cvar": "portfolio_rl.conventions.measures",
        "Mandate": "portfolio_rl.conventions.mandate",
        "Limits": "portfolio_rl.conventions.mandate",
        "project": "portfolio_rl.conventions.mandate",
    },
)
