"""The reward registry: ``name -> reward function``, shared by training and the gymnasium env.

A reward function scores a *trajectory*: anything with the fields of
[`portfolio_rl.envs.simulator.SimResult`][] (numpy arrays or torch tensors, any leading
batch shape) that are listed in `Trajectory`. Each has an outcome form (one number
per trajectory, what GRPO's outcome supervision normalises) and, where the reward
decomposes over rebalancing steps, a per-step form (process supervision, PPO, the env's
step reward). A reward without a per-step form is credited to the last step.

Adding a reward is one decorated function in this file:

    @reward("my_reward", per_step=my_reward_per_step)
    def my_reward(traj): ...

Config validation (``TrainConfig.rewards``), the trainers and ``PortfolioEnv(rewards=...)``
all read `REWARDS`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from portfolio_rl.conventions.market import PERIODS, is_torch
from portfolio_rl.conventions.measures import sharpe

Array = Any  # np.ndarray or torch.Tensor


class Trajectory(Protocol):
    """What a reward function reads (the matching fields of ``SimResult``)."""

    wealth: Array
    """(..., K*h + 1) wealth after each close's trades, from the first decision close."""
    step_log_returns: Array
    """(..., K) net log growth of each rebalancing step, its own cost included."""
    daily_returns: Array
    """(..., K*h) net simple returns of each day after the first decision close."""
    turnover: Array
    """(..., K) two-way turnover of each rebalance."""


#: Parameters of the parametrised rewards and their defaults (``TrainConfig.reward_params``).
REWARD_PARAMS: dict[str, float] = {"risk_aversion": 5.0, "cvar_alpha": 0.05, "cvar_lambda": 1.0}


@dataclass(frozen=True)
class RewardFunction:
    """A registered reward.

    Attributes
    ----------
    outcome : callable
        ``outcome(traj) -> (...)``: one value per trajectory.
    per_step : callable or None
        ``per_step(traj) -> (..., K)``; None for a trajectory-level reward (credited to the
        last step).
    local : bool
        The per-step value of step k depends on step k alone (the env then computes it
        from the last step only).
    doc : str
        One line for ``--help`` and the README.
    """

    outcome: Callable[[Trajectory], Array]
    per_step: Callable[[Trajectory], Array] | None
    local: bool
    doc: str


REWARDS: dict[str, RewardFunction] = {}


def reward(
    name: str, per_step: Callable[[Trajectory], Array] | None = None, local: bool = True
) -> Callable[[Callable[[Trajectory], Array]], Callable[[Trajectory], Array]]:
    """Register the decorated outcome function as reward ``name``."""

    def register(outcome: Callable[[Trajectory], Array]) -> Callable[[Trajectory], Array]:
        doc = (outcome.__doc__ or name).strip().splitlines()[0]
        REWARDS[name] = RewardFunction(outcome, per_step, local, doc)
        return outcome

    return register


def check_weights(weights: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``weights`` maps known reward names to finite numbers."""
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"rewards must map some of {list(REWARDS)} to weights")
    if not any(weights.values()):
        raise ValueError("at least one reward needs a non-zero weight")
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise ValueError(f"unknown reward(s) {unknown}; choose from {list(REWARDS)}")
    for name, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or not np.isfinite(w):
            raise ValueError(f"the weight of reward {name!r} must be a finite number, got {w!r}")


# --------------------------------------------------------------------------- helpers


def _zeros_like(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.zeros_like(x)
    return np.zeros_like(x, dtype=float)


def _running_max(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.cummax(x, dim=-1).values
    return np.maximum.accumulate(x, axis=-1)


def _prepend_one(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.cat([torch.ones_like(x[..., :1]), x], dim=-1)
    return np.concatenate([np.ones_like(x[..., :1]), x], axis=-1)


def _per_step_segments(traj: Trajectory) -> Array:
    """Daily returns reshaped to (..., K, h)."""
    d = traj.daily_returns
    k = traj.step_log_returns.shape[-1]
    return d.reshape(*d.shape[:-1], k, d.shape[-1] // k)


def _on_last_step(value: Array, k: int) -> Array:
    """(...) -> (..., K) with ``value`` on the last step and zeros before it."""
    if is_torch(value):
        import torch

        return torch.cat([value.new_zeros(*value.shape, k - 1), value[..., None]], dim=-1)
    return np.concatenate([np.zeros((*np.shape(value), k - 1)), np.asarray(value)[..., None]], -1)


# --------------------------------------------------------------------------- rewards


def _log_growth_steps(traj: Trajectory) -> Array:
    return traj.step_log_returns


@reward("log_growth", per_step=_log_growth_steps)
def log_growth(traj: Trajectory) -> Array:
    """Net log growth of wealth (costs included): the Kelly criterion's objective."""
    return traj.step_log_returns.sum(-1)


@reward("sharpe")
def sharpe_ratio(traj: Trajectory) -> Array:
    """Annualised Sharpe ratio of the trajectory's daily net returns (std + 1e-8)."""
    return sharpe(traj.daily_returns, eps=1e-8)


@reward("drawdown_penalty")
def drawdown_penalty(traj: Trajectory) -> Array:
    """Minus the maximum drawdown of the wealth path (from 1.0 before the first trade)."""
    w = _prepend_one(traj.wealth)
    dd = 1 - w / _running_max(w)
    return -(dd.amax(-1) if is_torch(dd) else dd.max(-1))


def _turnover_steps(traj: Trajectory) -> Array:
    return -traj.turnover


@reward("turnover_penalty", per_step=_turnover_steps)
def turnover_penalty(traj: Trajectory) -> Array:
    """Minus the summed two-way turnover."""
    return -traj.turnover.sum(-1)


def _variance_steps(traj: Trajectory) -> Array:
    seg = _per_step_segments(traj)
    return -0.5 * (seg * seg).sum(-1)


@reward("variance_penalty", per_step=_variance_steps)
def variance_penalty(traj: Trajectory) -> Array:
    """Minus half the sum of squared daily returns (log growth + this = mean-variance)."""
    d = traj.daily_returns
    return -0.5 * (d * d).sum(-1)


def _differential_sharpe_steps(traj: Trajectory, eta: float = 1 / PERIODS) -> Array:
    """Moody & Saffell (1998) differential Sharpe ratio of each step's return, Eq. (4).

    ``D_k = (B dA - A dB / 2) / (B - A^2)^(3/2)`` with ``dA = R_k - A``, ``dB = R_k^2 - B``
    and exponential moving moments ``A += eta dA``, ``B += eta dB``; the second moment
    starts at a 20%-volatility asset's, not 0, so the first steps do not divide by ~0.
    """
    step = traj.step_log_returns
    h = traj.daily_returns.shape[-1] // step.shape[-1]
    ret = step.expm1() if is_torch(step) else np.expm1(step)
    a = ret[..., 0] * 0.0
    b = a + 0.04 / PERIODS * h
    out = []
    for k in range(step.shape[-1]):
        r = ret[..., k]
        da, db = r - a, r * r - b
        denom = (b - a * a) ** 1.5
        safe = denom + (denom <= 1e-12) * 1.0
        out.append((denom > 1e-12) * (b * da - 0.5 * a * db) / safe)
        a, b = a + eta * da, b + eta * db
    if is_torch(step):
        import torch

        return torch.stack(out, dim=-1)
    return np.stack(out, axis=-1)


@reward("differential_sharpe", per_step=_differential_sharpe_steps, local=False)
def differential_sharpe(traj: Trajectory) -> Array:
    """Sum of the steps' differential Sharpe ratios (Moody & Saffell 1998)."""
    return _differential_sharpe_steps(traj).sum(-1)


def _certainty_equivalent_steps(traj: Trajectory, risk_aversion: float = 5.0) -> Array:
    seg = _per_step_segments(traj)
    return _crra_log_ce(seg, risk_aversion)


def _crra_log_ce(daily: Array, gamma: float) -> Array:
    """``log CE`` of CRRA utility over the last axis, summed: ``n/(1-g) log mean (1+r)^(1-g)``
    (the expected log growth at ``g = 1``)."""  # noqa: D205, D209
    log_growth = daily.log1p() if is_torch(daily) else np.log1p(daily)
    n = daily.shape[-1]
    if abs(gamma - 1.0) < 1e-12:
        return log_growth.sum(-1)
    scaled = (1.0 - gamma) * log_growth
    if is_torch(daily):
        import torch

        lme = torch.logsumexp(scaled, dim=-1) - np.log(n)
    else:
        top = scaled.max(-1, keepdims=True)
        lme = np.log(np.exp(scaled - top).mean(-1)) + top[..., 0]
    return n / (1.0 - gamma) * lme


@reward("certainty_equivalent", per_step=_certainty_equivalent_steps)
def certainty_equivalent(traj: Trajectory, risk_aversion: float = 5.0) -> Array:
    """Log certainty-equivalent growth under CRRA utility (log growth at risk aversion 1)."""
    return _crra_log_ce(traj.daily_returns, risk_aversion)


@reward("cvar_penalty")
def cvar_penalty(traj: Trajectory, cvar_alpha: float = 0.05, cvar_lambda: float = 1.0) -> Array:
    """Minus ``cvar_lambda`` times the CVaR of the daily losses at level ``cvar_alpha``.

    Historical CVaR (Rockafellar & Uryasev 2000): the mean of the worst
    ``ceil(alpha * T)`` daily returns, negated; added to ``log_growth`` it gives "log growth
    minus lambda x CVaR".
    """
    d = traj.daily_returns
    k = max(1, int(np.ceil(cvar_alpha * d.shape[-1])))
    if is_torch(d):
        worst = d.topk(k, dim=-1, largest=False).values
    else:
        worst = np.sort(d, axis=-1)[..., :k]
    return cvar_lambda * worst.mean(-1)


# --------------------------------------------------------------------------- combining


@functools.cache
def _accepted(fn: Callable[..., Array]) -> frozenset[str]:
    """The keyword parameters a reward form takes (read once per function)."""
    return frozenset(inspect.signature(fn).parameters)


def _call(fn: Callable[..., Array], traj: Trajectory, params: Mapping[str, float]) -> Array:
    """Call a reward form with the parameters it takes."""
    accepted = _accepted(fn)
    return fn(traj, **{k: v for k, v in (params or {}).items() if k in accepted})


def outcome_terms(
    traj: Trajectory, weights: Mapping[str, float], params: Mapping[str, float] | None = None
) -> dict[str, Array]:
    """Each named reward's outcome form (unweighted), for rewards with a non-zero weight."""
    return {n: _call(REWARDS[n].outcome, traj, params or {}) for n, w in weights.items() if w}


def outcome_rewards(
    traj: Trajectory, weights: Mapping[str, float], params: Mapping[str, float] | None = None
) -> Array:
    """Weighted sum of the named rewards' outcome forms, shape (...)."""
    total = _zeros_like(traj.step_log_returns[..., 0])
    for name, value in outcome_terms(traj, weights, params).items():
        total = total + weights[name] * value
    return total


def step_rewards(
    traj: Trajectory,
    weights: Mapping[str, float],
    final: bool = True,
    params: Mapping[str, float] | None = None,
) -> Array:
    """Weighted sum of the per-step forms, shape (..., K).

    Rewards without a per-step form add their outcome to the last step when ``final``
    (the trajectory has ended); otherwise they are left out.
    """
    total = _zeros_like(traj.step_log_returns)
    k = traj.step_log_returns.shape[-1]
    for name, weight in weights.items():
        fn = REWARDS[name]
        if not weight:
            continue
        if fn.per_step is not None:
            total = total + weight * _call(fn.per_step, traj, params or {})
        elif final:
            total = total + _on_last_step(weight * _call(fn.outcome, traj, params or {}), k)
    return total
