"""Training data: prices up to ``val_end`` as tensors, start sampling and market paths.

A start state is a decision close t (features from prices up to t only); a market path is
the K*h days after it: the realised future, or a stationary-bootstrap draw from the
training-range returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.conventions.features import LOOKBACK, asset_features
from portfolio_rl.conventions.market import CASH, simple_returns, split_cash
from portfolio_rl.data.market_paths import bootstrap_returns
from portfolio_rl.errors import DataError


@dataclass
class MarketData:
    """Prices up to ``val_end`` turned into the tensors training needs (nothing later).

    Attributes
    ----------
    dates : DatetimeIndex of shape (T,)
    assets : list of str
        The risky assets, then ``cash`` when the config has cash.
    prices : ndarray of shape (T, n)
        Prices of the n risky assets.
    returns : Tensor of shape (T, n) or (T, n + 1)
        ``r[t] = P[t]/P[t-1] - 1`` of the assets (and of cash: the risk-free rate).
    features : Tensor of shape (T, n, N_FEATURES)
        The feature function of the risky prices.
    train_starts : ndarray of int
        Decision indices whose K*h-day trajectory ends on or before ``train_end``.
    val_start, val_steps : int
        First validation decision index (the first day after ``train_end``) and the number
        of h-day steps that fit before ``val_end``.
    bootstrap_pool : ndarray of shape (n_train_days, n)
        The training-range daily returns that bootstrap paths resample.
    """

    dates: pd.DatetimeIndex
    assets: list[str]
    prices: np.ndarray
    returns: torch.Tensor
    features: torch.Tensor
    train_starts: np.ndarray
    val_start: int
    val_steps: int
    bootstrap_pool: np.ndarray
    cash: bool

    @classmethod
    def build(cls, prices: pd.DataFrame, config: TrainConfig, device: torch.device) -> MarketData:
        """Cut the prices at ``val_end`` and precompute returns and features."""
        frame = prices.loc[: pd.Timestamp(config.val_end)]
        if config.data_start:
            frame = frame.loc[pd.Timestamp(config.data_start) :]
        risky, has_cash = split_cash(frame)
        if config.cash and not has_cash:
            raise DataError(f"cash: true needs prices with a last {CASH!r} column")
        if not config.cash:
            frame = risky
        dates = frame.index
        values = risky.to_numpy(dtype=np.float64)
        horizon = config.steps * config.rebalance_days
        train_hi = int(dates.searchsorted(pd.Timestamp(config.train_end), side="right")) - 1
        starts = np.arange(LOOKBACK, train_hi - horizon + 1)
        span = (
            f"the prices run {dates[0].date()} .. {dates[-1].date()}"
            if len(dates)
            else "no prices before val_end"
        )
        hint = f"; {span}: choose --train-end and --val-end inside it"
        if len(starts) < 1:
            raise DataError(
                f"training range too short: need {LOOKBACK} days of history plus a "
                f"{horizon}-day trajectory before train_end {config.train_end}{hint}"
            )
        val_start = train_hi
        val_steps = (len(dates) - 1 - val_start) // config.rebalance_days
        if val_steps < 2:
            raise DataError(
                f"validation range {config.train_end}..{config.val_end} is too short{hint}"
            )
        feats = asset_features(values)
        all_values = frame.to_numpy(dtype=np.float64)
        returns = torch.tensor(simple_returns(all_values), dtype=torch.float32, device=device)
        return cls(
            dates=dates,
            assets=list(frame.columns),
            prices=values,
            returns=returns,
            features=torch.tensor(np.nan_to_num(feats), dtype=torch.float32, device=device),
            train_starts=starts,
            val_start=val_start,
            val_steps=val_steps,
            bootstrap_pool=returns[1 : int(starts[-1]) + horizon + 1]
            .cpu()
            .numpy()
            .astype(np.float64),
            cash=config.cash,
        )


class PathBatch(NamedTuple):
    """Market paths for B start states."""

    returns: torch.Tensor
    """(B, K*h, n) daily returns after the start close (n + 1 columns with cash)."""
    features: torch.Tensor
    """(B, K, n, N_FEATURES) features at each decision close."""


def historical_paths(data: MarketData, starts: np.ndarray, steps: int, h: int) -> PathBatch:
    """The realised futures of the start dates."""
    device = data.returns.device
    t0 = torch.as_tensor(starts, device=device)[:, None]
    days = t0 + 1 + torch.arange(steps * h, device=device)
    decisions = t0 + h * torch.arange(steps, device=device)
    return PathBatch(data.returns[days], data.features[decisions])


def bootstrap_paths(
    data: MarketData,
    starts: np.ndarray,
    steps: int,
    h: int,
    block_length: float,
    rng: np.random.Generator,
) -> PathBatch:
    """One stationary-bootstrap future per start, resampled from the training range's returns.

    The pool is every daily return of the training range (``bootstrap_pool``), not only the
    days before each start: a bootstrap start is a scenario generator for the training
    period, and nothing after ``train_end`` is ever in it. Whole rows are resampled, cash
    (the risk-free rate of the drawn day) included. Features along the synthetic path come
    from the real prices up to the start followed by the bootstrapped ones, through the same
    feature function.
    """
    future = bootstrap_returns(data.bootstrap_pool, steps * h, block_length, rng, size=len(starts))
    return future_paths(data, starts, future, h)


def future_paths(data: MarketData, starts: np.ndarray, future: np.ndarray, h: int) -> PathBatch:
    """Paths along synthetic futures: the real prices up to each start, then ``future``.

    Parameters
    ----------
    data : MarketData
    starts : ndarray of int, shape (B,)
    future : ndarray of shape (B, K*h, n) or (B, K*h, n + 1)
        Daily returns after each start (cash last, when there is cash).
    h : int

    Returns
    -------
    PathBatch
        The features at each decision close come from the one feature function applied to
        the real prices up to the start followed by the synthetic ones.
    """
    horizon = future.shape[1]
    risky = future[..., : data.prices.shape[1]]
    past = np.stack([data.prices[t - LOOKBACK : t + 1] for t in starts])
    path_prices = np.concatenate([past, past[:, -1:] * np.cumprod(1 + risky, axis=1)], axis=1)
    feats = asset_features(path_prices, rows=slice(LOOKBACK, LOOKBACK + horizon, h))
    device = data.returns.device
    return PathBatch(
        torch.tensor(future, dtype=torch.float32, device=device),
        torch.tensor(feats, dtype=torch.float32, device=device),
    )


def sample_starts(data: MarketData, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` training start indices, uniformly without replacement when possible."""
    replace = n > len(data.train_starts)
    return np.sort(rng.choice(data.train_starts, size=n, replace=replace))


def sample_paths(
    data: MarketData, config: TrainConfig, starts: np.ndarray, rng: np.random.Generator
) -> PathBatch:
    """Historical or bootstrap paths for ``starts``, as configured."""
    if config.path == "bootstrap":
        return bootstrap_paths(
            data, starts, config.steps, config.rebalance_days, config.block_length, rng
        )
    return historical_paths(data, starts, config.steps, config.rebalance_days)
