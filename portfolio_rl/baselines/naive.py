"""Allocations without an optimiser: equal weight, inverse volatility, the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portfolio_rl.baselines.base import BaseModel


@dataclass(eq=False, repr=False)
class EqualWeight(BaseModel):
    """1/N: equal weights, rebalanced (DeMiguel, Garlappi & Uppal 2009).

    References
    ----------
    DeMiguel, V., Garlappi, L. & Uppal, R. (2009). Optimal versus naive diversification:
    how inefficient is the 1/N portfolio strategy? Review of Financial Studies 22(5).
    """

    name = "equal_weight"

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        return np.full(x.shape[1], 1.0 / x.shape[1])


@dataclass(eq=False, repr=False)
class InverseVolatility(BaseModel):
    """Weights proportional to ``1 / sigma_i``, the sample std (ddof=1) of the window."""

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
    """

    name = "benchmark"

    def _weights(self, x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError(
            "the benchmark is the index itself: the backtest engine runs it on the index series"
        )
