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

With cash (``exposure=True``) an exposure head adds one more action component: a logit
``u ~ N(m(x), s(x)^2)`` with a state-dependent mean and scale read from the pooled encoding
(whose rows carry the market-level features); the exposure is ``e = sigmoid(u)`` and the
weights are ``(e * w_risky, 1 - e)``, cash last. The exposure has its own log-probability
term, so a group can tell "less risk now" from "another mix" (per-slot noise on a cash score
cannot: it only learns a constant cash share). Deterministic exposure: ``sigmoid(m(x))``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from portfolio_rl.agents.anchor import anchor_logits
from portfolio_rl.agents.config import DISTRIBUTIONS

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


# The exposure starts at sigmoid(2) = 88% invested with a logit std of 1, so a group's
# members hold from about 70% to 97%: enough spread for group-relative advantages to see
# what de-risking earns (with std 0.6 around 95% the policy never left its start).
_EXPOSURE_START = (2.0, 0.0)  # mean and log std of the exposure logit
_EXPOSURE_LOG_STD = (-5.0, 1.0)


class PolicyOutput(NamedTuple):
    """Parameters of the action distribution for a batch of states."""

    scores: torch.Tensor
    """(..., n) asset scores (logistic-normal means, or Dirichlet pre-activations)."""
    log_std: torch.Tensor
    """() shared log standard deviation (logistic-normal only)."""
    exposure: torch.Tensor | None = None
    """(...) mean of the exposure logit (with cash), else None."""
    exposure_log_std: torch.Tensor | None = None
    """(...) log standard deviation of the exposure logit (with cash), else None."""

    def detach(self) -> PolicyOutput:
        """The same parameters cut from the graph."""
        return PolicyOutput(*(None if t is None else t.detach() for t in self))

    @staticmethod
    def joined(parts: list[PolicyOutput], log_std: torch.Tensor) -> PolicyOutput:
        """The outputs of consecutive blocks of rows as one, with the given ``log_std``."""

        def cat(name: str) -> torch.Tensor | None:
            values = [getattr(part, name) for part in parts]
            return None if values[0] is None else torch.cat(values)

        return PolicyOutput(cat("scores"), log_std, cat("exposure"), cat("exposure_log_std"))


def normal_logp(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log density of ``x`` under independent normals, elementwise."""
    z = (x - mean) / log_std.exp()
    return -0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)


def normal_kl(p_mean, p_log_std, q_mean, q_log_std) -> torch.Tensor:
    """``KL(N(p) || N(q))`` of independent normals, elementwise."""
    var_p, var_q = (2 * p_log_std).exp(), (2 * q_log_std).exp()
    diff = p_mean - q_mean
    return q_log_std - p_log_std + (var_p + diff * diff) / (2 * var_q) - 0.5


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
    exposure : bool
        Add the exposure head: the weights get a last cash column.
    anchored : bool
        Scores are the log of an anchor's weights plus the head's tilt, and the exposure
        logit the anchor's plus the exposure head's (`portfolio_rl.agents.anchor`); both
        heads start at zero, so the untrained policy decides the anchor's weights.

    Examples
    --------
    >>> import torch
    >>> from portfolio_rl.agents import SimplexPolicy
    >>> from portfolio_rl.conventions.features import OBS_FEATURES
    >>> policy = SimplexPolicy(OBS_FEATURES, hidden=16)
    >>> with torch.no_grad():
    ...     weights = policy.mean_weights(policy(torch.zeros(5, OBS_FEATURES)))
    >>> weights.shape, round(float(weights.sum()), 6)
    (torch.Size([5]), 1.0)
    """

    def __init__(
        self,
        obs_features: int,
        hidden: int = 32,
        distribution: str = "logistic_normal",
        init_log_std: float = -0.5,
        exposure: bool = False,
        anchored: bool = False,
    ) -> None:
        super().__init__()
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}")
        self.distribution = distribution
        self.encoder = AssetEncoder(obs_features, hidden)
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # start at equal weight
        if distribution == "dirichlet":
            # softplus(b) + alpha_min = 2: a moderately concentrated start around 1/N
            nn.init.constant_(self.head.bias, math.log(math.expm1(2.0 - _ALPHA_MIN)))
        if anchored and distribution != "logistic_normal":
            raise ValueError("an anchored policy needs the logistic_normal distribution")
        self.log_std = nn.Parameter(torch.tensor(float(init_log_std)))
        self.exposure, self.anchored = exposure, anchored
        if exposure:
            self.exposure_head = nn.Linear(hidden, 2)  # mean and log std of the logit
            nn.init.zeros_(self.exposure_head.weight)
            with torch.no_grad():  # anchored: the exposure starts at the anchor's
                start = (0.0, _EXPOSURE_START[1]) if anchored else _EXPOSURE_START
                self.exposure_head.bias.copy_(torch.tensor(start))

    def forward(self, obs: torch.Tensor, anchor: torch.Tensor | None = None) -> PolicyOutput:
        """Distribution parameters for observations of shape (..., n, obs_features).

        An anchored policy needs ``anchor``, the anchor's weights of shape (..., n) (or
        (..., n + 1) with cash) on the same decision dates.
        """
        h = self.encoder(obs)
        scores = self.head(h).squeeze(-1)
        offset = exposure_offset = None
        if self.anchored:
            if anchor is None:
                raise ValueError("an anchored policy needs the anchor's weights")
            offset, exposure_offset = anchor_logits(anchor.to(scores.dtype), self.exposure)
            scores = scores + offset
        if not self.exposure:
            return PolicyOutput(scores, self.log_std)
        mean, log_std = self.exposure_head(h.mean(dim=-2)).unbind(-1)
        if exposure_offset is not None:
            mean = mean + exposure_offset
        return PolicyOutput(scores, self.log_std, mean, log_std.clamp(*_EXPOSURE_LOG_STD))

    # -- distribution ---------------------------------------------------------------
    def _alpha(self, out: PolicyOutput) -> torch.Tensor:
        return F.softplus(out.scores) + _ALPHA_MIN

    def sample(self, out: PolicyOutput) -> torch.Tensor:
        """Draw actions (global torch RNG): scores ``z`` or weights ``w``, shape (..., n),
        then the exposure logit ``u`` as a last component with cash."""  # noqa: D205, D209
        if self.distribution == "logistic_normal":
            action = out.scores + out.log_std.exp() * torch.randn_like(out.scores)
        else:
            w = torch.distributions.Dirichlet(self._alpha(out)).sample()
            w = w.clamp_min(_W_MIN)  # the stored action is exactly the one whose prob we use
            action = w / w.sum(-1, keepdim=True)
        if not self.exposure:
            return action
        u = out.exposure + out.exposure_log_std.exp() * torch.randn_like(out.exposure)
        return torch.cat([action, u[..., None]], dim=-1)

    def _split(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return (action[..., :-1], action[..., -1]) if self.exposure else (action, None)

    def log_prob(self, out: PolicyOutput, action: torch.Tensor) -> torch.Tensor:
        """Log density of ``action``, shape (...)."""
        mix, u = self._split(action)
        if self.distribution == "logistic_normal":
            logp = normal_logp(mix, out.scores, out.log_std).sum(-1)
        else:
            logp = torch.distributions.Dirichlet(self._alpha(out)).log_prob(mix)
        if u is not None:
            logp = logp + normal_logp(u, out.exposure, out.exposure_log_std)
        return logp

    def entropy(self, out: PolicyOutput) -> torch.Tensor:
        """Differential entropy, shape (...)."""
        if self.distribution == "logistic_normal":
            n = out.scores.shape[-1]
            per = 0.5 + 0.5 * math.log(2 * math.pi) + out.log_std
            ent = (n * per).expand(out.scores.shape[:-1])
        else:
            ent = torch.distributions.Dirichlet(self._alpha(out)).entropy()
        if self.exposure:
            ent = ent + 0.5 + 0.5 * math.log(2 * math.pi) + out.exposure_log_std
        return ent

    def kl(self, out: PolicyOutput, other: PolicyOutput) -> torch.Tensor:
        """Exact ``KL(self(out) || other)`` per state, shape (...)."""
        if self.distribution == "logistic_normal":
            kl = normal_kl(out.scores, out.log_std, other.scores, other.log_std).sum(-1)
        else:
            p = torch.distributions.Dirichlet(self._alpha(out))
            q = torch.distributions.Dirichlet(self._alpha(other))
            kl = torch.distributions.kl_divergence(p, q)
        if self.exposure:
            kl = kl + normal_kl(
                out.exposure, out.exposure_log_std, other.exposure, other.exposure_log_std
            )
        return kl

    def _with_cash(self, mix: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        if u is None:
            return mix
        e = torch.sigmoid(u)[..., None]
        return torch.cat([e * mix, 1 - e], dim=-1)

    def to_weights(self, action: torch.Tensor, anchor: torch.Tensor | None = None) -> torch.Tensor:
        """The action transform: softmax of scores, or the Dirichlet weights themselves;
        with cash, times the exposure ``sigmoid(u)`` and the rest in cash (``anchor`` is in
        the scores already)."""  # noqa: D205, D209
        mix, u = self._split(action)
        if self.distribution == "logistic_normal":
            mix = torch.softmax(mix, dim=-1)
        return self._with_cash(mix, u)

    def mean_weights(self, out: PolicyOutput, anchor: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic allocation used for evaluation, shape (..., n) (+1 with cash)."""
        if self.distribution == "logistic_normal":
            mix = torch.softmax(out.scores, dim=-1)
        else:
            alpha = self._alpha(out)
            mix = alpha / alpha.sum(-1, keepdim=True)
        return self._with_cash(mix, out.exposure)


class ValueNetwork(nn.Module):
    """State value for PPO: the same encoder, mean-pooled over assets, then a linear head."""

    def __init__(self, obs_features: int, hidden: int = 32) -> None:
        super().__init__()
        self.encoder = AssetEncoder(obs_features, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Values of shape (...) for observations of shape (..., n, obs_features)."""
        return self.head(self.encoder(obs).mean(dim=-2)).squeeze(-1)
