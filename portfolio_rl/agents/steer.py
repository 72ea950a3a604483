"""The steered policy: GRPO chooses a baseline's parameters, the baseline chooses the weights.

At each decision the policy samples a latent vector ``a ~ N(m(x), diag(sigma^2))`` with one
component per steered parameter (and one for the exposure, with cash); the parameters are

| parameter | value | range |
|---|---|---|
| `risk_aversion` | `lambda_0 * exp(a)` | `a` clipped to `[-2.5, 2.5]` |
| `kappa` | `kappa_0 * exp(a)` (the ellipsoid's radius) | the same |
| `shrinkage` | `delta_0 + 0.25 a` rounded to a level | `delta_0 + (0, 0.1, 0.3)` |
| `exposure` (cash) | `1 + 0.25 a` | `[0, 1]` |

with ``lambda_0, kappa_0, delta_0`` the experiment's configured values. The last layer of
``m`` starts at zero, so the untrained policy's mean action is the configured baseline, fully
invested: the baseline itself. The portfolio is the baseline solved with the sampled values
on the window of returns ending that day (with cash, scaled by the exposure and the rest in
cash): exactly, by cvxpy, in the backtest, ``allocate`` and the env
([`portfolio_rl.baselines.steering.SteeredModel.solve`][]); from the day's frontier table in
training's rollouts and validation (`frontier_weights`, the module docstring of
[`portfolio_rl.baselines.steering`][] says why a table of one dimension per shrinkage
suffices, and the tests measure its distance to the exact solve).

The policy's inputs are market-level: the six market features of the one feature function
(the same on every asset's row), what the configured optimizer's portfolio is and earned
(`optimizer_features`), and, with cash, the share held in risky assets. GRPO is unchanged:
groups of sampled parameter vectors from one start state, group-normalised rewards, the
clipped ratio of the latent's densities, KL to the reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from portfolio_rl.agents.policy import PolicyOutput, normal_kl, normal_logp
from portfolio_rl.agents.steer_table import SteerContext, frontier_weights
from portfolio_rl.conventions.features import CLIP, FEATURE_NAMES, MARKET_FEATURE_NAMES

#: How far ``log lambda`` and ``log kappa`` may move from the configured values.
LOG_RANGE = 2.5
#: Latent scale of the shrinkage (added to the configured, then rounded to a level of
#: [`portfolio_rl.baselines.steering.SHRINK_NODES`][], which policy.json records) and of the
#: exposure.
SHRINK_SCALE = EXPOSURE_SCALE = 0.25
#: Horizons (days) of the optimizer's trailing growth features.
EARNED = (21, 63)
OPTIMIZER_FEATURES = ("base_vol", *(f"base_growth_{h}" for h in EARNED))
_MARKET_COLUMNS = [FEATURE_NAMES.index(n) for n in MARKET_FEATURE_NAMES]


def steer_values(
    latent: torch.Tensor,
    names: tuple[str, ...],
    configured: dict[str, float],
    levels: tuple[float, ...],
) -> dict[str, torch.Tensor]:
    """The parameters of a latent action ``(..., len(names))`` (exposure last, with cash).

    ``levels`` are the shrinkage levels above the configured one. Returns a dict name ->
    tensor of shape (...), the exposure under ``exposure``.
    """
    out = {}
    latent = latent.double()  # the configured values exactly at a = 0
    for k, name in enumerate(names):
        a = latent[..., k]
        if name in ("risk_aversion", "kappa"):
            out[name] = configured[name] * a.clamp(-LOG_RANGE, LOG_RANGE).exp()
        elif name == "shrinkage":
            steps = torch.tensor(levels, dtype=a.dtype, device=a.device)
            nearest = (SHRINK_SCALE * a[..., None] - steps).abs().argmin(-1)
            out[name] = configured[name] + steps[nearest]
        else:  # exposure
            out[name] = (1.0 + EXPOSURE_SCALE * a).clamp(0.0, 1.0)
    return out


def optimizer_features(prices: Any, base: Any, base_sigma: Any) -> np.ndarray:
    """What the configured optimizer holds and earned, shape (..., 3).

    Parameters
    ----------
    prices : ndarray of shape (..., L, n), L > max(EARNED)
        Prices of the risky assets up to the decision close (the last row).
    base : ndarray of shape (..., n)
        The configured baseline's portfolio decided at that close.
    base_sigma : ndarray of shape (...)
        Its annualised volatility (ex ante, the model's covariance).

    Returns
    -------
    ndarray: ``log(sigma / 0.25)``, then for h in EARNED the log growth that ``base`` (the
    portfolio decided now) would have had, bought h days before and held to the close,
    scaled by a 25%-volatility asset's move over h days; clipped to ``[-CLIP, CLIP]`` like
    every feature. It looks back over prices the decision has seen, so it needs nothing but
    the window (the backtest, ``allocate`` and training compute it alike).
    """
    prices, base = np.asarray(prices, float), np.asarray(base, float)
    cols = [np.log(np.maximum(np.asarray(base_sigma, float), 1e-8) / 0.25)]
    for h in EARNED:
        growth = (base * prices[..., -1, :] / prices[..., -1 - h, :]).sum(-1)
        cols.append(np.log(np.maximum(growth, 1e-12)) / (0.25 * math.sqrt(h / 252)))
    return np.clip(np.stack(cols, axis=-1), -CLIP, CLIP)


class SteeredPolicy(nn.Module):
    """Gaussian policy over a baseline's parameters (and the exposure, with cash).

    Parameters
    ----------
    names : tuple of str
        The steered parameters (`portfolio_rl.baselines.steering.STEERABLE`).
    configured : dict
        Their configured values (the untrained mean).
    levels : tuple of float
        The shrinkage levels above the configured one.
    hidden : int
    init_log_std : float
        Initial log standard deviation of every latent component.
    exposure : bool
        With cash: one more latent component, the exposure.
    """

    anchored = False
    steered = True

    def __init__(
        self,
        names: tuple[str, ...],
        configured: dict[str, float],
        levels: tuple[float, ...],
        hidden: int = 32,
        init_log_std: float = -0.5,
        exposure: bool = False,
    ) -> None:
        super().__init__()
        self.names = tuple(names) + (("exposure",) if exposure else ())
        self.configured, self.levels, self.exposure = dict(configured), tuple(levels), exposure
        width = len(_MARKET_COLUMNS) + len(OPTIMIZER_FEATURES) + int(exposure)
        self.body = nn.Sequential(
            nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )
        self.head = nn.Linear(hidden, len(self.names))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.log_std = nn.Parameter(torch.full((len(self.names),), float(init_log_std)))

    def inputs(self, obs: torch.Tensor, ctx: SteerContext) -> torch.Tensor:
        """(..., width): market features, optimizer features, risky share held (cash)."""
        parts = [obs[..., 0, _MARKET_COLUMNS], ctx.features.to(obs.dtype)]
        if self.exposure:
            parts.append(obs[..., -1].mean(-1, keepdim=True))  # weight x n, averaged
        return torch.cat(parts, dim=-1)

    def forward(self, obs: torch.Tensor, ctx: SteerContext | None = None) -> PolicyOutput:
        """Means of the latent, shape (..., n_latent), for observations (..., n, OBS_FEATURES)."""
        if ctx is None:
            raise ValueError("a steered policy needs its optimizer's context")
        return PolicyOutput(self.head(self.body(self.inputs(obs, ctx))), self.log_std)

    def sample(self, out: PolicyOutput) -> torch.Tensor:
        """Draw latent actions (global torch RNG), shape (..., n_latent)."""
        return out.scores + out.log_std.exp() * torch.randn_like(out.scores)

    def log_prob(self, out: PolicyOutput, action: torch.Tensor) -> torch.Tensor:
        """Log density of the latent ``action``, shape (...)."""
        return normal_logp(action, out.scores, out.log_std).sum(-1)

    def entropy(self, out: PolicyOutput) -> torch.Tensor:
        """Differential entropy, shape (...)."""
        per = 0.5 + 0.5 * math.log(2 * math.pi) + out.log_std
        return per.sum().expand(out.scores.shape[:-1])

    def kl(self, out: PolicyOutput, other: PolicyOutput) -> torch.Tensor:
        """Exact ``KL(self(out) || other)``, shape (...)."""
        return normal_kl(out.scores, out.log_std, other.scores, other.log_std).sum(-1)

    def values(self, latent: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parameters (and exposure) of latent actions, name -> (...)."""
        return steer_values(latent, self.names, self.configured, self.levels)

    def to_weights(self, action: torch.Tensor, ctx: SteerContext | None = None) -> torch.Tensor:
        """Training's action transform: the frontier table at the sampled parameters."""
        values = {k: v.to(action.dtype) for k, v in self.values(action).items()}
        exposure = values.pop("exposure", None)
        w = frontier_weights(ctx, values, self.configured)
        if exposure is None:
            return w
        return torch.cat([exposure[..., None] * w, 1 - exposure[..., None]], dim=-1)

    def mean_weights(self, out: PolicyOutput, ctx: SteerContext | None = None) -> torch.Tensor:
        """The deterministic action's weights (the mean latent), from the table."""
        return self.to_weights(out.scores, ctx)


def decision_features(model: Any, prices: np.ndarray) -> np.ndarray:
    """`optimizer_features` at the last close of a window of risky ``prices`` (W + 1, n):
    the configured baseline solved on the window's returns (no previous weights)."""  # noqa: D205, D209
    x = prices[1:] / prices[:-1] - 1.0
    base, sigma = model.base(x)
    return optimizer_features(prices[-max(EARNED) - 1 :], base, sigma)


def steered_decision(
    policy: SteeredPolicy,
    latent: torch.Tensor,
    model: Any,
    prices: np.ndarray,
    held: np.ndarray,
) -> np.ndarray | None:
    """The exact portfolio of a latent action: the baseline solved on the window of risky
    ``prices`` (W + 1, n) with the action's parameters and the held weights' mix as the
    previous weights of its cost term; with cash, scaled by the exposure. None when the
    solve failed (``model.status`` says why)."""  # noqa: D205, D209
    values = {k: float(v) for k, v in policy.values(latent).items()}
    exposure = values.pop("exposure", None)
    risky = held[: prices.shape[1]]
    total = float(risky.sum())
    w = model.solve(
        prices[1:] / prices[:-1] - 1.0, values, risky / total if total > 1e-12 else None
    )
    if w is None or exposure is None:
        return w
    return np.append(exposure * w, 1.0 - exposure)
