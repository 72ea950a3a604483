"""``portfolio-rl sweep`` on Ray Tune: trials on this machine or a cluster, the test once.

Local by default (``ray.init()`` here, one trial per CPU, a GPU share per trial when one is
present); ``address`` attaches to a running Ray cluster (``ray start --head`` there) and
nothing else changes. Ray is an optional extra (``pip install 'portfolio-rl[sweep]'``).
The trials and the choice are in [`portfolio_rl.workflows.sweep`][]; the chosen configuration's
test backtest is [`portfolio_rl.workflows.pipeline.backtest`][], with a sweep page in its report.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.errors import ConfigError, PortfolioRLError
from portfolio_rl.plumbing.cluster import AUTH_HINT, check_reachable
from portfolio_rl.plumbing.typed import replace
from portfolio_rl.workflows.folds import test_start
from portfolio_rl.workflows.pipeline import SILENT, BacktestRun, Hooks, backtest
from portfolio_rl.workflows.sweep import (
    SweepConfig,
    choose,
    deflated_winner,
    experiment,
    load_sweep,
    run_trial,
    trial_key,
    tune_space,
)

RAY_DIR = "ray"  # Ray's own experiment state inside the sweep folder (what --resume restores)
#: What a sweep writes at the top of its folder, as it goes (``--force`` may replace these).
SWEEP_ENTRIES = (RAY_DIR, "trials", "test", "trials.csv")


@dataclass
class SweepRun:
    """A finished sweep: its folder, every trial, the winner and its test backtest."""

    folder: Path
    trials: pd.DataFrame
    winner: dict[str, Any]
    test: BacktestRun
    pdf: Path


def trainable(config: dict[str, Any], base: dict[str, Any], sweep: SweepConfig, root: str) -> None:
    """Ray Tune's function trainable: one trial, reporting validation figures only.

    A trial holds one CPU, so it trains on one thread (as every training does): Ray trials
    that share a node do not spin thread pools against each other.
    """
    from ray import tune

    from portfolio_rl.workflows.training import one_thread

    with one_thread():
        record = run_trial(dict(config), base, sweep, Path(root))
    tune.report({"val_score": record["val_score"], "val_sharpe": record["val_sharpe"]})


def run_sweep(
    path: Path,
    out: Path | None = None,
    pdf: Path | None = None,
    address: str | None = None,
    max_concurrent: int | None = None,
    resume: bool = False,
    force: bool = False,
    hooks: Hooks = SILENT,
) -> SweepRun:
    """Run (or resume) the sweep of ``path``, choose on validation, then test the winner once."""
    import shutil

    from portfolio_rl.plumbing.files import (
        MANIFEST,
        check_file_replaceable,
        check_replaceable,
        child_path,
        foreign_files,
        reports_dir,
        runs_dir,
        write_manifest,
    )
    from portfolio_rl.report.pdf import AUTHOR_MARK

    base, sweep = load_sweep(path)
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ConfigError(
            "a sweep runs on Ray Tune: pip install 'portfolio-rl[sweep]' (ray[tune], optuna)"
        ) from None
    name = str(base.get("name", Path(path).stem))
    if address not in (None, "auto", "local"):
        check_reachable(address)  # before any folder is made or Ray retries for minutes
    folder = Path(out) if out else child_path(runs_dir(), f"{name}-sweep", what="sweep name")
    state = folder.resolve() / RAY_DIR
    if resume:
        if not tune.Tuner.can_restore(str(state)):
            raise ConfigError(f"nothing to resume in {folder}: no sweep state there")
    restore_killed(folder, hooks)
    pdf = pdf or child_path(reports_dir(), folder.name, ".pdf", what="report name")
    check_file_replaceable(pdf, True, lambda head: AUTHOR_MARK in head)
    aside = None
    if not resume and folder.exists() and any(folder.iterdir()):
        if not force:
            raise ConfigError(f"{folder} already exists: pass --resume to finish it, or --force")
        check_replaceable(folder, owned=SWEEP_ENTRIES)
        aside = folder.parent / f".{folder.name}.{os.getpid()}.old"  # kept until we succeed
        os.replace(folder, aside)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / MANIFEST).exists():  # marks the folder as this tool's from the start
            write_manifest(folder, "sweep", only=lambda rel: rel.split("/")[0] in SWEEP_ENTRIES)
        theirs = foreign_files(folder, SWEEP_ENTRIES) or []
        done = _sweep(path, base, sweep, tune, ray, folder, state, pdf, address, max_concurrent,
                      resume, hooks)  # fmt: skip
    except BaseException:
        if aside is not None:  # the old sweep comes back whole
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(aside, folder)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    write_manifest(folder, "sweep", only=lambda rel: rel not in theirs)
    return done


def restore_killed(folder: Path, hooks: Hooks = SILENT) -> None:
    """Bring back a sweep folder that a killed ``sweep --force`` had moved aside.

    ``--force`` keeps the old sweep as ``.NAME.PID.old`` until the new one ends; when that
    process is dead, the old sweep returns to ``NAME`` and the killed one's partial folder
    goes (only if portfolio-rl wrote all of it: anything else is refused).
    """
    import shutil

    from portfolio_rl.plumbing.files import check_replaceable

    for stale in sorted(folder.parent.glob(f".{folder.name}.*.old")):
        pid = stale.name[len(folder.name) + 2 : -len(".old")]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if folder.exists():
            check_replaceable(folder, owned=SWEEP_ENTRIES)
            shutil.rmtree(folder)
        os.replace(stale, folder)
        hooks.stage(f"restored {folder}: a sweep that was replacing it was killed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _sweep(
    path: Path,
    base: dict[str, Any],
    sweep: SweepConfig,
    tune: Any,
    ray: Any,
    folder: Path,
    state: Path,
    pdf: Path,
    address: str | None,
    max_concurrent: int | None,
    resume: bool,
    hooks: Hooks,
) -> SweepRun:
    """Fit the trials, choose on validation, test the winner once and draw its report."""
    from portfolio_rl.plumbing.files import atomic_write, atomic_write_text, write_manifest
    from portfolio_rl.report.pdf import make_report

    limit = max_concurrent or sweep.max_concurrent
    grid = _fit(tune, ray, base, sweep, folder, state, address, limit, resume, hooks)
    records = _records(grid, folder / "trials")
    table, winner = choose(records)
    winner |= deflated_winner(folder / "trials", table, winner)
    hooks.stage(f"testing the chosen configuration once: {json.dumps(winner['params'])}")
    test = _test_once(base, sweep, winner, folder, hooks)
    atomic_write(test.run_dir / "sweep.csv", lambda tmp: table.to_csv(tmp, index=False))
    meta = winner | {"metric": sweep.metric, "sweep_file": str(path)}
    atomic_write_text(test.run_dir / "sweep.json", json.dumps(meta, indent=2, default=str) + "\n")
    write_manifest(test.run_dir, "backtest")
    atomic_write(folder / "trials.csv", lambda tmp: table.to_csv(tmp, index=False))
    make_report(test.run_dir, pdf, force=True)
    return SweepRun(folder, table, winner, test, pdf)


def _fit(
    tune: Any,
    ray: Any,
    base: dict[str, Any],
    sweep: SweepConfig,
    folder: Path,
    state: Path,
    address: str | None,
    limit: int | None,
    resume: bool,
    hooks: Hooks,
) -> Any:
    """Start or attach to Ray, run the trials, and return Tune's result grid."""
    import torch

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    try:
        ray.init(
            address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"could not attach to Ray at {address}: {exc}".splitlines()[0] + AUTH_HINT
        ) from None
    try:
        # trials share a GPU: as many per GPU as run at once (one per CPU by default)
        share = 1.0 / (limit or os.cpu_count() or 1) if torch.cuda.is_available() else 0.0
        resources = {"cpu": 1, "gpu": share} if share else {"cpu": 1}
        fn = tune.with_resources(
            tune.with_parameters(trainable, base=base, sweep=sweep, root=str(folder / "trials")),
            resources,
        )
        hooks.stage(f"sweep: Ray Tune on {address or 'this machine'}, state in {state}")
        with hooks.bar("trials", trial_count(sweep)) as update:
            return _tuner(tune, fn, sweep, state, limit, resume, update).fit()
    finally:
        ray.shutdown()


def trial_count(sweep: SweepConfig) -> int:
    """How many trials the sweep runs: grid points x seeds x samples, or the samples."""
    if sweep.searcher is not None:
        return sweep.num_samples
    grids = [len(v) for spec in sweep.space.values() for form, v in spec.items() if form == "grid"]
    return math.prod(grids) * len(sweep.seeds) * sweep.num_samples


def _tuner(
    tune: Any,
    fn: Any,
    sweep: SweepConfig,
    state: Path,
    limit: int | None,
    resume: bool,
    update: Any,
) -> Any:
    """A new Tuner, or the interrupted one restored; finished trials move the bar."""
    if resume:
        return tune.Tuner.restore(
            str(state), trainable=fn, resume_unfinished=True, resume_errored=True
        )

    class Progress(tune.Callback):
        def __init__(self, update: Any) -> None:
            self.update, self.done = update, 0

        def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            self.done += 1
            self.update(self.done, figures=f"last {trial.last_result.get('val_score', 0):.4f}")

        def __getstate__(self) -> dict[str, Any]:  # Tune saves its callbacks; a bar has locks
            return {"update": lambda *args, **kwargs: None, "done": self.done}

    run_config = tune.RunConfig(
        name=RAY_DIR, storage_path=str(state.parent), verbose=0, callbacks=[Progress(update)]
    )
    return tune.Tuner(
        fn,
        param_space=tune_space(sweep),
        tune_config=_tune_config(tune, sweep, limit),
        run_config=run_config,
    )


def _tune_config(tune: Any, sweep: SweepConfig, limit: int | None) -> Any:
    from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter

    if sweep.searcher == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        search = OptunaSearch(seed=0)
        search = ConcurrencyLimiter(search, max_concurrent=limit) if limit else search
    else:
        search = BasicVariantGenerator(random_state=0, max_concurrent=limit or 0)
    return tune.TuneConfig(
        metric="val_score", mode="max", num_samples=sweep.num_samples, search_alg=search
    )


def _records(grid: Any, root: Path) -> list[dict[str, Any]]:
    """Each finished trial's record, read from its folder; errors are one line."""
    records, errors, unfinished = [], [], 0
    for result in grid:
        record = root / trial_key(dict(result.config)) / "trial.json"
        if record.is_file():
            records.append(json.loads(record.read_text()))
        elif result.error is not None:
            errors.append(str(result.error).strip().splitlines()[-1])
        else:
            unfinished += 1
    if unfinished:  # interrupted: choosing among the finished trials would be a smaller sweep
        raise PortfolioRLError(
            f"the sweep stopped with {unfinished} of {len(grid)} trials unfinished; "
            "finish it with --resume (finished trials are kept)"
        )
    if errors:
        raise PortfolioRLError(f"{len(errors)} trial(s) failed, the first with: {errors[0]}")
    return records


def _test_once(
    base: dict[str, Any], sweep: SweepConfig, winner: dict[str, Any], folder: Path, hooks: Hooks
) -> BacktestRun:
    """The chosen configuration on the test range, beside the experiment's baselines."""
    from portfolio_rl.agents.registry import ALGORITHMS

    exp = experiment(winner["params"], base, sweep)
    out = folder / "test"
    if winner["target"] in ALGORITHMS:
        runs = [folder / "trials" / run for run in winner["runs"]]
        return backtest(exp, runs, out=out, force=True, hooks=hooks, start_given=False)
    exp = replace(exp, backtest=replace(exp.backtest, start=test_start(exp)))
    return backtest(exp, out=out, force=True, hooks=hooks)
