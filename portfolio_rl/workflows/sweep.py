"""Sweeps: a search over experiment settings, chosen on validation, on Ray Tune.

A sweep file is an experiment config with a ``sweep:`` block:

    sweep:
      target: grpo            # an RL algorithm or a baseline (may be swept: `target` below)
      space:                  # dotted paths into the experiment config
        rl.train.lr: {loguniform: [0.0003, 0.01]}
        rl.train.beta: {grid: [0.0, 0.04]}
        target: {grid: [grpo, robust_grpo]}
        data.prices: {choice: [sp500, industries49]}
        strategy_params.robust_mv_ellipsoid.risk_aversion: {grid: [1, 5]}
      seeds: [0, 1]           # repeats of every configuration
      num_samples: 1          # draws of the random dimensions (or searcher trials)
      searcher: null          # or optuna (Tune's OptunaSearch)
      metric: log_growth      # or sharpe: of the validation range's net daily returns

A trial trains on the training range (an RL target, train once) or walks forward over the
validation range (a baseline) and reports *validation* figures only; the configuration with
the best mean over seeds is chosen, and only then is the test range touched, once, by it
(`sweep_ray.run_sweep`, through [`portfolio_rl.workflows.pipeline.backtest`][]). Without a
searcher the seeds are a grid dimension,
one trial each; with one (it cannot grid) every trial trains all the seeds.

This module holds what does not need Ray: the sweep file, the trial itself (resumable
through the project's own run state: a finished trial is never trained again, an
interrupted one continues from its ``last.pt``), the choice and the deflated Sharpe ratio
over every trial.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.data.sources import check_source
from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.typed import from_mapping, load_yaml
from portfolio_rl.workflows.experiment import ExperimentConfig

#: Search-space forms: ``{form: values}`` (grid, choice) or ``{form: [low, high]}``.
FORMS = ("grid", "choice", "uniform", "loguniform", "randint")


@dataclass(frozen=True)
class SweepConfig:
    """The ``sweep:`` block (see the module docstring)."""

    space: dict[str, Any] = field(default_factory=dict)
    target: str = "grpo"
    seeds: tuple[int, ...] = (0,)
    num_samples: int = 1
    searcher: str | None = None
    metric: str = "log_growth"
    max_concurrent: int | None = None

    def __post_init__(self) -> None:
        if self.searcher not in (None, "optuna"):
            raise ValueError(f"searcher must be null or optuna, got {self.searcher!r}")
        if self.metric not in ("log_growth", "sharpe"):
            raise ValueError(f"metric must be log_growth or sharpe, got {self.metric!r}")
        if not 1 <= self.num_samples <= 10_000 or not self.seeds:
            raise ValueError("need 1 <= num_samples <= 10000 and at least one seed")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        for key, spec in self.space.items():
            if key in ("seed", "rl.seeds"):
                raise ValueError("seeds are repeats: give them as sweep.seeds, not in the space")
            if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in FORMS:
                raise ValueError(f"space.{key}: give one of {{{', '.join(FORMS)}: ...}}")
            form, values = next(iter(spec.items()))
            if not isinstance(values, list) or not values:
                raise ValueError(f"space.{key}.{form}: give a non-empty list")
            if form in ("uniform", "loguniform", "randint"):
                _check_range(f"space.{key}.{form}", form, values)
            if self.searcher and form == "grid":
                raise ValueError(f"space.{key}: a searcher cannot grid; use choice")


def _check_range(where: str, form: str, values: list[Any]) -> None:
    """A range ``[low, high]``: numbers, low below high; whole for randint, positive for log."""
    if len(values) != 2 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(f"{where}: give [low, high], two numbers")
    low, high = values
    if form == "randint" and not all(isinstance(v, int) for v in values):
        raise ValueError(f"{where}: give whole numbers")
    if not low < high:
        raise ValueError(f"{where}: low must be below high, got [{low}, {high}]")
    if form == "loguniform" and low <= 0:
        raise ValueError(f"{where}: a log scale needs low above 0, got {low}")


def load_sweep(path: str | Path) -> tuple[dict[str, Any], SweepConfig]:
    """The experiment mapping and the sweep block of a sweep file, every value checked.

    Each value a grid or choice can take (and each end of a range) is applied to the
    experiment and validated before anything runs.
    """
    raw = load_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("sweep"), dict):
        raise ConfigError(f"{Path(path).name}: a sweep file needs a `sweep:` block")
    base = {k: v for k, v in raw.items() if k != "sweep"}
    for key in ("data", "splits", "backtest", "rl", "strategy_params"):
        if key in base and not isinstance(base[key], dict):
            raise ConfigError(f"{Path(path).name}: {key} must be a mapping, got {base[key]!r}")
    sweep = from_mapping(SweepConfig, raw["sweep"], where="sweep")
    from_mapping(ExperimentConfig, base, where=Path(path).name)
    check_source(experiment({}, base, sweep).data.prices)
    for key, spec in sweep.space.items():
        for value in next(iter(spec.values())):
            exp = experiment({key: value}, base, sweep)
            check_source(exp.data.prices)  # every trial's data exists before Ray starts
    return base, sweep


def _set(mapping: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = mapping
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"space.{dotted}: {part} is not a mapping in the experiment")
    node[parts[-1]] = value


def experiment(
    params: dict[str, Any], base: dict[str, Any], sweep: SweepConfig
) -> ExperimentConfig:
    """The experiment of a trial: ``base`` with the trial's values (``target`` aside)."""
    mapping = copy.deepcopy(base)
    for key, value in params.items():
        if key not in ("target", "seed"):
            _set(mapping, key, value)
    target = params.get("target", sweep.target)
    from portfolio_rl.agents.registry import ALGORITHMS
    from portfolio_rl.baselines import BASELINES

    if target not in ALGORITHMS and target not in BASELINES:
        raise ConfigError(f"target {target!r} is neither an RL algorithm nor a baseline")
    rl = mapping.setdefault("rl", {})
    rl["walk_forward"] = False
    if target in ALGORITHMS:  # a baseline's trial trains nothing: its rl section stays as is
        rl["algos"] = [target]
        rl["algo_train"] = {a: v for a, v in (rl.get("algo_train") or {}).items() if a == target}
    return from_mapping(ExperimentConfig, mapping, where="sweep trial")


def trial_key(params: dict[str, Any]) -> str:
    """A folder name for a trial's values: the same values, the same folder."""
    text = json.dumps(params, sort_keys=True, default=str)
    return "t-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def run_trial(
    params: dict[str, Any], base: dict[str, Any], sweep: SweepConfig, root: Path
) -> dict[str, Any]:
    """Train (or walk forward) one trial on the training range and score it on validation.

    Returns the trial's record (``params``, ``seeds``, ``val_score``, ``val_sharpe``) and
    writes it, with the daily validation returns of every seed, to ``root/<key>/``. A
    trial whose record exists is not run again; an interrupted training resumes.
    """
    from portfolio_rl.plumbing.files import atomic_write, atomic_write_text

    folder = root / trial_key(params)
    record_path = folder / "trial.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    exp = experiment(params, base, sweep)
    target = params.get("target", sweep.target)
    seeds = [params["seed"]] if "seed" in params else list(sweep.seeds)
    returns = {}
    for seed in seeds:
        returns[f"s{seed}"] = validation_returns(exp, target, seed, folder / f"s{seed}")
    frame = pd.DataFrame(returns)
    atomic_write(folder / "validation.csv", lambda tmp: frame.to_csv(tmp))
    record = {
        "key": folder.name,
        "params": params,
        "target": target,
        "seeds": seeds,
        "val_score": float(np.mean([score(frame[c].to_numpy(), sweep.metric) for c in frame])),
        "val_sharpe": float(np.mean([score(frame[c].to_numpy(), "sharpe") for c in frame])),
    }
    atomic_write_text(record_path, json.dumps(record, indent=2, default=str) + "\n")
    return record


def score(r: np.ndarray, metric: str) -> float:
    """Annualised net log growth, or the annualised Sharpe ratio (of the net returns)."""
    from portfolio_rl.conventions.measures import sharpe

    if metric == "log_growth":
        return float(np.log1p(r).mean() * PERIODS)
    return float(sharpe(r))


def validation_returns(exp: ExperimentConfig, target: str, seed: int, folder: Path) -> pd.Series:
    """Daily net returns of a trial's policy (or baseline) over the validation range."""
    from portfolio_rl.agents.registry import ALGORITHMS
    from portfolio_rl.workflows.market import market_data

    prices, _, _ = market_data(exp)
    if target in ALGORITHMS:
        import torch

        from portfolio_rl.agents.checkpoint import load_policy
        from portfolio_rl.agents.data import MarketData
        from portfolio_rl.agents.registry import trainer
        from portfolio_rl.agents.rollout import validation_returns as rollout_returns
        from portfolio_rl.agents.runstate import finished
        from portfolio_rl.workflows.experiment import train_config_for

        config = train_config_for(exp, target, seed)
        if not finished(folder):  # an interrupted training continues from its last.pt
            trainer(target)(config, prices, folder, resume=(folder / "last.json").is_file())
        policy, _ = load_policy(folder)
        data = MarketData.build(prices, config, torch.device("cpu"))
        r = rollout_returns(policy, data, config)
        return pd.Series(r, index=data.dates[data.val_start + 1 : data.val_start + 1 + len(r)])
    from portfolio_rl.backtest.engine import run_backtest
    from portfolio_rl.backtest.runner import build_baselines
    from portfolio_rl.plumbing.typed import replace

    start = pd.Timestamp(exp.splits.train_end) + pd.Timedelta(days=1)
    bt = replace(exp.backtest, start=str(start.date()), end=exp.splits.val_end)
    (model,) = build_baselines([target], exp.strategy_params, bt, cash=exp.cash)
    result = run_backtest(prices.loc[: exp.splits.val_end], [model], bt)
    return result.returns[target]


def choose(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The trials table and the winner: the values with the best mean score over seeds.

    Returns
    -------
    table : DataFrame
        One row per trial: its values, seeds, validation score and Sharpe ratio.
    winner : dict
        ``params`` (seed left out), ``val_score``, ``keys`` (its trials), ``seeds`` and
        ``runs`` (each trained run's folder under the trials root, ``<key>/s<seed>``).
    """
    rows = []
    for rec in records:
        values = {k: v for k, v in rec["params"].items() if k != "seed"}
        rows.append(
            {
                "key": rec["key"],
                "config": json.dumps(values, sort_keys=True, default=str),
                **{f"param:{k}": v for k, v in values.items()},
                "target": rec["target"],
                "seeds": " ".join(map(str, rec["seeds"])),
                "val_score": rec["val_score"],
                "val_sharpe": rec["val_sharpe"],
            }
        )
    table = pd.DataFrame(rows)
    means = table.groupby("config", sort=False)["val_score"].mean()
    best = str(means.idxmax())
    chosen = table[table["config"] == best]
    table["chosen"] = table["config"] == best
    pairs = zip(chosen["key"], chosen["seeds"], strict=True)
    runs = [(key, int(seed)) for key, text in pairs for seed in text.split()]
    winner = {
        "params": json.loads(best),
        "val_score": float(means.max()),
        "keys": list(chosen["key"]),
        "seeds": sorted(seed for _, seed in runs),
        "runs": [f"{k}/s{seed}" for k, seed in runs],
        "target": str(chosen["target"].iloc[0]),
    }
    return table.drop(columns=["config"]), winner


def deflated_winner(root: Path, table: pd.DataFrame, winner: dict[str, Any]) -> dict[str, float]:
    """PSR and DSR of the winner's validation returns, deflated by every trial of the sweep.

    The winner's daily validation return is the mean over its seeds; the trials' Sharpe
    ratios are each trial's (seed-mean) per-period validation Sharpe ratio, so N is the
    number of trials run (Bailey & López de Prado 2014).
    """
    from portfolio_rl.backtest.stats import deflated_sharpe, probabilistic_sharpe
    from portfolio_rl.conventions.measures import sharpe

    def frame(key: str) -> pd.DataFrame:
        return pd.read_csv(root / key / "validation.csv", index_col=0, parse_dates=True)

    srs = [
        float(np.mean([sharpe(v.to_numpy(), periods=1) for _, v in frame(k).items()]))
        for k in table["key"]
    ]
    mine = pd.concat([frame(k) for k in winner["keys"]], axis=1).mean(axis=1).to_numpy()
    return {
        "n_trials": len(table),
        "psr": probabilistic_sharpe(mine),
        "dsr": deflated_sharpe(mine, np.asarray(srs)),
        "val_sharpe_winner": float(sharpe(mine)),
    }


def tune_space(sweep: SweepConfig) -> dict[str, Any]:
    """The search space in Ray Tune's terms (seeds a grid dimension without a searcher)."""
    from ray import tune

    forms = {
        "grid": tune.grid_search,
        "choice": tune.choice,
        "uniform": lambda v: tune.uniform(*v),
        "loguniform": lambda v: tune.loguniform(*v),
        "randint": lambda v: tune.randint(v[0], v[1] + 1),
    }
    space = {k: forms[f](v) for k, spec in sweep.space.items() for f, v in spec.items()}
    if sweep.searcher is None:
        space["seed"] = tune.grid_search(list(sweep.seeds))
    return space
