"""GRPO for several seeds in one process: stacked parameters, one batch of rollouts.

The policy is a small MLP and training is network-bound, so S seeds trained one after
another cost S times one. Here the S policies' parameters are stacked
(``torch.func.stack_module_state``) and on a GPU every forward and backward pass is one
``vmap`` over them (on CPU, where the vmapped products are slower than plain ones, one call
per seed); the rollouts of all seeds are one batch of S*B groups, the loss is the sum of
the S seeds' own losses (so each seed's gradient is its own), Adam is elementwise (one
optimiser over the stacks is S optimisers), and the gradient is clipped per seed.

What stays exactly as in a run alone: each seed's numpy generator draws its own starts and
paths, and its own torch generator state draws its action noise (the global generator is
swapped per seed around every draw), so every seed sees the same market paths and the same
noise as it would alone. What does not: sums over a seed's rows run in another order (the
shared log std's gradient; on a GPU also the batched products), which rounds differently
(about 1e-8 in the gradient norm after one step), and that difference is carried through
training. A test checks how close the results stay; ``bench --only seeds`` measures the time.

Supported: plain GRPO (``algo: grpo``), without resume (a batch is short; rerun it).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
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

    Offers what the rollout and the loss call on a :class:`SimplexPolicy` (``__call__``,
    ``sample``, ``log_prob``, ``to_weights``, ``mean_weights``, ``entropy``, ``kl``), with
    per-seed parameters and per-seed random streams.
    """

    #: Devices where the network is one vmapped call over the seeds. On CPU it is one plain
    #: call per seed on its own rows: there the vmapped products leave strided outputs on
    #: which tanh and its backward run several times slower (5 seeds: 0.107 s against
    #: 0.068 s a forward and backward).
    vmapped_devices: tuple[str, ...] = ("cuda",)

    def __init__(self, policies: list[SimplexPolicy], rng_states: list[torch.Tensor]) -> None:
        self.params, self.buffers = stack_module_state(policies)
        self.base = copy.deepcopy(policies[0]).to("meta")
        self.template = policies[0]  # distribution methods use no parameters
        self.rng_states = rng_states
        self.s = len(policies)

    def _forward(self, params: dict[str, Any], obs: torch.Tensor) -> PolicyOutput:
        def one(p: dict[str, Any], b: dict[str, Any], x: torch.Tensor) -> tuple[Any, ...]:
            return tuple(t for t in functional_call(self.base, (p, b), (x,)) if t is not None)

        seeded = obs.view(self.s, obs.shape[0] // self.s, *obs.shape[1:])
        if obs.device.type not in self.vmapped_devices:
            outs = [
                one(*({k: v[s] for k, v in d.items()} for d in (params, self.buffers)), seeded[s])
                for s in range(self.s)
            ]
            scores, log_std, *exposure = (torch.stack(t) for t in zip(*outs, strict=True))
        else:
            scores, log_std, *exposure = vmap(one)(params, self.buffers, seeded)
        rows = obs.shape[:-2]  # (S*B, ...): the leading axes of one decision's scores

        def flat(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(*rows, *t.shape[len(rows) + 1 :])

        # the shared log std, one per seed: a (S*B, 1, ..., 1) column that broadcasts
        log_std = log_std.repeat_interleave(rows[0] // self.s).view(rows[0], *[1] * len(rows))
        return PolicyOutput(flat(scores), log_std, *(flat(t) for t in exposure))

    def __call__(self, obs: torch.Tensor) -> PolicyOutput:
        """The forward pass of every seed on its own rows."""
        return self._forward(self.params, obs)

    def with_params(self, params: dict[str, Any], obs: torch.Tensor) -> PolicyOutput:
        """The forward pass with other stacked parameters (the reference policy)."""
        return self._forward(params, obs)

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

    Each folder gets what :func:`portfolio_rl.agents.grpo.train` writes for that seed.
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
        paths = PathBatch(*(torch.cat(t) for t in zip(*parts, strict=True)))
        batch = rollout(stacked, paths, first.group_size, first.rebalance_days, first.cost_bps)
        batch, rewards, adv, _ = advantages(batch, first)
        with torch.no_grad():
            ref_out = stacked.with_params(reference, batch.obs)
            logp_ref = stacked.log_prob(ref_out, batch.actions)
        stats = [dict.fromkeys(LOGGED_STATS, 0.0) for _ in configs]
        for _ in range(first.mu):
            out = stacked(batch.obs)
            per_step, kl, low, high = objective(
                stacked, out, batch.actions, batch.logp, adv, ref_out, logp_ref, first
            )
            losses = [aggregate(x, first.loss_aggregation) for x in per_step.split(b)]
            for loss, k in zip(losses, kl.split(b), strict=True):
                check_finite(iteration, loss, k.mean().item(), first.max_kl)
            optimizer.zero_grad()
            torch.stack(losses).sum().backward()
            norms = _clip_per_seed(params, first.max_grad_norm, s_count)
            optimizer.step()
            entropy = stacked.entropy(out)
            for s in range(s_count):
                rows = slice(s * b, (s + 1) * b)
                step = (kl[rows], low[rows], high[rows], entropy[rows], norms[s], losses[s])
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


def _clip_per_seed(params: dict[str, torch.Tensor], max_norm: float, s: int) -> np.ndarray:
    """Clip each seed's gradient to ``max_norm`` as ``clip_grad_norm_`` would alone."""
    grads = [p.grad for p in params.values()]
    squares = sum(g.detach().reshape(s, -1).double().pow(2).sum(1) for g in grads)
    norms = squares.sqrt().float()
    coef = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(s, *[1] * (g.dim() - 1)).to(g))
    return norms.cpu().numpy()


def get_stream(device: torch.device) -> torch.Tensor:
    """The state of the generator that draws action noise on ``device`` (CPU or CUDA)."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def set_stream(device: torch.device, state: torch.Tensor) -> None:
    """Restore :func:`get_stream`'s state."""
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)
