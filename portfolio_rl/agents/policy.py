"""Allocation policies on the simplex with a shared per-asset encoder.

The encoder scores every asset with the same network from the asset's own observation row
and the cross-sectional mean of the encodings (EIIE-style weight sharing; Jiang, Xu & Liang
2017), so the policy is permutation-equivariant and works for any number of assets.

Two distributions over allocations:

``logistic_normal``
    The action is a vector of latent scores ``z ~ N(s(x), sigma^2 I)`` and the weights are
    ``softmax(z)``; probabilities and ratios are those of ``z`` (the softmax is a fixed part
    of the environment's action transform). Deterministic action: ``softmax(s(x))``.
``dirichlet``
    The action is the weight vector itself, ``w ~ Dir(alpha)`` with
    ``alpha = softplus(s(x)) + alpha_min``. Deterministic action: the mean ``alpha / sum(alpha)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

DISTRIBUTIONS = ("logistic_normal", "dirichlet")
_ALPHA_MIN = 0.05
_W_MIN = 1e-6


class AssetEncoder(nn.Module):
    """Per-asset MLP with a mean-pooled context: (..., n, d) -> (..., n, hidden)."""

    def __init__(self, obs_features: int, hidden: int) -> None:
        super().__init__()
        self.local = nn.Sequential(
            nn.Linear(obs_features, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )
        self.mix = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Encode every asset with its own row and the cross-sectional mean."""
        h = self.local(obs)
        context = h.mean(dim=-2, keepdim=True).expand_as(h)
        return self.mix(torch.cat([h, context], dim=-1))


class PolicyOutput(NamedTuple):
    """Parameters of the action distribution for a batch of states."""

    scores: torch.Tensor
    """(..., n) asset scores (logistic-normal means, or Dirichlet pre-activations)."""
    log_std: torch.Tensor
    """() shared log standard deviation (logistic-normal only)."""


class SimplexPolicy(nn.Module):
    """Stochastic allocation policy.

    Parameters
    ----------
    obs_features : int
        Observation width per asset (features plus the weight column).
    hidden : int
        Encoder width.
    distribution : {"logistic_normal", "dirichlet"}
    init_log_std : float
        Initial log standard deviation of the logistic-normal scores.
    """

    def __init__(
        self,
        obs_features: int,
        hidden: int = 32,
        distribution: str = "logistic_normal",
        init_log_std: float = -0.5,
    ) -> None:
        super().__init__()
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}")
        self.distribution = distribution
        self.encoder = AssetEncoder(obs_features, hidden)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # start at equal weight
        if distribution == "dirichlet":
            # softplus(b) + alpha_min = 2: a moderately concentrated start around 1/N
            nn.init.constant_(self.head.bias, math.log(math.expm1(2.0 - _ALPHA_MIN)))
        self.log_std = nn.Parameter(torch.tensor(float(init_log_std)))

    def forward(self, obs: torch.Tensor) -> PolicyOutput:
        """Scores of shape (..., n) for observations of shape (..., n, obs_features)."""
        return PolicyOutput(self.head(self.encoder(obs)).squeeze(-1), self.log_std)

    # -- distribution ---------------------------------------------------------------
    def _alpha(self, out: PolicyOutput) -> torch.Tensor:
        return F.softplus(out.scores) + _ALPHA_MIN

    def sample(self, out: PolicyOutput) -> torch.Tensor:
        """Draw actions (global torch RNG): scores ``z`` or weights ``w``, shape (..., n)."""
        if self.distribution == "logistic_normal":
            return out.scores + out.log_std.exp() * torch.randn_like(out.scores)
        w = torch.distributions.Dirichlet(self._alpha(out)).sample()
        w = w.clamp_min(_W_MIN)  # the stored action is exactly the one whose prob we use
        return w / w.sum(-1, keepdim=True)

    def log_prob(self, out: PolicyOutput, action: torch.Tensor) -> torch.Tensor:
        """Log density of ``action``, shape (...)."""
        if self.distribution == "logistic_normal":
            std = out.log_std.exp()
            z = (action - out.scores) / std
            return (-0.5 * z * z - out.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.distributions.Dirichlet(self._alpha(out)).log_prob(action)

    def entropy(self, out: PolicyOutput) -> torch.Tensor:
        """Differential entropy, shape (...)."""
        if self.distribution == "logistic_normal":
            n = out.scores.shape[-1]
            per = 0.5 + 0.5 * math.log(2 * math.pi) + out.log_std
            return (n * per).expand(out.scores.shape[:-1])
        return torch.distributions.Dirichlet(self._alpha(out)).entropy()

    def kl(self, out: PolicyOutput, other: PolicyOutput) -> torch.Tensor:
        """Exact ``KL(self(out) || other)`` per state, shape (...)."""
        if self.distribution == "logistic_normal":
            var_p, var_q = (2 * out.log_std).exp(), (2 * other.log_std).exp()
            diff = out.scores - other.scores
            per = other.log_std - out.log_std + (var_p + diff * diff) / (2 * var_q) - 0.5
            return per.sum(-1)
        p = torch.distributions.Dirichlet(self._alpha(out))
        q = torch.distributions.Dirichlet(self._alpha(other))
        return torch.distributions.kl_divergence(p, q)

    def to_weights(self, action: torch.Tensor) -> torch.Tensor:
        """The action transform: softmax of scores, or the Dirichlet weights themselves."""
        return torch.softmax(action, dim=-1) if self.distribution == "logistic_normal" else action

    def mean_weights(self, out: PolicyOutput) -> torch.Tensor:
        """Deterministic allocation used for evaluation, shape (..., n)."""
        if self.distribution == "logistic_normal":
            return torch.softmax(out.scores, dim=-1)
        alpha = self._alpha(out)
        return alpha / alpha.sum(-1, keepdim=True)


class ValueNetwork(nn.Module):
    """State value for PPO: the same encoder, mean-pooled over assets, then a linear head."""

    def __init__(self, obs_features: int, hidden: int = 32) -> None:
        super().__init__()
        self.encoder = AssetEncoder(obs_features, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Values of shape (...) for observations of shape (..., n, obs_features)."""
        return self.head(self.encoder(obs).mean(dim=-2)).squeeze(-1)
