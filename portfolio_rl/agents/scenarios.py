"""Robust GRPO: uncertainty sets of market scenarios, bundles, and their robust rewards.

The robust-optimisation reading of "GRPO" inside the RL one. A prompt is a start state plus
an uncertainty set of S market scenarios for the next K*h days, shared by the whole group;
a completion is a *bundle*: the member plays the policy on every scenario; its reward is a
risk measure over the bundle's S outcomes ([`portfolio_rl.conventions.measures.risk_value`][]).
Advantages, clipping, the KL and the reference policy are plain GRPO's, so with S = 1 and
the ``mean`` it is plain GRPO, exactly.

Why the bundle's log-probability is the sum over scenarios and steps: the member draws its
action noise independently on every scenario and step, so the bundle's density is the
product of the per-action densities, and the score-function identity
``grad E[f(bundle)] = E[f(bundle) grad log p(bundle)]`` holds for *any* function ``f`` of
the bundle, the minimum and the CVaR included. Noise shared across scenarios would make the
S first actions identical (the scenarios share the start state) and every later action a
function of the same draws: the bundle would not have the product density, and summing the
per-scenario log-probabilities would count the same randomness S times.

Uncertainty sets (``uncertainty``):

* ``bootstrap``: stationary-bootstrap draws (Politis & Romano 1994) of whole return rows
  from the history *before the start* (days 1..t of the decision close t).
* ``drift_ellipsoid``: the group's path with its drift shifted to points on the boundary of
  the ellipsoid the robust mean-variance baseline uses,
  ``delta = kappa * (Sigma / T)^(1/2) u`` with ``||u|| = 1``,
  ``kappa = sqrt(chi2.ppf(confidence, n))``, ``Sigma`` the daily covariance of the
  ``uncertainty_window`` returns up to the start and ``T`` their number (Ben-Tal &
  Nemirovski 1998; Goldfarb & Iyengar 2003). Directions come in antithetic pairs
  ``u, -u``, so the set is centred on the path; cash is not shifted.

With ``include_base_path`` (default) scenario 0 is the group's own path (the realised
future, or the bootstrap draw of plain GRPO) and the other S - 1 come from the set.
"""

from __future__ import annotations

import numpy as np
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData, PathBatch, future_paths
from portfolio_rl.agents.rollout import Rollout
from portfolio_rl.conventions.measures import ellipsoid_kappa, risk_value
from portfolio_rl.data.market_paths import bootstrap_returns


def scenario_paths(
    data: MarketData,
    config: TrainConfig,
    starts: np.ndarray,
    base: PathBatch,
    rng: np.random.Generator,
) -> PathBatch:
    """The S scenarios of every start, start-major: path ``b * S + s`` is scenario s of b.

    Parameters
    ----------
    data : MarketData
    config : TrainConfig
        ``scenarios``, ``uncertainty``, ``include_base_path``, ``block_length``,
        ``ellipsoid_confidence`` and ``uncertainty_window`` are read.
    starts : ndarray of int, shape (B,)
    base : PathBatch
        The group's own path per start (B paths).
    rng : numpy.random.Generator
        Nothing is drawn when the set is the base path alone.

    Returns
    -------
    PathBatch of B * S paths
    """
    s = config.scenarios
    extra = s - 1 if config.include_base_path else s
    if extra == 0:
        return base
    horizon = config.steps * config.rebalance_days
    if config.uncertainty == "bootstrap":
        future = np.stack(
            [
                bootstrap_returns(data.bootstrap_pool[:t], horizon, config.block_length, rng, extra)
                for t in starts
            ]
        )
    else:
        future = drift_shifts(data, config, starts, base.returns, extra, rng)
    b = len(starts)
    drawn = future_paths(
        data,
        np.repeat(starts, extra),
        future.reshape(b * extra, *future.shape[2:]),
        config.rebalance_days,
    )
    parts = [drawn.returns.view(b, extra, *drawn.returns.shape[1:])]
    feats = [drawn.features.view(b, extra, *drawn.features.shape[1:])]
    if config.include_base_path:
        parts.insert(0, base.returns[:, None])
        feats.insert(0, base.features[:, None])
    returns, features = torch.cat(parts, dim=1), torch.cat(feats, dim=1)
    return PathBatch(returns.flatten(0, 1), features.flatten(0, 1))


def drift_shifts(
    data: MarketData,
    config: TrainConfig,
    starts: np.ndarray,
    paths: torch.Tensor,
    count: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` copies of each path with the risky drift moved to the ellipsoid's boundary.

    Parameters
    ----------
    paths : Tensor of shape (B, K*h, n) or (B, K*h, n + 1)

    Returns
    -------
    ndarray of shape (B, count, K*h, n or n + 1)
        Shifted daily returns, floored at -0.95 (a price never goes below zero).
    """
    n = data.prices.shape[1]
    kappa = ellipsoid_kappa(n, config.ellipsoid_confidence)
    base = paths.double().cpu().numpy()
    history = data.bootstrap_pool  # returns of days 1..; row t - 1 is day t
    u = rng.standard_normal((len(starts), (count + 1) // 2, n))
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    u = np.stack([u, -u], axis=2).reshape(len(starts), -1, n)[:, :count]  # u1, -u1, u2, ...
    out = np.repeat(base[:, None], count, axis=1)
    for i, t in enumerate(starts):
        window = history[max(0, t - config.uncertainty_window) : t, :n]
        cov = np.atleast_2d(np.cov(window, rowvar=False))
        root = np.linalg.cholesky(cov + 1e-12 * np.eye(n))
        delta = kappa / np.sqrt(len(window)) * u[i] @ root.T  # (count, n): rows root @ u
        out[i, :, :, :n] += delta[:, None, :]
    return np.maximum(out, -0.95)


def bundle(batch: Rollout, s: int) -> Rollout:
    """View a rollout over B * S paths as one of B starts whose members act on S scenarios.

    Every member's S*K actions become the steps of one completion, so the per-step loss,
    the sequence-level ratio and the aggregation of plain GRPO apply unchanged.

    Returns
    -------
    Rollout
        ``obs`` (B, G, S*K, n, F), ``actions`` (B, G, S*K, n), ``logp`` (B, G, S*K); ``sim``
        keeps the B*S rows.
    """
    if s == 1:
        return batch

    def merge(x: torch.Tensor) -> torch.Tensor:
        b, g, k = x.shape[0] // s, x.shape[1], x.shape[2]
        x = x.view(b, s, g, k, *x.shape[3:]).transpose(1, 2)
        return x.reshape(b, g, s * k, *x.shape[4:])

    return Rollout(merge(batch.obs), merge(batch.actions), merge(batch.logp), batch.sim)


def robust_rewards(
    terms: dict[str, torch.Tensor], config: TrainConfig, per_term: bool
) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, float]]:
    """Each member's reward: the risk measure of its bundle's S outcomes.

    Parameters
    ----------
    terms : dict of name -> Tensor of shape (B*S, G)
        Each reward function's value on every scenario.
    config : TrainConfig
    per_term : bool
        Apply the measure to each reward term (then normalised one by one), or to their
        weighted sum.

    Returns
    -------
    robust_terms : dict of name -> Tensor of shape (B, G)
        The measure of each term (``per_term``), else ``{"reward": measure of the sum}``.
    rewards : Tensor of shape (B, G)
        The weighted sum of ``robust_terms`` (or the measure of the sum).
    figures : dict
        ``scenario_spread`` (mean over members of the std of the summed reward across
        scenarios) and ``robust_gap`` (mean of ``mean over scenarios - robust value``).
    """
    s = config.scenarios

    def per_scenario(x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0] // s, s, *x.shape[1:])

    def measure(x: torch.Tensor) -> torch.Tensor:
        return risk_value(x, config.robust_measure, config.robust_param, dim=1)

    total = per_scenario(sum(config.rewards[n] * r for n, r in terms.items()))
    if per_term:
        robust = {n: measure(per_scenario(r)) for n, r in terms.items()}
        rewards = sum(config.rewards[n] * r for n, r in robust.items())
    else:
        rewards = measure(total)
        robust = {"reward": rewards}
    figures = {
        "scenario_spread": total.std(dim=1, correction=0).mean().item(),
        "robust_gap": (total.mean(dim=1) - rewards).mean().item(),
    }
    return robust, rewards, figures
