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
    """Rich's console on stdout: the terminal's width, or 120 columns when piped (unless
    ``COLUMNS`` says otherwise)."""  # noqa: D205, D209
    import os

    from rich.console import Console

    console = Console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(width=max(console.width, 120))


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


#: The order in which columns give way when the terminal is narrow (Sharpe stays longest).
_KEEP_ORDER = ("sharpe", "cagr", "max_drawdown", "ann_vol", "turnover", "cvar_95", "sortino")


def print_metrics(metrics: pd.DataFrame, title: str) -> None:
    """Readable table of the main measures, best Sharpe first, that fits the terminal.

    Every number is printed whole: on a narrow terminal (80 columns) the least important
    columns are left out, in ``_KEEP_ORDER``'s reverse, rather than cut to ``17.…``.
    """
    from rich.table import Table

    rows = []
    for name, row in metrics.sort_values("sharpe", ascending=False).iterrows():
        cells = {key: fmt.format(row[key]) if key in row else "-" for _, key, fmt in METRIC_COLUMNS}
        label = f"{name} (in-sample)" if bool(row.get("in_sample", False)) else str(name)
        label = f"{label} (failed)" if bool(row.get("failed", False)) else label
        rows.append((label, cells))
    if "solver_failures" in metrics and not metrics["solver_failures"].any():
        columns = [c for c in METRIC_COLUMNS if c[1] != "solver_failures"]  # all zero: say so
        title += "; no solver failures"
    else:
        columns = list(METRIC_COLUMNS)

    def width(chosen: list[tuple[str, str, str]]) -> int:
        name_w = max(len(label) for label, _ in rows) if rows else 8
        cols = [max(len(lbl), *(len(c[key]) for _, c in rows)) for lbl, key, _ in chosen]
        return name_w + sum(cols) + 3 * (len(chosen) + 1) + 1

    console = _console()
    for key in reversed(_KEEP_ORDER):
        if width(columns) <= console.width:
            break
        columns = [c for c in columns if c[1] != key]
    table = Table(title=title)
    table.add_column("strategy", no_wrap=True)
    for label, _, _ in columns:
        table.add_column(label, justify="right", no_wrap=True)
    for label, cells in rows:
        table.add_row(label, *(cells[key] for _, key, _ in columns))
    console.print(table)
    shown = {key for _, key, _ in columns}
    left = [lbl for lbl, key, _ in METRIC_COLUMNS if key not in shown and key != "solver_failures"]
    if left:
        console.print(f"({', '.join(left)}: in metrics.csv; a wider terminal shows them)")


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

    from portfolio_rl.workflows.bench_tables import bench_tables

    console = _console()
    for title, header, rows in bench_tables(figures, repeats):
        table = Table(title=title)
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
