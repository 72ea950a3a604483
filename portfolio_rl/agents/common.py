"""Machinery shared by the trainers: market data, rollouts, rewards, validation, bookkeeping.

A rollout samples G trajectories of K rebalancing actions from each of B start states on
one shared market path per start, with the batched simulator and the one cost model; a
start state is a decision close t (features from prices up to t only) holding cash.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.policy import SimplexPolicy
from portfolio_rl.envs.paths import bootstrap_returns
from portfolio_rl.envs.simulator import SimResult, simulate
from portfolio_rl.errors import DataError, TrainingDiverged
from portfolio_rl.features import LOOKBACK, OBS_FEATURES, asset_features
from portfolio_rl.market import hold, simple_returns
from portfolio_rl.paths import atomic_write, atomic_write_text

# --------------------------------------------------------------------------- setup


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch's global generator and return the run's numpy Generator."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


@dataclass
class MarketData:
    """Prices up to ``val_end`` turned into the tensors training needs (nothing later).

    Attributes
    ----------
    dates : DatetimeIndex of shape (T,)
    assets : list of str
    prices : ndarray of shape (T, n)
    returns : Tensor of shape (T, n)
        ``r[t] = P[t]/P[t-1] - 1``.
    features : Tensor of shape (T, n, N_FEATURES)
    train_starts : ndarray of int
        Decision indices whose K*h-day trajectory ends on or before ``train_end``.
    val_start, val_steps : int
        First validation decision index (the first day after ``train_end``) and the number
        of h-day steps that fit before ``val_end``.
    bootstrap_pool : ndarray of shape (n_train_days, n)
        The training-range daily returns that bootstrap paths resample.
    """

    dates: pd.DatetimeIndex
    assets: list[str]
    prices: np.ndarray
    returns: torch.Tensor
    features: torch.Tensor
    train_starts: np.ndarray
    val_start: int
    val_steps: int
    bootstrap_pool: np.ndarray

    @classmethod
    def build(cls, prices: pd.DataFrame, config: TrainConfig, device: torch.device) -> MarketData:
        """Cut the prices at ``val_end`` and precompute returns and features."""
        frame = prices.loc[: pd.Timestamp(config.val_end)]
        if config.data_start:
            frame = frame.loc[pd.Timestamp(config.data_start) :]
        dates = frame.index
        values = frame.to_numpy(dtype=np.float64)
        horizon = config.steps * config.rebalance_days
        train_hi = int(dates.searchsorted(pd.Timestamp(config.train_end), side="right")) - 1
        starts = np.arange(LOOKBACK, train_hi - horizon + 1)
        if len(starts) < 1:
            raise DataError(
                f"training range too short: need {LOOKBACK} days of history plus a "
                f"{horizon}-day trajectory before {config.train_end}"
            )
        val_start = train_hi
        val_steps = (len(dates) - 1 - val_start) // config.rebalance_days
        if val_steps < 2:
            raise DataError(f"validation range {config.train_end}..{config.val_end} is too short")
        feats = asset_features(values)
        returns = torch.tensor(simple_returns(values), dtype=torch.float32, device=device)
        return cls(
            dates=dates,
            assets=list(frame.columns),
            prices=values,
            returns=returns,
            features=torch.tensor(np.nan_to_num(feats), dtype=torch.float32, device=device),
            train_starts=starts,
            val_start=val_start,
            val_steps=val_steps,
            bootstrap_pool=returns[1 : int(starts[-1]) + horizon + 1]
            .cpu()
            .numpy()
            .astype(np.float64),
        )


# --------------------------------------------------------------------------- rollouts


class PathBatch(NamedTuple):
    """Market paths for B start states."""

    returns: torch.Tensor
    """(B, K*h, n) daily returns after the start close."""
    features: torch.Tensor
    """(B, K, n, N_FEATURES) features at each decision close."""


def historical_paths(data: MarketData, starts: np.ndarray, steps: int, h: int) -> PathBatch:
    """The realised futures of the start dates."""
    device = data.returns.device
    t0 = torch.as_tensor(starts, device=device)[:, None]
    days = t0 + 1 + torch.arange(steps * h, device=device)
    decisions = t0 + h * torch.arange(steps, device=device)
    return PathBatch(data.returns[days], data.features[decisions])


def bootstrap_paths(
    data: MarketData,
    starts: np.ndarray,
    steps: int,
    h: int,
    block_length: float,
    rng: np.random.Generator,
) -> PathBatch:
    """One stationary-bootstrap future per start, drawn from the training returns before it.

    Features along the synthetic path come from the real prices up to the start followed
    by the bootstrapped ones, through the same feature function.
    """
    horizon = steps * h
    future = bootstrap_returns(data.bootstrap_pool, horizon, block_length, rng, size=len(starts))
    past = np.stack([data.prices[t - LOOKBACK : t + 1] for t in starts])
    path_prices = np.concatenate([past, past[:, -1:] * np.cumprod(1 + future, axis=1)], axis=1)
    feats = asset_features(path_prices)[:, LOOKBACK : LOOKBACK + horizon : h]
    device = data.returns.device
    return PathBatch(
        torch.tensor(future, dtype=torch.float32, device=device),
        torch.tensor(feats, dtype=torch.float32, device=device),
    )


class Rollout(NamedTuple):
    """G trajectories of K actions from each of B starts."""

    obs: torch.Tensor
    """(B, G, K, n, OBS_FEATURES) observations."""
    actions: torch.Tensor
    """(B, G, K, n) actions (scores or weights)."""
    logp: torch.Tensor
    """(B, G, K) log-probabilities of the actions under the sampling policy."""
    sim: SimResult
    """Simulator output for the target weights."""


@torch.no_grad()
def rollout(
    policy: SimplexPolicy,
    paths: PathBatch,
    group_size: int,
    h: int,
    cost_bps: float,
    deterministic: bool = False,
) -> Rollout:
    """Sample (or take the mean action of) ``policy`` along the shared paths.

    The loop runs over the K steps only: an observation needs the weights drifted by the
    previous action; everything else is vectorised over B and G.
    """
    b, k, n, _ = paths.features.shape
    drifted = paths.returns.new_zeros(b, group_size, n)
    obs_steps, act_steps, logp_steps, weight_steps = [], [], [], []
    for step in range(k):
        feats = paths.features[:, step, None].expand(b, group_size, n, -1)
        obs = torch.cat([feats, (drifted * n)[..., None]], dim=-1)
        out = policy(obs)
        if deterministic:
            weights = policy.mean_weights(out)
            action = weights
            logp = torch.zeros(b, group_size, device=obs.device)
        else:
            action = policy.sample(out)
            weights = policy.to_weights(action)
            logp = policy.log_prob(out, action)
        segment = paths.returns[:, None, step * h : (step + 1) * h]
        _, drifted = hold(weights, segment)
        obs_steps.append(obs)
        act_steps.append(action)
        logp_steps.append(logp)
        weight_steps.append(weights)
    weights = torch.stack(weight_steps, dim=2)
    sim = simulate(weights, paths.returns, cost_bps)
    return Rollout(
        torch.stack(obs_steps, dim=2),
        torch.stack(act_steps, dim=2),
        torch.stack(logp_steps, dim=2),
        sim,
    )


def independent_rollout(
    policy: SimplexPolicy, data: MarketData, config: TrainConfig, rng: np.random.Generator
) -> Rollout:
    """The baselines' sample budget: B*G independent starts, one trajectory each."""
    starts = sample_starts(data, config.batch_starts * config.group_size, rng)
    paths = sample_paths(data, config, starts, rng)
    return rollout(policy, paths, 1, config.rebalance_days, config.cost_bps)


# --------------------------------------------------------------------------- rewards


def outcome_rewards(sim: SimResult, weights: dict[str, float]) -> torch.Tensor:
    """Weighted sum of the named outcome reward functions, shape (B, G).

    ``log_growth``: total net log growth; ``sharpe``: annualised Sharpe ratio of the daily
    net returns; ``drawdown_penalty``: minus the maximum drawdown of the wealth path;
    ``turnover_penalty``: minus the summed two-way turnover.
    """
    total = torch.zeros_like(sim.step_log_returns[..., 0])
    for name, weight in weights.items():
        if weight == 0:
            continue
        if name == "log_growth":
            value = sim.step_log_returns.sum(-1)
        elif name == "sharpe":
            d = sim.daily_returns
            value = d.mean(-1) / (d.std(-1) + 1e-8) * math.sqrt(252)
        elif name == "drawdown_penalty":
            w = torch.cat([torch.ones_like(sim.wealth[..., :1]), sim.wealth], dim=-1)
            value = -(1 - w / torch.cummax(w, dim=-1).values).amax(-1)
        elif name == "turnover_penalty":
            value = -sim.turnover.sum(-1)
        else:  # validated in TrainConfig
            raise KeyError(name)
        total = total + weight * value
    return total


def step_rewards(sim: SimResult, weights: dict[str, float]) -> torch.Tensor:
    """Per-step rewards for process supervision and PPO, shape (B, G, K).

    Step log growth (its own cost included) times the ``log_growth`` weight, minus the
    ``turnover_penalty`` weight times the step's turnover; the trajectory-level terms
    (``sharpe``, ``drawdown_penalty``) are added to the last step.
    """
    reward = weights.get("log_growth", 0.0) * sim.step_log_returns
    reward = reward - weights.get("turnover_penalty", 0.0) * sim.turnover
    rest = {k: v for k, v in weights.items() if k in ("sharpe", "drawdown_penalty")}
    if rest:
        reward = reward.clone()
        reward[..., -1] += outcome_rewards(sim, rest)
    return reward


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def validation_returns(policy: SimplexPolicy, data: MarketData, config: TrainConfig) -> np.ndarray:
    """Daily net returns of the deterministic policy over the validation range."""
    paths = historical_paths(
        data, np.array([data.val_start]), data.val_steps, config.rebalance_days
    )
    out = rollout(policy, paths, 1, config.rebalance_days, config.cost_bps, deterministic=True)
    return out.sim.daily_returns[0, 0].double().cpu().numpy()


def validation_score(policy: SimplexPolicy, data: MarketData, config: TrainConfig) -> float:
    """Annualised Sharpe ratio of the deterministic policy on the validation range."""
    r = validation_returns(policy, data, config)
    return float(r.mean() / (r.std(ddof=1) + 1e-12) * math.sqrt(252))


def lr_at(config: TrainConfig, iteration: int) -> float:
    """Learning rate of an iteration under the configured schedule."""
    frac = iteration / max(config.iterations, 1)
    if config.lr_schedule == "linear":
        return config.lr * (1 - frac)
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * frac))
    return config.lr


def set_lr(optimizer: torch.optim.Optimizer, config: TrainConfig, iteration: int) -> float:
    """Set and return the scheduled learning rate of ``iteration``."""
    lr = lr_at(config, iteration)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def check_finite(iteration: int, loss: torch.Tensor, kl: float, max_kl: float) -> None:
    """Stop a diverging run with a message instead of training on NaNs."""
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged at iteration {iteration}: the loss is {loss.item()}; "
            "lower the learning rate or raise std_floor"
        )
    if not math.isfinite(kl) or kl > max_kl:
        raise TrainingDiverged(
            f"training diverged at iteration {iteration}: KL to the reference is {kl:.3g} "
            f"(> max_kl={max_kl}); lower the learning rate or raise beta"
        )


# --------------------------------------------------------------------------- bookkeeping

#: Per-iteration figures of the clipped-ratio trainers (GRPO, PPO), averaged over the mu
#: inner steps; the names and order of their columns in ``train_log.csv``.
LOGGED_STATS = ("kl", "clip_ratio_low", "clip_ratio_high", "entropy", "grad_norm", "loss")


@dataclass
class TrainResult:
    """What a finished training run reports."""

    folder: Path
    best_score: float
    best_iteration: int
    iterations_run: int
    stopped: str
    wall_s: float
    log: pd.DataFrame = field(repr=False)


class RunState:
    """Logs, validation, early stopping and resumable checkpoints of one training run.

    Files in the run folder: ``config.json`` (resolved TrainConfig), ``policy.pt`` +
    ``policy.json`` (the best policy on validation, what the backtest loads),
    ``last.pt`` + ``last.json`` (everything needed to resume bit-identically),
    ``train_log.csv`` (one row per iteration). Tensors are saved as ``state_dict``s and
    loaded with ``weights_only=True``: no pickled code.
    """

    def __init__(self, folder: Path, config: TrainConfig, data: MarketData) -> None:
        self.folder, self.config, self.data = folder, config, data
        self.rows: list[dict[str, Any]] = []
        self.best_score = -math.inf
        self.best_iteration = -1
        self.bad_evals = 0
        self.start_iteration = 0
        self.started = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")

    def start(
        self, modules: dict[str, Any], rng: np.random.Generator, resume: bool, progress: bool
    ) -> None:
        """Register what checkpoints hold, resume if asked, and open the progress bar."""
        self.modules, self.rng = modules, rng
        self.stopped = "iterations"
        if resume:
            self.resume()
        self.bar = Progress(progress, self.config.iterations, self.start_iteration)

    def end_iteration(self, iteration: int, row: dict[str, Any], policy: SimplexPolicy) -> bool:
        """Validate when due, log, checkpoint when due; return True to stop early."""
        config = self.config
        row.setdefault("val_score", float("nan"))
        early_stop = False
        if (iteration + 1) % config.eval_every == 0 or iteration + 1 == config.iterations:
            row["val_score"], early_stop = self.validate(iteration, policy)
        self.log(row)
        self.bar.update(row, self.best_score)
        if (iteration + 1) % config.checkpoint_every == 0 or early_stop:
            self.checkpoint(iteration)
        if early_stop:
            self.stopped = "early stopping on validation"
        return early_stop

    def finish(self, iteration: int) -> TrainResult:
        """Close the bar, save the final resumable state and summarise the run."""
        self.bar.close()
        self.checkpoint(iteration)
        return self.result(iteration + 1, self.stopped)

    def validate(self, iteration: int, policy: SimplexPolicy) -> tuple[float, bool]:
        """Score the policy; save it if best; return (score, stop early?)."""
        score = validation_score(policy, self.data, self.config)
        if score > self.best_score:
            self.best_score, self.best_iteration, self.bad_evals = score, iteration, 0
            self.save_policy(policy)
        else:
            self.bad_evals += 1
        return score, self.bad_evals >= self.config.patience

    def save_policy(self, policy: SimplexPolicy) -> None:
        """The best policy so far: ``policy.pt`` (state_dict) + ``policy.json``."""
        meta = {
            "algo": self.config.algo,
            "seed": self.config.seed,
            "obs_features": OBS_FEATURES,
            "hidden": self.config.hidden,
            "distribution": self.config.distribution,
            "assets": self.data.assets,
            "rebalance_days": self.config.rebalance_days,
            "val_score": self.best_score,
            "best_iteration": self.best_iteration,
            "train_end": self.config.train_end,
            "val_end": self.config.val_end,
        }
        state = {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}
        atomic_write(self.folder / "policy.pt", lambda tmp: torch.save(state, tmp))
        atomic_write_text(self.folder / "policy.json", json.dumps(meta, indent=2) + "\n")

    def log(self, row: dict[str, Any]) -> None:
        """Append one iteration's figures (and write them to TensorBoard if it is installed)."""
        self.rows.append(row)
        writer = self._tensorboard()
        if writer is not None:
            for key, value in row.items():
                if key != "iteration" and isinstance(value, float) and math.isfinite(value):
                    writer.add_scalar(f"{self.config.algo}/{key}", value, row["iteration"])
            writer.flush()

    def _tensorboard(self) -> Any:
        if not hasattr(self, "_writer"):
            self._writer = None
            try:
                import tensorboard  # noqa: F401  (optional: SummaryWriter needs it)
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return None
            self._writer = SummaryWriter(log_dir=str(self.folder / "tensorboard"))
        return self._writer

    def write_log(self) -> pd.DataFrame:
        """Write ``train_log.csv`` atomically and return it."""
        frame = pd.DataFrame(self.rows)
        atomic_write(self.folder / "train_log.csv", lambda tmp: frame.to_csv(tmp, index=False))
        return frame

    def checkpoint(self, iteration: int) -> None:
        """Save everything needed to continue after ``iteration`` bit-identically."""
        state = {name: m.state_dict() for name, m in self.modules.items()}
        state["torch_rng"] = torch.get_rng_state()
        meta = {
            "next_iteration": iteration + 1,
            "best_score": self.best_score,
            "best_iteration": self.best_iteration,
            "bad_evals": self.bad_evals,
            "numpy_rng": self.rng.bit_generator.state,
            "rows": self.rows,
        }
        atomic_write(self.folder / "last.pt", lambda tmp: torch.save(state, tmp))
        atomic_write_text(self.folder / "last.json", json.dumps(meta) + "\n")
        self.write_log()

    def resume(self) -> None:
        """Restore the state saved by :meth:`checkpoint` into the registered modules and rng."""
        ckpt = self.folder / "last.pt"
        if not ckpt.is_file():
            raise DataError(f"nothing to resume: {ckpt} not found")
        state = torch.load(ckpt, weights_only=True, map_location="cpu")
        meta = json.loads((self.folder / "last.json").read_text())
        for name, module in self.modules.items():
            module.load_state_dict(state[name])
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = meta["numpy_rng"]
        self.start_iteration = meta["next_iteration"]
        self.best_score = meta["best_score"]
        self.best_iteration = meta["best_iteration"]
        self.bad_evals = meta["bad_evals"]
        self.rows = meta["rows"]

    def result(self, iterations_run: int, stopped: str) -> TrainResult:
        """Write the log and ``summary.json``, and summarise the run."""
        result = TrainResult(
            folder=self.folder,
            best_score=self.best_score,
            best_iteration=self.best_iteration,
            iterations_run=iterations_run,
            stopped=stopped,
            wall_s=time.perf_counter() - self.started,
            log=self.write_log(),
        )
        summary = {k: v for k, v in vars(result).items() if k not in ("folder", "log")}
        atomic_write_text(self.folder / "summary.json", json.dumps(summary, indent=2) + "\n")
        return result


def sample_starts(data: MarketData, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` training start indices, uniformly without replacement when possible."""
    replace = n > len(data.train_starts)
    return np.sort(rng.choice(data.train_starts, size=n, replace=replace))


def sample_paths(
    data: MarketData, config: TrainConfig, starts: np.ndarray, rng: np.random.Generator
) -> PathBatch:
    """Historical or bootstrap paths for ``starts``, as configured."""
    if config.path == "bootstrap":
        return bootstrap_paths(
            data, starts, config.steps, config.rebalance_days, config.block_length, rng
        )
    return historical_paths(data, starts, config.steps, config.rebalance_days)


def make_policy(config: TrainConfig, device: torch.device) -> SimplexPolicy:
    """The policy the config describes."""
    return SimplexPolicy(OBS_FEATURES, config.hidden, config.distribution, config.init_log_std).to(
        device
    )


def set_up(
    config: TrainConfig, prices: pd.DataFrame
) -> tuple[np.random.Generator, torch.device, MarketData, SimplexPolicy]:
    """The set-up every trainer starts with, in this order: seeding, device, the training
    data (prices up to ``val_end``), a fresh policy."""  # noqa: D205, D209
    rng = seed_everything(config.seed)
    device = resolve_device(config.device)
    return rng, device, MarketData.build(prices, config, device), make_policy(config, device)


def gradient_step(
    optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: list[Any], max_norm: float
) -> float:
    """Backpropagate ``loss``, clip the gradient norm at ``max_norm`` and step.

    Returns
    -------
    float
        The gradient norm before clipping.
    """
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    return norm.item()


class Progress:
    """Progress bar on stderr with reward, KL and the best validation score."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.bar = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[figures]}"),
                transient=True,
            )
            self.task = self.bar.add_task("train", total=total, completed=done, figures="")
            self.bar.start()

    def update(self, row: dict, best: float) -> None:
        """Advance one iteration and show its figures."""
        if self.bar is not None:
            figures = (
                f"reward {row['reward_mean']:+.4f}  kl {row.get('kl', 0):.4f}  "
                f"best val SR {best:.2f}"
            )
            self.bar.update(self.task, advance=1, figures=figures)

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.stop()
