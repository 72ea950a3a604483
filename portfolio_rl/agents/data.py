"""Training data: prices up to ``val_end`` as tensors, start sampling and market paths.

A start state is a decision close t (features from prices up to t only); a market path is
the K*h days after it: the realised future, or a stationary-bootstrap draw from the
training-range returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.steer import EARNED, optimizer_features
from portfolio_rl.agents.steer_table import SteerContext, Steering, SteerTable
from portfolio_rl.conventions.features import LOOKBACK, N_FEATURES, asset_features
from portfolio_rl.conventions.mandate import Limits, Mandate
from portfolio_rl.conventions.market import CASH, simple_returns, split_cash
from portfolio_rl.data.market_paths import stationary_bootstrap_indices
from portfolio_rl.errors import DataError
from portfolio_rl.plumbing.typed import from_mapping


class DayFeatures:
    """The feature function's rows of the training prices, each computed when first read.

    Training reads few of them: the validation range's decision days, and with historical
    paths the sampled starts' (bootstrap and continuation paths compute their own). A feature
    of day t depends on the prices of days t - LOOKBACK .. t only (bit for bit, tested), so a
    row computed on a window of the prices is the row of the whole history.

    Parameters
    ----------
    prices : ndarray of shape (T, n)
        Prices of the risky assets.
    device : torch.device
    """

    def __init__(self, prices: np.ndarray, device: torch.device) -> None:
        self.prices = prices
        self._rows = torch.zeros((*prices.shape, N_FEATURES), dtype=torch.float32, device=device)
        self._done = np.zeros(len(prices), dtype=bool)

    @property
    def shape(self) -> torch.Size:
        """(T, n, N_FEATURES)."""
        return self._rows.shape

    def __getitem__(self, days: Any) -> torch.Tensor:
        """The features of ``days`` (int array or tensor of any shape) -> (*days.shape, n, N);
        zeros for days with less than LOOKBACK days of history."""  # noqa: D205, D209
        index = torch.as_tensor(days, device=self._rows.device)
        missing = np.unique(index.cpu().numpy())
        missing = missing[~self._done[missing]]
        if len(missing):
            lo = max(int(missing[0]) - LOOKBACK, 0)
            window = self.prices[lo : int(missing[-1]) + 1]
            feats = np.nan_to_num(asset_features(window, rows=missing - lo))
            self._rows[torch.as_tensor(missing, device=self._rows.device)] = torch.tensor(
                feats, dtype=torch.float32, device=self._rows.device
            )
            self._done[missing] = True
        return self._rows[index]


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
    features : DayFeatures
        The feature function of the risky prices, shape (T, n, N_FEATURES), indexed by day.
    train_starts : ndarray of int
        Decision indices whose K*h-day trajectory ends on or before ``train_end``.
    val_start, val_steps : int
        First validation decision index (the first day after ``train_end``) and the number
        of h-day steps that fit before ``val_end``.
    bootstrap_pool : ndarray of shape (n_train_days, n)
        The training-range daily returns that bootstrap paths resample.
    anchor : Tensor of shape (T, n) or (T, n + 1), optional
        An anchored policy's anchor weights on every day (cash last), from windows that
        end that day (`portfolio_rl.agents.anchor`).
    anchor_info : dict, optional
        The anchor's name, parameters and window (``Anchor.describe``).
    steering : Steering, optional
        A steered policy's baseline: its exact solves and frontier tables.
    steer : SteerTable, optional
        Those tables on the training days (a steered run starts only on days with one).
    steer_features : ndarray of shape (L, 3), optional
        The optimizer features of each table day (`portfolio_rl.agents.steer`).
    limits : Limits, optional
        The mandate's limits on ``assets`` (the config's ``constraints``), which the action
        transform projects every weight onto.
    """

    dates: pd.DatetimeIndex
    assets: list[str]
    prices: np.ndarray
    returns: torch.Tensor
    features: DayFeatures
    train_starts: np.ndarray
    val_start: int
    val_steps: int
    bootstrap_pool: np.ndarray
    cash: bool
    anchor: torch.Tensor | None = None
    anchor_info: dict[str, Any] | None = None
    steering: Steering | None = None
    steer: SteerTable | None = None
    steer_features: np.ndarray | None = None
    limits: Limits | None = None

    @classmethod
    def build(
        cls,
        prices: pd.DataFrame,
        config: TrainConfig,
        device: torch.device,
        anchor: Anchor | None = None,
        steering: Steering | None = None,
    ) -> MarketData:
        """Cut the prices (and the anchor's weights) at ``val_end``; precompute returns (the
        features are computed as they are read)."""  # noqa: D205, D209
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
        val_start = train_hi  # an expanding window validates from an earlier day
        if config.val_after is not None:
            after = int(dates.searchsorted(pd.Timestamp(config.val_after), side="right")) - 1
            val_start = min(max(after, LOOKBACK), train_hi)
        val_steps = (len(dates) - 1 - val_start) // config.rebalance_days
        if val_steps < 2:
            raise DataError(
                f"validation range {config.train_end}..{config.val_end} is too short{hint}"
            )
        all_values = frame.to_numpy(dtype=np.float64)
        returns = torch.tensor(simple_returns(all_values), dtype=torch.float32, device=device)
        if anchor is not None:  # a table of some days: start only where it has weights
            known = anchor.weights.reindex(dates).notna().all(axis=1).to_numpy()
            starts = starts[known[starts]]
            needed = val_start + config.rebalance_days * np.arange(val_steps)
            if len(starts) < 1 or not known[needed].all():
                raise DataError(
                    f"the anchor's table has no weights on the training or validation days "
                    f"of {config.train_end}..{config.val_end}"
                )
        table = features = None
        if steering is not None:  # starts whose steps all have a table (every h-th day)
            table = SteerTable.build(steering, dates, device)
            known = table.row.cpu().numpy() >= 0
            steps = starts[:, None] + config.rebalance_days * np.arange(config.steps)
            starts = starts[known[steps].all(axis=1) & (starts >= max(EARNED))]
            needed = val_start + config.rebalance_days * np.arange(val_steps)
            if len(starts) < 1 or not known[needed].all():
                raise DataError(
                    "the frontier tables miss the training or validation days of "
                    f"{config.train_end}..{config.val_end}"
                )
            days = np.flatnonzero(known)
            features = np.zeros((len(days), 3))
            ok = days >= max(EARNED)
            past = np.stack([values[d - max(EARNED) : d + 1] for d in days[ok]])
            features[ok] = optimizer_features(past, table.base[ok], table.base_sigma[ok])
        return cls(
            dates=dates,
            assets=list(frame.columns),
            prices=values,
            returns=returns,
            features=DayFeatures(values, device),
            train_starts=starts,
            val_start=val_start,
            val_steps=val_steps,
            bootstrap_pool=returns[1 : int(starts[-1]) + horizon + 1]
            .cpu()
            .numpy()
            .astype(np.float64),
            cash=config.cash,
            anchor=None if anchor is None else _anchor_tensor(anchor, frame, device),
            anchor_info=None if anchor is None else anchor.describe(),
            steering=steering,
            steer=table,
            steer_features=features,
            limits=_limits(config, list(frame.columns)),
        )


def _limits(config: TrainConfig, assets: list[str]) -> Limits | None:
    """The config's mandate resolved on the training assets (None when nothing binds)."""
    mandate = from_mapping(Mandate, config.constraints, where="constraints")
    if not mandate.binding:
        return None
    try:
        return mandate.limits(assets)
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _anchor_tensor(anchor: Anchor, frame: pd.DataFrame, device: torch.device) -> torch.Tensor:
    """The anchor's weights on the training data's dates and assets (equal weights where it
    has none yet); its assets must be the data's, cash included."""  # noqa: D205, D209
    if list(anchor.weights.columns) != list(frame.columns):
        raise DataError(
            f"the anchor's assets ({', '.join(map(str, anchor.weights.columns[:4]))}, ...) "
            "are not the training data's"
        )
    weights = anchor.weights.reindex(frame.index)
    n_risky = frame.shape[1] - int(frame.columns[-1] == CASH)
    fill = np.zeros(frame.shape[1])
    fill[:n_risky] = 1.0 / n_risky
    values = weights.to_numpy(dtype=np.float64, copy=True)
    values[np.isnan(values).any(axis=1)] = fill
    return torch.tensor(values, dtype=torch.float32, device=device)


class PathBatch(NamedTuple):
    """Market paths for B start states."""

    returns: torch.Tensor
    """(B, K*h, n) daily returns after the start close (n + 1 columns with cash)."""
    features: torch.Tensor
    """(B, K, n, N_FEATURES) features at each decision close."""
    anchor: torch.Tensor | SteerContext | None = None
    """(B, K, n) (n + 1 with cash) anchor weights at each decision close, if anchored; a
    steered policy's context (B, K), if steered."""


def historical_paths(data: MarketData, starts: np.ndarray, steps: int, h: int) -> PathBatch:
    """The realised futures of the start dates."""
    device = data.returns.device
    t0 = torch.as_tensor(starts, device=device)[:, None]
    days = t0 + 1 + torch.arange(steps * h, device=device)
    decisions = t0 + h * torch.arange(steps, device=device)
    anchor = None if data.anchor is None else data.anchor[decisions]
    if data.steer is not None:
        rows = data.steer.row[decisions]
        anchor = data.steer.context(rows, data.steer_features[rows.cpu().numpy()])
    return PathBatch(data.returns[days], data.features[decisions], anchor)


def bootstrap_paths(
    data: MarketData,
    starts: np.ndarray,
    steps: int,
    h: int,
    block_length: float,
    rng: np.random.Generator,
    continuation: bool = False,
) -> PathBatch:
    """One stationary-bootstrap future per start, resampled from the training range's returns.

    With ``continuation`` the first block is the start's realised future (its length is
    geometric with mean ``block_length`` days, like every block), then the draw goes on with
    blocks from anywhere in the pool: the near future keeps what the start state predicts,
    while no start's whole future is the same every time it is drawn, so a policy cannot
    memorise which asset happened to win after a date (the stationary bootstrap of Politis &
    Romano 1994, started at the start).

    The pool is every daily return of the training range (``bootstrap_pool``), not only the
    days before each start: a bootstrap start is a scenario generator for the training
    period, and nothing after ``train_end`` is ever in it. Whole rows are resampled, cash
    (the risk-free rate of the drawn day) included. Features along the synthetic path come
    from the real prices up to the start followed by the bootstrapped ones, through the same
    feature function.
    """
    first = starts if continuation else None
    pool, horizon = data.bootstrap_pool, steps * h
    idx = stationary_bootstrap_indices(len(pool), horizon, block_length, rng, len(starts), first)
    realised = np.zeros(len(starts), dtype=int)  # days each path follows its real future
    if continuation:
        realised = np.cumprod(idx == starts[:, None] + np.arange(horizon), axis=1).sum(axis=1)
    return future_paths(data, starts, pool[idx], h, realised)


def future_paths(
    data: MarketData,
    starts: np.ndarray,
    future: np.ndarray,
    h: int,
    realised: np.ndarray | None = None,
) -> PathBatch:
    """Paths along synthetic futures: the real prices up to each start, then ``future``.

    Parameters
    ----------
    data : MarketData
    starts : ndarray of int, shape (B,)
    future : ndarray of shape (B, K*h, n) or (B, K*h, n + 1)
        Daily returns after each start (cash last, when there is cash).
    h : int
    realised : ndarray of int, shape (B,), optional
        How many days of each future are the start's realised ones (default 0).

    Returns
    -------
    PathBatch
        The features at each decision close come from the one feature function applied to
        the real prices up to the start followed by the synthetic ones. An anchored policy's
        anchor at a decision is that of the latest decision day of the path that is real
        (the decision day itself while the path follows the realised future): an
        optimizer's weights on a synthetic day do not exist, and a 252-day window moves
        little in K*h days. A steered policy's table is likewise that day's, and its
        optimizer's trailing growth is that of the table's portfolio on the path.
    """
    horizon = future.shape[1]
    risky = future[..., : data.prices.shape[1]]
    past = np.stack([data.prices[t - LOOKBACK : t + 1] for t in starts])
    path_prices = np.concatenate([past, past[:, -1:] * np.cumprod(1 + risky, axis=1)], axis=1)
    feats = asset_features(path_prices, rows=slice(LOOKBACK, LOOKBACK + horizon, h))
    device = data.returns.device
    anchor = None
    seen = np.zeros(len(starts), dtype=int) if realised is None else realised
    offsets = h * (np.minimum(h * np.arange(horizon // h)[None, :], seen[:, None]) // h)
    real_days = torch.as_tensor(starts[:, None] + offsets, device=device)  # (B, K)
    if data.anchor is not None:
        anchor = data.anchor[real_days]
    if data.steer is not None:
        rows = data.steer.row[real_days]
        r = rows.cpu().numpy()
        ends = LOOKBACK + h * np.arange(horizon // h)  # each decision's row in path_prices
        windows = np.stack(
            [np.stack([path[e - max(EARNED) : e + 1] for e in ends]) for path in path_prices]
        )
        earned = optimizer_features(windows, data.steer.base[r], data.steer.base_sigma[r])
        anchor = data.steer.context(rows, earned)
    return PathBatch(
        torch.tensor(future, dtype=torch.float32, device=device),
        torch.tensor(feats, dtype=torch.float32, device=device),
        anchor,
    )


def sample_starts(data: MarketData, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` training start indices, uniformly without replacement when possible."""
    replace = n > len(data.train_starts)
    return np.sort(rng.choice(data.train_starts, size=n, replace=replace))


def sample_paths(
    data: MarketData, config: TrainConfig, starts: np.ndarray, rng: np.random.Generator
) -> PathBatch:
    """Historical or bootstrap paths for ``starts``, as configured."""
    if config.path in ("bootstrap", "continuation"):
        return bootstrap_paths(
            data,
            starts,
            config.steps,
            config.rebalance_days,
            config.block_length,
            rng,
            continuation=config.path == "continuation",
        )
    return historical_paths(data, starts, config.steps, config.rebalance_days)
