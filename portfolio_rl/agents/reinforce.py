"""REINFORCE baseline with a mean baseline (Williams 1992), same policy and sample budget.

Per iteration: GRPO's batch (B starts, G trajectories each on the start's shared path); the
outcome reward of each trajectory minus the mean of the whole batch (not of its group)
multiplies the log-probability of every one of its actions; one gradient step per batch
(on-policy, so no ratio and no clipping).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.optim import (
    check_finite,
    chunks,
    clip_and_step,
    set_lr,
    starts_per_chunk,
)
from portfolio_rl.agents.rollout import batch_rollout
from portfolio_rl.agents.runstate import ProgressFn, RunState, TrainResult
from portfolio_rl.agents.setup import set_up
from portfolio_rl.agents.steer_table import Steering
from portfolio_rl.conventions.rewards import outcome_rewards


def train_reinforce(
    config: TrainConfig,
    prices: pd.DataFrame,
    folder: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
    anchor: Anchor | None = None,
    steering: Steering | None = None,
) -> TrainResult:
    """Train the REINFORCE baseline (the interface of [`portfolio_rl.agents.grpo.train_grpo`][])."""
    rng, _, data, policy = set_up(config, prices, anchor, steering)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    state = RunState(folder, config, data)
    modules = {"policy": policy, "optimizer": optimizer}
    state.start(modules, rng, resume=resume, progress=progress)

    iteration = state.start_iteration - 1
    for iteration in range(state.start_iteration, config.iterations):
        lr = set_lr(optimizer, config, iteration)
        batch = batch_rollout(policy, data, config, rng)
        rewards = outcome_rewards(batch.sim, config.rewards, config.reward_params)  # (B, G)
        adv = (rewards - rewards.mean())[..., None].expand_as(batch.logp)
        optimizer.zero_grad()
        loss_total, entropy = 0.0, 0.0
        for part, share in chunks(len(batch.obs), starts_per_chunk(batch.obs)):
            out = policy(batch.obs[part], None if batch.anchor is None else batch.anchor[part])
            loss = -(adv[part] * policy.log_prob(out, batch.actions[part])).mean() * share
            check_finite(iteration, loss, 0.0, config.max_kl)
            loss.backward()
            loss_total += loss.item()
            entropy += policy.entropy(out).mean().item() * share  # before the step
        grad_norm = clip_and_step(optimizer, list(policy.parameters()), config.max_grad_norm)
        row = {
            "iteration": iteration,
            "reward_mean": rewards.mean().item(),
            "reward_std": rewards.std().item(),
            "frac_reward_zero_std": float("nan"),
            "kl": float("nan"),
            "clip_ratio_low": 0.0,
            "clip_ratio_high": 0.0,
            "entropy": entropy,
            "grad_norm": grad_norm,
            "loss": loss_total,
            "lr": lr,
        }
        if state.end_iteration(iteration, row, policy):
            break
    return state.finish(iteration)
