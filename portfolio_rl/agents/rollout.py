"""Rollouts: G trajectories of K actions from each of B starts on one shared path per start.

The policy acts at each decision close on the observation of the one feature function and
its drifted weights ([`portfolio_rl.conventions.features.observation`][]); the batched simulator
applies the one cost model to the whole batch at once.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import (
    MarketData,
    PathBatch,
    historical_paths,
    sample_paths,
    sample_starts,
)
from portfolio_rl.agents.optim import at, chunks, starts_per_chunk
from portfolio_rl.agents.policy import PolicyOutput, SimplexPolicy
from portfolio_rl.agents.steer_table import SteerContext
from portfolio_rl.conventions.features import observation
from portfolio_rl.conventions.mandate import Limits, project
from portfolio_rl.conventions.market import PERIODS, drift
from portfolio_rl.conventions.measures import risk_value, sharpe
from portfolio_rl.envs.simulator import SimResult, simulate


class Rollout(NamedTuple):
    """G trajectories of K actions from each of B starts."""

    obs: torch.Tensor
    """(B, G, K, n, OBS_FEATURES) observations."""
    actions: torch.Tensor
    """(B, G, K, n) actions (scores or weights)."""
    logp: torch.Tensor
    """(B, G, K) log-probabilities of the actions under the sampling policy."""
    sim: SimResult
    """Simulator output for the target weights."""
    anchor: torch.Tensor | SteerContext | None = None
    """(B, G, K, n) (n + 1 with cash) anchor weights of each decision, if anchored; the
    steered policy's context (B, G, K), if steered."""


@torch.no_grad()
def rollout(
    policy: SimplexPolicy,
    paths: PathBatch,
    group_size: int,
    h: int,
    cost_bps: float,
    deterministic: bool = False,
    limits: Limits | None = None,
) -> Rollout:
    """Sample (or take the mean action of) ``policy`` along the shared paths.

    The loop runs over the K steps only: an observation needs the weights drifted by the
    previous action; everything else is vectorised over B and G. With cash (the paths have
    one more return column than feature rows) every trajectory starts in it. A mandate's
    ``limits`` end the action transform: the weights are projected onto them
    ([`portfolio_rl.conventions.mandate.project`][]), as in the backtest.
    """
    b, k, n, _ = paths.features.shape
    cash = paths.returns.shape[-1] > n
    start = _starting_weights(paths, b, group_size, cash)
    drifted = start
    obs_steps, act_steps, logp_steps, weight_steps = [], [], [], []
    anchors = None
    if paths.anchor is not None:
        anchors = paths.anchor[:, None].expand(b, group_size, *paths.anchor.shape[1:])
    for step in range(k):
        feats = paths.features[:, step, None].expand(b, group_size, n, -1)
        obs = observation(feats, drifted[..., :n])
        context = None if anchors is None else anchors[:, :, step]
        out = act(policy, obs, context)
        if deterministic:
            weights = policy.mean_weights(out, context)
            action = weights
            logp = torch.zeros(b, group_size, device=obs.device)
        else:
            action = policy.sample(out)
            weights = policy.to_weights(action, context)
            logp = policy.log_prob(out, action)
        weights = project(weights, limits)
        segment = paths.returns[:, None, step * h : (step + 1) * h]
        drifted = drift(weights, segment)
        obs_steps.append(obs)
        act_steps.append(action)
        logp_steps.append(logp)
        weight_steps.append(weights)
    weights = torch.stack(weight_steps, dim=2)
    sim = simulate(
        weights, paths.returns, cost_bps, initial_weights=start if cash else None, cash=cash
    )
    return Rollout(
        torch.stack(obs_steps, dim=2),
        torch.stack(act_steps, dim=2),
        torch.stack(logp_steps, dim=2),
        sim,
        anchors,
    )


#: Observation rows (start x member x asset) one forward pass of a rollout step takes at
#: most. A larger step leaves the cache and runs slower per row (16 starts x 16 members at
#: 500 assets is 128,000 rows); every documented run (at most 12,800 rows a step) is one pass.
ROLLOUT_ROWS = 16_384


def act(policy: SimplexPolicy, obs: torch.Tensor, anchor: torch.Tensor | None) -> PolicyOutput:
    """``policy(obs, anchor)`` taken over the starts (first axis) in passes of at most
    ROLLOUT_ROWS observation rows; a start's assets are never split."""  # noqa: D205, D209
    per = starts_per_chunk(obs, ROLLOUT_ROWS)
    if per >= len(obs) or not isinstance(policy, SimplexPolicy):
        return policy(obs, anchor)  # seeds trained together split their batch by seed
    parts = [policy(obs[part], at(anchor, part)) for part, _ in chunks(len(obs), per)]
    return PolicyOutput.joined(parts, parts[0].log_std)


def batch_rollout(
    policy: SimplexPolicy, data: MarketData, config: TrainConfig, rng: np.random.Generator
) -> Rollout:
    """The baselines' batch: B starts x G trajectories on shared paths, as GRPO samples.

    PPO and REINFORCE learn from the same kind and amount of data as GRPO and differ only in
    how they turn it into advantages (a critic with GAE; the batch mean as baseline).
    """
    starts = sample_starts(data, config.batch_starts, rng)
    paths = sample_paths(data, config, starts, rng)
    return rollout(
        policy,
        paths,
        config.group_size,
        config.rebalance_days,
        config.cost_bps,
        limits=data.limits,
    )


def _starting_weights(paths: PathBatch, b: int, g: int, cash: bool) -> torch.Tensor:
    """(B, G, n) weights held before the first trade: all cash, or nothing invested."""
    start = paths.returns.new_zeros(b, g, paths.returns.shape[-1])
    if cash:
        start[..., -1] = 1.0
    return start


def _validation_paths(data: MarketData, config: TrainConfig) -> PathBatch:
    """The realised path of the validation range, from its first decision close."""
    return historical_paths(data, np.array([data.val_start]), data.val_steps, config.rebalance_days)


@torch.no_grad()
def validation_returns(policy: SimplexPolicy, data: MarketData, config: TrainConfig) -> np.ndarray:
    """Daily net returns of the deterministic policy over the validation range."""
    paths = _validation_paths(data, config)
    h, cost = config.rebalance_days, config.cost_bps
    out = rollout(policy, paths, 1, h, cost, deterministic=True, limits=data.limits)
    return out.sim.daily_returns[0, 0].double().cpu().numpy()


def validation_score(policy: SimplexPolicy, data: MarketData, config: TrainConfig) -> float:
    """The validation objective of the deterministic policy on the validation range.

    ``log_growth`` (the default but for robust GRPO): annualised net log growth,
    ``252 * mean(log(1 + r))``, which holding cash cannot game (a policy all in cash earns
    the risk-free rate, no more);
    ``sharpe``: annualised Sharpe ratio in excess of cash's return (0 without cash);
    ``robust``: the risk measure of the log growth of consecutive K*h-day windows (the
    training horizon), annualised (see `TrainConfig`).
    ``val_aggregate`` takes it over the whole path, or per validation year and then the
    median or the worst year (`year_slices`).
    """
    return _score(validation_returns(policy, data, config), data, config)


@torch.no_grad()
def equal_weight_score(data: MarketData, config: TrainConfig) -> float:
    """The validation objective of 1/N (fully invested, rebalanced like the policy): the
    reference line of the validation curves."""  # noqa: D205, D209
    paths = _validation_paths(data, config)
    n_risky, n = data.prices.shape[1], paths.returns.shape[-1]
    weights = paths.returns.new_zeros(1, 1, data.val_steps, n)
    weights[..., :n_risky] = 1.0 / n_risky
    start = _starting_weights(paths, 1, 1, data.cash)
    sim = simulate(weights, paths.returns, config.cost_bps, start, cash=data.cash)
    return _score(sim.daily_returns[0, 0].double().cpu().numpy(), data, config)


def year_slices(dates: pd.DatetimeIndex) -> list[slice]:
    """The calendar years of ``dates`` as consecutive slices; a part-year shorter than half a
    year (``PERIODS // 2`` days) joins its neighbour, so every slice is about a year or more."""  # noqa: D205, D209
    years = np.asarray(dates.year)
    edges = [0, *(np.flatnonzero(np.diff(years)) + 1).tolist(), len(years)]
    short = PERIODS // 2
    while len(edges) > 2:
        sizes = np.diff(edges)
        if sizes.min() >= short:
            break
        i = int(sizes.argmin())
        edges.pop(i if i == len(sizes) - 1 else i + 1)  # the last joins back, others forward
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _score(r: np.ndarray, data: MarketData, config: TrainConfig) -> float:
    """``config.objective`` of the daily returns ``r`` (from the first validation day),
    over the path or aggregated over validation years (``config.val_aggregate``)."""  # noqa: D205, D209
    days = slice(data.val_start + 1, data.val_start + 1 + len(r))
    rf = data.returns[days, -1].double().cpu().numpy() if data.cash else np.zeros(len(r))
    if config.val_aggregate == "path":
        return _objective(r, rf, config)
    scores = [_objective(r[y], rf[y], config) for y in year_slices(data.dates[days])]
    return float(min(scores) if config.val_aggregate == "worst_year" else np.median(scores))


def _objective(r: np.ndarray, rf: np.ndarray, config: TrainConfig) -> float:
    if config.objective == "log_growth":
        return float(np.log1p(r).mean() * PERIODS)
    if config.objective == "robust":
        horizon = config.steps * config.rebalance_days
        n = max(1, len(r) // horizon)
        windows = torch.as_tensor(np.log1p(r[: n * horizon]).reshape(n, -1).sum(1))
        value = risk_value(windows, config.robust_measure, config.robust_param, dim=0)
        return float(value) * PERIODS / (len(r) if n == 1 else horizon)
    return sharpe(r, rf)
