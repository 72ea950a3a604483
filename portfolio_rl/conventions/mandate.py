"""A mandate's limits and the one projection that every strategy's weights go through.

A `Mandate` is what an experiment's ``constraints:`` says: a floor and a cap on every asset's
weight, a floor and a cap on cash (with cash on), and caps on groups of assets. `Mandate.limits`
resolves it on one universe into `Limits` (a bound per column, group membership by index) and
refuses a mandate no portfolio can meet. `project` maps any weights onto that feasible set:
the convex baselines solve with the limits inside their problems, while the naive baselines,
the RL policies (inside their action transform, the same in the env, the training simulator,
the backtest and ``allocate``) and the engine's fallback go through `project`; the backtest
checks every rebalance with `violation`.

A strategy that never holds cash (``uses_cash`` false) in a run with cash holds exactly
``min_cash`` in cash and chooses the rest, its *sleeve*: its limits are those of the sleeve,
the mandate's divided by ``1 - min_cash`` (`Mandate.limits` with ``sleeve=True``), so that
``[(1 - min_cash) w, min_cash]`` meets the mandate whenever ``w`` meets the sleeve's limits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from portfolio_rl.conventions.market import CASH, Array, is_torch

#: How far past a limit a weight may be and still count as inside it (float rounding).
TOLERANCE = 1e-9
#: Bisection steps of `project`: each halves a bracket no wider than the weights' range plus 2.
BISECTIONS = 64


@dataclass(frozen=True)
class Mandate:
    """Weight limits that every strategy of a run obeys (an experiment's ``constraints:``).

    Attributes
    ----------
    min_weight, max_weight : float
        Floor and cap of every risky asset's weight (long-only: the floor is at least 0).
    min_cash, max_cash : float
        Floor and cap of the cash weight; only with cash (``cash: true``).
    groups : dict
        Caps on the total weight of groups of assets, ``{name: {assets: [...], max: 0.3}}``;
        an asset belongs to one group at most.

    Examples
    --------
    >>> from portfolio_rl.conventions.mandate import Mandate
    >>> mandate = Mandate(max_weight=0.6, groups={"tech": {"assets": ["A", "B"], "max": 0.5}})
    >>> limits = mandate.limits(["A", "B", "C"])
    >>> limits.upper.tolist(), limits.caps.tolist()
    ([0.6, 0.6, 0.6], [0.5])
    """

    min_weight: float = 0.0
    max_weight: float = 1.0
    min_cash: float = 0.0
    max_cash: float = 1.0
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("min_weight", "max_weight", "min_cash", "max_cash"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(
                    f"constraints.{key} must be from 0 to 1 (long-only), got {getattr(self, key)}"
                )
        if self.min_weight > self.max_weight or self.min_cash > self.max_cash:
            raise ValueError("constraints: a floor (min_weight, min_cash) exceeds its cap")
        seen: dict[str, str] = {}
        for name, group in self.groups.items():
            if not isinstance(group, dict) or set(group) != {"assets", "max"}:
                raise ValueError(
                    f"constraints.groups.{name} must be {{assets: [A, B, ...], max: 0.3}}"
                )
            assets, cap = group["assets"], group["max"]
            if (
                not isinstance(assets, list)
                or not assets
                or not all(isinstance(a, str) for a in assets)
            ):
                raise ValueError(f"constraints.groups.{name}.assets must be a list of tickers")
            if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 <= cap <= 1:
                raise ValueError(f"constraints.groups.{name}.max must be from 0 to 1, got {cap!r}")
            for asset in assets:
                if asset in seen:
                    raise ValueError(
                        f"constraints.groups: {asset} is in both {seen[asset]} and {name}"
                    )
                seen[asset] = name

    @property
    def binding(self) -> bool:
        """Whether any limit can bind (the default mandate is long-only and changes nothing)."""
        return self != Mandate()

    @property
    def cash_limits(self) -> bool:
        """Whether the mandate limits cash (which then needs a cash column)."""
        return self.min_cash > 0 or self.max_cash < 1

    def describe(self) -> str:
        """One line for the report and the terminal, e.g. ``max weight 10%, tech at most 30%``."""
        parts = []
        if self.min_weight > 0:
            parts.append(f"min weight {self.min_weight:.1%}")
        if self.max_weight < 1:
            parts.append(f"max weight {self.max_weight:.1%}")
        if self.min_cash > 0:
            parts.append(f"cash at least {self.min_cash:.1%}")
        if self.max_cash < 1:
            parts.append(f"cash at most {self.max_cash:.1%}")
        parts += [
            f"{name} ({len(g['assets'])} assets) at most {float(g['max']):.1%}"
            for name, g in self.groups.items()
        ]
        return ", ".join(parts) if parts else "long-only, fully invested (no other limits)"

    def limits(self, columns: list[str], sleeve: bool = False) -> Limits:
        """The limits on the portfolio of ``columns`` (``cash`` last makes cash an asset).

        Parameters
        ----------
        columns : list of str
            The assets a strategy weighs, cash last when it holds cash.
        sleeve : bool
            The limits of a fully invested strategy in a run with cash: ``columns`` are the
            risky assets and every bound is the mandate's divided by ``1 - min_cash``.

        Raises
        ------
        ValueError
            When a group names an asset not in ``columns``, cash limits are set without a
            cash column, or no portfolio meets the limits (one line saying which).
        """
        columns = [str(c) for c in columns]
        has_cash = bool(columns) and columns[-1] == CASH
        if self.cash_limits and not (has_cash or sleeve):
            raise ValueError("constraints.min_cash and max_cash need cash (cash: true or --cash)")
        scale = 1.0 / (1.0 - self.min_cash) if sleeve else 1.0
        if sleeve and self.min_cash >= 1.0:
            raise ValueError("constraints.min_cash 1 leaves nothing to invest")
        n = len(columns)
        lower = np.full(n, self.min_weight * scale)
        upper = np.minimum(np.full(n, self.max_weight * scale), 1.0)
        if has_cash:
            lower[-1], upper[-1] = self.min_cash, self.max_cash
        members = np.zeros((len(self.groups), n))
        caps = np.zeros(len(self.groups))
        for g, (name, group) in enumerate(self.groups.items()):
            missing = [a for a in group["assets"] if a not in columns]
            if missing:
                raise ValueError(
                    f"constraints.groups.{name} names assets that are not in the prices: "
                    f"{', '.join(missing[:5])}"
                )
            members[g, [columns.index(a) for a in group["assets"]]] = 1.0
            caps[g] = min(float(group["max"]) * scale, 1.0)
        limits = Limits(tuple(columns), lower, upper, members, caps, tuple(self.groups))
        limits.check_feasible(self.describe(), sleeve)
        return limits

    def resolve(self, columns: list[str]) -> tuple[Limits, Limits, float]:
        """The limits on a run's ``columns``: those of the whole portfolio, those of a fully
        invested strategy (its sleeve with cash, else the same) and the cash that strategy
        holds (``min_cash`` with cash, else 0). ValueError as `limits` raises it."""  # noqa: D205, D209
        columns = [str(c) for c in columns]
        limits = self.limits(columns)
        if columns and columns[-1] == CASH:
            return limits, self.limits(columns[:-1], sleeve=True), self.min_cash
        return limits, limits, 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class Limits:
    """A mandate resolved on one list of columns.

    Attributes
    ----------
    names : tuple of str, length n
    lower, upper : ndarray of shape (n,)
        Floor and cap of each weight.
    members : ndarray of shape (n_groups, n)
        1 where an asset belongs to a group (each asset in one group at most).
    caps : ndarray of shape (n_groups,)
    group_names : tuple of str

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions.mandate import Mandate
    >>> limits = Mandate(max_weight=0.5).limits(["A", "B", "C"])
    >>> limits.violation(np.array([0.6, 0.2, 0.2]))
    'A weight 0.6 above its cap 0.5'
    >>> limits.violation(np.array([0.5, 0.3, 0.2])) is None
    True
    """

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    members: np.ndarray
    caps: np.ndarray
    group_names: tuple[str, ...] = ()

    def check_feasible(self, what: str, sleeve: bool = False) -> None:
        """Raise ValueError (one line) when no portfolio of these columns meets the limits."""
        where = " for the fully invested strategies" if sleeve else ""
        n = len(self.names)
        grouped = self.members.any(axis=0)
        room = self.upper[~grouped].sum() + sum(
            min(cap, self.upper[row > 0].sum())
            for row, cap in zip(self.members, self.caps, strict=True)
        )
        if room < 1.0 - TOLERANCE:
            raise ValueError(
                f"constraints ({what}) cannot be met{where}: {n} assets hold at most "
                f"{room:.1%} of the portfolio; raise the caps or add assets"
            )
        if self.lower.sum() > 1.0 + TOLERANCE:
            raise ValueError(
                f"constraints ({what}) cannot be met{where}: the floors add up to "
                f"{self.lower.sum():.1%} on {n} assets"
            )
        for row, cap, name in zip(self.members, self.caps, self.group_names, strict=True):
            if self.lower[row > 0].sum() > cap + TOLERANCE:
                raise ValueError(f"constraints.groups.{name}: its floors exceed its cap {cap}")

    def violation(self, weights: np.ndarray, tol: float = TOLERANCE) -> str | None:
        """What in ``weights`` (shape (n,)) breaks the limits, or None when nothing does."""
        w = np.asarray(weights, dtype=float)
        over = np.flatnonzero(w > self.upper + tol)
        under = np.flatnonzero(w < self.lower - tol)
        if len(over):
            i = over[0]
            return f"{self.names[i]} weight {w[i]:.6g} above its cap {self.upper[i]:.6g}"
        if len(under):
            i = under[0]
            return f"{self.names[i]} weight {w[i]:.6g} below its floor {self.lower[i]:.6g}"
        for total, cap, name in zip(self.members @ w, self.caps, self.group_names, strict=True):
            if total > cap + tol:
                return f"group {name} weight {total:.6g} above its cap {cap:.6g}"
        return None


def project(weights: Array, limits: Limits | None) -> Array:
    """The Euclidean projection of ``weights`` onto the portfolios that meet ``limits``.

    ``argmin ||x - v||^2`` subject to ``lower <= x <= upper``, ``sum x = 1`` and each group's
    total at most its cap. The KKT conditions give ``x_i = clip(v_i - tau - mu_g(i), lower_i,
    upper_i)``: one bisection finds the budget's multiplier ``tau`` (each group's total is
    ``min(cap, its total at tau)``), a second each binding group's ``tau + mu_g`` (Held, Wolfe
    & Crowder 1974 for the simplex; groups are disjoint, so they separate). Exact to the
    float's precision; weights already inside the set stay where they are (to rounding).

    Parameters
    ----------
    weights : ndarray or Tensor of shape (..., n)
    limits : Limits or None
        None returns ``weights`` unchanged.

    Returns
    -------
    ndarray or Tensor of shape (..., n), the same type and dtype

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.conventions.mandate import Mandate, project
    >>> limits = Mandate(max_weight=0.4).limits(["A", "B", "C"])
    >>> project(np.array([0.7, 0.2, 0.1]), limits).round(6).tolist()
    [0.4, 0.35, 0.25]
    """
    if limits is None:
        return weights
    if is_torch(weights):
        import torch

        def const(a: np.ndarray) -> Any:
            return torch.as_tensor(a, dtype=weights.dtype, device=weights.device)

        clip, minimum, where = torch.clamp, torch.minimum, torch.where

        def amax(x: Any) -> Any:
            return x.amax(dim=-1, keepdim=True)

        def amin(x: Any) -> Any:
            return x.amin(dim=-1, keepdim=True)

    else:
        weights = np.asarray(weights, dtype=float)

        def const(a: np.ndarray) -> Any:
            return np.asarray(a, dtype=float)

        clip, minimum, where = np.clip, np.minimum, np.where

        def amax(x: Any) -> Any:
            return x.max(axis=-1, keepdims=True)

        def amin(x: Any) -> Any:
            return x.min(axis=-1, keepdims=True)

    v, lower, upper = weights, const(limits.lower), const(limits.upper)
    members, caps = const(limits.members), const(limits.caps)
    free = const(1.0 - limits.members.sum(axis=0))

    def total(tau: Any) -> Any:  # the portfolio's weight at multiplier tau, groups at most cap
        x = clip(v - tau, lower, upper)
        return (x * free).sum(-1, keepdims=True) + minimum(x @ members.T, caps).sum(
            -1, keepdims=True
        )

    low, high = amin(v - upper) - 1.0, amax(v - lower) + 1.0
    for _ in range(BISECTIONS):
        mid = (low + high) / 2
        above = total(mid) > 1.0
        low, high = where(above, mid, low), where(above, high, mid)
    tau = high
    if len(limits.caps) == 0:
        return clip(v - tau, lower, upper)
    binding = clip(v - tau, lower, upper) @ members.T > caps
    g_low, g_high = tau + 0 * caps, amax(v - lower) + 1.0 + 0 * caps
    for _ in range(BISECTIONS):
        mid = (g_low + g_high) / 2
        above = clip(v - mid @ members - tau * free, lower, upper) @ members.T > caps
        g_low, g_high = where(above, mid, g_low), where(above, g_high, mid)
    group_tau = where(binding, g_high, tau + 0 * caps)
    return clip(v - group_tau @ members - tau * free, lower, upper)
