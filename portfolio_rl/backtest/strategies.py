"""What the walk-forward engine runs: anything that turns a price window into weights.

A strategy sees a window of prices that ends at the decision close t (``prices[t-window..t]``)
and the weights it currently holds (drifted); it cannot see later prices by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import simple_returns

if TYPE_CHECKING:
    from portfolio_rl.conventions.mandate import Limits


@runtime_checkable
class Strategy(Protocol):
    """The one contract of the engine: a ``name`` and ``decide(prices_window, prev_weights)``.

    `portfolio_rl.backtest.run_backtest` refuses anything else. Three attributes are
    optional, read through `uses_cash`, `failures_of` and `status_of` with their defaults:
    ``uses_cash`` (bool, default False: it sees the risky columns and holds no cash),
    ``failures`` (int, default 0: a count of failed solves; a rise during a decision means
    it failed and the engine keeps the previous weights) and ``status`` (str, the last
    solve's status, for the record of failures). A fourth, ``constrain(limits)``, takes a
    mandate's limits before the first decision
    ([`portfolio_rl.conventions.mandate.Limits`][]); a strategy without it is still checked
    against them at every rebalance.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.backtest import Strategy
    >>> class Hold60:  # any object with a name and decide() is a strategy
    ...     name = "60/40"
    ...     def decide(self, prices, prev_weights):
    ...         return np.array([0.6, 0.4])
    >>> isinstance(Hold60(), Strategy)
    True
    """

    name: str

    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """Target weights of shape (n_assets,) at the last date of ``prices``."""
        ...


def uses_cash(strategy: Strategy) -> bool:
    """Whether a strategy sets the cash weight itself (its optional ``uses_cash``)."""
    return bool(getattr(strategy, "uses_cash", False))


def failures_of(strategy: Strategy) -> int:
    """A strategy's count of failed solves (its optional ``failures``; 0 without one)."""
    return int(getattr(strategy, "failures", 0))


def status_of(strategy: Strategy) -> str:
    """The status of a strategy's last solve (its optional ``status``)."""
    return str(getattr(strategy, "status", "invalid weights"))


class BaselineStrategy:
    """Adapter of an estimator (``fit(returns, prev_weights)``, ``weights_``) to the engine.

    The estimator gets the window's daily simple returns ``P[s]/P[s-1] - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.backtest import BaselineStrategy
    >>> from portfolio_rl.baselines import InverseVolatility
    >>> from portfolio_rl.data import load_prices
    >>> window = load_prices("sp500", start="2019-01-01", end="2019-12-31")
    >>> weights = BaselineStrategy("iv", InverseVolatility()).decide(window, np.zeros(20))
    >>> weights.shape, round(float(weights.sum()), 6)
    ((20,), 1.0)
    """

    def __init__(self, name: str, model: Any) -> None:
        self.name, self.model = name, model
        self.uses_cash = bool(getattr(model, "uses_cash", False))

    def constrain(self, limits: Limits) -> None:
        """Solve (or project) with a mandate's limits from now on."""
        self.model.set_params(limits=limits)

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
