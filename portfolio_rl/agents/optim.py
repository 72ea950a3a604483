"""The gradient step, the learning-rate schedule and the divergence check of every trainer."""

from __future__ import annotations

import math
from typing import Any

import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.errors import TrainingDiverged


def lr_at(config: TrainConfig, iteration: int) -> float:
    """Learning rate of an iteration under the configured schedule.

    ``constant``: ``lr``; ``linear``: ``lr (1 - i/I)``; ``cosine``: ``lr (1 + cos(pi i/I)) / 2``
    (Loshchilov & Hutter 2017, without restarts), for iteration ``i`` of ``I``.
    """
    frac = iteration / max(config.iterations, 1)
    if config.lr_schedule == "linear":
        return config.lr * (1 - frac)
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * frac))
    return config.lr


def set_lr(optimizer: torch.optim.Optimizer, config: TrainConfig, iteration: int) -> float:
    """Set and return the scheduled learning rate of ``iteration``."""
    lr = lr_at(config, iteration)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def clip_and_step(
    optimizer: torch.optim.Optimizer, parameters: list[Any], max_norm: float
) -> float:
    """Clip the accumulated gradient norm at ``max_norm`` and step; the norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    return norm.item()


def check_finite(iteration: int, loss: torch.Tensor, kl: float, max_kl: float) -> None:
    """Stop a diverging run with a message instead of training on NaNs."""
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged at iteration {iteration}: the loss is {loss.item()}; "
            "lower the learning rate or raise std_floor"
        )
    if not math.isfinite(kl) or kl > max_kl:
        raise TrainingDiverged(
            f"training diverged at iteration {iteration}: KL to the reference is {kl:.3g} "
            f"(> max_kl={max_kl}); lower the learning rate or raise beta"
        )


#: Observation rows (start x member x step x asset) that one forward and backward pass
#: takes at most: beyond about this the pass leaves the cache and is memory-bound (GRPO at
#: 500 assets: 3.6 s an iteration in chunks of 200,000 rows, 2.3 s in chunks of 50,000), so
#: the loss is accumulated in chunks of starts. 80,000 keeps 49 industries (76,800 rows a
#: batch) in one pass, bit for bit as before.
CHUNK_ROWS = 80_000


def starts_per_chunk(obs: torch.Tensor, rows: int = CHUNK_ROWS) -> int:
    """How many starts (the first axis of ``obs``) one pass of at most ``rows`` observation
    rows takes (all of them when small)."""  # noqa: D205, D209
    rows_per_start = obs[0].numel() // obs.shape[-1]
    return max(1, rows // max(rows_per_start, 1))


def chunks(n_starts: int, per_chunk: int) -> list[tuple[slice, float]]:
    """The chunks of ``n_starts`` starts one pass takes, each with its share of the starts."""
    return [
        (slice(lo, lo + per_chunk), min(per_chunk, n_starts - lo) / n_starts)
        for lo in range(0, n_starts, per_chunk)
    ]


def at(rows: torch.Tensor | None, part: slice) -> torch.Tensor | None:
    """The rows of one chunk of an optional tensor (an anchor's weights), else None."""
    return None if rows is None else rows[part]
