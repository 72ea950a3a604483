"""``portfolio-rl train``: one training run, its settings from the config, flags and ``--set``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import CashFlag, ForceFlag, app, command, parse_settings
from portfolio_rl.errors import ConfigError, PortfolioRLError


def setting_help(name: str, show_default: bool = False) -> str:
    """A training setting's help as declared on ``TrainConfig`` (with its default if asked)."""
    import dataclasses

    from portfolio_rl.agents.config import TrainConfig

    field = next(f for f in dataclasses.fields(TrainConfig) if f.name == name)
    return field.metadata["help"] + (f" (default {field.default})" if show_default else "")


@app.command()
@command
def train(
    config: Annotated[
        Path | None,
        typer.Option(help="Experiment YAML (data, splits, rl.train settings); flags override it."),
    ] = None,
    prices: Annotated[
        str | None, typer.Option(help="Price source: bundled name or CSV/parquet file.")
    ] = None,
    algo: Annotated[str | None, typer.Option(help=setting_help("algo") + " (default grpo)")] = None,
    train_end: Annotated[
        str | None, typer.Option(help="Last date of the training range (default 2012-12-31).")
    ] = None,
    val_end: Annotated[
        str | None, typer.Option(help="Last date of the validation range (default 2014-12-31).")
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(
            min=0,
            help=setting_help("iterations", True),
        ),
    ] = None,
    anchor: Annotated[str | None, typer.Option(help=setting_help("anchor"))] = None,
    steer: Annotated[str | None, typer.Option(help=setting_help("steer"))] = None,
    seed: Annotated[int | None, typer.Option(help=setting_help("seed") + " (default 0)")] = None,
    device: Annotated[
        str | None, typer.Option(help=setting_help("device") + " (default auto)")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Any training setting, e.g. --set lr=0.01 --set rewards='{sharpe: 1}' "
            "(repeatable; `portfolio-rl settings` lists them; over the config's rl.train).",
        ),
    ] = None,
    cash: CashFlag = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the training run in this directory.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-train-...).")
    ] = None,
    force: ForceFlag = False,
) -> None:
    """Train an allocation policy (GRPO, robust GRPO, PPO or REINFORCE) on the training range.

    The run is written into a hidden folder beside --out and renamed into place when it
    ends, so an error or Ctrl-C leaves the previous run (or nothing); --resume continues a
    run in place, with the settings it was started with.
    """
    import json

    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.registry import ALGORITHMS
    from portfolio_rl.baselines import default_strategies
    from portfolio_rl.plumbing.files import (
        folder_lock,
        foreign_files,
        staged_run_dir,
        write_manifest,
    )
    from portfolio_rl.plumbing.typed import from_mapping, replace
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.experiment import (
        SplitConfig,
        check_anchor,
        load_experiment,
        train_config_for,
    )

    if algo is not None and algo not in ALGORITHMS:
        raise PortfolioRLError(f"unknown --algo {algo!r}: choose {', '.join(ALGORITHMS)}")
    if device not in (None, "auto", "cpu", "cuda"):
        raise PortfolioRLError(f"unknown --device {device!r}: choose auto, cpu or cuda")
    hooks = pipeline.Hooks(console.say, console.progress_bar)
    if resume is not None:
        cfg_path = resume / "config.json"
        if not cfg_path.is_file():
            raise ConfigError(f"nothing to resume in {resume}: config.json not found")
        try:
            saved = json.loads(cfg_path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot resume {resume}: config.json is damaged ({exc})") from None
        if not isinstance(saved, dict):
            raise ConfigError(f"cannot resume {resume}: config.json is not a JSON object")
        train_cfg = from_mapping(TrainConfig, saved, f"{resume / 'config.json'}")
        given = {"algo": algo, "seed": seed, "prices": prices, "train_end": train_end}
        given |= {"val_end": val_end, "cash": cash, "anchor": anchor, "steer": steer}
        given |= parse_settings(set_ or [])
        clash = [
            f"--{k.replace('_', '-')} {v}"
            for k, v in given.items()
            if v is not None and getattr(train_cfg, k, None) != v
        ]
        clash += ["--config"] if config is not None else []
        clash += ["--out"] if out is not None and Path(out).resolve() != resume.resolve() else []
        if clash:
            raise ConfigError(
                f"--resume continues {resume} with the settings it was started with; "
                f"{', '.join(clash)} contradict its config.json (train into a new --out instead)"
            )
        train_cfg = replace(train_cfg, iterations=iterations)
        exp = load_experiment(None)
        folder = resume
        with folder_lock(resume.resolve()):
            theirs = foreign_files(folder)  # a user's files before the resume stay theirs
            result = pipeline.train(exp, train_cfg, folder, resume=True, hooks=hooks)
            if theirs is not None:
                write_manifest(folder, "train", only=lambda rel: rel not in theirs)
    else:
        exp = load_experiment(config)
        if prices is not None:
            exp = replace(exp, data=dataclasses.replace(exp.data, prices=prices, tickers=None))
        exp = replace(exp, cash=cash)
        if train_end or val_end:
            splits = {
                "train_end": train_end or exp.splits.train_end,
                "val_end": val_end or exp.splits.val_end,
            }
            exp = replace(exp, splits=from_mapping(SplitConfig, splits, "splits"))
        algo, seed = algo or "grpo", 0 if seed is None else seed
        flags = {"iterations": iterations, "device": device, "anchor": anchor, "steer": steer}
        overrides = parse_settings(set_ or []) | {k: v for k, v in flags.items() if v is not None}
        train_cfg = train_config_for(exp, algo, seed, **overrides)
        try:
            names = list(exp.strategies or default_strategies(exp.cash))
            check_anchor(train_cfg.anchor, train_cfg.cash, names)
            if train_cfg.steer != "none":
                from portfolio_rl.baselines.steering import check_steerable

                check_steerable(train_cfg.steer, exp.strategy_params.get(train_cfg.steer))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        with staged_run_dir(out, f"train-{algo}-s{seed}", force=force) as (staging, folder):
            result = pipeline.train(exp, train_cfg, staging, hooks=hooks)
    if result is None:
        from portfolio_rl.agents.runstate import finished

        print(f"nothing to resume: the run in {folder} has finished ({finished(folder)})")
        return
    print(
        f"{train_cfg.algo} seed {train_cfg.seed}: best validation {train_cfg.objective_label} "
        f"{result.best_score:.3f} ({result.kept}; {result.iterations_run} iterations run, "
        f"stopped by {result.stopped}), {result.wall_s:.1f} s"
    )
    print(f"run directory: {folder}  (use with: portfolio-rl backtest --policy {folder})")
    if result.best_iteration < 0:
        from portfolio_rl.agents.checkpoint import kept_start

        anchor = None if train_cfg.anchor == "none" else {"name": train_cfg.anchor}
        steered = None if train_cfg.steer == "none" else {"name": train_cfg.steer}
        meta = {"best_iteration": -1, **train_cfg.to_dict(), "anchor": anchor, "steer": steered}
        start = kept_start(meta)
        console.warning(
            f"validation kept the untrained start: no iteration beat it, so this policy "
            f"decides {start}"
        )
