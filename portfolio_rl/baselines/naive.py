"""Allocations without an optimiser: equal weight, inverse volatility, momentum, the
benchmark, and a volatility target around any baseline."""  # noqa: D205, D209

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portfolio_rl.baselines.base import BaseModel
from portfolio_rl.conventions.market import PERIODS


@dataclass(eq=False, repr=False)
class EqualWeight(BaseModel):
    """1/N: equal weights, rebalanced (DeMiguel, Garlappi & Uppal 2009).

    References
    ----------
    DeMiguel, V., Garlappi, L. & Uppal, R. (2009). Optimal versus naive diversification:
    how inefficient is the 1/N portfolio strategy? Review of Financial Studies 22(5).

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import EqualWeight
    >>> weights = EqualWeight().fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    name = "equal_weight"

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        return np.full(x.shape[1], 1.0 / x.shape[1])


@dataclass(eq=False, repr=False)
class InverseVolatility(BaseModel):
    """Weights proportional to ``1 / sigma_i``, the sample std (ddof=1) of the window.

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import InverseVolatility
    >>> weights = InverseVolatility().fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    name = "inverse_vol"

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        vol = x.std(axis=0, ddof=1)
        vol = np.where(vol > 0, vol, np.nan)
        inv = np.nan_to_num(1.0 / vol, nan=0.0)
        if inv.sum() <= 0:
            return np.full(x.shape[1], 1.0 / x.shape[1])
        return inv / inv.sum()


@dataclass(eq=False, repr=False)
class Benchmark(BaseModel):
    """Buy-and-hold of the benchmark index (one asset, weight 1, never rebalanced).

    The backtest engine runs it on the index series of the data source (``SP500`` for
    ``sp500``); it has no weights over the portfolio's assets.

    Examples
    --------
    >>> from portfolio_rl.backtest import BaselineStrategy, run_backtest, BacktestConfig
    >>> from portfolio_rl.baselines import Benchmark
    >>> from portfolio_rl.data import load_prices
    >>> from portfolio_rl.data.sources import load_benchmark
    >>> prices = load_prices("sp500", start="2018-01-01", end="2019-12-31")
    >>> index = load_benchmark("sp500")
    >>> result = run_backtest(prices, [BaselineStrategy("benchmark", Benchmark())],
    ...                       BacktestConfig(start="2019-01-01"), benchmark=index)
    >>> list(result.returns.columns)
    ['benchmark']
    """

    name = "benchmark"

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError(
            "the benchmark is the index itself: the backtest engine runs it on the index series"
        )


@dataclass(eq=False, repr=False)
class Momentum(BaseModel):
    """Cross-sectional momentum: equal weight in the ``top_k`` assets by 12-1 month return.

    The return is compounded over the ``lookback`` days of the window that end ``skip`` days
    before the decision (skipping the last month's short-term reversal), as in Jegadeesh &
    Titman (1993); across industries this is Moskowitz & Grinblatt's (1999) industry
    momentum.

    Parameters
    ----------
    top_k : int, optional
        Assets held (default: a fifth of them, at least one).
    lookback, skip : int
        Days of the formation period and of the skipped last month.

    References
    ----------
    Jegadeesh, N. & Titman, S. (1993). Returns to buying winners and selling losers.
    Journal of Finance 48(1). Moskowitz, T. J. & Grinblatt, M. (1999). Do industries explain
    momentum? Journal of Finance 54(4).

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import Momentum
    >>> weights = Momentum(lookback=126, skip=21).fit(returns).weights_
    >>> weights.shape, round(float(weights.sum()), 6)
    ((4,), 1.0)
    """

    top_k: int | None = None
    lookback: int = 252
    skip: int = 21

    name = "momentum"

    def _check(self) -> None:
        if self.top_k is not None and self.top_k < 1:
            raise ValueError("top_k must be at least 1")
        if not 0 <= self.skip < self.lookback:
            raise ValueError("need 0 <= skip < lookback")

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        n = x.shape[1]
        k = min(n, self.top_k or max(1, round(n / 5)))
        formation = x[-self.lookback :][: len(x[-self.lookback :]) - self.skip]
        growth = np.prod(1.0 + formation, axis=0)
        winners = np.argsort(-growth, kind="stable")[:k]
        w = np.zeros(n)
        w[winners] = 1.0 / k
        return w


@dataclass(eq=False, repr=False)
class VolTarget(BaseModel):
    """A baseline's weights scaled to a volatility target, the rest in cash.

    ``exposure = min(max_exposure, target_vol / sigma)``, ``sigma`` the annualised realised
    volatility of the base portfolio's daily returns over the last ``window`` days; weights
    ``(exposure * w_base, 1 - exposure)``. With ``base="equal_weight"`` this is the
    volatility-managed 1/N of Moreira & Muir (2017) (registered as ``vol_managed``), who scale
    by variance; scaling by volatility is the common practitioners' form. Needs cash.

    Parameters
    ----------
    base : BaseModel
        The fully invested model whose weights are scaled (an estimator, as scikit-learn
        composes them; by name in a config: ``{base: min_variance, base_params: {...}}``).
    target_vol : float
        Annualised volatility aimed at.
    window : int
        Days of realised volatility.
    max_exposure : float
        Cap on the risky share (1: no leverage).

    References
    ----------
    Moreira, A. & Muir, T. (2017). Volatility-managed portfolios. Journal of Finance 72(4).

    Examples
    --------
    >>> import numpy as np
    >>> returns = np.random.default_rng(0).normal(0.0005, 0.01, size=(252, 4))
    >>> from portfolio_rl.baselines import VolTarget
    >>> cash = np.zeros((252, 1))  # the last column is cash
    >>> weights = VolTarget(target_vol=0.05).fit(np.hstack([returns, cash])).weights_
    >>> weights.shape, round(float(weights.sum()), 6), bool(weights[-1] > 0)
    ((5,), 1.0, True)
    """

    base: BaseModel = field(default_factory=EqualWeight)
    target_vol: float = 0.15
    window: int = 63
    max_exposure: float = 1.0

    name = "vol_target"
    uses_cash = True

    def _check(self) -> None:
        if not (self.target_vol > 0 and self.window >= 2 and 0 < self.max_exposure <= 1):
            raise ValueError("need target_vol > 0, window >= 2 and 0 < max_exposure <= 1")
        if not isinstance(self.base, BaseModel) or isinstance(self.base, VolTarget | Benchmark):
            raise ValueError(f"base must be a fully invested baseline, got {self.base!r}")

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        risky = x[:, :-1]  # the engine hands a cash-using model the cash column last
        base = self.base
        base.fit(risky, None if prev is None else prev[:-1])
        self.n_failures_ += base.n_failures_ - getattr(self, "_base_failures", 0)
        self._base_failures = base.n_failures_
        w = base.weights_
        portfolio = risky[-self.window :] @ w
        vol = float(np.std(portfolio, ddof=1) * np.sqrt(PERIODS)) if len(portfolio) > 1 else 0.0
        exposure = self.max_exposure if vol <= 0 else min(self.max_exposure, self.target_vol / vol)
        return np.append(exposure * w, 1.0 - exposure)
