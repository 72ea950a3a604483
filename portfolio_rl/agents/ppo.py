"""PPO baseline: the same policy class, environment and sample budget, plus a value network.

This is what much writing calls "GRPO" (a policy, a learned value baseline, GAE, a clipped
trust region); here it is the comparison. Per iteration it samples GRPO's batch (B starts,
G trajectories each on the start's shared path), computes per-step rewards
(step log growth, minus the turnover penalty; trajectory-level terms on the last step),
GAE advantages (Schulman et al. 2016) from the value network, and takes ``mu`` steps on
the clipped surrogate plus ``vf_coef`` times the value loss (Schulman et al. 2017).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.losses import clipped_surrogate
from portfolio_rl.agents.optim import (
    check_finite,
    chunks,
    clip_and_step,
    set_lr,
    starts_per_chunk,
)
from portfolio_rl.agents.policy import ValueNetwork
from portfolio_rl.agents.rollout import batch_rollout
from portfolio_rl.agents.runstate import LOGGED_STATS, ProgressFn, RunState, TrainResult
from portfolio_rl.agents.setup import set_up
from portfolio_rl.agents.steer_table import Steering
from portfolio_rl.conventions.features import OBS_FEATURES
from portfolio_rl.conventions.rewards import step_rewards


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Generalised advantage estimates over the last axis; the episode ends after step K.

    ``delta_k = r_k + gamma V_{k+1} - V_k`` (``V_K = 0``) and
    ``A_k = sum_j (gamma lam)^j delta_{k+j}``.

    Parameters
    ----------
    rewards, values : Tensor of shape (..., K)

    Returns
    -------
    Tensor of shape (..., K)
    """
    next_values = torch.cat([values[..., 1:], torch.zeros_like(values[..., :1])], dim=-1)
    deltas = rewards + gamma * next_values - values
    adv = torch.zeros_like(deltas)
    running = torch.zeros_like(deltas[..., 0])
    for k in range(deltas.shape[-1] - 1, -1, -1):
        running = deltas[..., k] + gamma * lam * running
        adv[..., k] = running
    return adv


def train_ppo(
    config: TrainConfig,
    prices: pd.DataFrame,
    folder: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
    anchor: Anchor | None = None,
    steering: Steering | None = None,
) -> TrainResult:
    """Train the PPO baseline (same interface as [`portfolio_rl.agents.grpo.train_grpo`][])."""
    rng, device, data, policy = set_up(config, prices, anchor, steering)
    value = ValueNetwork(OBS_FEATURES, config.hidden).to(device)
    optimizer = torch.optim.Adam([*policy.parameters(), *value.parameters()], lr=config.lr)
    state = RunState(folder, config, data)
    modules = {"policy": policy, "value": value, "optimizer": optimizer}
    state.start(modules, rng, resume=resume, progress=progress)

    iteration = state.start_iteration - 1
    for iteration in range(state.start_iteration, config.iterations):
        lr = set_lr(optimizer, config, iteration)
        batch = batch_rollout(policy, data, config, rng)
        rewards = step_rewards(batch.sim, config.rewards, params=config.reward_params)  # (B, G, K)
        parts = chunks(len(batch.obs), starts_per_chunk(batch.obs))  # one chunk when small
        # one chunk: its value pass serves GAE and the first gradient step (the same numbers
        # as a pass without the graph), one pass fewer per iteration
        first = value(batch.obs) if len(parts) == 1 else None
        with torch.no_grad():
            if first is None:
                values = torch.cat([value(batch.obs[part]) for part, _ in parts])
            else:
                values = first.detach()
            adv = gae(rewards, values, config.gamma, config.gae_lambda)
            returns = adv + values
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        stats = dict.fromkeys(LOGGED_STATS, 0.0)
        for step in range(config.mu):
            optimizer.zero_grad()
            figures = [0.0] * 6  # approx KL, clip low, clip high, entropy, value loss, loss
            for part, share in parts:
                anchor_part = None if batch.anchor is None else batch.anchor[part]
                out = policy(batch.obs[part], anchor_part)
                logp = policy.log_prob(out, batch.actions[part])
                surrogate, low, high = clipped_surrogate(
                    logp, batch.logp[part], adv[part], config.epsilon_low, config.epsilon_high
                )
                v = first if step == 0 and first is not None else value(batch.obs[part])
                value_loss = (v - returns[part]).pow(2).mean()
                loss = (-surrogate.mean() + config.vf_coef * value_loss) * share
                approx_kl = (batch.logp[part] - logp).mean().item()
                check_finite(iteration, loss, abs(approx_kl), config.max_kl)
                loss.backward()
                for k, v in enumerate(
                    (
                        approx_kl,
                        low.float().mean().item(),
                        high.float().mean().item(),
                        policy.entropy(out).mean().item(),  # before the step changes log_std
                        value_loss.item(),
                    )
                ):
                    figures[k] += v * share
                figures[5] += loss.item()
            grad_norm = clip_and_step(
                optimizer, [*policy.parameters(), *value.parameters()], config.max_grad_norm
            )
            kl, low_frac, high_frac, entropy, value_loss_mean, loss_total = figures
            step = (kl, low_frac, high_frac, entropy, grad_norm, loss_total)
            for key, v in zip(LOGGED_STATS, step, strict=True):
                stats[key] += v / config.mu
        outcome = batch.sim.step_log_returns.sum(-1)
        row = {
            "iteration": iteration,
            "reward_mean": outcome.mean().item(),
            "reward_std": outcome.std().item(),
            "frac_reward_zero_std": float("nan"),
            **stats,
            "value_loss": value_loss_mean,
            "lr": lr,
        }
        if state.end_iteration(iteration, row, policy):
            break
    return state.finish(iteration)
