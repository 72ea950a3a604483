"""The anchored policy's prior: an optimizer's weights on every day, as scores and an exposure.

An anchored policy scores asset i as ``log a_i + tilt_i`` with ``a`` the anchor's risky
weights (normalised to one, with ``ANCHOR_MIX`` of 1/N mixed in) and a learned tilt whose
last layer starts at zero, and (with cash) sets its exposure logit to ``logit(e) + tilt_e``
with ``e`` the anchor's risky share, the logit held within ``+-EXPOSURE_LOGIT_CAP``. Before
any update it therefore decides `start_weights`: the anchor's portfolio with a small share
of 1/N and at most 95% invested. GRPO learns what to change about an optimizer's portfolio
instead of about 1/N.

Why the mix and the cap: an optimizer leaves most assets at 0, and a score of ``log 0``
(floored at 1e-8) needs a tilt of about +16 to matter, so those assets got no gradient;
the 1/N share puts every asset within a tilt of about 7 of the anchor's and gives it a
gradient of the order of its weight. A fully invested anchor put the exposure logit at 16,
where the sigmoid's gradient is 1e-7: de-risking could not be learned; at the cap, 0.045.

The weights themselves come from a baseline's decisions on windows that end on each day
(`portfolio_rl.backtest.anchors`); this module only turns them into the policy's terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

#: The share of 1/N mixed into the anchor's risky weights before the log.
ANCHOR_MIX = 0.05
#: The bound on the anchor's exposure logit (sigmoid(3) = 0.953).
EXPOSURE_LOGIT_CAP = 3.0


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
    mandate : dict
        The mandate the baseline solved under (``Mandate.to_dict``; empty: none).
    """

    name: str
    params: dict[str, Any]
    window: int
    weights: pd.DataFrame = field(repr=False)
    mandate: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What ``policy.json`` records of the anchor (enough to rebuild its weights)."""
        out = {"name": self.name, "params": self.params, "window": self.window}
        return out | ({"mandate": self.mandate} if self.mandate else {})


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
        ``log`` of the risky weights normalised to one with ``ANCHOR_MIX`` of 1/N mixed in
        (equal weights when the anchor holds only cash).
    exposure_logit : Tensor of shape (...) or None
        ``logit`` of the anchor's risky share, within ``+-EXPOSURE_LOGIT_CAP``.
    """
    risky = anchor[..., :-1] if cash else anchor
    total = risky.sum(-1, keepdim=True)
    n = risky.shape[-1]
    mix = torch.where(total > 0, risky / total.clamp_min(1e-300), 1.0 / n)
    log_mix = ((1 - ANCHOR_MIX) * mix + ANCHOR_MIX / n).log()
    if not cash:
        return log_mix, None
    e = total[..., 0].clamp(1e-12, 1 - 1e-12)
    logit = (torch.log(e) - torch.log1p(-e)).clamp(-EXPOSURE_LOGIT_CAP, EXPOSURE_LOGIT_CAP)
    return log_mix, logit


def start_weights(anchor: np.ndarray, cash: bool) -> np.ndarray:
    """What an untrained anchored policy decides from the anchor's weights ``anchor``
    (..., n) (+1 with cash): the policy's own transform of `anchor_logits` at zero tilt."""  # noqa: D205, D209
    log_mix, logit = anchor_logits(torch.as_tensor(np.array(anchor, dtype=np.float64)), cash)
    mix = torch.softmax(log_mix, dim=-1)
    if logit is None:
        return mix.numpy()
    e = torch.sigmoid(logit)[..., None]
    return torch.cat([e * mix, 1 - e], dim=-1).numpy()
