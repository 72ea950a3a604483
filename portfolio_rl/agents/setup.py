"""What every trainer starts with: seeding, the device, the training data and a fresh policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.checkpoint import read_policy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData
from portfolio_rl.agents.policy import SimplexPolicy
from portfolio_rl.agents.steer import SteeredPolicy
from portfolio_rl.agents.steer_table import Steering
from portfolio_rl.conventions.features import OBS_FEATURES
from portfolio_rl.errors import DataError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch's global generator and return the run's numpy Generator."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def make_policy(
    config: TrainConfig, device: torch.device, steer: dict[str, Any] | None = None
) -> SimplexPolicy | SteeredPolicy:
    """The policy the config describes (``steer``: a steered run's `Steering.describe`)."""
    if steer is not None:
        return SteeredPolicy(
            tuple(steer["names"]),
            steer["configured"],
            tuple(steer["levels"]),
            config.hidden,
            config.init_log_std,
            exposure=config.cash,
        ).to(device)
    policy = SimplexPolicy(
        OBS_FEATURES,
        config.hidden,
        config.distribution,
        config.init_log_std,
        config.cash,
        anchored=config.anchor != "none",
    )
    return policy.to(device)


def starting_policy(
    config: TrainConfig, device: torch.device, steer: dict[str, Any] | None = None
) -> tuple[np.random.Generator, SimplexPolicy | SteeredPolicy]:
    """Seed the run, then its policy: fresh, or ``init_policy``'s weights (``weights_only``).

    Returns the run's numpy Generator and the policy; torch's global generator is left where
    a run alone continues from.
    """
    rng = seed_everything(config.seed)
    policy = make_policy(config, device, steer)
    if config.init_policy is not None:
        try:
            state, _ = read_policy(Path(config.init_policy).parent)
            policy.load_state_dict(state)
        except Exception as exc:  # a missing, foreign or truncated file, another shape
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise DataError(f"cannot start from {config.init_policy}: {reason}") from None
    return rng, policy


def set_up(
    config: TrainConfig,
    prices: pd.DataFrame,
    anchor: Anchor | None = None,
    steering: Steering | None = None,
) -> tuple[np.random.Generator, torch.device, MarketData, SimplexPolicy | SteeredPolicy]:
    """The set-up every trainer starts with, in this order: seeding, device, the training
    data (prices and the anchor's weights or steered tables up to ``val_end``), a fresh
    policy."""  # noqa: D205, D209
    if (steering is None) != (config.steer == "none"):
        raise DataError(
            f"steer {config.steer!r} needs its baseline's tables: train it through an "
            "experiment (portfolio-rl train/run), which computes them"
            if steering is None
            else "steering tables were given to a run with steer: none"
        )
    if config.anchor == "auto" or (anchor is None) != (config.anchor == "none"):
        raise DataError(
            f"anchor {config.anchor!r} needs its weights: train it through an experiment "
            "(portfolio-rl train/run), which computes them (and resolves auto per fold)"
            if anchor is None or config.anchor == "auto"
            else "anchor weights were given to a run with anchor: none"
        )
    if anchor is not None and anchor.name != config.anchor:
        raise DataError(f"the anchor weights are {anchor.name}'s, the config's {config.anchor}")
    device = resolve_device(config.device)
    data = MarketData.build(prices, config, device, anchor, steering)
    steer = None if steering is None else steering.describe(data.prices.shape[1])
    rng, policy = starting_policy(config, device, steer)
    return rng, device, data, policy
