"""The page of a steered run: the parameters GRPO chose over time, and how far it went.

A steered policy chooses a baseline's parameters at each decision (``steering/<policy>.csv``
of the run folder); this page draws them beside the market's volatility (1/N's 63-day
realised volatility) and tables each seed's tracking error and drawdowns against its
comparator (the baseline it steers, or the experiment's comparator).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.conventions.measures import max_drawdown
from portfolio_rl.report.layout import page as _page
from portfolio_rl.report.layout import table as _table
from portfolio_rl.report.run import Run
from portfolio_rl.report.verdicts import comparator_of

#: How each chosen parameter is drawn: its label and whether on a log scale.
PANELS = {
    "risk_aversion": ("risk aversion λ", True),
    "kappa": ("uncertainty radius κ", True),
    "shrinkage": ("extra covariance shrinkage", False),
    "exposure": ("exposure (share in risky assets)", False),
}


def versus(returns: pd.DataFrame, names: list[str], reference: str) -> pd.DataFrame:
    """Each of ``names`` against ``reference``: tracking error (annualised std of the daily
    return difference), both max drawdowns and the max drawdown of the wealth ratio."""  # noqa: D205, D209
    rows = {}
    ref = returns[reference].to_numpy()
    for name in names:
        mine = returns[name].to_numpy()
        ratio = np.cumprod(1 + mine) / np.cumprod(1 + ref)
        rows[name] = {
            "Tracking error": f"{np.std(mine - ref, ddof=1) * np.sqrt(PERIODS):.2%}",
            "Max drawdown": f"{max_drawdown(mine):.2%}",
            f"{reference} max drawdown": f"{max_drawdown(ref):.2%}",
            "Max drawdown relative to it": f"{_relative_drawdown(ratio):.2%}",
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _parameter_panel(ax, series: dict[str, pd.Series]) -> None:
    """Each seed's choices (thin, a colour each) and their mean over seeds (black), each as
    its mean over the last 12 decisions (a year of monthly decisions) for readability."""  # noqa: D205, D209
    import matplotlib.dates as mdates
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    smooth = {n: s.rolling(12, min_periods=1).mean() for n, s in series.items()}
    for k, (name, values) in enumerate(smooth.items()):
        ax.plot(values.index, values, lw=0.7, color=palette(k % 10), label=name, alpha=0.8)
    if len(smooth) > 1:
        mean = pd.concat(smooth, axis=1).mean(axis=1)
        ax.plot(mean.index, mean, lw=1.6, color="black", label="mean")
    ax.xaxis.set_major_locator(mdates.YearLocator(10))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.tick_params(labelsize=7)
    if len(series) <= 6:
        ax.legend(fontsize=6, loc="best")


def _relative_drawdown(ratio: np.ndarray) -> float:
    """The largest fall of the wealth ratio from its running high."""
    return float(np.min(ratio / np.maximum.accumulate(ratio)) - 1)


def page_steering(run: Run, colour_of: dict[str, str]):
    """Steered runs: chosen parameters over time, market volatility, tracking error."""
    if not run.steering:
        return None
    names = [n for n in run.steering if n in run.returns]
    started = run.stats.get("anchor", pd.Series(dtype=object)).reindex(names).dropna()
    reference = comparator_of(run.stats) or next(
        (a for a in started.astype(str) if a in run.returns), None
    )
    fig = _page("Steered GRPO: the parameters it chose, and how far it went", run)
    shown = [k for k in PANELS if any(k in f for f in run.steering.values())]
    width = 0.88 / max(len(shown), 1)
    for k, key in enumerate(shown):
        ax = fig.add_axes([0.06 + k * width, 0.50, width - 0.045, 0.36])
        _parameter_panel(ax, {n: run.steering[n][key] for n in names if key in run.steering[n]})
        label, log = PANELS[key]
        ax.set_title(label, fontsize=9)
        if log:
            ax.set_yscale("log")
        if key == "exposure" and "equal_weight" in run.returns:
            vol = run.returns["equal_weight"].rolling(63).std() * np.sqrt(PERIODS)
            twin = ax.twinx()
            twin.plot(vol.index, vol, color="#888888", lw=0.7, alpha=0.8)
            twin.tick_params(labelsize=7, colors="#666666")
            twin.set_ylabel("1/N 63-day volatility (grey)", fontsize=7, color="#666666")
    if reference is not None and reference in run.returns:
        table = versus(run.returns, names, reference)
        height = min(0.30, 0.035 * (len(table) + 1))
        ax = fig.add_axes([0.06, 0.40 - height, 0.88, height])
        _table(ax, table, colour_of, first_col="Policy")
    note = (
        "Each decision's parameters are the mean action of the policy trading then (walk-"
        "forward: the fold's), drawn as the mean over the last 12 decisions, one colour a seed "
        "and their mean in black; the portfolio is the baseline solved with them on the window "
        "ending that day, scaled by the exposure with cash. Grey: the market's volatility. "
        f"Tracking error and drawdowns are against {reference}, over the test period."
    )
    fig.text(0.06, 0.05, textwrap.fill(note, 170), fontsize=8, va="bottom")
    return fig
