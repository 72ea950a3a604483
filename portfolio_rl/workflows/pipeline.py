"""The work behind the commands: typed configs in, result objects out, nothing printed.

``train`` -> one training run; ``backtest`` -> a run directory of baselines (and trained
policies); ``run`` -> data, training over algorithms and seeds, the backtest, statistics
and the PDF. Progress goes to the `Hooks` the caller hands in (the console draws
bars; tests hand none).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.cluster import attach, detach
from portfolio_rl.plumbing.typed import parse_date, replace
from portfolio_rl.workflows.experiment import ExperimentConfig, SplitConfig
from portfolio_rl.workflows.folds import fold_starts, fold_table, test_start
from portfolio_rl.workflows.guides import fold_anchors, fold_steering
from portfolio_rl.workflows.hooks import SILENT, Hooks
from portfolio_rl.workflows.market import auto_splits, market_data, risk_free_summary
from portfolio_rl.workflows.training import one_thread, train_policies

if TYPE_CHECKING:
    from portfolio_rl.agents.checkpoint import PolicyStrategy
    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.agents.runstate import TrainResult
    from portfolio_rl.backtest.engine import BacktestResult


@dataclass
class BacktestRun:
    """A finished backtest and where it was written."""

    run_dir: Path
    exp: ExperimentConfig
    result: BacktestResult = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)
    stats: pd.DataFrame = field(repr=False)

    notes: list[str] = field(default_factory=list)
    """Policies that kept their untrained start (what they decide instead), and policies
    applied to another universe than they were trained on."""

    @property
    def warnings(self) -> list[str]:
        """What the reader must know about the run: strategies whose solves mostly failed,
        policies that kept their untrained start."""  # noqa: D205, D209
        from portfolio_rl.backtest.runner import failing

        return failing(self.result, self.metrics) + self.notes


@dataclass
class PipelineRun(BacktestRun):
    """A finished ``portfolio-rl run``: the backtest plus seeds, verdict and report."""

    pdf: Path = Path()
    seeds: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    verdict: str = ""


def backtest_and_evaluate(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    policies: Sequence[PolicyStrategy],
    rf: pd.Series,
    hooks: Hooks = SILENT,
    anchor_of: dict[str, str] | None = None,
    workers: int = 1,
    address: str | None = None,
) -> tuple[BacktestResult, pd.DataFrame, pd.DataFrame]:
    """Walk forward with the baselines of ``exp`` plus ``policies``; measures and statistics
    (``anchor_of``: anchored policy -> its anchor's strategy, also in ``policies``; the
    baselines spread over ``workers`` processes or the Ray cluster at ``address``, with the
    same result)."""  # noqa: D205, D209
    from portfolio_rl.backtest.parallel import run_backtest_in_processes
    from portfolio_rl.backtest.runner import build_baselines, evaluate
    from portfolio_rl.baselines import default_strategies

    names = list(exp.strategies or default_strategies(exp.cash))
    if benchmark is None and "benchmark" in names:
        if exp.strategies:
            raise ConfigError(
                f"benchmark: {exp.data.prices} has no index series (only the bundled sp500 has one)"
            )
        names.remove("benchmark")
    baselines = build_baselines(names, exp.strategy_params, exp.backtest, cash=exp.cash)
    with hooks.bar("backtest", None) as update:
        result = run_backtest_in_processes(
            prices,
            baselines,
            policies,
            exp.backtest,
            benchmark=benchmark if "benchmark" in names else None,
            progress=update,
            workers=workers,
            mandate=exp.constraints,
            address=address,
        )
    metrics, stats = evaluate(
        result, rf=rf, n_boot=exp.n_boot, anchor_of=anchor_of, comparator=exp.comparator
    )
    return result, metrics, stats


def backtest(
    exp: ExperimentConfig,
    policies: Sequence[Path] = (),
    out: Path | None = None,
    force: bool = False,
    hooks: Hooks = SILENT,
    start_given: bool = True,
    allow_in_sample: bool = False,
) -> BacktestRun:
    """``portfolio-rl backtest``: baselines (and trained policies) -> a run directory.

    With trained policies the test starts after the latest ``val_end`` among them (their
    training and validation data are not a test); an explicit earlier start
    (``start_given``) is refused unless ``allow_in_sample``, and then the policies' rows are
    marked in-sample in ``metrics.csv`` and the report.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from portfolio_rl.plumbing.typed import replace
    >>> from portfolio_rl.workflows import backtest, load_experiment
    >>> exp = replace(load_experiment("backtests/sp500.yaml"), strategies=["equal_weight"])
    >>> done = backtest(exp, out=Path(tempfile.mkdtemp()) / "run")
    >>> list(done.metrics.index), (done.run_dir / "manifest.json").is_file()
    (['equal_weight'], True)
    """
    from portfolio_rl.backtest.runner import write_run
    from portfolio_rl.plumbing.files import staged_run_dir
    from portfolio_rl.workflows.policies import (
        anchor_strategies,
        check_window,
        load_policies,
        untrained,
    )

    loaded = load_policies(policies)
    in_sample: list[str] = []
    if loaded:
        check_window(loaded, exp.backtest)
        last_val = max(parse_date(p.meta.get("val_end"), "val_end") for p in loaded)
        first_test = last_val + pd.Timedelta(days=1)
        start = exp.backtest.start
        if not start_given or start is None:
            start = max(first_test, parse_date(start or first_test, "start"))
            exp = replace(exp, backtest=replace(exp.backtest, start=str(start.date())))
        elif parse_date(start, "start") < first_test:
            if not allow_in_sample:
                raise ConfigError(
                    f"--start {start} tests the policies on their own training or validation "
                    f"data (validated to {last_val.date()}); start after it, or pass "
                    "--allow-in-sample to mark their rows as in-sample"
                )
            in_sample = [p.name for p in loaded]
    source = ", ".join(exp.data.tickers) if exp.data.tickers else exp.data.prices
    hooks.stage(f"loading {source}")
    prices, bench, rf = market_data(exp, hooks=hooks)
    start = exp.backtest.start or "the start"
    every = exp.backtest.rebalance_days
    hooks.stage(
        f"walk-forward backtest of {prices.shape[1]} assets from {start}, every {every} days"
    )
    transfers = [note for p in loaded if (note := p.check_assets(list(prices.columns)))]
    from portfolio_rl.baselines import default_strategies

    names = exp.strategies or default_strategies(exp.cash)
    anchors, anchor_of = anchor_strategies(loaded, prices, names)
    with staged_run_dir(out, "backtest", force=force) as (staging, run_dir):
        result, metrics, stats = backtest_and_evaluate(
            exp, prices, bench, [*loaded, *anchors], rf, hooks, anchor_of
        )
        metrics["in_sample"] = [name in in_sample for name in metrics.index]
        config = exp.to_dict() | {
            "policies": {p.name: str(f) for p, f in zip(loaded, policies, strict=True)},
            "in_sample": in_sample,
            "data_range": [str(prices.index[0].date()), str(prices.index[-1].date())],
            "assets": list(prices.columns),
            "risk_free": risk_free_summary(rf.loc[result.returns.index[0] :], exp),
            "transfers": transfers,
        }
        write_run(staging, result, metrics, stats, config)
        if any(p.meta.get("steer") for p in loaded):  # what each steered policy chose
            from portfolio_rl.backtest.steering import write_chosen

            write_chosen(staging, loaded)
    return BacktestRun(run_dir, exp, result, metrics, stats, untrained(loaded) + transfers)


def train(
    exp: ExperimentConfig,
    config: TrainConfig,
    folder: Path,
    resume: bool = False,
    hooks: Hooks = SILENT,
) -> TrainResult | None:
    """``portfolio-rl train``: one training run of ``config`` on the experiment's data.

    Resuming a run that has finished does nothing and says so.
    """
    from portfolio_rl.agents.registry import trainer
    from portfolio_rl.agents.runstate import finished

    if resume and finished(folder):
        return None

    exp = replace(exp, data=replace(exp.data, prices=config.prices), cash=config.cash)
    prices, _, _ = market_data(exp, hooks=hooks)
    anchor = None
    if config.anchor != "none":  # its weights on every day; auto: best on validation
        start = parse_date(config.val_end, "val_end") + pd.Timedelta(days=1)
        splits = SplitConfig(train_end=config.train_end, val_end=config.val_end)
        exp = replace(exp, splits=splits)
        (anchor,), _ = fold_anchors(exp, prices, [start], config.anchor, hooks)
        config = replace(config, anchor=anchor.name)
    steering = None
    if config.steer != "none":  # its tables up to train_end
        start = parse_date(config.val_end, "val_end") + pd.Timedelta(days=1)
        exp = replace(exp, splits=SplitConfig(train_end=config.train_end, val_end=config.val_end))
        steering = fold_steering(exp, prices, [start], config.steer, hooks)
    with one_thread(), hooks.bar(f"train {config.algo}", config.iterations) as update:
        run = trainer(config.algo)
        return run(
            config,
            prices,
            folder,
            resume=resume,
            progress=update,
            anchor=anchor,
            steering=steering,
        )


def run(
    exp: ExperimentConfig,
    out: Path | None = None,
    pdf: Path | None = None,
    force: bool = False,
    quick: bool = False,
    hooks: Hooks = SILENT,
    workers: int = 1,
    address: str | None = None,
) -> PipelineRun:
    """``portfolio-rl run``: data -> train (algos x seeds) -> backtest -> stats -> PDF.

    ``workers`` processes train the algorithms and seeds in parallel; the results do not
    depend on how many (every training uses one thread). ``address`` (or the experiment's
    ``run.address``): the trainings, the tables and the walk-forward are tasks on that Ray
    cluster instead, with the same results bit for bit (``docs/cluster.md``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from portfolio_rl.plumbing.typed import replace
    >>> from portfolio_rl.workflows import load_experiment, run
    >>> exp = load_experiment("backtests/sp500.yaml")
    >>> rl = replace(exp.rl, algos=("grpo",), seeds=(0,), train={"iterations": 0})
    >>> exp = replace(exp, rl=rl, strategies=["equal_weight"], n_boot=50)
    >>> folder = Path(tempfile.mkdtemp())
    >>> done = run(exp, out=folder / "run", pdf=folder / "run.pdf")
    >>> sorted(done.metrics.index), done.pdf.is_file()
    (['equal_weight', 'grpo_s0'], True)
    """
    from portfolio_rl.plumbing import files
    from portfolio_rl.report.pdf import AUTHOR_MARK, make_report
    from portfolio_rl.report.verdicts import verdict

    started = time.perf_counter()
    if pdf is not None and Path(pdf).suffix.lower() != ".pdf":
        raise ConfigError(f"--pdf {pdf}: a report is a PDF; give a name ending in .pdf")
    if quick:
        from portfolio_rl.workflows.quick import quick_experiment

        exp = quick_experiment(exp)
    address = address or exp.run.address
    if address is not None:
        attach(address)  # before any data is read or folder made
    source = ", ".join(exp.data.tickers) if exp.data.tickers else exp.data.prices
    hooks.stage(f"[1/4] loading data ({source})")
    prices, bench, rf = market_data(exp, min_rows=600, hooks=hooks)
    if exp.data.tickers:
        exp = replace(exp, splits=auto_splits(prices))
    exp = replace(exp, backtest=replace(exp.backtest, start=test_start(exp)))
    with files.staged_run_dir(out, "run", force=force) as (staging, run_dir):
        pdf = pdf or files.child_path(files.reports_dir(), run_dir.name, ".pdf", what="report name")
        files.check_file_replaceable(pdf, force, lambda head: AUTHOR_MARK in head)
        try:
            result, metrics, stats, seeds, policies = _train_and_backtest(
                exp, prices, bench, rf, staging, started, quick, hooks, workers, address
            )
        finally:
            detach()  # a Ray cluster, if attached

    hooks.stage(f"[4/4] writing the report to {pdf}")
    make_report(run_dir, pdf, force=force)
    from portfolio_rl.workflows.policies import untrained

    notes = untrained(policies)
    if len(notes) > 3:  # a walk-forward run: the count here, the list in the report
        notes = [
            f"validation kept the untrained start in {len(notes)} of the "
            f"{len(policies) * len(fold_starts(exp, prices))} trainings (those policies decide "
            "what they started from; the report's limitations list them)"
        ]
    return PipelineRun(
        run_dir,
        exp,
        result,
        metrics,
        stats,
        notes=notes,
        pdf=pdf,
        seeds=seeds,
        verdict=verdict(metrics, stats, seeds),
    )


def _train_and_backtest(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    bench: pd.Series | None,
    rf: pd.Series,
    folder_root: Path,
    started: float,
    quick: bool,
    hooks: Hooks,
    workers: int = 1,
    address: str | None = None,
) -> tuple[BacktestResult, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[Any]]:
    """Train every algorithm and seed into ``folder_root/policies``, backtest them with the
    baselines, and write the run's tables into ``folder_root``."""  # noqa: D205, D209
    from portfolio_rl.backtest.compare import anchor_comparison
    from portfolio_rl.backtest.runner import write_run
    from portfolio_rl.backtest.seeds import seed_summary
    from portfolio_rl.backtest.steering import write_chosen
    from portfolio_rl.baselines import best_robust
    from portfolio_rl.plumbing.files import atomic_write

    starts = fold_starts(exp, prices)
    trained = train_policies(exp, prices, starts, folder_root, hooks, workers, address)
    policy_names = trained.names

    hooks.stage(f"[3/4] walk-forward backtest from {exp.backtest.start} with every baseline")
    result, metrics, stats = backtest_and_evaluate(
        exp,
        prices,
        bench,
        [*trained.policies, *trained.anchors],
        rf,
        hooks,
        trained.anchor_of,
        workers,
        address,
    )
    seeds = seed_summary(metrics, policy_names, trained.wall_s)
    resolved: dict[str, Any] = exp.to_dict() | {
        "policies": {
            n: str(f.relative_to(folder_root))
            for n, f in zip(policy_names, trained.folders, strict=True)
        },
        "anchors": trained.anchor_choices,
        "data_range": [str(prices.index[0].date()), str(prices.index[-1].date())],
        "risk_free": risk_free_summary(rf.loc[exp.backtest.start :], exp),
        "assets": list(prices.columns),
        "quick": quick,
        "folds": [str(d.date()) for d in starts],
        "diverged_folds": trained.diverged,
        "train_and_backtest_s": round(time.perf_counter() - started, 1),
    }
    write_run(folder_root, result, metrics, stats, resolved)
    write_chosen(folder_root, trained.policies)
    atomic_write(folder_root / "seeds.csv", lambda tmp: seeds.to_csv(tmp, index=False))
    if trained.anchor_of:
        algo_of = {n: policy_names[n][0] for n in trained.anchor_of}
        versus = anchor_comparison(result.returns, result.weights, trained.anchor_of, algo_of, rf)
        atomic_write(folder_root / "anchors.csv", lambda tmp: versus.to_csv(tmp))
    if len(starts) > 1:
        groups = {
            a: [n for n, (algo, _) in policy_names.items() if algo == a] for a in exp.rl.algos
        }
        others = ("equal_weight", best_robust(metrics), *(a.name for a in trained.anchors))
        groups |= {n: [n] for n in others if n in result.returns}
        folds = fold_table(result.returns, starts, rf, groups)
        atomic_write(folder_root / "folds.csv", lambda tmp: folds.to_csv(tmp))

    return result, metrics, stats, seeds, trained.policies
