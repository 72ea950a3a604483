"""Trained policies as backtest strategies: ``state_dict`` + JSON, loaded with weights_only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.anchor import Anchor
from portfolio_rl.agents.policy import SimplexPolicy
from portfolio_rl.agents.records import (
    POLICY_FIELDS,
    check_fields,
    legacy_signature,
    load_unit,
    sha256,
)
from portfolio_rl.agents.steer import SteeredPolicy, decision_features, steered_decision
from portfolio_rl.agents.steer_table import SteerContext
from portfolio_rl.conventions.features import (
    FEATURE_NAMES,
    LOOKBACK,
    asset_features,
    observation,
)
from portfolio_rl.conventions.mandate import Limits, project
from portfolio_rl.conventions.market import CASH, split_cash
from portfolio_rl.errors import PortfolioRLError


def check_features(meta: dict[str, Any], where: Path) -> None:
    """Refuse a policy trained on another feature set than this version's ``FEATURE_NAMES``."""
    trained = meta.get("features")
    if trained == list(FEATURE_NAMES):
        return
    if isinstance(trained, list):
        added = [f for f in FEATURE_NAMES if f not in trained]
        what = f"{len(trained)} features per asset" + (
            f" (this version adds {', '.join(added)})" if added else ""
        )
    else:
        what = "an earlier version's features"
    raise PortfolioRLError(
        f"{where} was trained on {what}; this version computes {len(FEATURE_NAMES)} per asset "
        f"({', '.join(FEATURE_NAMES)}): train it again"
    )


def read_policy(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state_dict, metadata)`` of a training run's ``policy.pt``, every field checked.

    A ``policy.pt`` of an earlier version (the weights alone) is read with its
    ``policy.json``, which must carry the signature that binds the two.
    """
    folder = Path(folder)
    if not (folder / "policy.pt").is_file():
        raise PortfolioRLError(f"{folder} is not a trained run (policy.pt missing)")
    state, meta, data = load_unit(folder, "policy")
    if meta is None:  # weights and metadata in two files, bound by a signature
        try:
            meta = json.loads((folder / "policy.json").read_text())
            if not isinstance(meta, dict):
                raise ValueError("policy.json is not a JSON object")
        except (OSError, ValueError) as exc:
            raise PortfolioRLError(f"cannot load the policy in {folder}: {exc}") from None
        if meta.get("signature") != legacy_signature(meta, sha256(data)):
            raise PortfolioRLError(
                f"{folder}: policy.json does not match policy.pt (edited after training?); "
                "train it again"
            )
    check_features(meta, folder)
    check_fields(meta, POLICY_FIELDS, folder / "policy.json")
    return state, meta


def load_policy(folder: str | Path) -> tuple[SimplexPolicy | SteeredPolicy, dict[str, Any]]:
    """The best policy of a training run folder and its metadata.

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_rl.agents import TrainConfig, load_policy, train
    >>> from portfolio_rl.data import load_prices
    >>> folder = tempfile.mkdtemp()
    >>> _ = train(TrainConfig(iterations=0), load_prices("sp500", end="2014-12-31"), folder)
    >>> policy, meta = load_policy(folder)
    >>> meta["algo"], len(meta["assets"])
    ('grpo', 20)
    """
    state, meta = read_policy(folder)
    try:
        if meta.get("steer"):
            steer = meta["steer"]
            policy: SimplexPolicy | SteeredPolicy = SteeredPolicy(
                tuple(steer["names"]),
                steer["configured"],
                tuple(steer["levels"]),
                meta["hidden"],
                exposure=meta["cash"],
            )
        else:
            policy = SimplexPolicy(
                meta["obs_features"],
                meta["hidden"],
                meta["distribution"],
                exposure=meta["cash"],
                anchored=meta["anchor"] is not None,
            )
        policy.load_state_dict(state)
    except Exception as exc:  # weights of another shape, a record that does not fit them
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise PortfolioRLError(f"cannot load the policy in {folder}: {reason}") from None
    policy.eval()
    return policy, meta


def kept_start(meta: dict[str, Any]) -> str | None:
    """What a policy decides when validation kept its untrained start (else None).

    An untrained policy decides 1/N (with cash: 88% invested, 1/N of it), its anchor's
    weights, or, in a later walk-forward fold, the previous fold's policy.
    """
    if int(meta.get("best_iteration", 0)) >= 0:
        return None
    if meta.get("init_policy"):
        return "the previous fold's policy"
    if meta.get("steer"):
        return f"its baseline ({meta['steer']['name']}) with the configured parameters"
    if meta.get("anchor"):
        return f"its anchor's weights ({meta['anchor']['name']})"
    return "1/N, 88% invested and the rest in cash" if meta.get("cash") else "1/N"


def untrained_notes(strategies: list[Any]) -> list[str]:
    """One line per policy (or walk-forward fold) that validation left at its untrained start."""
    notes = []
    for strategy in strategies:
        folds = getattr(strategy, "folds", None) or [(None, strategy)]
        for k, (_, policy) in enumerate(folds, 1):
            start = kept_start(getattr(policy, "meta", {}))
            if start is not None:
                where = f" (fold {k})" if len(folds) > 1 else ""
                notes.append(
                    f"{strategy.name}{where} kept its untrained start: no training iteration "
                    f"beat it on validation, so it decides {start}"
                )
    return notes


class PolicyStrategy:
    """A trained policy in the walk-forward engine: the deterministic (mean) allocation.

    At each rebalance it computes the features of the risky prices of the window (the same
    function as in training) and observes its drifted risky weights, exactly as in training.
    A policy trained with cash (``uses_cash``) also sets the cash weight. An anchored policy
    (``meta["anchor"]``) reads its anchor's weights of the decision date from ``anchor``,
    the table of the same baseline, parameters and window on the backtest's prices
    (`portfolio_rl.backtest.anchors.attach_anchors`).
    """

    def __init__(
        self,
        name: str,
        policy: SimplexPolicy | SteeredPolicy,
        meta: dict[str, Any],
        anchor: Anchor | None = None,
    ) -> None:
        self.name, self.policy, self.meta, self.anchor = name, policy, meta, anchor
        self.uses_cash = bool(meta.get("cash", False))
        #: A steered policy's baseline solver (``backtest.steering.attach_steering``), the
        #: parameters it chose at each decision, and its failed solves.
        self.solver: Any = None
        self.chosen: list[dict[str, Any]] = []
        self.failures, self.status = 0, "optimal"
        self.limits: Limits | None = None

    def constrain(self, limits: Limits) -> None:
        """A mandate's limits: the end of the action transform, as in training."""
        self.limits = limits

    def check_assets(self, columns: list[str]) -> str | None:
        """Check the prices' assets against the training data's; a note when they differ.

        A plain policy is one encoder applied to every asset (permutation-equivariant, any
        number of assets), so it carries to another universe with the same features: the
        note says so. An anchored or steered policy reads its baseline's weights of the
        assets it was trained on, and a policy with cash needs a cash column: both refuse.
        """
        expected = list(self.meta.get("assets", []))
        # a policy without cash runs on the risky columns of a cash run; one with cash needs it
        given = list(columns) if self.uses_cash else [c for c in columns if c != CASH]
        if given == expected:
            return None
        missing = sorted(set(expected) - set(given))
        extra = sorted(set(given) - set(expected))
        if missing == [CASH]:
            raise PortfolioRLError(
                f"policy {self.name!r} was trained with cash; it holds cash: pass --cash"
            )
        if self.meta.get("anchor") or self.meta.get("steer"):
            detail = (
                f"missing {missing}, not trained on {extra}"
                if missing or extra
                else "the same assets in another order"
            )
            raise PortfolioRLError(
                f"policy {self.name!r} was trained on other assets ({detail}); an anchored or "
                "steered policy needs its own universe: use it on the data it was trained on"
            )
        if not missing and not extra:
            return None  # the same assets in another order: one encoder, order does not matter
        n = len([a for a in expected if a != CASH])
        return (
            f"{self.name} was trained on {n} other assets ({', '.join(expected[:3])}, ...) "
            f"and applied to these {len([c for c in given if c != CASH])}: the same features, "
            "one encoder per asset"
        )

    @torch.no_grad()
    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """Mean allocation of the policy at the last date of ``prices``."""
        if len(prices) < LOOKBACK + 1:
            raise PortfolioRLError(f"a policy needs a window of at least {LOOKBACK} returns")
        risky, _ = split_cash(prices)
        n = risky.shape[1]
        feats = asset_features(risky.to_numpy()[-(LOOKBACK + 1) :])[-1]
        obs = torch.from_numpy(observation(feats, prev_weights[:n]))
        if self.meta.get("steer"):
            return self._steered(obs, risky.to_numpy(), prev_weights, prices.index[-1])
        w = self.policy.mean_weights(self.policy(obs, self._anchor_row(prices.index[-1])))
        w = w.double().numpy()
        return project(w / w.sum(), self.limits)

    def _steered(
        self, obs: torch.Tensor, risky: np.ndarray, held: np.ndarray, date: pd.Timestamp
    ) -> np.ndarray:
        """The baseline solved with the parameters of the mean action (exactly, cvxpy);
        a failed solve keeps the previous weights (counted in ``failures``)."""  # noqa: D205, D209
        if self.solver is None:
            raise PortfolioRLError(
                f"policy {self.name!r} steers {self.meta['steer']['name']}: its solver is "
                "needed (backtest --policy and allocate attach it)"
            )
        window = risky[-(int(self.meta["steer"]["window"]) + 1) :]
        features = decision_features(self.solver, window)
        ctx = SteerContext(torch.tensor(features, dtype=obs.dtype), *[None] * 6)
        latent = self.policy(obs, ctx).scores
        w = steered_decision(self.policy, latent, self.solver, window, held)
        values = {k: float(v) for k, v in self.policy.values(latent).items()}
        self.chosen.append({"date": date, **values})
        self.status = self.solver.status
        if w is None:
            self.failures += 1
            raise PortfolioRLError(f"{self.meta['steer']['name']} failed: {self.status}")
        return project(w, self.limits)

    def _anchor_row(self, date: pd.Timestamp) -> torch.Tensor | None:
        """The anchor's weights decided at ``date`` (None for a policy without an anchor)."""
        if self.policy.anchored and self.anchor is None:
            raise PortfolioRLError(
                f"policy {self.name!r} is anchored on {self.meta['anchor']['name']}: its "
                "anchor's weights are needed (backtest --policy and allocate compute them)"
            )
        if self.anchor is None:
            return None
        try:
            row = self.anchor.weights.loc[date, self.meta["assets"]]
        except KeyError:
            row = None
        if row is None or row.isna().any():  # a table of other days
            raise PortfolioRLError(f"the anchor of {self.name!r} has no weights for {date.date()}")
        return torch.tensor(row.to_numpy(dtype=np.float64), dtype=torch.float32)


def load_policy_strategy(
    folder: str | Path, name: str | None = None, anchor: Anchor | None = None
) -> PolicyStrategy:
    """Load a training run folder as a strategy named after its algorithm (or ``name``)."""
    policy, meta = load_policy(folder)
    return PolicyStrategy(name or meta["algo"], policy, meta, anchor)


class FoldedPolicy:
    """Walk-forward policies as one strategy: each fold's policy decides from its first
    trading date until the next fold's, never before (its validation ended the day before).

    Parameters
    ----------
    name : str
    folds : list of (Timestamp, PolicyStrategy)
        First decision date of each fold, ascending.
    """  # noqa: D205

    def __init__(self, name: str, folds: list[tuple[pd.Timestamp, PolicyStrategy]]) -> None:
        self.name, self.folds = name, folds
        self.uses_cash = folds[0][1].uses_cash
        self.meta = folds[-1][1].meta

    def constrain(self, limits: Limits) -> None:
        """Every fold's policy takes the mandate's limits."""
        for _, policy in self.folds:
            policy.constrain(limits)

    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """The allocation of the latest fold whose first date is on or before today."""
        today = prices.index[-1]
        ready = [policy for start, policy in self.folds if start <= today]
        if not ready:
            raise PortfolioRLError(f"no walk-forward fold of {self.name} trades on {today.date()}")
        return ready[-1].decide(prices, prev_weights)
