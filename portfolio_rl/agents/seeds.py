"""GRPO for several seeds in one process: stacked parameters, one batch of rollouts.

The policy is a small MLP and training is network-bound, so S seeds trained one after
another cost S times one. Here the S policies' parameters are stacked
(``torch.func.stack_module_state``), the rollouts of all seeds are one batch of S*B groups,
each seed's loss comes from its own rows and outputs, the loss minimised is their sum (so
each seed's gradient is its own), Adam is elementwise (one optimiser over the stacks is S
optimisers), and the gradient is clipped per seed with ``clip_grad_norm_``'s arithmetic.
Each seed's numpy generator draws its own starts and paths, and its own torch generator
state draws its action noise (the global generator is swapped per seed around every draw).

On CPU the network is one plain call per seed on its own rows, and every seed's result is
bit for bit what training it alone gives (tested): the same paths, noise and arithmetic. On
a GPU it is one ``vmap`` over the seeds; its batched products round differently (about
1e-7 relative per call), that difference is carried through training, and a test holds the
results to about 1e-6 of a run alone. (On CPU the vmapped products leave strided outputs on
which tanh and its backward run several times slower than S plain calls.)
``bench --only seeds`` measures the time.

Supported: plain GRPO (``algo: grpo``), without resume (a batch is short; rerun it).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.func import functional_call, stack_module_state, vmap

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData, PathBatch, sample_paths, sample_starts
from portfolio_rl.agents.grpo import advantages, iteration_row, mean_of, objective
from portfolio_rl.agents.losses import aggregate
from portfolio_rl.agents.optim import check_finite, set_lr
from portfolio_rl.agents.policy import PolicyOutput, SimplexPolicy
from portfolio_rl.agents.rollout import rollout
from portfolio_rl.agents.runstate import LOGGED_STATS, ProgressFn, RunState, TrainResult
from portfolio_rl.agents.setup import resolve_device, starting_policy


class StackedPolicy:
    """S policies of one shape as one: rows ``s*B .. (s+1)*B - 1`` of a batch are seed s's.

    Offers what the rollout calls on a `SimplexPolicy` (``__call__``, ``sample``,
    ``log_prob``, ``to_weights``, ``mean_weights``) with per-seed parameters and per-seed
    random streams, and each seed's own outputs for its loss (`outputs`).
    """

    #: Devices where the network is one vmapped call over the seeds; elsewhere it is one
    #: plain call per seed (on CPU the vmapped one is slower: 5 seeds take 0.107 s against
    #: 0.068 s a forward and backward).
    vmapped_devices: tuple[str, ...] = ("cuda",)

    def __init__(self, policies: list[SimplexPolicy], rng_states: list[torch.Tensor]) -> None:
        self.params, self.buffers = stack_module_state(policies)
        self.base = copy.deepcopy(policies[0]).to("meta")
        self.template = policies[0]  # distribution methods use no parameters
        self.rng_states = rng_states
        self.s = len(policies)

    def outputs(self, params: dict[str, Any], obs: torch.Tensor) -> list[PolicyOutput]:
        """Each seed's distribution parameters on its own rows, its log std a scalar as alone.

        Parameters
        ----------
        params : dict of stacked parameters, each of shape (S, ...)
        obs : Tensor of shape (S*B, ..., n, obs_features)

        Returns
        -------
        list of S PolicyOutput, seed s's on rows ``s*B .. (s+1)*B - 1``
        """

        def one(p: dict[str, Any], b: dict[str, Any], x: torch.Tensor) -> tuple[Any, ...]:
            return tuple(t for t in functional_call(self.base, (p, b), (x,)) if t is not None)

        seeded = obs.view(self.s, obs.shape[0] // self.s, *obs.shape[1:])
        if obs.device.type in self.vmapped_devices:
            stacked = vmap(one)(params, self.buffers, seeded)
            return [PolicyOutput(*(t[s] for t in stacked)) for s in range(self.s)]

        def of(d: dict[str, Any], s: int) -> dict[str, Any]:
            return {k: v[s] for k, v in d.items()}

        return [
            PolicyOutput(*one(of(params, s), of(self.buffers, s), seeded[s])) for s in range(self.s)
        ]

    def __call__(self, obs: torch.Tensor, anchor: None = None) -> PolicyOutput:
        """Every seed's forward pass as one output for the rollout: the per-seed log stds
        become a (S*B, 1, ..., 1) column that broadcasts (seeds trained together take no
        anchor)."""  # noqa: D205, D209
        outs = self.outputs(self.params, obs)
        b, rows = obs.shape[0] // self.s, obs.shape[:-2]
        log_std = torch.stack([o.log_std for o in outs]).repeat_interleave(b)

        return PolicyOutput.joined(outs, log_std.view(rows[0], *[1] * len(rows)))

    def sample(self, out: PolicyOutput) -> torch.Tensor:
        """Each seed's actions from its own torch random stream, as in a run alone."""
        b = out.scores.shape[0] // self.s
        parts = []
        for s in range(self.s):
            rows = slice(s * b, (s + 1) * b)
            mine = PolicyOutput(*(None if t is None else t[rows] for t in out))
            mine = mine._replace(log_std=out.log_std[s * b].squeeze())
            set_stream(out.scores.device, self.rng_states[s])
            parts.append(self.template.sample(mine))
            self.rng_states[s] = get_stream(out.scores.device)
        return torch.cat(parts)

    def __getattr__(self, name: str) -> Any:  # log_prob, to_weights, mean_weights, ...
        return getattr(self.template, name)

    def policy(self, s: int) -> SimplexPolicy:
        """Seed s's parameters as a plain policy (for validation and checkpoints)."""
        module = copy.deepcopy(self.template)
        module.load_state_dict({k: v[s].detach() for k, v in self.params.items()})
        return module


def train_seeds(
    configs: list[TrainConfig],
    prices: pd.DataFrame,
    folders: list[Path],
    progress: ProgressFn | None = None,
) -> list[TrainResult]:
    """Train GRPO for every config (the same but for ``seed`` and ``init_policy``) at once.

    Each folder gets what [`portfolio_rl.agents.grpo.train_grpo`][] writes for that seed.
    """
    first = configs[0]
    if first.dynamic_sampling or first.scale_rewards == "batch":
        raise ValueError("dynamic sampling and batch-scaled rewards mix seeds: train alone")
    for c in configs:
        if c.algo != "grpo" or {**c.to_dict(), "seed": 0, "init_policy": None} != {
            **first.to_dict(),
            "seed": 0,
            "init_policy": None,
        }:
            raise ValueError("seeds train together only for grpo configs equal but for the seed")
    device = resolve_device(first.device)
    data = MarketData.build(prices, first, device)
    policies, rngs, streams = [], [], []
    for c in configs:  # the set-up of a run alone, seed by seed
        rng, policy = starting_policy(c, device)
        rngs.append(rng)
        policies.append(policy)
        streams.append(get_stream(device))
    stacked = StackedPolicy(policies, streams)
    params = stacked.params  # stacked leaves that require grad: what the optimiser steps
    reference = {k: v.detach().clone() for k, v in params.items()}
    optimizer = torch.optim.Adam(params.values(), lr=first.lr)
    states = []
    for s, (c, folder) in enumerate(zip(configs, folders, strict=True)):
        state = RunState(folder, c, data)
        state.start({"policy": policies[s]}, rngs[s], resume=False, progress=None)
        states.append(state)
    active = [True] * len(configs)
    last = [first.iterations - 1] * len(configs)
    s_count, b = len(configs), first.batch_starts
    for iteration in range(first.iterations):
        lr = set_lr(optimizer, first, iteration)
        parts = [sample_paths(data, first, sample_starts(data, b, rng), rng) for rng in rngs]
        joined = zip(*parts, strict=True)
        paths = PathBatch(*(None if t[0] is None else torch.cat(t) for t in joined))
        h, cost = first.rebalance_days, first.cost_bps
        batch = rollout(stacked, paths, first.group_size, h, cost, limits=data.limits)
        batch, rewards, adv, _ = advantages(batch, first)
        # each seed's loss from its own outputs, as alone (the batch's rows split by seed)
        actions, logp_old, adv = (t.split(b) for t in (batch.actions, batch.logp, adv))
        template = stacked.template
        with torch.no_grad():
            ref_outs = stacked.outputs(reference, batch.obs)
            logp_ref = [template.log_prob(r, a) for r, a in zip(ref_outs, actions, strict=True)]
        stats = [dict.fromkeys(LOGGED_STATS, 0.0) for _ in configs]
        for _ in range(first.mu):
            outs = stacked.outputs(params, batch.obs)
            steps = [
                objective(template, *mine, first)
                for mine in zip(outs, actions, logp_old, adv, ref_outs, logp_ref, strict=True)
            ]
            losses = [aggregate(per_step, first.loss_aggregation) for per_step, *_ in steps]
            for loss, (_, kl, *_) in zip(losses, steps, strict=True):
                check_finite(iteration, loss, kl.mean().item(), first.max_kl)
            entropies = [template.entropy(out) for out in outs]  # before the step
            optimizer.zero_grad()
            torch.stack(losses).sum().backward()
            norms = _clip_per_seed(params, first.max_grad_norm, s_count)
            optimizer.step()
            for s, (_, kl, low, high) in enumerate(steps):
                step = (kl, low, high, entropies[s], norms[s], losses[s])
                for key, v in zip(LOGGED_STATS, step, strict=True):
                    stats[s][key] += mean_of(v) / first.mu
        if first.ref_update_every and (iteration + 1) % first.ref_update_every == 0:
            reference = {k: v.detach().clone() for k, v in params.items()}
        for s in range(s_count):
            if not active[s]:
                continue
            row = iteration_row(iteration, rewards[s * b : (s + 1) * b], stats[s], lr)
            states[s].modules["policy"] = stacked.policy(s)
            if states[s].end_iteration(iteration, row, states[s].modules["policy"]):
                active[s], last[s] = False, iteration
        if progress is not None:
            progress(iteration + 1, first.iterations, f"{sum(active)} of {s_count} seeds on")
        if not any(active):
            break
    return [state.finish(last[s]) for s, state in enumerate(states)]


def _clip_per_seed(params: dict[str, torch.Tensor], max_norm: float, s: int) -> list[float]:
    """Clip each seed's gradient to ``max_norm`` with ``clip_grad_norm_``'s arithmetic (the
    norm of the per-tensor norms, then one factor), so a seed is clipped as it is alone."""  # noqa: D205, D209
    grads = [p.grad for p in params.values() if p.grad is not None]
    norms = []
    for k in range(s):
        mine = [g[k] for g in grads]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in mine]))
        coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in mine:
            g.mul_(coef)
        norms.append(norm.item())
    return norms


def get_stream(device: torch.device) -> torch.Tensor:
    """The state of the generator that draws action noise on ``device`` (CPU or CUDA)."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def set_stream(device: torch.device, state: torch.Tensor) -> None:
    """Restore `get_stream`'s state."""
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)
