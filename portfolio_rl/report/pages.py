"""The report's pages: each composes charts and text on one A4 landscape figure.

Pages: summary (what was run, headline table, verdict); wealth and drawdowns; rolling
Sharpe and annual returns; weights over time, turnover and costs; RL training curves and
the spread over seeds; statistics; limitations. Adding a page is one function here and
one entry in ``PAGES`` ([`portfolio_rl.report.pdf`][]); the pages that only some runs have
are in [`portfolio_rl.report.appendix`][].
"""

from __future__ import annotations

import textwrap
from datetime import datetime

import pandas as pd

from portfolio_rl.agents.config import objective_label
from portfolio_rl.agents.registry import ALGORITHMS, METHOD
from portfolio_rl.backtest.stats import STATS_FIELDS
from portfolio_rl.baselines import best_robust
from portfolio_rl.report import charts
from portfolio_rl.report.layout import PAGE
from portfolio_rl.report.layout import page as _page
from portfolio_rl.report.layout import table as _table
from portfolio_rl.report.protocol import glossary, protocol_lines
from portfolio_rl.report.run import Run
from portfolio_rl.report.text import (
    STATS_COLUMNS,
    headline_table,
    limitations,
    policy_rows,
    seed_label,
    seed_rows,
    stats_table,
    summarise_seeds,
)
from portfolio_rl.report.verdicts import verdict


def page_summary(run: Run, colour_of: dict[str, str]):
    """Page 1: what was run, headline table, verdict."""
    cfg = run.config
    policies = list(cfg.get("policies") or {})
    title = (
        "Summary: GRPO allocation vs robust optimisation"
        if policies
        else "Summary: walk-forward backtest of the baselines"
    )
    fig = _page(title, run)
    lines = protocol_lines(run)
    fig.text(
        0.04,
        0.915,
        "\n".join(textwrap.fill(x, 185) for x in lines),
        fontsize=8,
        va="top",
        linespacing=1.5,
    )
    table = headline_table(run.metrics, run.stats)
    height = min(0.52, 0.024 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.76 - height, 0.92, height])
    _table(ax, table, colour_of, font=7 if len(table) > 20 else 8)
    text = verdict(run.metrics, run.stats, run.seeds)
    fig.text(0.04, 0.205, "Verdict", fontsize=12, weight="bold", color="#1f2d3d")
    fig.text(
        0.04,
        0.18,
        "\n".join(textwrap.fill(x, 175) for x in text.splitlines()),
        fontsize=8.5,
        va="top",
        linespacing=1.5,
    )
    return fig


def page_wealth(run: Run, colour_of: dict[str, str]):
    """Page 2: cumulative wealth (log scale) and drawdowns."""
    fig = _page("Wealth and drawdowns (test period, net of costs)", run)
    ax = fig.add_axes([0.08, 0.52, 0.68, 0.38])
    charts.wealth_chart(run.returns, ax, colour_of)
    ax2 = fig.add_axes([0.08, 0.08, 0.68, 0.36], sharex=ax)
    charts.drawdown_chart(run.returns[_focus(run)], ax2, colour_of)
    return fig


def _focus(run: Run) -> list[str]:
    """GRPO seeds, 1/N, the best robust baseline, min variance and the benchmark."""
    names = policy_rows(run.metrics, METHOD)
    for extra in ("equal_weight", best_robust(run.metrics), "min_variance", "benchmark"):
        if extra and extra in run.returns and extra not in names:
            names.append(extra)
    return names


def page_rolling(run: Run, colour_of: dict[str, str]):
    """Page 3: rolling one-year Sharpe and annual returns heatmap."""
    import matplotlib.pyplot as plt

    fig = _page("Rolling one-year Sharpe ratio and calendar-year returns", run)
    ax = fig.add_axes([0.06, 0.56, 0.70, 0.34])
    charts.rolling_sharpe_chart(run.returns[_focus(run)], ax, colour_of)
    ax2 = fig.add_axes([0.16, 0.06, 0.78, 0.42])
    summary, _ = summarise_seeds(run.metrics)
    order = list(summary.sort_values("sharpe", ascending=False).index)
    groups = {seed_label(a, len(rows)): rows for a, rows in seed_rows(run.metrics).items()}
    im = charts.annual_returns_heatmap(run.returns, ax2, order, groups)
    plt.colorbar(im, ax=ax2, fraction=0.02, pad=0.01, format=charts.pct_formatter())
    return fig


def page_weights(run: Run, colour_of: dict[str, str]):
    """Page 4: weights over time for GRPO and the main baselines; turnover and costs."""
    import matplotlib as mpl

    fig = _page("Weights over time, turnover and costs", run)
    method = policy_rows(run.metrics, METHOD)
    shown = [
        n
        for n in ([*method[:1], "min_variance", best_robust(run.metrics), "risk_parity"])
        if n and n in run.weights
    ][:4]
    frames = [run.weights[n] for n in shown]
    drawn = charts.drawn_assets(frames) if frames else []
    frames = [charts.with_other(f, drawn) for f in frames]
    assets = list(frames[0].columns) if frames else []
    palette = charts.asset_colours(len(assets))
    for grey in ("cash", *assets[len(drawn) :]):  # cash and "other (N)"
        if grey in assets:
            palette[assets.index(grey)] = "#d9d9d9" if grey == "cash" else "#8c8c8c"
    for i, (name, frame) in enumerate(zip(shown, frames, strict=True)):
        ax = fig.add_axes([0.05 + (i % 2) * 0.36, 0.55 - (i // 2) * 0.42, 0.32, 0.33])
        charts.weights_chart(frame, ax, palette)
        ax.set_title(
            f"{name}: target weights at each rebalance",
            fontsize=9,
            color=colour_of.get(name, "black"),
        )
    if assets:
        handles = [
            mpl.patches.Patch(color=c, label=a) for a, c in zip(assets, palette, strict=True)
        ]
        fig.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.05, 0.0),
            ncol=10,
            fontsize=7.5,
            frameon=False,
        )
    summary, _ = summarise_seeds(run.metrics)
    charts.turnover_chart(summary, fig.add_axes([0.79, 0.12, 0.18, 0.76]), colour_of)
    return fig


def page_training(run: Run, colour_of: dict[str, str]):
    """GRPO training curves (validation against 1/N) and the spread of test Sharpe over seeds."""
    logs = {n: log for n, log in run.logs.items() if charts.algo_of(n) == METHOD}
    if not logs:
        return None
    folded = any(" fold " in n for n in logs)
    if folded:  # walk-forward: the folds of the first seed, one after the other
        first = next(iter(logs)).split(" fold ")[0]
        logs = {n: log for n, log in logs.items() if n.startswith(f"{first} fold ")}
    title = f"GRPO training ({first}, each fold)" if folded else "GRPO training"
    fig = _page(f"{title} and the spread over seeds", run)
    summaries = {n: run.summaries[n] for n in logs if n in run.summaries}
    first_summary = next(iter(summaries.values()), {})
    objective = objective_label(
        first_summary.get("val_objective", "sharpe"), first_summary.get("val_aggregate", "path")
    )
    references = {n: s["val_equal_weight"] for n, s in summaries.items() if "val_equal_weight" in s}
    panels = [
        ("reward_mean", "reward (mean outcome)"),
        ("kl", "KL to reference (k3)"),
        ("clip_ratio_high", "clip ratio (high + low)"),
        ("entropy", "policy entropy"),
        ("val_score", f"validation {objective} (first point: the start)"),
    ]
    for i, (key, title) in enumerate(panels):
        ax = fig.add_axes([0.05 + (i % 3) * 0.31, 0.53 - (i // 3) * 0.43, 0.26, 0.33])
        if key == "val_score" and folded:
            charts.fold_validation_chart(logs, references, ax, title)
            continue
        charts.training_curve(logs, key, ax, title)
        if key == "val_score" and references:
            ax.axhline(next(iter(references.values())), color="black", ls="--", lw=1, label="1/N")
        if i == 0 or key == "val_score":  # the folds (or seeds) are told apart here
            ax.legend(fontsize=7.5, frameon=False, ncol=2 if len(logs) > 4 else 1)

    def interval(names: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame({"sharpe": run.metrics.loc[names, "sharpe"]})
        if "sharpe_lo" in run.stats:
            frame["lo"], frame["hi"] = (
                run.stats.loc[names, "sharpe_lo"],
                run.stats.loc[names, "sharpe_hi"],
            )
        else:
            frame["lo"] = frame["hi"] = frame["sharpe"]
        return frame

    sharpes = {
        a: interval(policy_rows(run.metrics, a)) for a in ALGORITHMS if policy_rows(run.metrics, a)
    }
    references = {
        ref: tuple(interval([ref]).iloc[0])
        for ref in ("equal_weight", best_robust(run.metrics))
        if ref and ref in run.metrics.index
    }
    charts.seed_sharpe_chart(sharpes, references, fig.add_axes([0.67, 0.14, 0.29, 0.29]))
    return fig


def page_stats(run: Run, colour_of: dict[str, str]):
    """Page 6: bootstrap intervals, Sharpe-difference tests, PSR and DSR."""
    fig = _page("Statistics", run)
    table = stats_table(run.metrics, run.stats)
    height = min(0.68, 0.028 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.90 - height, 0.92, height])
    _table(ax, table, colour_of, font=7 if len(table) > 20 else 8)
    shown = [k for k, _ in STATS_COLUMNS if k in run.stats]
    labels = "; ".join(f"{STATS_FIELDS[k][0]}: {STATS_FIELDS[k][1]}" for k in shown)
    note = (
        f"{labels}. Intervals: stationary bootstrap (Politis & Romano 1994; mean block 21 days, "
        f"{run.config.get('n_boot', 1000)} resamples). Tests, two-sided: Ledoit & Wolf (2008) "
        "with a Parzen-kernel HAC covariance (fat tails and serial correlation allowed; the "
        "verdict quotes it) and Jobson & Korkie (1981) with Memmel's (2003) correction "
        "(i.i.d. normal returns). The best robust baseline is the one with the highest test "
        f"Sharpe ({best_robust(run.metrics)}): chosen after the fact, which favours it. DSR "
        f"counts the {len(run.metrics)} strategies of this table as the trials (Bailey & "
        "López de Prado 2012, 2014). An algorithm's row: the mean over its seeds, the widest "
        "of their intervals and the range of their p-values; the appendix has every seed. "
        "An empty cell: no such test (a strategy against itself)."
    )
    fig.text(0.04, 0.17, textwrap.fill(note, 175), fontsize=8, va="top", linespacing=1.5)
    return fig


def page_glossary(run: Run, colour_of: dict[str, str]):
    """What each strategy name in the report is, from the code that defines it."""
    names = list(summarise_seeds(run.metrics)[0].index)
    lines = glossary(names, run.config)
    fig = _page("The strategies in this report", run)
    size = 9 if len(lines) <= 18 else 7.5
    y = 0.90
    for line in lines:
        text = textwrap.fill(line, 190 if size < 9 else 160)
        fig.text(0.05, y, text, fontsize=size, va="top", linespacing=1.4)
        y -= (0.027 if size >= 9 else 0.022) * (text.count("\n") + 1) + 0.012
    return fig


def page_limitations(run: Run, colour_of: dict[str, str]):
    """Page 7: limitations generated from the run."""
    fig = _page("Limitations", run)
    y, line = 0.90, 10 * 1.5 / 72 / PAGE[1]  # a 10 pt line at 1.5 spacing, in page heights
    for item in limitations(run):
        text = textwrap.fill(item, 150)
        fig.text(0.05, y, "•", fontsize=11, va="top")
        fig.text(0.07, y, text, fontsize=10, va="top", linespacing=1.5)
        y -= line * (text.count("\n") + 1) + 0.025
    fig.text(
        0.05,
        0.04,
        f"Generated by portfolio-rl from {run.folder.name} on {datetime.now():%Y-%m-%d %H:%M}.",
        fontsize=8,
        color="#555555",
    )
    return fig
