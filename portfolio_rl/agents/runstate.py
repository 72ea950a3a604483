"""The bookkeeping of one training run: logs, validation, early stopping, checkpoints.

Files in the run folder: ``config.json`` (the resolved TrainConfig), ``policy.pt`` (the
best policy on validation, what the backtest loads), ``last.pt`` (everything needed to
resume bit-identically), each one unit with its metadata and a readable ``.json`` copy
(`portfolio_rl.agents.records`), ``train_log.csv`` (one row per iteration),
``summary.json``. Tensors are saved as ``state_dict``s and loaded with
``weights_only=True``: no pickled code.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.data import MarketData
from portfolio_rl.agents.policy import SimplexPolicy
from portfolio_rl.agents.records import LAST_FIELDS, check_fields, load_unit, save_unit
from portfolio_rl.agents.rollout import equal_weight_score, validation_score
from portfolio_rl.conventions.features import FEATURE_NAMES, OBS_FEATURES
from portfolio_rl.errors import DataError
from portfolio_rl.plumbing.files import atomic_write, atomic_write_text


def finished(folder: Path) -> str | None:
    """How a training run in ``folder`` ended, if it did (None: resumable or absent)."""
    try:
        _, meta, _ = load_unit(Path(folder), "last")
    except DataError:
        return None
    return meta.get("finished") if isinstance(meta, dict) else None


#: ``progress(done, total, figures)`` after each iteration (the console draws a bar).
ProgressFn = Callable[[int, int, str], None]


#: Per-iteration figures of the clipped-ratio trainers (GRPO, PPO), averaged over the mu
#: inner steps; the names and order of their columns in ``train_log.csv``.
LOGGED_STATS = ("kl", "clip_ratio_low", "clip_ratio_high", "entropy", "grad_norm", "loss")


@dataclass
class TrainResult:
    """What a finished training run reports.

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_rl.agents import TrainConfig, train
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2008-01-01", end="2014-12-31")
    >>> result = train(TrainConfig(iterations=0), prices, tempfile.mkdtemp())
    >>> result.best_iteration, result.kept, list(result.log.columns[:2])
    (-1, 'the untrained start', ['iteration', 'val_score'])
    """

    folder: Path
    best_score: float
    best_iteration: int
    iterations_run: int
    stopped: str
    wall_s: float
    log: pd.DataFrame = field(repr=False)

    @property
    def kept(self) -> str:
        """Which policy validation kept, in words."""
        if self.best_iteration < 0:
            return "the untrained start"
        return f"iteration {self.best_iteration + 1}"


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
        self,
        modules: dict[str, Any],
        rng: np.random.Generator,
        resume: bool,
        progress: ProgressFn | None,
    ) -> None:
        """Register what checkpoints hold, resume if asked, and keep the progress callback."""
        self.modules, self.rng = modules, rng
        self.stopped = "iterations"
        self.progress = progress
        if resume:
            self.resume()
        else:  # the starting policy is a candidate: training must beat it on validation
            score, _ = self.validate(-1, modules["policy"])
            self.log({"iteration": -1, "val_score": score})

    def end_iteration(self, iteration: int, row: dict[str, Any], policy: SimplexPolicy) -> bool:
        """Validate when due, log, checkpoint when due; return True to stop early."""
        config = self.config
        row.setdefault("val_score", float("nan"))
        early_stop = False
        if (iteration + 1) % config.eval_every == 0 or iteration + 1 == config.iterations:
            row["val_score"], early_stop = self.validate(iteration, policy)
        self.log(row)
        if self.progress is not None:
            figures = (
                f"reward {row['reward_mean']:+.4f}  kl {row.get('kl', 0):.4f}  "
                f"best val SR {self.best_score:.2f}"
            )
            self.progress(iteration + 1, config.iterations, figures)
        if (iteration + 1) % config.checkpoint_every == 0 or early_stop:
            self.checkpoint(iteration)
        if early_stop:
            self.stopped = "early stopping on validation"
        return early_stop

    def finish(self, iteration: int) -> TrainResult:
        """Save the final state (marked finished) and summarise the run."""
        self.checkpoint(iteration, finished=self.stopped)
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
            "features": list(FEATURE_NAMES),
            "hidden": self.config.hidden,
            "distribution": self.config.distribution,
            "cash": self.config.cash,
            "assets": self.data.assets,
            "rebalance_days": self.config.rebalance_days,
            "val_score": self.best_score,
            "best_iteration": self.best_iteration,
            "train_end": self.config.train_end,
            "val_end": self.config.val_end,
            "anchor": self.data.anchor_info,
            "steer": None
            if self.data.steering is None
            else self.data.steering.describe(self.data.prices.shape[1]),
            "init_policy": None  # relative: a run folder's bytes do not depend on where it is
            if self.config.init_policy is None
            else os.path.relpath(self.config.init_policy, self.folder),
        }
        state = {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()}
        save_unit(self.folder, "policy", state, meta)

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
        frame = frame[[c for c in frame if c != "val_score"] + ["val_score"]]
        atomic_write(self.folder / "train_log.csv", lambda tmp: frame.to_csv(tmp, index=False))
        return frame

    def checkpoint(self, iteration: int, finished: str | None = None) -> None:
        """Save everything needed to continue after ``iteration`` bit-identically.

        ``last.pt`` holds the tensors and the rest (one unit, `save_unit`); ``last.json`` is
        its readable copy, and ``train_log.csv`` is written from the rows it holds.
        """
        state = {name: m.state_dict() for name, m in self.modules.items()}
        state["torch_rng"] = torch.get_rng_state()
        meta = {
            "next_iteration": iteration + 1,
            "finished": finished,
            "best_score": self.best_score,
            "best_iteration": self.best_iteration,
            "bad_evals": self.bad_evals,
            "numpy_rng": self.rng.bit_generator.state,
            "rows": self.rows,
        }
        save_unit(self.folder, "last", state, meta)
        self.write_log()

    def resume(self) -> None:
        """Restore the state saved by `checkpoint` into the registered modules and rng."""
        if not (self.folder / "last.pt").is_file():
            raise DataError(f"nothing to resume in {self.folder}: last.pt is missing")
        state, meta, _ = load_unit(self.folder, "last")
        if meta is None:
            raise DataError(
                f"cannot resume {self.folder}: its last.pt was written by an earlier version; "
                "start the run again"
            )
        check_fields(meta, LAST_FIELDS, self.folder / "last.json")
        try:
            for name, module in self.modules.items():
                module.load_state_dict(state[name])
            torch.set_rng_state(state["torch_rng"])
            self.rng.bit_generator.state = meta["numpy_rng"]
        except Exception as exc:  # a state of another shape or kind
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise DataError(f"cannot resume {self.folder}: {reason}") from None
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
        summary["val_objective"] = self.config.objective
        summary["val_aggregate"] = self.config.val_aggregate
        summary["val_equal_weight"] = equal_weight_score(self.data, self.config)
        atomic_write_text(self.folder / "summary.json", json.dumps(summary, indent=2) + "\n")
        return result
