"""The benchmark page: each strategy's active return, tracking error and information ratio."""

from __future__ import annotations

import textwrap

import pandas as pd

from portfolio_rl.report.layout import page, table
from portfolio_rl.report.run import Run
from portfolio_rl.report.text import summarise_seeds


def benchmark_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy (RL algorithms as the mean over seeds), ranked by information
    ratio, as strings; empty when the run had no benchmark."""  # noqa: D205, D209
    if "information_ratio" not in metrics:
        return pd.DataFrame()
    rows = summarise_seeds(metrics)[0].drop(index="benchmark", errors="ignore")
    rows = rows.sort_values("information_ratio", ascending=False)
    return pd.DataFrame(
        {
            "Active return (a year)": rows["active_return"].map("{:+.2%}".format),
            "Tracking error (a year)": rows["tracking_error"].map("{:.2%}".format),
            "Information ratio": rows["information_ratio"].map("{:+.2f}".format),
        }
    )


def page_benchmark(run: Run, colour_of: dict[str, str]):
    """Every strategy against the run's benchmark (None without one)."""
    frame = benchmark_table(run.metrics)
    if frame.empty:
        return None
    name = run.config.get("data", {}).get("benchmark") or run.config.get("data", {}).get("prices")
    fig = page(f"Against the benchmark ({name})", run)
    height = min(0.7, 0.03 * (len(frame) + 1))
    ax = fig.add_axes([0.04, 0.90 - height, 0.6, height])
    table(ax, frame, colour_of)
    note = (
        "Active return: the mean daily return in excess of the benchmark's, times 252; "
        "tracking error: the standard deviation of that difference, times the square root of "
        "252; information ratio: their ratio (Grinold & Kahn 2000). The benchmark is bought "
        "and held over the test period, net of one purchase cost; it is not a portfolio of "
        "the run's assets, so a strategy can beat 1/N and still trail it."
    )
    fig.text(0.04, 0.85 - height, textwrap.fill(note, 150), fontsize=8, va="top", linespacing=1.5)
    return fig
