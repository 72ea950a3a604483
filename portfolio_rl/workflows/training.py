"""Training every algorithm and seed through the walk-forward folds, in parallel processes.

A job is one algorithm and seed (or, with ``rl.seeds_together``, GRPO's seeds in one
batched call) trained fold after fold, each fold starting from the previous one's policy.
Jobs are independent, so they run in worker processes, one per free core. Every training
uses one torch and one BLAS thread wherever it runs: a small policy network gains little
from more, a thread pool spinning against another busy process loses a lot, and the result
of a seed must not depend on how many threads the machine had free (torch's sums change
with the thread count), so a run is bit for bit the same on one worker or several.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from portfolio_rl.workflows.experiment import ExperimentConfig
from portfolio_rl.workflows.folds import fold_configs

if TYPE_CHECKING:
    from portfolio_rl.agents.anchor import Anchor
    from portfolio_rl.agents.steer_table import Steering


def free_cores(sample_s: float = 0.25) -> int:
    """The cores no other process is busy on now, at least 1.

    Read from the idle time of every core over ``sample_s`` seconds (``/proc/stat``), while
    this process sleeps; where that file is missing, all cores less the 1-minute load.
    """
    cores = os.cpu_count() or 1

    def idle_and_total() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user .. steal

    try:
        idle0, total0 = idle_and_total()
        time.sleep(sample_s)
        idle1, total1 = idle_and_total()
        idle = (idle1 - idle0) / max(total1 - total0, 1)
    except (OSError, ValueError, IndexError):
        try:
            idle = 1 - os.getloadavg()[0] / cores
        except OSError:
            idle = 1.0
    return max(1, min(cores, round(cores * idle)))


@contextmanager
def one_thread() -> Iterator[None]:
    """Train with one torch thread and one BLAS thread (see the module docstring)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


@dataclass
class JobResult:
    """What one job reports back: its lines, training seconds per seed, diverged folds."""

    algo: str
    seeds: tuple[int, ...]
    lines: list[str] = field(default_factory=list)
    wall_s: dict[int, float] = field(default_factory=dict)
    diverged: list[str] = field(default_factory=list)


def train_job(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    starts: list[pd.Timestamp],
    home: Path,
    algo: str,
    seeds: tuple[int, ...],
    anchors: list[Anchor | None],
    stage: Callable[[str], None] | None = None,
    bar: Callable[..., Any] | None = None,
    fold_done: Callable[[], None] | None = None,
    steering: Steering | None = None,
) -> JobResult:
    """Train ``algo`` with ``seeds`` through every fold into ``home/<algo>-s<seed>``.

    ``anchors`` holds each fold's anchor (None: unanchored), ``steering`` a steered
    policy's baseline (its tables cover every fold's training range). A later fold whose training
    diverges keeps its starting policy (the previous fold's, scored on validation before
    any update) and is listed; a first fold that diverges (or any fold of seeds trained
    together) raises. ``stage`` receives each progress line, ``fold_done`` is called as
    each fold ends.
    """
    from portfolio_rl.agents.registry import trainer
    from portfolio_rl.agents.seeds import train_seeds
    from portfolio_rl.errors import TrainingDiverged

    out = JobResult(algo, seeds, wall_s=dict.fromkeys(seeds, 0.0))

    def say(line: str) -> None:
        out.lines.append(line)
        if stage is not None:
            stage(line)

    names = _anchor_names(anchors)
    plans = [fold_configs(exp, algo, s, starts, home / f"{algo}-s{s}", names) for s in seeds]
    with one_thread():
        for k, fold in enumerate(zip(*plans, strict=True)):
            where = f" (fold {k + 1}/{len(starts)} from {fold[0][0].date()})"
            if stage is not None:
                stage(
                    f"[2/4] training {algo} seed {' '.join(map(str, seeds))}"
                    + (where if len(starts) > 1 else "")
                )
            configs = [cfg for _, _, cfg in fold]
            context = bar(f"train {algo}", configs[0].iterations) if bar else _no_bar()
            with context as update:
                try:
                    if len(seeds) > 1:
                        results = train_seeds(configs, prices, [f for _, f, _ in fold], update)
                    else:
                        train = trainer(algo)
                        run = train(
                            configs[0],
                            prices,
                            fold[0][1],
                            progress=update,
                            anchor=anchors[k],
                            steering=steering,
                        )
                        results = [run]
                except TrainingDiverged as exc:
                    if k == 0 or len(seeds) > 1:
                        raise
                    results = [None]
                    out.diverged.append(f"{algo} seed {seeds[0]}, fold {k + 1}: {exc}")
                    say(f"      {exc}; fold {k + 1} keeps fold {k}'s policy")
            for seed, (_, _, cfg), res in zip(seeds, fold, results, strict=True):
                if res is not None:
                    kept = res.kept if anchors[k] is None else f"{res.kept}, anchor {cfg.anchor}"
                    say(
                        f"      {algo} seed {seed}{where if len(starts) > 1 else ''}: best "
                        f"validation {cfg.objective_label} {res.best_score:.3f} ({kept}) "
                        f"after {res.iterations_run} iterations, {res.wall_s:.1f} s"
                    )
                    out.wall_s[seed] += res.wall_s
            if fold_done is not None:
                fold_done()
    return out


@contextmanager
def _no_bar() -> Iterator[None]:
    yield None


def _anchor_names(anchors: list[Anchor | None]) -> list[str]:
    return [a.name if a is not None else "none" for a in anchors]


@dataclass
class Trained:
    """The trained policies of a run and how they came about.

    Attributes
    ----------
    folders : list of Path
        Each (algorithm, seed)'s folder.
    names : dict
        Strategy name (``grpo_s0``) -> ``(algo, seed)``.
    wall_s : dict
        Strategy name -> training seconds over its folds.
    policies : list
        The strategies (a ``FoldedPolicy`` with several folds).
    diverged : list of str
        Folds whose training diverged (they kept the previous fold's policy).
    anchors : list
        The untrained anchored policies as strategies (``anchor_<spec>``), one per anchor
        setting of the run: what each anchored policy started from.
    anchor_of : dict
        Strategy name -> the name of its anchor's strategy.
    anchor_choices : dict
        Anchor setting -> the baseline each fold used (and, for ``auto``, every candidate's
        validation score).
    """

    folders: list[Path]
    names: dict[str, tuple[str, int]]
    wall_s: dict[str, float]
    policies: list[Any]
    diverged: list[str]
    anchors: list[Any] = field(default_factory=list)
    anchor_of: dict[str, str] = field(default_factory=dict)
    anchor_choices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def train_policies(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    starts: list[pd.Timestamp],
    root: Path,
    hooks: Any,
    workers: int = 1,
    address: str | None = None,
) -> Trained:
    """Train every algorithm and seed through the folds into ``root/policies``.

    Parameters
    ----------
    exp : ExperimentConfig
    prices : DataFrame of shape (n_dates, n_assets)
    starts : list of Timestamp
        First trading day of each fold.
    root : Path
        The run folder; policies go to ``root/policies/<algo>-s<seed>[/fold-k]``.
    hooks : Hooks
        Progress: per-iteration bars with one worker, a bar over jobs with several.
    workers : int
        Worker processes (the command line gives the free cores); the policies do not
        depend on it.
    address : str, optional
        A Ray cluster: every job is a task there (`portfolio_rl.plumbing.cluster`), with the
        same policies bit for bit.

    Returns
    -------
    Trained
    """
    from portfolio_rl.agents.checkpoint import FoldedPolicy, load_policy_strategy
    from portfolio_rl.backtest.anchors import AnchorStrategy
    from portfolio_rl.backtest.steering import attach_steering
    from portfolio_rl.workflows.experiment import train_config_for
    from portfolio_rl.workflows.guides import fold_anchors, fold_steering

    seeds = exp.rl.seeds
    names = {f"{a}_s{s}": (a, s) for a in exp.rl.algos for s in seeds}
    home = root / "policies"
    out = Trained([home / f"{a}-s{s}" for a, s in names.values()], names, {}, [], [])
    specs = {a: train_config_for(exp, a, seeds[0]).anchor for a in exp.rl.algos}
    steers = {a: train_config_for(exp, a, seeds[0]).steer for a in exp.rl.algos}
    steering = {
        spec: fold_steering(exp, prices, starts, spec, hooks, workers, address)
        for spec in dict.fromkeys(steers.values())
        if spec != "none"
    }
    anchors: dict[str, list[Anchor | None]] = {}
    for spec in dict.fromkeys(specs.values()):
        anchors[spec], choices = fold_anchors(exp, prices, starts, spec, hooks, workers, address)
        if spec != "none":
            out.anchor_choices[spec] = choices
            folds = [
                (s, AnchorStrategy(f"anchor_{spec}", a))
                for s, a in zip(starts, anchors[spec], strict=True)
            ]
            out.anchors.append(
                folds[0][1] if len(folds) == 1 else FoldedPolicy(f"anchor_{spec}", folds)
            )
    jobs: list[tuple[str, tuple[int, ...]]] = []
    for algo in exp.rl.algos:
        if exp.rl.seeds_together and algo == "grpo":
            jobs.append((algo, seeds))  # one batched training per fold
        else:
            jobs += [(algo, (s,)) for s in seeds]
    workers = min(workers, len(jobs))
    if workers <= 1 and address is None:
        results = [
            train_job(
                exp,
                prices,
                starts,
                home,
                a,
                g,
                anchors[specs[a]],
                hooks.stage,
                hooks.bar,
                steering=steering.get(steers[a]),
            )
            for a, g in jobs
        ]
    else:
        args = [
            (exp, prices, starts, home, a, g, anchors[specs[a]], steering.get(steers[a]))
            for a, g in jobs
        ]
        results = list(_in_parallel(args, workers, hooks, len(starts), address))
    out.wall_s = dict.fromkeys(names, 0.0)
    for res in results:
        out.diverged += res.diverged
        for seed, seconds in res.wall_s.items():
            out.wall_s[f"{res.algo}_s{seed}"] += seconds
    for name, (algo, seed) in names.items():
        fold_anchor = anchors[specs[algo]]
        plan = fold_configs(exp, algo, seed, starts, home / f"{algo}-s{seed}")
        folded = [
            (s, load_policy_strategy(run, name, fold_anchor[k]))
            for k, (s, run, _) in enumerate(plan)
        ]
        out.policies.append(folded[0][1] if len(folded) == 1 else FoldedPolicy(name, folded))
        if specs[algo] != "none":
            out.anchor_of[name] = f"anchor_{specs[algo]}"
        if steers[algo] != "none":  # its start is the baseline itself
            out.anchor_of[name] = steers[algo]
    attach_steering(out.policies)
    return out


def _in_parallel(
    args: list[tuple[Any, ...]], workers: int, hooks: Any, folds: int, address: str | None = None
) -> Iterator[JobResult]:
    """Run the jobs (``train_job`` arguments) in ``workers`` fresh processes, or as tasks on
    the Ray cluster at ``address``.

    Each fold's line comes back through a queue as the fold ends, so the bar moves fold by
    fold (jobs x folds in all) and a long job is never silent; on a cluster the bar also
    says how many tasks run and wait, and a task started again after its worker died is
    reported.
    """  # noqa: D205
    import queue as queues

    from portfolio_rl.plumbing.processes import open_pool

    if address is None:
        hooks.stage(f"[2/4] training {len(args)} jobs in {workers} worker processes")
    else:
        from portfolio_rl.plumbing.cluster import attach

        cpus = attach(address)
        hooks.stage(f"[2/4] training {len(args)} jobs as Ray tasks on {address} ({cpus} CPUs)")
    started, said_lost = time.perf_counter(), False
    with open_pool(workers, address) as (manager, pool):
        lines = manager.Queue()
        pending = [_submit(pool, a, lines) for a in args]
        total, done = len(args) * folds, 0
        with hooks.bar("training", total) as update:
            while pending:
                try:
                    line = lines.get(timeout=0.5 if done < total else 0.05)
                except queues.Empty:
                    # on Ray both queues are channels of one mailbox actor: lost together
                    lost = getattr(lines, "lost", False) or getattr(pool, "lost", False)
                    if lost and not said_lost:
                        said_lost = True
                        hooks.stage(
                            "      the cluster lost the progress queue: no more lines, "
                            "and a retried training goes unreported"
                        )
                    for job in [j for j in pending if j.ready()]:
                        pending.remove(job)
                        yield job.get()  # raises a worker's error here
                    continue
                if line is None:  # a fold ended
                    done += 1
                    update(done, total, _figures(pool, started, hooks))
                else:
                    hooks.stage(line)
        if hasattr(pool, "status"):  # a retry whose report came after the last fold's line
            _figures(pool, started, hooks)


def _submit(pool: Any, args: tuple[Any, ...], lines: Any) -> Any:
    """One job on the pool; on a Ray cluster its folders come back from other hosts."""
    if not hasattr(pool, "status"):
        return pool.apply_async(_train_job_args, (args, lines))
    home, algo, seeds = args[3], args[4], args[5]
    ship = [home / f"{algo}-s{s}" for s in seeds]
    what = f"the training of {algo} seed {' '.join(map(str, seeds))}"
    return pool.apply_async(_train_job_args, (args, lines), ship=ship, what=what)


def _figures(pool: Any, started: float, hooks: Any) -> str:
    """The bar's figures: seconds so far, and on a cluster its running and waiting tasks
    (a task started again after its worker died gets a line)."""  # noqa: D205, D209
    seconds = f"{time.perf_counter() - started:.0f} s"
    if not hasattr(pool, "status"):
        return seconds
    running, waiting, retried = pool.status()
    for what in retried:
        hooks.stage(f"      Ray started {what} again: its worker or node was lost")
    return f"{seconds}, {running} tasks running, {waiting} waiting"


def _train_job_args(args: tuple[Any, ...], lines: Any) -> JobResult:
    """A job in a worker: its lines, and None as each fold ends, go to the main process."""
    *head, steering = args
    return train_job(*head, stage=lines.put, fold_done=lambda: lines.put(None), steering=steering)
