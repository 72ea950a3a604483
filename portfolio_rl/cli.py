"""Command line: ``portfolio-rl`` (or ``python -m portfolio_rl``).

Expected failures (bad input, missing data, a failed download or solve, a diverging run)
end with one ``error:`` line on stderr and a non-zero exit code; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from portfolio_rl.errors import PortfolioRLError

app = typer.Typer(
    help="Portfolio allocation with GRPO against robust-optimization baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="List, inspect and download price data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def _eprint(message: str) -> None:
    print(message, file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _eprint(f"warning: {message}")


def command(func: F) -> F:
    """Turn expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _show_warning
        try:
            return func(*args, **kwargs)
        except PortfolioRLError as exc:
            if _state["debug"]:
                raise
            _eprint(f"error: {exc}")
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            _eprint("interrupted")
            raise typer.Exit(code=130) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if _state["debug"]:
                raise
            msg = str(exc).splitlines()[0] if str(exc) else ""
            _eprint(f"internal error: {type(exc).__name__}: {msg} (rerun with --debug for details)")
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


# --------------------------------------------------------------------------- data


@data_app.command("list")
@command
def data_list() -> None:
    """List the bundled datasets with their assets and date ranges."""
    from rich.console import Console
    from rich.table import Table

    from portfolio_rl.datasets import BUNDLED, load_benchmark, load_prices

    table = Table(title="Bundled datasets")
    for col in ("name", "n", "first", "last", "rows", "benchmark", "assets"):
        table.add_column(col, overflow="fold")
    for name in BUNDLED:
        prices = load_prices(name)
        bench = load_benchmark(name)
        table.add_row(
            name,
            str(prices.shape[1]),
            str(prices.index[0].date()),
            str(prices.index[-1].date()),
            str(len(prices)),
            str(bench.name) if bench is not None else "-",
            " ".join(prices.columns),
        )
    Console().print(table)
    for spec in BUNDLED.values():
        print(f"  {spec.name}: {spec.description}")


@data_app.command("show")
@command
def data_show(
    source: Annotated[
        str, typer.Argument(help="Bundled name (sp500, factors) or a CSV/parquet file.")
    ],
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD.")] = None,
) -> None:
    """Summarise a price source: assets, dates, missing values, annualised return and vol."""
    from rich.console import Console
    from rich.table import Table

    from portfolio_rl.datasets import load_prices, summarize

    prices = load_prices(source, start=start, end=end)
    summary = summarize(prices)
    table = Table(
        title=f"{source}: {prices.shape[1]} assets, {len(prices)} rows, "
        f"{prices.index[0].date()} .. {prices.index[-1].date()}"
    )
    for col in ("asset", "first", "last", "rows", "missing", "ann. return", "ann. vol"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for asset, row in summary.iterrows():
        table.add_row(
            str(asset),
            str(row["first"]),
            str(row["last"]),
            str(row["rows"]),
            str(row["missing"]),
            f"{row['ann_return']:.2%}",
            f"{row['ann_vol']:.2%}",
        )
    Console().print(table)


@data_app.command("download")
@command
def data_download(
    tickers: Annotated[list[str], typer.Argument(help="Yahoo tickers, e.g. AAPL MSFT SPY.")],
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")] = "2015-01-01",
    end: Annotated[str, typer.Option(help="End date (exclusive), YYYY-MM-DD.")] = "2024-12-31",
    out: Annotated[
        Path | None, typer.Option(help="Write the prices here; .csv, .csv.gz or .parquet.")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Cache folder (default $PORTFOLIO_RL_CACHE, else data/cache)."),
    ] = None,
    drop_missing: Annotated[
        bool, typer.Option(help="Drop tickers without data (with a warning) instead of failing.")
    ] = False,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries per ticker.")] = 3,
) -> None:
    """Download adjusted daily closes with yfinance, through the per-ticker cache."""
    from portfolio_rl.datasets import validate_prices
    from portfolio_rl.download import download_prices, write_prices

    raw = download_prices(
        tickers,
        start,
        end,
        cache=cache_dir,
        drop_missing=drop_missing,
        retries=retries,
        progress=sys.stderr.isatty(),
    )
    prices = validate_prices(raw)
    if out is not None:
        write_prices(prices, out)
        print(f"wrote {prices.shape[1]} assets x {len(prices)} rows to {out}")
    else:
        print(prices.describe().T.to_string())


# --------------------------------------------------------------------------- train


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
    algo: Annotated[
        str, typer.Option(help="grpo (the method), ppo or reinforce (baselines).")
    ] = "grpo",
    train_end: Annotated[
        str | None, typer.Option(help="Last date of the training range (default 2012-12-31).")
    ] = None,
    val_end: Annotated[
        str | None, typer.Option(help="Last date of the validation range (default 2014-12-31).")
    ] = None,
    iterations: Annotated[
        int | None, typer.Option(min=1, help="Policy-update iterations (default 60).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same run.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda.")] = "auto",
    resume: Annotated[
        Path | None, typer.Option(help="Continue the training run in this directory.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-train-...).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into an existing non-empty --out.")] = False,
) -> None:
    """Train an allocation policy with GRPO (or PPO/REINFORCE) on the training range."""
    from portfolio_rl.pipeline import run_train_command

    if algo not in ("grpo", "ppo", "reinforce"):
        raise PortfolioRLError(f"unknown --algo {algo!r}: choose grpo, ppo or reinforce")
    if device not in ("auto", "cpu", "cuda"):
        raise PortfolioRLError(f"unknown --device {device!r}: choose auto, cpu or cuda")
    run_train_command(
        config=config,
        prices=prices,
        algo=algo,
        train_end=train_end,
        val_end=val_end,
        iterations=iterations,
        seed=seed,
        device=device,
        resume=resume,
        out=out,
        force=force,
    )


# --------------------------------------------------------------------------- backtest


def _progress_bar(description: str):
    """A rich progress bar on stderr (hidden when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        f"[bold]{description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def print_metrics(metrics, title: str) -> None:
    """Readable table of the main measures."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    cols = [
        ("strategy", None),
        ("CAGR", "cagr"),
        ("vol", "ann_vol"),
        ("Sharpe", "sharpe"),
        ("Sortino", "sortino"),
        ("max DD", "max_drawdown"),
        ("CVaR95", "cvar_95"),
        ("turnover", "turnover"),
        ("fails", "solver_failures"),
    ]
    for label, _ in cols:
        if label == "strategy":
            table.add_column(label, no_wrap=True)
        else:
            table.add_column(label, justify="right", no_wrap=True)
    pct = {"cagr", "ann_vol", "max_drawdown", "cvar_95"}
    for name, row in metrics.sort_values("sharpe", ascending=False).iterrows():
        cells = [str(name)]
        for _, key in cols[1:]:
            if key not in row:
                cells.append("-")
                continue
            v = row[key]
            cells.append(
                f"{v:.2%}"
                if key in pct
                else f"{int(v)}"
                if key == "solver_failures"
                else f"{v:.2f}"
            )
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    console.print(table)


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
        float | None, typer.Option(help="Annual risk-free rate for Sharpe/Sortino (default 0).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-backtest).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into an existing non-empty --out.")] = False,
) -> None:
    """Walk-forward backtest of baselines (and trained policies) with costs; writes a run dir."""
    from portfolio_rl.pipeline import run_backtest_command

    run_backtest_command(
        config=config,
        prices=prices,
        strategies=strategies,
        policies=policy or [],
        start=start,
        end=end,
        window=window,
        expanding=expanding,
        rebalance_days=rebalance_days,
        cost_bps=cost_bps,
        rf=rf,
        out=out,
        force=force,
    )


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
    force: Annotated[bool, typer.Option(help="Overwrite an existing PDF.")] = False,
) -> None:
    """Write the multi-page PDF report of a run directory."""
    from portfolio_rl.paths import child_path, reports_dir
    from portfolio_rl.report.pdf import make_report

    if not (run_dir / "metrics.csv").is_file():
        raise PortfolioRLError(f"{run_dir} is not a run directory (metrics.csv missing)")
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
    tickers: Annotated[
        str | None,
        typer.Option(help="Comma-separated tickers to download with yfinance instead."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First price date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last price date, YYYY-MM-DD.")] = None,
    quick: Annotated[
        bool, typer.Option(help="A smaller run for a first look: 2 seeds, 20 iterations.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default backtests/runs/<time>-run).")
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option(help="Report path (default reports/<run name>.pdf).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Overwrite an existing run directory or PDF.")
    ] = False,
) -> None:
    """Everything: data, GRPO + PPO + REINFORCE over seeds, backtest vs baselines, PDF report."""
    from portfolio_rl.pipeline import run_pipeline

    run_pipeline(
        config=config,
        tickers=tickers,
        start=start,
        end=end,
        quick=quick,
        out=out,
        pdf=pdf,
        force=force,
    )


# --------------------------------------------------------------------------- bench


@app.command()
@command
def bench(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated subset of benchmarks (default all)."),
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(
            min=1,
            help="Walk-forward: time our side and skfolio's this many times, alternating, "
            "and report medians (1 keeps the whole bench under two minutes; each repeat adds "
            "about 50 s).",
        ),
    ] = 1,
) -> None:
    """Measure throughput: env steps/s, batched simulator, training, walk-forward solves."""
    import json

    from portfolio_rl.bench import BENCHES, run_benchmarks

    names = [x.strip() for x in only.split(",")] if only else None
    unknown = sorted(set(names or []) - set(BENCHES))
    if unknown:
        raise PortfolioRLError(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}"
        )
    figures = run_benchmarks(names, repeats)
    if json_out:
        print(json.dumps(figures))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="portfolio-rl bench (medians of repeats in one process)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if key.startswith("wf_"):
            continue
        text = f"{value:,.0f}" if isinstance(value, float) and value > 100 else str(value)
        if isinstance(value, float) and value <= 100:
            text = f"{value:.3g}"
        table.add_row(key, text)
    if table.row_count:
        console.print(table)
    models = [k[3:-2] for k in figures if k.startswith("wf_") and k.endswith("_s")]
    models = [m for m in models if not m.endswith("_skfolio")]
    if models:
        title = "walk-forward 2005-2022 per model, seconds"
        wf = Table(title=title + (f" (medians of {repeats})" if repeats > 1 else ""))
        for col in ("model", "rebalances", "ours", "skfolio", "speed-up"):
            wf.add_column(col, justify="left" if col == "model" else "right")
        for m in models:
            theirs = figures.get(f"wf_{m}_skfolio_s")
            wf.add_row(
                m,
                str(figures[f"wf_{m}_rebalances"]),
                f"{figures[f'wf_{m}_s']:.2f}",
                "-" if theirs is None else f"{theirs:.2f}",
                "-" if theirs is None else f"{figures[f'wf_{m}_speedup']:.1f}x",
            )
        console.print(wf)


def main() -> None:
    """Entry point of the ``portfolio-rl`` script."""
    app()
