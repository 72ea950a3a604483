"""Pages only some runs have: exposure (cash runs), walk-forward folds, every seed."""

from __future__ import annotations

import textwrap

from portfolio_rl.report import charts
from portfolio_rl.report.layout import page as _page
from portfolio_rl.report.layout import table as _table
from portfolio_rl.report.run import Run
from portfolio_rl.report.text import headline_table


def page_exposure(run: Run, colour_of: dict[str, str]):
    """Cash runs: the share in risky assets over time, and against recent volatility."""
    held = {n: 1 - w["cash"] for n, w in run.weights.items() if "cash" in w and w["cash"].any()}
    if not held:
        return None
    fig = _page("Exposure: the share in risky assets (the rest earns the risk-free rate)", run)
    ax = fig.add_axes([0.06, 0.12, 0.52, 0.76])
    charts.exposure_chart(held, ax, colour_of)
    if "equal_weight" in run.returns:
        ax2 = fig.add_axes([0.66, 0.12, 0.30, 0.76])
        charts.exposure_vs_volatility(held, run.returns["equal_weight"], ax2, colour_of)
    return fig


def page_folds(run: Run, colour_of: dict[str, str]):
    """Walk-forward runs: each fold's test Sharpe beside the pooled one."""
    if run.folds is None or run.folds.empty:
        return None
    fig = _page("Walk-forward folds: test Sharpe ratio of each fold's trading period", run)
    table = run.folds.copy()
    for col in table.columns[2:]:
        label = f"{col} (mean of seeds)" if charts.algo_of(col) else col
        table[label] = table.pop(col).map("{:.2f}".format)
    table.index = [f"fold {i}" if i != "pooled" else "pooled" for i in table.index.astype(str)]
    height = min(0.70, 0.04 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.88 - height, 0.92, height])
    _table(ax, table, colour_of, first_col="Fold")
    note = (
        "Each fold's policy trades from its first day until the next fold's; it was trained on "
        "all data before the year before that and validated on the period just before it. "
        "One fold is a year of returns: its Sharpe ratio is very noisy (about ±1 at 95%). "
        "Pooled: the whole stitched test period."
    )
    fig.text(0.04, 0.86 - height, textwrap.fill(note, 175), fontsize=8, va="top")
    return fig


def page_seeds(run: Run, colour_of: dict[str, str]):
    """Appendix: the test figures of every trained policy, seed by seed."""
    table = headline_table(run.metrics, run.stats, by_seed=True)
    if table.empty:
        return None
    fig = _page("Appendix: every trained policy, seed by seed (test period)", run)
    height = min(0.80, 0.026 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.90 - height, 0.92, height])
    _table(ax, table, colour_of, font=7 if len(table) > 20 else 8)
    return fig
