"""A steered policy's frontier tables as tensors, and the weights they give a sampled action.

Training's action transform for a steered policy ([`portfolio_rl.agents.steer`][]): the day's
table ([`portfolio_rl.baselines.steering.Frontier`][]: the exact long-only frontier at each
shrinkage level, its corners and their variances) is read at the sampled parameters by
`frontier_weights`; `SteerTable` holds the tables of the training days, `SteerContext` the
rows of one batch of decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch


class SteerContext:
    """What the steered policy needs at each decision beside the observation.

    Fields share leading dimensions (start, member, step, ...); indexing and ``expand`` act
    on those, so the rollout and GRPO pass it around like an anchor's weights.

    Attributes
    ----------
    features : Tensor of shape (..., 3)
        `optimizer_features` of the decision.
    tau, sigma2, cross : Tensor of shape (..., n_shrink, n_corners)
    weights : Tensor of shape (..., n_shrink, n_corners, n)
        The day's frontier table ([`portfolio_rl.baselines.steering.Frontier`][]); only
        training reads it (elsewhere the portfolio is solved exactly).
    shrink : Tensor of shape (..., n_shrink)
        The shrinkage of each node row, ascending.
    radius : Tensor of shape (...)
        ``kappa_0 * sqrt(252 / T)``.
    """

    _TRAILING: ClassVar[dict[str, int]] = {
        "features": 1,
        "tau": 2,
        "sigma2": 2,
        "cross": 2,
        "weights": 3,
        "shrink": 1,
        "radius": 0,
    }

    def __init__(self, features, tau, sigma2, cross, weights, shrink, radius) -> None:
        self.features, self.tau, self.sigma2, self.cross = features, tau, sigma2, cross
        self.weights, self.shrink, self.radius = weights, shrink, radius

    def _map(self, fn) -> SteerContext:
        return SteerContext(*(fn(getattr(self, k), t) for k, t in self._TRAILING.items()))

    @property
    def shape(self) -> torch.Size:
        """The leading dimensions."""
        return self.radius.shape

    def __getitem__(self, index: Any) -> SteerContext:
        """The same index applied to the leading dimensions of every field."""
        index = index if isinstance(index, tuple) else (index,)
        return self._map(lambda x, t: x[index])

    def expand(self, *shape: int) -> SteerContext:
        """Every field expanded to the leading ``shape`` (a view)."""
        return self._map(lambda x, t: x.expand(*shape, *x.shape[x.dim() - t :]))


def _segment(x: torch.Tensor, xp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The segment ``j`` (its right node) of ascending nodes ``xp`` (..., M) holding ``x``
    (...), clamped to the ends, and the position ``t`` in [0, 1] along it."""  # noqa: D205, D209
    x = torch.minimum(torch.maximum(x, xp[..., 0]), xp[..., -1])
    j = torch.searchsorted(xp.contiguous(), x[..., None].contiguous(), right=True)
    j = j.clamp(1, xp.shape[-1] - 1)
    x0, x1 = xp.gather(-1, j - 1)[..., 0], xp.gather(-1, j)[..., 0]
    return j, ((x - x0) / (x1 - x0).clamp_min(1e-30)).clamp(0.0, 1.0)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of ``fp`` (..., M, k) at ``x`` -> (..., k)."""
    j, t = _segment(x, xp)
    idx = j[..., None].expand(*j.shape[:-1], 1, fp.shape[-1])
    f0, f1 = fp.gather(-2, idx - 1)[..., 0, :], fp.gather(-2, idx)[..., 0, :]
    return f0 + t[..., None] * (f1 - f0)


def _volatility(x: torch.Tensor, tau: torch.Tensor, var: torch.Tensor, cross: torch.Tensor):
    """The frontier's volatility at ``tau = x``, exact between corners:
    ``(1-t)^2 v_k + 2 t (1-t) c_k + t^2 v_{k+1}``."""  # noqa: D205, D209
    j, t = _segment(x, tau)
    v0, v1 = var.gather(-1, j - 1)[..., 0], var.gather(-1, j)[..., 0]
    c = cross.gather(-1, j - 1)[..., 0]
    return ((1 - t) ** 2 * v0 + 2 * t * (1 - t) * c + t * t * v1).clamp_min(1e-24).sqrt()


def frontier_weights(
    ctx: SteerContext, values: dict[str, torch.Tensor], configured: dict[str, float]
) -> torch.Tensor:
    """The risky weights of the steered ``values`` read from the day's table, (..., n).

    At the chosen shrinkage level the effective risk aversion is the root of
    ``gamma = lambda + rho / (2 sigma(gamma))`` (``rho`` the radius of the chosen kappa),
    found by bisection on ``tau = 1 / (2 gamma)`` along the exact frontier.
    """
    some = next(iter(values.values()))
    lead = some.shape
    level = ctx.shrink.expand(*lead, ctx.shrink.shape[-1])
    shrink = values.get("shrinkage", level[..., 0])
    row = (shrink[..., None] - level).abs().argmin(-1)  # the chosen level's frontier

    def pick(x: torch.Tensor, trailing: int) -> torch.Tensor:
        x = x.expand(*lead, *x.shape[x.dim() - trailing :])
        idx = row.reshape(*lead, 1, *([1] * (trailing - 1)))
        idx = idx.expand(*lead, 1, *x.shape[x.dim() - trailing + 1 :])
        return x.gather(len(lead), idx).squeeze(len(lead))

    tau, weights = pick(ctx.tau, 2), pick(ctx.weights, 3)
    if "risk_aversion" not in values:  # minimum variance: the frontier's first corner
        return weights[..., 0, :]
    var, cross = pick(ctx.sigma2, 2), pick(ctx.cross, 2)
    lam = values["risk_aversion"]
    rho = (
        ctx.radius.expand(lead) * (values["kappa"] / configured["kappa"])
        if "kappa" in values
        else 0 * lam
    )

    def g(t: torch.Tensor) -> torch.Tensor:  # decreasing in t
        return 0.5 / t.clamp_min(1e-30) - lam - rho / (2 * _volatility(t, tau, var, cross))

    lo, hi = torch.zeros_like(lam), tau[..., -1].clone()
    beyond = g(hi) >= 0  # the root lies past the table's end: take its last portfolio
    for _ in range(40):  # tau to 2e-12 of the table's span
        mid = 0.5 * (lo + hi)
        up = g(mid) > 0
        lo, hi = torch.where(up, mid, lo), torch.where(up, hi, mid)
    t_star = torch.where(beyond, tau[..., -1], 0.5 * (lo + hi))
    w = _interp(t_star, tau, weights)
    return w / w.sum(-1, keepdim=True)


@dataclass
class Steering:
    """What a steered training run needs from its baseline (built by the backtest layer).

    Attributes
    ----------
    name : str
        The steered baseline.
    params : dict
        Its configured parameters, as the backtest builds it (cost term included).
    window : int
        Daily returns each decision sees (the backtest's window).
    model : SteeredModel
        Solves it exactly ([`portfolio_rl.baselines.steering.SteeredModel`][]).
    tables : dict
        Decision date -> its frontier table, for the days training starts and steps on.
    levels : tuple of float
        The shrinkage levels above the configured one.
    """

    name: str
    params: dict[str, Any]
    window: int
    model: Any
    tables: dict[Any, Any] = field(repr=False)
    levels: tuple[float, ...] = ()

    def describe(self, n_assets: int) -> dict[str, Any]:
        """What ``policy.json`` records (enough to rebuild the policy and its solves)."""
        return {
            "name": self.name,
            "names": list(self.model.steered),
            "params": self.params,
            "window": self.window,
            "configured": self.model.configured(n_assets),
            "levels": list(self.levels),
        }


class SteerTable(NamedTuple):
    """The frontier tables of the training data's days as tensors (``Steering.tables``)."""

    row: torch.Tensor
    """(T,) the table row of each day, -1 where there is none."""
    tau: torch.Tensor
    """(L, n_shrink, n_corners), and likewise ``sigma2``, ``cross``."""
    sigma2: torch.Tensor
    cross: torch.Tensor
    weights: torch.Tensor
    """(L, n_shrink, n_corners, n)."""
    shrink: torch.Tensor
    """(L, n_shrink)."""
    radius: torch.Tensor
    """(L,)."""
    base: np.ndarray
    """(L, n) the configured portfolio of each table day."""
    base_sigma: np.ndarray
    """(L,)."""

    @classmethod
    def build(cls, steering: Steering, dates: Any, device: torch.device) -> SteerTable:
        """The tables of ``steering`` on ``dates`` (padded to one corner count)."""
        days = [(k, steering.tables[d]) for k, d in enumerate(dates) if d in steering.tables]
        if not days:
            raise ValueError("no frontier table falls on the training days")
        width = max(f.tau.shape[1] for _, f in days)
        row = torch.full((len(dates),), -1, dtype=torch.long, device=device)
        row[torch.tensor([k for k, _ in days], device=device)] = torch.arange(
            len(days), device=device
        )

        def stack(name: str) -> torch.Tensor:
            arrays = [_pad_corners(getattr(f, name), width) for _, f in days]
            return torch.tensor(np.stack(arrays), dtype=torch.float32, device=device)

        return cls(
            row,
            stack("tau"),
            stack("sigma2"),
            stack("cross"),
            stack("weights"),
            torch.tensor(np.stack([f.shrink for _, f in days]), dtype=torch.float32, device=device),
            torch.tensor([f.radius for _, f in days], dtype=torch.float32, device=device),
            np.stack([f.base for _, f in days]),
            np.array([f.base_sigma for _, f in days]),
        )

    def context(self, rows: torch.Tensor, features: np.ndarray) -> SteerContext:
        """The context of table ``rows`` (any shape) with their optimizer ``features``."""
        device = self.tau.device
        return SteerContext(
            torch.tensor(features, dtype=torch.float32, device=device),
            self.tau[rows],
            self.sigma2[rows],
            self.cross[rows],
            self.weights[rows],
            self.shrink[rows],
            self.radius[rows],
        )


def _pad_corners(x: np.ndarray, width: int) -> np.ndarray:
    """Corners (axis 1) repeated at the end up to ``width`` (zero-length segments)."""
    extra = width - x.shape[1]
    return x if extra == 0 else np.concatenate([x, np.repeat(x[:, -1:], extra, axis=1)], axis=1)
