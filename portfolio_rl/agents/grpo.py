"""Group Relative Policy Optimization for portfolio allocation.

Faithful to DeepSeekMath (Shao et al. 2024, Eq. 3-4, Algorithm 1), mapped onto allocation:

* prompt = a start state (decision close t, features of prices up to t, holding cash);
  completion = a trajectory of K rebalancing actions over the next K*h trading days;
  token = one action.
* group = G trajectories sampled from pi_old from the same start on the same market path
  (the realised future, or one shared bootstrap draw), so reward differences inside a group
  come from the actions alone; the group statistics replace the critic.
* outcome supervision: ``A_i = (R_i - mean(R_group)) / max(std(R_group), floor)`` for every
  step of trajectory i (``scale_rewards``: ``group``, ``batch`` std, or ``none`` = Dr. GRPO,
  Liu et al. 2025); process supervision: per-step rewards normalised over the group, the
  advantage of step t the sum of normalised rewards from t on (paper §4.1.3).
* objective per step: ``min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A) - beta KL`` with
  ``rho = pi_theta / pi_old`` and the unbiased k3 estimator
  ``KL = pi_ref/pi_theta - log(pi_ref/pi_theta) - 1`` (paper Eq. 4) or the exact KL;
  averaged per trajectory then over the group (``trajectory``) or over all steps (``step``,
  DAPO's token-level; Yu et al. 2025). With equal-length trajectories, as here, the two
  coincide; the option matters once trajectories are truncated.
* ``mu`` gradient steps per sampled batch (with ``mu = 1`` the ratio is 1 and nothing is
  clipped, by construction); the reference policy is reset to the current one every
  ``ref_update_every`` iterations (iterative GRPO, Algorithm 1); optional dynamic sampling
  drops groups with zero reward spread (DAPO).

The file reads top to bottom as one loop in six parts; the hand-checkable pieces of the
objective are in [`portfolio_rl.agents.losses`][]. ``algo: robust_grpo`` runs the same loop
with a shared set of S market scenarios per start and a risk measure over each member's
bundle of S outcomes as its reward ([`portfolio_rl.agents.scenarios`][]);
[`portfolio_rl.agents.seeds`][] runs it for several seeds at once.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import sample_paths, sample_starts
from portfolio_rl.agents.losses import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    k3_kl,
    process_advantages,
)
from portfolio_rl.agents.optim import (
    at,
    check_finite,
    chunks,
    clip_and_step,
    set_lr,
    starts_per_chunk,
)
from portfolio_rl.agents.policy import PolicyOutput, SimplexPolicy
from portfolio_rl.agents.rollout import Rollout, rollout
from portfolio_rl.agents.runstate import LOGGED_STATS, ProgressFn, RunState, TrainResult
from portfolio_rl.agents.scenarios import bundle, robust_rewards, scenario_paths
from portfolio_rl.agents.setup import set_up
from portfolio_rl.agents.steer import SteeredPolicy
from portfolio_rl.agents.steer_table import Steering
from portfolio_rl.conventions.rewards import outcome_terms, step_rewards


def train_grpo(
    config: TrainConfig,
    prices: pd.DataFrame,
    folder: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
    anchor: Anchor | None = None,
    steering: Steering | None = None,
) -> TrainResult:
    """Train a GRPO allocation policy; the best policy on validation lands in ``folder``.

    Parameters
    ----------
    config : TrainConfig
    prices : DataFrame of shape (n_dates, n_assets)
        Validated prices; rows after ``config.val_end`` are never read.
    folder : Path
        Run folder (see [`portfolio_rl.agents.runstate`][]).
    resume : bool
        Continue from ``folder/last.pt``; the result equals an uninterrupted run.
    progress : callable, optional
        ``progress(done, total, figures)`` after each iteration.
    anchor : Anchor, optional
        The anchor's weights on every day, when ``config.anchor`` names a baseline.
    steering : Steering, optional
        The steered baseline's solves and tables, when ``config.steer`` names one
        ([`portfolio_rl.agents.steer`][]).

    Returns
    -------
    TrainResult
    """
    # 1. setup: one seeding block, data up to val_end, policy, reference, optimiser
    rng, _, data, policy = set_up(config, prices, anchor, steering)
    reference = copy.deepcopy(policy).requires_grad_(False)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    state = RunState(folder, config, data)
    modules = {"policy": policy, "reference": reference, "optimizer": optimizer}
    state.start(modules, rng, resume=resume, progress=progress)

    robust = config.algo == "robust_grpo"
    iteration = state.start_iteration - 1
    for iteration in range(state.start_iteration, config.iterations):
        lr = set_lr(optimizer, config, iteration)

        # 2. rollout: G trajectories per start from pi_old on one shared path per start
        #    (robust GRPO: G bundles per start on a shared set of S scenarios)
        starts = sample_starts(data, config.batch_starts, rng)
        paths = sample_paths(data, config, starts, rng)
        if robust:
            paths = scenario_paths(data, config, starts, paths, rng)
        h, cost = config.rebalance_days, config.cost_bps
        batch = rollout(policy, paths, config.group_size, h, cost, limits=data.limits)

        # 3. rewards and group-relative advantages (no critic)
        batch, rewards, adv, figures = advantages(batch, config, robust)
        if isinstance(policy, SteeredPolicy):  # the parameters the batch tried
            tried = policy.values(batch.actions)
            figures |= {f"steer_{k}": v.mean().item() for k, v in tried.items()}
        group_std = rewards.std(dim=1)
        keep = (
            group_std > 1e-8
            if config.dynamic_sampling
            else torch.ones_like(group_std, dtype=torch.bool)
        )
        rows = slice(None) if keep.all() else keep  # views, not copies, when all groups stay
        anchor = None if batch.anchor is None else batch.anchor[rows]

        # 4. mu gradient steps on the clipped surrogate with the KL penalty
        stats = dict.fromkeys(LOGGED_STATS, 0.0)
        if keep.any():
            obs, actions, logp_old, a = (
                batch.obs[rows],
                batch.actions[rows],
                batch.logp[rows],
                adv[rows],
            )
            pieces = chunks(len(obs), starts_per_chunk(obs))
            with torch.no_grad():  # pi_ref is fixed during the iteration's mu steps
                refs = [
                    reference_terms(reference, obs[part], actions[part], at(anchor, part))
                    for part, _ in pieces
                ]
            for _ in range(config.mu):
                step_stats = policy_step(
                    policy,
                    optimizer,
                    (obs, actions, logp_old, a, anchor),
                    pieces,
                    refs,
                    iteration,
                    config,
                )
                for key, v in zip(LOGGED_STATS, step_stats, strict=True):
                    stats[key] += v / config.mu

        # 5. iterative GRPO: the reference follows the policy every N iterations
        if config.ref_update_every and (iteration + 1) % config.ref_update_every == 0:
            reference.load_state_dict(policy.state_dict())

        # 6. logging, validation, early stopping, checkpoints
        row = iteration_row(iteration, rewards, stats, lr, figures)
        if state.end_iteration(iteration, row, policy):
            break
    return state.finish(iteration)


def reference_terms(
    reference: SimplexPolicy,
    obs: torch.Tensor,
    actions: torch.Tensor,
    anchor: torch.Tensor | None,
) -> tuple[PolicyOutput, torch.Tensor]:
    """The reference policy's distribution and log-probabilities of one chunk's actions."""
    ref_out = reference(obs, anchor)
    return ref_out, reference.log_prob(ref_out, actions)


def policy_step(
    policy: SimplexPolicy,
    optimizer: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, ...],
    pieces: list[tuple[slice, float]],
    refs: list[tuple[PolicyOutput, torch.Tensor]],
    iteration: int,
    config: TrainConfig,
) -> list[float]:
    """One gradient step whose loss is accumulated over chunks of starts (`optim.chunks`).

    Each chunk's loss is weighted by its share of the starts, so the gradient is the whole
    batch's (up to the order of float sums: trajectories have equal lengths, so the mean over
    trajectories, or steps, is the weighted mean of the chunks' means); a small batch is one
    chunk of share 1. ``refs`` holds each chunk's `reference_terms`. Returns the logged
    figures (KL, clip ratios, entropy, gradient norm, loss), averaged the same way.
    """
    obs, actions, logp_old, adv, anchor = batch
    optimizer.zero_grad()
    totals: list[float] = []
    for (part, share), (ref_out, logp_ref) in zip(pieces, refs, strict=True):
        out = policy(obs[part], at(anchor, part))
        per_step, kl, low, high = objective(
            policy, out, actions[part], logp_old[part], adv[part], ref_out, logp_ref, config
        )
        loss = aggregate(per_step, config.loss_aggregation) * share
        check_finite(iteration, loss, kl.mean().item(), config.max_kl)
        loss.backward()
        figures = [mean_of(v) * share for v in (kl, low, high, policy.entropy(out))]
        figures.append(loss.item())
        totals = figures if not totals else [t + f for t, f in zip(totals, figures, strict=True)]
    norm = clip_and_step(optimizer, list(policy.parameters()), config.max_grad_norm)
    return [*totals[:4], norm, totals[4]]


def advantages(
    batch: Rollout, config: TrainConfig, robust: bool = False
) -> tuple[Rollout, torch.Tensor, torch.Tensor, dict[str, float]]:
    """Outcome rewards and group-relative advantages of a rollout (no critic).

    Returns
    -------
    batch : Rollout
        The rollout, its bundles merged for robust GRPO (`scenarios.bundle`).
    rewards : Tensor of shape (B, G)
    adv : Tensor of shape (B, G, K)
        Every step's advantage.
    figures : dict
        Robust GRPO's scenario spread and robust gap (empty otherwise).
    """
    terms = outcome_terms(batch.sim, config.rewards, config.reward_params)  # name -> (B, G)
    per_term = normalize_then_sum(config, len(terms))
    figures: dict[str, float] = {}
    if robust:  # a risk measure over each bundle's S outcomes; (B*S, G) -> (B, G)
        terms, rewards, figures = robust_rewards(terms, config, per_term)
        batch = bundle(batch, config.scenarios)
    else:
        rewards = sum(config.rewards[n] * r for n, r in terms.items())
    if config.process_supervision:
        steps = step_rewards(batch.sim, config.rewards, params=config.reward_params)
        return batch, rewards, process_advantages(steps, config.std_floor), figures
    if per_term:
        adv = sum(
            config.rewards[n] * group_advantages(r, config.scale_rewards, config.std_floor)
            for n, r in terms.items()
        )
    else:
        adv = group_advantages(rewards, config.scale_rewards, config.std_floor)
    return batch, rewards, adv[..., None].expand_as(batch.logp), figures


def objective(
    policy: SimplexPolicy,
    out: PolicyOutput,
    actions: torch.Tensor,
    logp_old: torch.Tensor,
    adv: torch.Tensor,
    ref_out: PolicyOutput,
    logp_ref: torch.Tensor,
    config: TrainConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The per-step loss ``-(min(rho A, clip(rho) A) - beta KL)``, the KL and clip flags.

    ``rho`` is per action (DeepSeekMath) or, with ``importance_sampling_level: sequence``,
    one per trajectory, the geometric mean of its steps' ratios (GSPO).
    """
    logp = policy.log_prob(out, actions)
    ratio_logp = logp
    if config.importance_sampling_level == "sequence":  # GSPO: one ratio per path
        ratio_logp = logp_old + (logp - logp_old).mean(-1, keepdim=True).expand_as(logp)
    surrogate, low, high = clipped_surrogate(
        ratio_logp, logp_old, adv, config.epsilon_low, config.epsilon_high
    )
    if config.kl_estimator == "exact":
        kl = policy.kl(out, ref_out.detach())
    else:
        kl = k3_kl(logp, logp_ref)
    return -(surrogate - config.beta * kl), kl, low, high


def iteration_row(
    iteration: int,
    rewards: torch.Tensor,
    stats: dict[str, float],
    lr: float,
    figures: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One iteration's line of ``train_log.csv``: rewards (B, G), update stats, lr, extras."""
    group_std = rewards.std(dim=1)
    return {
        "iteration": iteration,
        "reward_mean": rewards.mean().item(),
        "reward_std": rewards.std().item(),
        "frac_reward_zero_std": (group_std <= 1e-8).float().mean().item(),
        **stats,
        "lr": lr,
        **(figures or {}),
    }


def mean_of(value: torch.Tensor | float) -> float:
    """A logged figure: the mean of a tensor (flags as fractions), or the number itself."""
    return float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)


def normalize_then_sum(config: TrainConfig, n_rewards: int) -> bool:
    """Whether each reward is normalised within the group before the weighted sum."""
    if config.reward_aggregation == "auto":
        return n_rewards > 1
    return config.reward_aggregation == "normalize_then_sum"
