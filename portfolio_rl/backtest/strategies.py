"""What the walk-forward engine runs: anything that turns a price window into weights.

A strategy sees a window of prices that ends at the decision close t (``prices[t-window..t]``)
and the weights it currently holds (drifted); it cannot see later prices by construction.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import simple_returns


class Strategy(Protocol):
    """The interface of the engine: ``decide(prices_window, prev_weights) -> weights``."""

    name: str

    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """Target weights of shape (n_assets,) at the last date of ``prices``."""
        ...


class BaselineStrategy:
    """Adapter of an estimator (``fit(returns, prev_weights)``, ``weights_``) to the engine.

    The estimator gets the window's daily simple returns ``P[s]/P[s-1] - 1``.
    """

    def __init__(self, name: str, model: Any) -> None:
        self.name, self.model = name, model
        self.uses_cash = bool(getattr(model, "uses_cash", False))

    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """Fit the estimator on the window's returns and return its weights."""
        self.model.fit(simple_returns(prices.to_numpy())[1:], prev_weights)
        return np.asarray(self.model.weights_, dtype=float)

    @property
    def failures(self) -> int:
        """Solves that failed and kept the previous weights."""
        return int(getattr(self.model, "n_failures_", 0))

    @property
    def status(self) -> str:
        """Status of the last solve."""
        return str(getattr(self.model, "last_status_", "optimal"))
