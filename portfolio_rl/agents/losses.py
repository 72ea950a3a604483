"""The pieces of the clipped-ratio objectives, each checkable by hand.

Group-relative advantages and process supervision (GRPO, Shao et al. 2024), the clipped
surrogate (Schulman et al. 2017, with DAPO's decoupled clip range, Yu et al. 2025), the k3
KL estimator (Schulman 2020) and the loss aggregation rules. GRPO and PPO both import from
here; neither imports the other.
"""

from __future__ import annotations

import torch


def group_advantages(
    rewards: torch.Tensor, scale: str = "group", std_floor: float = 1e-4
) -> torch.Tensor:
    """Group-relative advantages of outcome rewards.

    ``A_i = (R_i - mean(R_group)) / max(std, std_floor)`` (Shao et al. 2024, §4.1.2).

    Parameters
    ----------
    rewards : Tensor of shape (B, G)
        One outcome reward per trajectory, G trajectories per group.
    scale : {"group", "batch", "none"}
        Divide the group-centred rewards by the group std (ddof=1), the std of the whole
        batch, or nothing (Dr. GRPO, Liu et al. 2025).
    std_floor : float
        The std is floored at this value, so a near-constant group cannot blow up.

    Returns
    -------
    Tensor of shape (B, G)
    """
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if scale == "none":
        return centred
    std = rewards.std(dim=1, keepdim=True) if scale == "group" else rewards.std()
    return centred / torch.clamp(std, min=std_floor)


def process_advantages(rewards: torch.Tensor, std_floor: float = 1e-4) -> torch.Tensor:
    """Process-supervision advantages (Shao et al. 2024, §4.1.3), normalised step by step.

    The reward of step t is normalised with the mean and std of the G members' rewards *at
    that step*; the advantage of step t is the sum of normalised rewards of steps t..K-1.
    The paper pools all G x K step rewards of a group; here every member of a group shares
    the market path, so a pooled normalisation keeps the month-to-month market move in the
    advantage (most of its variance is common to the group) and credits an action with the
    market's luck. Normalising per step over the group removes it: what is left is what the
    actions did.

    Parameters
    ----------
    rewards : Tensor of shape (B, G, K)

    Returns
    -------
    Tensor of shape (B, G, K)
    """
    mean = rewards.mean(dim=1, keepdim=True)
    std = torch.clamp(rewards.std(dim=1, keepdim=True), min=std_floor)
    normalised = (rewards - mean) / std
    return normalised.flip(-1).cumsum(-1).flip(-1)


def k3_kl(logp: torch.Tensor, logp_ref: torch.Tensor) -> torch.Tensor:
    """Unbiased, non-negative KL estimator ``r - log r - 1`` with ``r = pi_ref / pi_theta``.

    Shao et al. (2024) Eq. 4; Schulman (2020), "Approximating KL divergence".
    """
    log_ratio = logp_ref - logp
    return torch.exp(log_ratio) - log_ratio - 1


def clipped_surrogate(
    logp: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    epsilon_low: float,
    epsilon_high: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A)`` per step, and clip indicators.

    Returns
    -------
    surrogate : Tensor, same shape as ``logp``
    clipped_low, clipped_high : bool Tensors
        Steps whose ratio sits below ``1 - eps_low`` with ``A < 0`` / above ``1 + eps_high``
        with ``A > 0`` (where the clip takes the gradient away).
    """
    ratio = torch.exp(logp - logp_old)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    surrogate = torch.minimum(ratio * advantages, clipped * advantages)
    low = (ratio < 1 - epsilon_low) & (advantages < 0)
    high = (ratio > 1 + epsilon_high) & (advantages > 0)
    return surrogate, low, high


def aggregate(per_step: torch.Tensor, mode: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Average a per-step loss of shape (..., K) to a scalar.

    ``trajectory``: mean over each trajectory's steps, then over trajectories (GRPO, Shao et
    al. 2024 Eq. 3); ``step``: mean over all steps of the batch (DAPO's token-level loss,
    Yu et al. 2025), so longer trajectories weigh more. ``mask`` (same shape, 1 for a step
    that happened) marks truncated trajectories; with equal lengths the two modes agree.
    """
    if mask is None:
        if mode == "trajectory":
            return per_step.mean(dim=-1).mean()
        return per_step.sum() / per_step.numel()
    mask = mask.to(per_step.dtype)
    if mode == "trajectory":
        return ((per_step * mask).sum(-1) / mask.sum(-1).clamp_min(1)).mean()
    return (per_step * mask).sum() / mask.sum().clamp_min(1)
