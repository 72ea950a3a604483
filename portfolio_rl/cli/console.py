"""Everything the command line shows: progress bars, tables, stage lines and error lines.

The pipeline never prints; it calls the progress callbacks it is handed. This module draws
them with rich on stderr (hidden when stderr is not a terminal) and prints the tables on
stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

#: ``update(done, total, figures="")``: what a progress bar hands to the work it shows.
Update = Callable[..., None]


def say(message: str) -> None:
    """A stage line on stderr (``[2/4] training grpo seed 0``)."""
    print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """The one ``error:`` line of a failed command, on stderr."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def warning(message: str) -> None:
    """A ``warning:`` line on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Update]:
    """A transient progress bar on stderr; yields ``update(done, total=None, figures="")``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[figures]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=total, figures="")

        def update(done: int, total: int | None = None, figures: str = "") -> None:
            bar.update(task, completed=done, figures=figures, **({"total": total} if total else {}))

        yield update


def _console() -> Any:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 120))


METRIC_COLUMNS = (
    ("CAGR", "cagr", "{:.2%}"),
    ("vol", "ann_vol", "{:.2%}"),
    ("Sharpe", "sharpe", "{:.2f}"),
    ("Sortino", "sortino", "{:.2f}"),
    ("max DD", "max_drawdown", "{:.2%}"),
    ("CVaR95", "cvar_95", "{:.2%}"),
    ("turnover", "turnover", "{:.2f}"),
    ("fails", "solver_failures", "{:.0f}"),
)


def print_metrics(metrics: pd.DataFrame, title: str) -> None:
    """Readable table of the main measures, best Sharpe first."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("strategy", no_wrap=True)
    for label, _, _ in METRIC_COLUMNS:
        table.add_column(label, justify="right", no_wrap=True)
    for name, row in metrics.sort_values("sharpe", ascending=False).iterrows():
        cells = [fmt.format(row[key]) if key in row else "-" for _, key, fmt in METRIC_COLUMNS]
        label = f"{name} (in-sample)" if bool(row.get("in_sample", False)) else str(name)
        table.add_row(label, *cells)
    _console().print(table)


def print_table(frame: pd.DataFrame, title: str) -> None:
    """Any small frame of strings as a table (first column left-aligned)."""
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(frame.columns):
        table.add_column(str(col), justify="left" if i == 0 else "right")
    for row in frame.astype(str).itertuples(index=False):
        table.add_row(*row)
    _console().print(table)


def print_settings(rows: list[dict[str, str]]) -> None:
    """The training settings as one table per group, the help wrapped to the terminal."""
    from rich.table import Table

    console = _console()
    for group in dict.fromkeys(r["group"] for r in rows):
        table = Table(title=group, title_justify="left", expand=True)
        table.add_column("key", no_wrap=True)
        table.add_column("default", no_wrap=True)
        table.add_column("meaning (choices)", ratio=1)
        for r in rows:
            if r["group"] == group:
                meaning = r["help"] + (f" ({r['choices']})" if r["choices"] else "")
                table.add_row(r["name"], r["default"], meaning)
        console.print(table)


def print_bench(figures: dict[str, Any], repeats: int) -> None:
    """The tables of ``portfolio-rl bench`` (:func:`~portfolio_rl.workflows.bench.bench_tables`)."""
    from rich.table import Table

    from portfolio_rl.workflows.bench import bench_tables

    console = _console()
    for title, header, rows in bench_tables(figures, repeats):
        table = Table(title=title)
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
