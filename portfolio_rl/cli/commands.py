"""``portfolio-rl backtest | report | run | bench``: flags in, typed configs out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import (
    CashFlag,
    ForceFlag,
    SetFlag,
    ThreadsFlag,
    app,
    command,
    parse_names,
    parse_settings,
    policy_folders,
    strategy_names,
    whole_numbers,
)
from portfolio_rl.errors import ConfigError, PortfolioRLError

# --------------------------------------------------------------------------- backtest


@app.command()
@command
def backtest(
    config: Annotated[
        Path | None,
        typer.Option(help="Experiment YAML (e.g. backtests/sp500.yaml); flags override it."),
    ] = None,
    prices: Annotated[
        str | None,
        typer.Option(help="Price source: bundled name (sp500, factors) or CSV/parquet file."),
    ] = None,
    strategies: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated strategies (default: every baseline and the benchmark)."
        ),
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option(help="Trained run directory (from `portfolio-rl train`); repeatable."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First decision date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date of the backtest, YYYY-MM-DD.")] = None,
    window: Annotated[
        int | None, typer.Option(min=2, help="Days of returns each strategy sees (default 252).")
    ] = None,
    expanding: Annotated[
        bool, typer.Option(help="Hand strategies all history since the data start.")
    ] = False,
    rebalance_days: Annotated[
        int | None, typer.Option(min=1, help="Trading days between rebalances (default 21).")
    ] = None,
    cost_bps: Annotated[
        float | None,
        typer.Option(min=0, help="Cost per unit of turnover, basis points (default 10)."),
    ] = None,
    rf: Annotated[
        float | None,
        typer.Option(
            help="Annual risk-free rate for data without its own series (default 0): what cash "
            "earns and Sharpe/Sortino are in excess of."
        ),
    ] = None,
    cash: CashFlag = None,
    allow_in_sample: Annotated[
        bool,
        typer.Option(
            help="Let --start fall before a policy's val_end (its rows are marked in-sample)."
        ),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-backtest).")
    ] = None,
    force: ForceFlag = False,
    settings: SetFlag = None,
) -> None:
    """Walk-forward backtest of baselines (and trained policies) with costs; writes a run dir."""
    from portfolio_rl.backtest.engine import BacktestConfig
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.experiment import load_experiment
    from portfolio_rl.workflows.folds import test_start

    exp = load_experiment(config, parse_settings(settings or [], experiment=True))
    start_given = start is not None
    if prices is not None:
        start_of_data = None if config is None else exp.data.start
        data = dataclasses.replace(exp.data, prices=prices, tickers=None, start=start_of_data)
        exp = replace(exp, data=data, name=exp.name if config else Path(prices).stem)
    if config is None and start is None:
        start = "2005-01-01"
    bt = exp.backtest
    try:
        bt = BacktestConfig(
            start=start or (test_start(exp) if config is not None else bt.start),
            end=end or bt.end,
            window=window or bt.window,
            expanding=expanding or bt.expanding,
            rebalance_days=rebalance_days or bt.rebalance_days,
            cost_bps=bt.cost_bps if cost_bps is None else cost_bps,
            impact_bps=bt.impact_bps,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = None if strategies is None else strategy_names(strategies, bool(policy))
    exp = replace(exp, backtest=bt, rf=rf, strategies=names, cash=cash)
    hooks = pipeline.Hooks(console.say, console.progress_bar)
    done = pipeline.backtest(
        exp,
        policy_folders(policy or []),
        out=out,
        force=force,
        hooks=hooks,
        start_given=start_given,
        allow_in_sample=allow_in_sample,
    )
    console.print_metrics(
        done.metrics,
        title=f"walk-forward from {done.result.returns.index[0].date()} ({exp.data.prices}), "
        f"{bt.rebalance_days}-day rebalance, {bt.cost_bps:g} bps",
    )
    for line in done.warnings:
        console.warning(line)
    print(f"run directory: {done.run_dir}")


# --------------------------------------------------------------------------- report and run


@app.command()
@command
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory written by `run` or `backtest`.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="PDF path (default reports/<run name>.pdf)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing PDF or markdown file, if portfolio-rl wrote it (a PDF "
            "whose author is portfolio-rl, markdown that starts with its marker line); any "
            "other file is refused."
        ),
    ] = False,
    markdown: Annotated[
        Path | None,
        typer.Option(
            help="Write the results table and the verdict as markdown to this file instead "
            "of the PDF (what the docs and the README include)."
        ),
    ] = None,
) -> None:
    """Write the multi-page PDF report of a run directory (or its results as markdown)."""
    from portfolio_rl.plumbing.files import (
        atomic_write_text,
        check_file_replaceable,
        child_path,
        reports_dir,
    )
    from portfolio_rl.report.markdown import MARKDOWN_MARK
    from portfolio_rl.report.pdf import make_report

    if not (run_dir / "metrics.csv").is_file():
        raise PortfolioRLError(f"{run_dir} is not a run directory (metrics.csv missing)")
    if markdown is not None:
        from portfolio_rl.report.markdown import results_markdown

        if markdown.suffix != ".md":
            raise PortfolioRLError(f"--markdown {markdown}: the file must end in .md")
        check_file_replaceable(markdown, force, lambda head: head.startswith(MARKDOWN_MARK))
        text = f"{MARKDOWN_MARK.decode()} of {run_dir.resolve().name} -->\n\n"
        atomic_write_text(markdown, text + results_markdown(run_dir))
        print(f"results: {markdown}")
        return
    pdf = output or child_path(reports_dir(), run_dir.resolve().name, ".pdf", what="report name")
    make_report(run_dir, pdf, force=force)
    print(f"report: {pdf}")


@app.command("run")
@command
def run_all(
    config: Annotated[
        Path | None,
        typer.Option(help="Experiment YAML (default backtests/sp500.yaml: bundled data, offline)."),
    ] = None,
    prices: Annotated[
        str | None,
        typer.Option(help="Price source instead of the config's: bundled name or CSV/parquet."),
    ] = None,
    strategies: Annotated[
        str | None,
        typer.Option(help="Comma-separated baselines (default: every one that applies)."),
    ] = None,
    algos: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated RL algorithms: grpo, ppo, reinforce, robust_grpo "
            "(default: the config's)."
        ),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Comma-separated seeds (default: the config's, 0-4).")
    ] = None,
    tickers: Annotated[
        str | None,
        typer.Option(help="Comma-separated tickers to download with yfinance instead."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First price date, YYYY-MM-DD (default: the config's data.start; 2010-01-01 "
            "with --tickers). Training reads from here; the test starts after splits.val_end."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Last price date, YYYY-MM-DD (default: the config's, else the data's)."),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="A first look: GRPO alone, 2 seeds, at most 20 iterations a fold.")
    ] = False,
    cash: CashFlag = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-run).")
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option(help="Report path (default reports/<run name>.pdf).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing run folder and PDF if portfolio-rl wrote them (the "
            "folder's manifest.json lists every file in it; the PDF's author is portfolio-rl); "
            "anything else is refused, never deleted."
        ),
    ] = False,
    threads: ThreadsFlag = None,
    settings: SetFlag = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Run the trainings, the anchor and frontier tables and the backtest as tasks "
            "on this Ray cluster (HOST:PORT, or auto for RAY_ADDRESS), with the same results "
            "as here; default: the experiment's run.address, else this machine "
            "(docs/cluster.md)."
        ),
    ] = None,
) -> None:
    """Everything: data, GRPO + PPO + REINFORCE over seeds, backtest vs baselines, PDF report."""
    from portfolio_rl.data.sources import DataConfig
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.experiment import default_config_path, load_experiment

    overrides = parse_settings(settings or [], experiment=True)
    exp = load_experiment(config or default_config_path(), overrides)
    if tickers:
        data = DataConfig(
            prices="yfinance", tickers=parse_names(tickers), start=start or "2010-01-01", end=end
        )
        exp = replace(exp, data=data, name=exp.name if config else "yfinance")
    elif prices is not None:
        data = dataclasses.replace(exp.data, prices=prices, start=start, end=end)
        exp = replace(exp, data=data, name=exp.name if config else Path(prices).stem)
    elif start or end:
        exp = replace(exp, data=replace(exp.data, start=start, end=end))
    rl = replace(
        exp.rl,
        algos=None if algos is None else parse_names(algos),
        seeds=None if seeds is None else tuple(whole_numbers(seeds)),
    )
    chosen = None if strategies is None else strategy_names(strategies, False)
    exp = replace(exp, cash=cash, rl=rl, strategies=chosen)
    hooks = pipeline.Hooks(console.say, console.progress_bar)
    from portfolio_rl.workflows.training import free_cores

    on_ray = address or exp.run.address  # then Ray's CPUs do the work, not this machine's
    workers = threads or (1 if on_ray else free_cores())
    done = pipeline.run(
        exp,
        out=out,
        pdf=pdf,
        force=force,
        quick=quick,
        hooks=hooks,
        workers=workers,
        address=address,
    )
    from portfolio_rl.report.text import summarise_seeds

    console.print_metrics(
        summarise_seeds(done.metrics)[0],  # one row per algorithm; seeds in seeds.csv
        title=f"test period {done.exp.backtest.start} .. "
        f"{done.result.returns.index[-1].date()}: net of {done.exp.backtest.cost_bps:g} bps costs",
    )
    print(done.verdict)
    for line in done.warnings:
        console.warning(line)
    print(f"run directory: {done.run_dir}")
    print(f"report: {done.pdf}")


# --------------------------------------------------------------------------- bench


@app.command()
@command
def bench(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    only: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated subset: env, simulator, training, robust, seeds, walkforward, "
            "process (default: all of these), or scale (every baseline and GRPO on 20 to 500 "
            "assets beside skfolio) or cluster (the quick industries49 run on local Ray "
            "clusters of 1 and 2 nodes): minutes each, so only when named."
        ),
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(
            min=1,
            help="Walk-forward and scale's whole processes: time our side and skfolio's this "
            "many times, alternating, and report medians (1 keeps the whole bench under two "
            "minutes; each repeat adds about 50 s, or 4 min to scale).",
        ),
    ] = 1,
    markdown: Annotated[
        Path | None,
        typer.Option(
            help="Also write the tables as markdown to this file (what the docs include)."
        ),
    ] = None,
) -> None:
    """Measure throughput: env, simulator, training (GRPO, robust GRPO, seeds), walk-forward."""
    import json

    from portfolio_rl.workflows.bench import BENCHES, run_benchmarks

    names = [x.strip() for x in only.split(",")] if only else None
    unknown = sorted(set(names or []) - set(BENCHES))
    if unknown:
        raise PortfolioRLError(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}"
        )
    if markdown is not None and markdown.suffix != ".md":
        raise PortfolioRLError(f"--markdown {markdown}: the file must end in .md")
    figures = run_benchmarks(names, repeats)
    if markdown is not None:
        from portfolio_rl.plumbing.files import atomic_write_text
        from portfolio_rl.workflows.bench_tables import bench_markdown

        atomic_write_text(markdown, bench_markdown(figures, repeats))
    if json_out:
        print(json.dumps(figures))
    else:
        console.print_bench(figures, repeats)
