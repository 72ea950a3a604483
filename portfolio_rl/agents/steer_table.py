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


def _at(x: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """``x[..., j]`` for an index ``j`` of shape (...)."""
    return x.gather(-1, j[..., None])[..., 0]


def _corner(weights: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """``weights[..., j, :]`` for an index ``j`` of shape (...): (..., n)."""
    index = j[..., None, None].expand(*j.shape, 1, weights.shape[-1])
    return weights.gather(-2, index)[..., 0, :]


def frontier_weights(
    ctx: SteerContext, values: dict[str, torch.Tensor], configured: dict[str, float]
) -> torch.Tensor:
    """The risky weights of the steered ``values`` read from the day's table, (..., n).

    At the chosen shrinkage level the effective risk aversion is the root of
    ``gamma = lambda + rho / (2 sigma(gamma))`` (``rho`` the radius of the chosen kappa),
    found on ``tau = 1 / (2 gamma)`` along the exact frontier: bracketed by the corners, then
    by bisection inside one segment, where the variance is exact.
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

    # g(tau) = 1/(2 tau) - lambda - rho/(2 sigma(tau)) falls along the frontier: its sign at
    # the corners brackets the root in one segment, where the variance is a quadratic in the
    # position t along it, (1-t)^2 v_k + 2 t (1-t) c_k + t^2 v_{k+1}; bisection on t there.
    m = tau.shape[-1]
    g_corner = 0.5 / tau.clamp_min(1e-30) - lam[..., None] - rho[..., None] / (2 * var.sqrt())
    k = (g_corner > 0).sum(-1).clamp(1, m - 1)  # the segment's right corner
    beyond = g_corner[..., -1] > 0  # the root lies past the table's end: its last portfolio
    t0, t1 = _at(tau, k - 1), _at(tau, k)
    v0, v1, c = _at(var, k - 1), _at(var, k), _at(cross, k - 1)
    lo, hi = torch.zeros_like(lam), torch.ones_like(lam)
    for _ in range(40):  # t to 1e-12 of the segment
        t = 0.5 * (lo + hi)
        sigma = ((1 - t) ** 2 * v0 + 2 * t * (1 - t) * c + t * t * v1).clamp_min(1e-24).sqrt()
        up = 0.5 / (t0 + t * (t1 - t0)).clamp_min(1e-30) - lam - rho / (2 * sigma) > 0
        lo, hi = torch.where(up, t, lo), torch.where(up, hi, t)
    t = torch.where(beyond, torch.ones_like(lam), 0.5 * (lo + hi))
    w0, w1 = _corner(weights, k - 1), _corner(weights, k)
    w = w0 + t[..., None] * (w1 - w0)
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
