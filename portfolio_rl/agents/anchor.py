"""The anchored policy's prior: an optimizer's weights on every day, as scores and an exposure.

An anchored policy scores asset i as ``log a_i + tilt_i`` with ``a`` the anchor's risky
weights (normalised to one) and a learned tilt whose last layer starts at zero, and (with
cash) sets its exposure logit to ``logit(e) + tilt_e`` with ``e`` the anchor's risky share.
Before any update it therefore decides exactly the anchor's weights (to about ``n * 1e-8``;
an exposure of exactly 0 or 1 is held at ``1e-7`` from it), and GRPO learns what to change
about an optimizer's portfolio instead of about 1/N.

The weights themselves come from a baseline's decisions on windows that end on each day
(`portfolio_rl.backtest.anchors`); this module only turns them into the policy's terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

#: Floor on an anchor weight inside the log: an asset the optimizer leaves out starts at
#: ``1e-8`` of the risky mix, which a tilt of ``log(1e-8)`` would be needed to revive.
WEIGHT_FLOOR = 1e-8
#: Distance of the anchor's exposure from 0 and 1 inside the logit.
EXPOSURE_FLOOR = 1e-7


@dataclass(frozen=True)
class Anchor:
    """An anchor's weights on every trading day and what made them.

    Attributes
    ----------
    name : str
        The baseline (``min_variance``, ...).
    params : dict
        Its parameters (the experiment's ``strategy_params`` for it).
    window : int
        Daily returns each decision saw (the backtest's window).
    weights : DataFrame of shape (n_dates, n_assets)
        The weights decided at each close from the window ending there, a last ``cash``
        column with cash; rows before the first full window are equal weights.
    """

    name: str
    params: dict[str, Any]
    window: int
    weights: pd.DataFrame = field(repr=False)

    def describe(self) -> dict[str, Any]:
        """What ``policy.json`` records of the anchor (enough to rebuild its weights)."""
        return {"name": self.name, "params": self.params, "window": self.window}


def anchor_logits(anchor: torch.Tensor, cash: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Score and exposure offsets of an anchored policy.

    Parameters
    ----------
    anchor : Tensor of shape (..., n) or (..., n + 1) with cash
        Anchor weights (summing to one, cash last).
    cash : bool

    Returns
    -------
    log_mix : Tensor of shape (..., n)
        ``log`` of the risky weights normalised to one (floored at ``WEIGHT_FLOOR``; equal
        weights when the anchor holds only cash).
    exposure_logit : Tensor of shape (...) or None
        ``logit`` of the anchor's risky share, held ``EXPOSURE_FLOOR`` from 0 and 1.
    """
    risky = anchor[..., :-1] if cash else anchor
    total = risky.sum(-1, keepdim=True)
    mix = torch.where(total > 0, risky / total.clamp_min(1e-300), 1.0 / risky.shape[-1])
    log_mix = mix.clamp_min(WEIGHT_FLOOR).log()
    if not cash:
        return log_mix, None
    e = total[..., 0].clamp(EXPOSURE_FLOOR, 1 - EXPOSURE_FLOOR)
    return log_mix, torch.log(e) - torch.log1p(-e)
