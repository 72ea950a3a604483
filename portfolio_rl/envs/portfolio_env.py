"""Gymnasium environment: one portfolio rebalanced every ``rebalance_days`` on real prices."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces

from portfolio_rl.envs.paths import bootstrap_returns
from portfolio_rl.features import CLIP, LOOKBACK, OBS_FEATURES, asset_features
from portfolio_rl.market import add_cash_prices, hold, rebalance, simple_returns

REWARDS = ("log_return", "mean_variance", "differential_sharpe")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Map asset scores to the simplex: ``exp(s - max s) / sum exp(s - max s)``."""
    z = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _with_weight_column(features: np.ndarray) -> np.ndarray:
    """Features (T, n, F) as float32 (T, n, F + 1) with a zero column for the weights."""
    out = np.zeros((*features.shape[:-1], OBS_FEATURES), dtype=np.float32)
    out[..., :-1] = features
    return out


class PortfolioEnv(gym.Env):
    """Long-only portfolio of n assets, rebalanced every ``rebalance_days`` trading days.

    One step: the agent's action becomes target weights at the decision close t (cost of
    the trade paid there), the portfolio is held ``rebalance_days`` days with drifting
    weights, and the next observation is made at the close of the last day. Nothing after
    the decision close is ever part of an observation (README: timing convention).

    ## Action space

    ``Box(-10, 10, (n_assets,), float32)`` of asset scores, mapped to weights by
    ``softmax`` (``action_transform="softmax"``, default). With
    ``action_transform="simplex"`` the action is taken as weights: clipped at 0 and
    divided by its sum.

    ## Observation space

    ``Box(-5, max(5, n_assets), (n_assets, 8), float32)``; per asset (row):

    | col | observation | see |
    |-----|-------------|-----|
    | 0-3 | trailing log returns over 5, 21, 63, 252 days (scaled) | :mod:`portfolio_rl.features` |
    | 4-5 | realised volatility over 21 and 63 days (log, scaled) | |
    | 6   | distance from the 252-day high (scaled) | |
    | 7   | current drifted weight x n_assets | |

    ## Rewards

    | reward | per step |
    |--------|----------|
    | ``log_return`` (default) | ``log(1 - cost) + log(growth over the step)`` |
    | ``mean_variance`` | log return minus ``risk_aversion/2 * sum of squared daily returns`` |
    | ``differential_sharpe`` | Moody & Saffell (1998) differential Sharpe ratio, ``eta = 1/252`` |

    ## Episode end

    ``episode_days`` trading days after the start (``truncated=True``), or when the price
    history runs out (``truncated=True``). Long-only wealth cannot reach zero, so
    ``terminated`` is always False.

    ## Info

    ``date`` (decision date of the observation), ``wealth`` (after this step's growth, before
    the next trade), ``turnover``, ``cost`` (of the last rebalance), ``weights`` (drifted).

    Parameters
    ----------
    prices : str, path or DataFrame
        Any price source of :func:`portfolio_rl.datasets.load_prices` (default ``sp500``).
    window : int
        Days of history before the first possible decision; at least the feature lookback
        (252).
    rebalance_days : int
        Trading days per step.
    cost_bps, impact_bps : float
        The cost model (:func:`portfolio_rl.market.rebalance_cost`).
    episode_days : int
        Trading days per episode.
    reward : str
        One of ``log_return``, ``mean_variance``, ``differential_sharpe``.
    risk_aversion : float
        For ``mean_variance``.
    path : str
        ``historical`` replays the real future; ``bootstrap`` draws the days after the start
        by stationary block bootstrap of the returns between ``start`` and ``end``.
    block_length : float
        Mean block length of the bootstrap.
    start, end : str, optional
        Date range of the data used (``YYYY-MM-DD``).
    action_transform : str
        ``softmax`` or ``simplex``.
    cash_rate : float, optional
        Adds a last asset ``cash`` earning this annual rate (trades in it are free; episodes
        start fully in it). Without it, episodes start from cash outside the portfolio.
    """

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        prices: Any = "sp500",
        window: int = LOOKBACK,
        rebalance_days: int = 21,
        cost_bps: float = 10.0,
        impact_bps: float = 0.0,
        episode_days: int = 252,
        reward: str = "log_return",
        risk_aversion: float = 1.0,
        path: str = "historical",
        block_length: float = 20.0,
        start: str | None = None,
        end: str | None = None,
        action_transform: str = "softmax",
        cash_rate: float | None = None,
    ) -> None:
        from portfolio_rl.datasets import load_prices

        if window < LOOKBACK:
            raise ValueError(f"window must be at least the feature lookback ({LOOKBACK})")
        if rebalance_days < 1 or episode_days < rebalance_days:
            raise ValueError("need 1 <= rebalance_days <= episode_days")
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}")
        if path not in ("historical", "bootstrap"):
            raise ValueError("path must be 'historical' or 'bootstrap'")
        if action_transform not in ("softmax", "simplex"):
            raise ValueError("action_transform must be 'softmax' or 'simplex'")
        frame = load_prices(prices, start=start, end=end, min_rows=window + episode_days + 1)
        self.cash = cash_rate is not None
        if self.cash:
            frame = add_cash_prices(frame, cash_rate)
        self.dates: pd.DatetimeIndex = frame.index
        self._date_list = list(frame.index)
        self.assets = list(frame.columns)
        self._prices = frame.to_numpy()
        self._returns = simple_returns(self._prices)
        self._features = _with_weight_column(asset_features(self._prices))
        self.window, self.h = window, rebalance_days
        self.cost_bps, self.impact_bps = cost_bps, impact_bps
        self.n_steps = episode_days // rebalance_days
        self.reward_name, self.risk_aversion = reward, risk_aversion
        self.path, self.block_length = path, block_length
        self.action_transform = action_transform
        n = len(self.assets)
        self.first_start = window
        self.last_start = len(self.dates) - 1 - self.n_steps * self.h
        self.action_space = spaces.Box(-10.0, 10.0, shape=(n,), dtype=np.float32)
        # features are clipped to +-CLIP; the weight column is at most n_assets
        self.observation_space = spaces.Box(
            -CLIP, max(CLIP, float(n)), shape=(n, OBS_FEATURES), dtype=np.float32
        )
        self._t = self.first_start
        self._weights = self._start_weights()

    def _start_weights(self) -> np.ndarray:
        """All in the cash asset when there is one, else nothing invested yet."""
        w = np.zeros(len(self.assets))
        if self.cash:
            w[-1] = 1.0
        return w

    def _obs(self) -> np.ndarray:
        obs = self._feat[self._t].copy()  # float32 rows with a free last column
        obs[:, -1] = self._weights * len(self.assets)
        return obs

    def _info(self, cost: float = 0.0, trade: float = 0.0) -> dict[str, Any]:
        return {
            "date": self._date(self._t),
            "wealth": self._wealth,
            "turnover": trade,
            "cost": cost,
            "weights": self._weights.copy(),
        }

    def _date(self, t: int) -> pd.Timestamp:
        if self.path == "historical" or t <= self._t0:
            return self._date_list[t]
        return self.dates[self._t0] + pd.tseries.offsets.BDay(t - self._t0)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode at ``options["start_date"]`` (first trading day on or after it)
        or at a random date drawn from ``self.np_random``."""  # noqa: D205, D209
        super().reset(seed=seed)
        options = options or {}
        if "start_date" in options:
            t0 = int(self.dates.searchsorted(pd.Timestamp(options["start_date"])))
            if not self.first_start <= t0 <= self.last_start:
                lo, hi = self.dates[self.first_start].date(), self.dates[self.last_start].date()
                raise ValueError(f"start_date must lie in {lo} .. {hi}")
        else:
            t0 = int(self.np_random.integers(self.first_start, self.last_start + 1))
        self._t0 = self._t = t0
        horizon = self.n_steps * self.h
        if self.path == "historical":
            self._ret, self._feat = self._returns, self._features
        else:
            pool = self._returns[self.first_start - LOOKBACK + 1 :]
            future = bootstrap_returns(pool, horizon, self.block_length, self.np_random)
            ret = np.concatenate([self._returns[: t0 + 1], future])
            prices = np.concatenate(
                [self._prices[: t0 + 1], self._prices[t0] * np.cumprod(1 + future, axis=0)]
            )
            self._ret = ret
            self._feat = np.concatenate(
                [
                    self._features[: t0 + 1],
                    _with_weight_column(asset_features(prices[t0 - LOOKBACK :]))[LOOKBACK + 1 :],
                ]
            )
        self._weights = self._start_weights()
        self._wealth = 1.0
        self._step_count = 0
        self._dsr = (0.0, 0.04 / 252 * self.h)
        return self._obs(), self._info()

    def to_weights(self, action: np.ndarray) -> np.ndarray:
        """The documented action transform: scores to weights on the simplex."""
        action = np.asarray(action, dtype=np.float64)
        if self.action_transform == "softmax":
            z = np.exp(action - action.max())
            return z / z.sum()
        w = np.clip(action, 0.0, None)
        total = w.sum()
        return w / total if total > 0 else np.full_like(w, 1.0 / len(w))

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Rebalance to the action's weights at the close, hold ``rebalance_days`` days."""
        target = self.to_weights(action)
        trade, cost = rebalance(target, self._weights, self.cost_bps, self.impact_bps, self.cash)
        trade, cost = float(trade), float(cost)
        t = self._t
        if self.h == 1:  # same arithmetic as hold(), without the cumulative product
            gross = target * (1.0 + self._ret[t + 1])
            growth = float(gross.sum())
            value = (growth,)
            self._weights = gross / growth
        else:
            value, self._weights = hold(target, self._ret[t + 1 : t + 1 + self.h])
            growth = float(value[-1])
        log_ret = float(np.log1p(-cost) + np.log(growth))
        self._wealth *= (1.0 - cost) * growth
        self._t = t + self.h
        self._step_count += 1
        reward = self._reward(log_ret, value, cost)
        truncated = self._step_count >= self.n_steps or self._t + self.h >= len(self._ret)
        return self._obs(), reward, False, truncated, self._info(cost, trade)

    def _reward(self, log_ret: float, value: np.ndarray, cost: float) -> float:
        if self.reward_name == "log_return":
            return log_ret
        if self.reward_name == "mean_variance":
            path = np.concatenate([[1.0], np.asarray(value, dtype=float)])
            daily = path[1:] / path[:-1] - 1.0
            return log_ret - 0.5 * self.risk_aversion * float((daily**2).sum())
        # Differential Sharpe ratio, Moody & Saffell (1998), eq. (4), with eta = 1/252; the
        # second-moment estimate starts at a 20%-volatility asset's, not 0, so the first
        # steps do not divide by ~0.
        eta = 1 / 252
        ret = float(np.expm1(log_ret))
        a, b = self._dsr
        da, db = ret - a, ret * ret - b
        denom = (b - a * a) ** 1.5
        reward = (b * da - 0.5 * a * db) / denom if denom > 1e-12 else 0.0
        self._dsr = (a + eta * da, b + eta * db)
        return float(reward)
