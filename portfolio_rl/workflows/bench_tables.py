"""The figures of ``portfolio-rl bench`` as tables: for the terminal and for the docs."""

from __future__ import annotations

import re
from typing import Any


def bench_tables(
    figures: dict[str, Any], repeats: int = 1
) -> list[tuple[str, list[str], list[list[str]]]]:
    """The figures of :func:`run_benchmarks` as ``(title, header, rows)`` tables of strings.

    What the terminal prints and ``bench --markdown`` writes: the throughput figures, then
    each model's walk-forward beside skfolio's when those ran.
    """
    tables = []
    plain = [
        [
            key,
            f"{v:,.0f}"
            if isinstance(v, float) and v > 100
            else (f"{v:.3g}" if isinstance(v, float) else str(v)),
        ]
        for key, v in figures.items()
        if not key.startswith(("wf_", "scale_")) and not re.fullmatch(r"process_\w+_\d+_\w+", key)
    ]
    if plain:
        tables.append(
            ("portfolio-rl bench (medians of repeats in one process)", ["figure", "value"], plain)
        )
    models = [k[3:-2] for k in figures if k.startswith("wf_") and k.endswith("_s")]
    models = [m for m in models if not m.endswith("_skfolio")]
    if models:
        rows = []
        for m in models:
            theirs = figures.get(f"wf_{m}_skfolio_s")
            rows.append(
                [
                    m,
                    str(figures[f"wf_{m}_rebalances"]),
                    f"{figures[f'wf_{m}_s']:.2f}",
                    "-" if theirs is None else f"{theirs:.2f}",
                    "-" if theirs is None else f"{figures[f'wf_{m}_speedup']:.1f}x",
                ]
            )
        title = "walk-forward 2005-2022 per model, seconds"
        title += f" (medians of {repeats})" if repeats > 1 else ""
        tables.append((title, ["model", "rebalances", "ours", "skfolio", "speed-up"], rows))
    from portfolio_rl.workflows.bench_scale import scale_tables

    return tables + scale_tables(figures)


def bench_markdown(figures: dict[str, Any], repeats: int = 1) -> str:
    """The tables of :func:`bench_tables` in markdown, each under its title."""
    from portfolio_rl.plumbing.markdown import markdown_table

    return (
        "\n\n".join(
            f"**{title}**\n\n{markdown_table(header, rows)}"
            for title, header, rows in bench_tables(figures, repeats)
        )
        + "\n"
    )
