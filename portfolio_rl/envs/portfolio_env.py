"""Gymnasium environment: one portfolio rebalanced every ``rebalance_days`` on real prices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces

from portfolio_rl.conventions.features import (
    CLIP,
    LOOKBACK,
    OBS_FEATURES,
    asset_features,
    observation,
)
from portfolio_rl.conventions.mandate import Mandate, project
from portfolio_rl.conventions.market import add_cash_prices, hold, rebalance, simple_returns
from portfolio_rl.conventions.rewards import REWARDS, check_weights, step_rewards
from portfolio_rl.data.market_paths import bootstrap_returns


class _Episode(NamedTuple):
    """The episode so far in the fields a reward function reads (see ``rewards.Trajectory``)."""

    wealth: np.ndarray
    step_log_returns: np.ndarray
    daily_returns: np.ndarray
    turnover: np.ndarray


def _episode(wealth: np.ndarray, step_log: np.ndarray, turnover: np.ndarray) -> _Episode:
    return _Episode(wealth, step_log, wealth[1:] / wealth[:-1] - 1.0, turnover)


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

    ``Box(-5, max(5, n_assets), (n_risky, OBS_FEATURES), float32)``; one row per risky
    asset: the features of `portfolio_rl.conventions.features`, in the order of its
    ``FEATURE_NAMES`` (trailing returns, volatilities, drawdown, then the equal-weight
    index's market-level features, the same on every row), and last the asset's current
    drifted weight times the number of assets (1.0 at equal weight). Every feature of the
    decision close t is a function of ``prices[t - LOOKBACK .. t]`` only.

    ## Rewards

    A weighted sum of the rewards of `REWARDS` (`portfolio_rl.conventions.rewards`), the
    registry that training uses, e.g. ``rewards={"log_growth": 1.0, "variance_penalty": 2.0}``
    (mean-variance with risk aversion 2). Per-step forms are paid at each step;
    trajectory-level rewards (``sharpe``, ``drawdown_penalty``) are paid on the step that ends
    the episode, as in training.

    | reward (default ``{"log_growth": 1}``) | per step |
    |--------|----------|
    | ``log_growth`` | ``log(1 - cost) + log(growth over the step)`` |
    | ``turnover_penalty`` | minus the step's two-way turnover |
    | ``variance_penalty`` | minus half the sum of the step's squared daily returns |
    | ``differential_sharpe`` | Moody & Saffell (1998) differential Sharpe ratio |
    | ``sharpe``, ``drawdown_penalty`` | the episode's Sharpe ratio, minus its max drawdown |

    ## Example

    >>> from portfolio_rl.envs import PortfolioEnv
    >>> env = PortfolioEnv("sp500", start="2015-01-01", end="2018-12-31")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> obs.shape == env.observation_space.shape, terminated
    (True, False)

    ## Episode end

    ``episode_days`` trading days after the start (``truncated=True``), or when the price
    history runs out (``truncated=True``). Long-only wealth cannot reach zero, so
    ``terminated`` is always False.

    ## Info

    ``date`` (decision date of the observation), ``wealth`` (after this step's growth, before
    the next trade), ``turnover``, ``cost`` (of the last rebalance), ``weights`` (drifted);
    with ``anchor``, ``anchor``: the anchor's weights of the decision date (on a bootstrap
    path, of the episode's start, its last real day), which an anchored policy adds to its
    scores (``SimplexPolicy(anchored=True)(obs, anchor)``); with ``steer``,
    ``steer_features``: what a steered policy sees of its optimizer at the decision.

    Parameters
    ----------
    prices : str, path or DataFrame
        Any price source of [`portfolio_rl.data.sources.load_prices`][] (default ``sp500``).
    window : int
        Days of history before the first possible decision; at least the feature lookback
        (252).
    rebalance_days : int
        Trading days per step.
    cost_bps, impact_bps : float
        The cost model ([`portfolio_rl.conventions.market.rebalance`][]).
    episode_days : int
        Trading days per episode.
    rewards : mapping of str to float, optional
        Weights of the registered rewards (default ``{"log_growth": 1.0}``).
    reward_params : mapping of str to float, optional
        Parameters of the parametrised rewards (see ``TrainConfig.reward_params``).
    path : str
        ``historical`` replays the real future; ``bootstrap`` draws the days after the start
        by stationary block bootstrap of the returns between ``start`` and ``end``.
    block_length : float
        Mean block length of the bootstrap.
    start, end : str, optional
        Date range of the data used (``YYYY-MM-DD``).
    action_transform : str
        ``softmax`` or ``simplex``.
    cash_rate : float or Series, optional
        Adds a last asset ``cash`` earning this annual rate, or the daily rates of a Series
        on the price dates (e.g. [`portfolio_rl.data.rates.risk_free`][]); trades in it are
        free and episodes start fully in it. Observations stay those of the risky assets
        (cash's weight is what they leave). Without it, episodes start from cash outside the
        portfolio.
    anchor : DataFrame, optional
        An anchor's weights by date (``portfolio_rl.backtest.anchors.anchor_table(prices,
        "min_variance").weights``), with the env's assets as columns (cash last with
        ``cash_rate``); reported as ``info["anchor"]`` at each decision.
    constraints : Mandate, optional
        A mandate's limits ([`portfolio_rl.conventions.mandate.Mandate`][]) on the env's
        assets: the action transform ends by projecting the weights onto them.
    steer : object, optional
        A steered policy's action transform
        (`portfolio_rl.backtest.steering.EnvSteering`): the action is then the policy's
        latent vector, and the weights its baseline solved exactly on the window of
        ``window`` returns ending at the decision, with the held weights, as in the backtest.
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
        rewards: Mapping[str, float] | None = None,
        reward_params: Mapping[str, float] | None = None,
        path: str = "historical",
        block_length: float = 20.0,
        start: str | None = None,
        end: str | None = None,
        action_transform: str = "softmax",
        cash_rate: float | pd.Series | None = None,
        anchor: pd.DataFrame | None = None,
        steer: Any = None,
        constraints: Mandate | None = None,
    ) -> None:
        from portfolio_rl.data.sources import load_prices

        if window < LOOKBACK:
            raise ValueError(f"window must be at least the feature lookback ({LOOKBACK})")
        if rebalance_days < 1 or episode_days < rebalance_days:
            raise ValueError("need 1 <= rebalance_days <= episode_days")
        rewards = dict(rewards or {"log_growth": 1.0})
        check_weights(rewards)
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
        self.n_risky = len(self.assets) - int(self.cash)
        self._features = asset_features(self._prices[:, : self.n_risky])
        self.window, self.h = window, rebalance_days
        self.cost_bps, self.impact_bps = cost_bps, impact_bps
        self.n_steps = episode_days // rebalance_days
        self.rewards, self.reward_params = rewards, dict(reward_params or {})
        # Local per-step rewards need the last step only; anything else the whole episode.
        self._whole_episode = any(
            REWARDS[k].per_step is None or not REWARDS[k].local for k, w in rewards.items() if w
        )
        self.path, self.block_length = path, block_length
        self._anchor = None
        if anchor is not None:
            table = anchor.reindex(index=self.dates, columns=self.assets)
            equal = np.zeros(len(self.assets))
            equal[: self.n_risky] = 1.0 / self.n_risky
            self._anchor = table.to_numpy(dtype=np.float64, copy=True)
            self._anchor[np.isnan(self._anchor).any(axis=1)] = equal
        self.action_transform, self.steer = action_transform, steer
        binding = constraints is not None and constraints.binding
        self.limits = constraints.limits(self.assets) if binding else None
        n = len(self.assets)
        self.first_start = window
        self.last_start = len(self.dates) - 1 - self.n_steps * self.h
        width = n if steer is None else steer.width
        self.action_space = spaces.Box(-10.0, 10.0, shape=(width,), dtype=np.float32)
        # features are clipped to +-CLIP; the weight column is at most n_risky
        m = self.n_risky
        self.observation_space = spaces.Box(
            -CLIP, max(CLIP, float(m)), shape=(m, OBS_FEATURES), dtype=np.float32
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
        return observation(self._feat[self._t], self._weights[: self.n_risky])

    def _info(self, cost: float = 0.0, trade: float = 0.0) -> dict[str, Any]:
        info = {
            "date": self._date(self._t),
            "wealth": self._wealth,
            "turnover": trade,
            "cost": cost,
            "weights": self._weights.copy(),
        }
        if self._anchor is not None:
            info["anchor"] = self._anchor[self._real_day()].copy()
        if self.steer is not None:
            info["steer_features"] = self.steer.features(self._window())
        return info

    def _window(self) -> np.ndarray:
        """Risky prices of the ``window`` returns up to the decision (the path's, on a
        bootstrap path)."""  # noqa: D205, D209
        return self._path_prices[self._t - self.window : self._t + 1, : self.n_risky]

    def _real_day(self) -> int:
        """The decision day, or on a bootstrap path the episode's start (its last real day)."""
        return self._t if self.path == "historical" else min(self._t, self._t0)

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
            self._path_prices = self._prices
        else:
            pool = self._returns[self.first_start - LOOKBACK + 1 :]
            future = bootstrap_returns(pool, horizon, self.block_length, self.np_random)
            ret = np.concatenate([self._returns[: t0 + 1], future])
            prices = np.concatenate(
                [self._prices[: t0 + 1], self._prices[t0] * np.cumprod(1 + future, axis=0)]
            )
            self._ret, self._path_prices = ret, prices
            self._feat = np.concatenate(
                [
                    self._features[: t0 + 1],
                    asset_features(prices[t0 - LOOKBACK :, : self.n_risky])[LOOKBACK + 1 :],
                ]
            )
        self._weights = self._start_weights()
        self._wealth = 1.0
        self._step_count = 0
        # the episode's wealth after each close's trades, step log returns and turnover
        self._path = np.empty(self.n_steps * self.h + 1)
        self._step_log = np.empty(self.n_steps)
        self._trades = np.empty(self.n_steps)
        return self._obs(), self._info()

    def to_weights(self, action: np.ndarray) -> np.ndarray:
        """The documented action transform: scores to weights on the simplex (a steered
        policy's: its baseline solved with the action's parameters), then projected onto
        the mandate's limits, if any."""  # noqa: D205, D209
        return project(self._weights_of(action), self.limits)

    def _weights_of(self, action: np.ndarray) -> np.ndarray:
        """The action transform before the mandate's projection."""
        if self.steer is not None:
            return self.steer.weights(self._window(), action, self._weights)
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
        k, h = self._step_count, self.h
        traded = self._wealth * (1.0 - cost)
        self._path[k * h] = traded  # the close of the trade, after its cost
        self._path[k * h + 1 : (k + 1) * h + 1] = traded * np.asarray(value, dtype=float)
        self._step_log[k] = np.log1p(-cost) + np.log(growth)
        self._trades[k] = trade
        self._wealth = traded * growth
        self._t = t + h
        self._step_count = k + 1
        truncated = self._step_count >= self.n_steps or self._t + h >= len(self._ret)
        return self._obs(), self._reward(truncated), False, truncated, self._info(cost, trade)

    def _reward(self, final: bool) -> float:
        """The reward of the step just taken, from the registry, as training computes it."""
        k, h = self._step_count, self.h
        if final or self._whole_episode:
            first, steps = 0, slice(0, k)
        else:
            first, steps = (k - 1) * h, slice(k - 1, k)
        episode = _episode(
            self._path[first : k * h + 1], self._step_log[steps], self._trades[steps]
        )
        return float(step_rewards(episode, self.rewards, final, self.reward_params)[-1])
