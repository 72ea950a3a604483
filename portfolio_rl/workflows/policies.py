"""Trained policies as backtest strategies: loaded by name, given their anchors, explained."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from portfolio_rl.errors import ConfigError

if TYPE_CHECKING:
    from portfolio_rl.agents.checkpoint import PolicyStrategy
    from portfolio_rl.backtest.engine import BacktestConfig


def load_policies(folders: Sequence[Path]) -> list[PolicyStrategy]:
    """Trained runs as strategies named after their algorithm (``grpo``), with the seed
    appended (``grpo_s1``) when several runs of one algorithm are given, and the folder's
    name instead (``grpo_sp500``) when they also share the seed."""  # noqa: D205, D209
    from collections import Counter

    if not folders:  # a baselines-only backtest never imports torch
        return []
    from portfolio_rl.agents.checkpoint import load_policy_strategy
    from portfolio_rl.plumbing.files import safe_name

    loaded = [load_policy_strategy(folder) for folder in folders]
    counts = Counter(p.name for p in loaded)
    for p in loaded:
        if counts[p.name] > 1:
            p.name = f"{p.name}_s{p.meta['seed']}"
    counts = Counter(p.name for p in loaded)
    for p, folder in zip(loaded, folders, strict=True):
        if counts[p.name] > 1:  # one algorithm and seed twice: told apart by their folders
            p.name = f"{p.meta['algo']}_{safe_name(Path(folder).resolve().name, 'policy name')}"
    if len({p.name for p in loaded}) != len(loaded):
        raise ConfigError("two --policy runs have the same algorithm, seed and folder name")
    return loaded


def check_window(loaded: Sequence[PolicyStrategy], config: BacktestConfig) -> None:
    """Refuse a backtest window shorter than the policies' features (or steered baselines)
    look back, before any decision fails for it."""  # noqa: D205, D209
    from portfolio_rl.conventions.features import LOOKBACK

    steered = [int(p.meta["steer"]["window"]) for p in loaded if p.meta.get("steer")]
    need = max([LOOKBACK, *steered])
    if not config.expanding and config.window < need:
        raise ConfigError(
            f"--window {config.window}: the policies need windows of at least {need} returns "
            "(their features and baselines look back that far)"
        )


def anchor_strategies(
    loaded: Sequence[PolicyStrategy], prices: pd.DataFrame, baselines: Sequence[str] = ()
) -> tuple[list[Any], dict[str, str]]:
    """Anchored policies get their anchor's weights on ``prices``; each anchor is also a
    strategy (``anchor_<name>``: what the policy decided before any update). Steered
    policies get their baseline's solver; their start is that baseline, when it is one of
    the run's ``baselines``."""  # noqa: D205, D209
    anchor_of = {}
    if any(p.meta.get("steer") for p in loaded):
        from portfolio_rl.backtest.steering import attach_steering

        attach_steering(loaded)
        for policy in loaded:
            steer = policy.meta.get("steer")
            if steer and steer["name"] in baselines:
                anchor_of[policy.name] = steer["name"]
    if not any(p.meta.get("anchor") for p in loaded):
        return [], anchor_of
    from portfolio_rl.backtest.anchors import AnchorStrategy, attach_anchors

    attach_anchors(loaded, prices)
    anchors: dict[str, Any] = {}
    for policy in loaded:
        if policy.anchor is not None:
            name = f"anchor_{policy.anchor.name}"
            anchors.setdefault(name, AnchorStrategy(name, policy.anchor))
            anchor_of[policy.name] = name
    return list(anchors.values()), anchor_of


def untrained(strategies: Sequence[Any]) -> list[str]:
    """One line per policy (or fold) that kept its untrained start (none without policies:
    a baselines-only backtest never imports torch)."""  # noqa: D205, D209
    if not strategies:
        return []
    from portfolio_rl.agents.checkpoint import untrained_notes

    return untrained_notes(list(strategies))
