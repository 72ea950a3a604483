"""Pages only some runs have: exposure (cash runs), walk-forward folds, robust GRPO's
tails, a sweep's trials, every seed; GRPO against its references."""  # noqa: D205, D209

from __future__ import annotations

import textwrap

import pandas as pd

from portfolio_rl.agents.registry import METHOD, ROBUST_METHOD
from portfolio_rl.backtest.stats import tail_intervals
from portfolio_rl.baselines import ROBUST
from portfolio_rl.report import charts
from portfolio_rl.report.layout import page as _page
from portfolio_rl.report.layout import table as _table
from portfolio_rl.report.protocol import fold_note
from portfolio_rl.report.run import Run
from portfolio_rl.report.text import headline_table, policy_rows, stats_table
from portfolio_rl.report.verdicts import seed_comparison, tail_verdict


def page_against(run: Run, colour_of: dict[str, str]):
    """GRPO runs: each seed's test Sharpe beside the comparator's, 1/N's, the best robust
    baseline's and its anchor's, with the paired HAC p-values."""  # noqa: D205, D209
    table = seed_comparison(run.metrics, run.stats)
    if table.empty:
        return None
    fig = _page("GRPO seed by seed against its comparator, 1/N and the best robust baseline", run)
    height = min(0.60, 0.04 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.88 - height, 0.92, height])
    _table(ax, table, colour_of, first_col="Policy")
    note = (
        "Test-period Sharpe ratios (in excess of cash). p: two-sided Ledoit & Wolf (2008) test "
        "of equal Sharpe ratios on the paired daily returns, Parzen-kernel HAC covariance. The "
        "comparator is the strategy the experiment named before the test (compare_to). The "
        "best robust baseline is the one with the highest test Sharpe, chosen after the fact, "
        "which favours it (shown when it is not the comparator). An anchored policy starts "
        "from its anchor's weights and a steered one from its baseline: what it would have "
        "done without any training."
    )
    fig.text(0.04, 0.86 - height, textwrap.fill(note, 175), fontsize=8.5, va="top")
    return fig


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
    note = fold_note(run.config)
    fig.text(0.04, 0.86 - height, textwrap.fill(note, 175), fontsize=8, va="top")
    return fig


def page_robust(run: Run, colour_of: dict[str, str]):
    """Robust GRPO runs: Sharpe, daily CVaR and max drawdown with 95% intervals, each seed of
    robust GRPO and GRPO beside 1/N and the robust baselines, and the words."""  # noqa: D205, D209
    robust = policy_rows(run.metrics, ROBUST_METHOD)
    if not robust:
        return None
    others = ["equal_weight", *ROBUST]
    names = [*robust, *policy_rows(run.metrics, METHOD)]
    names += [n for n in others if n in run.metrics.index]
    tails = tail_intervals(run.returns[names], n_boot=int(run.config.get("n_boot", 1000)))
    tails.columns = ["cvar_95_lo", "cvar_95_hi", "max_drawdown_lo", "max_drawdown_hi"]
    table = pd.concat(
        [
            run.metrics.loc[names, ["sharpe", "cvar_95", "max_drawdown"]],
            run.stats.loc[names, ["sharpe_lo", "sharpe_hi"]],
            tails,
        ],
        axis=1,
    )
    fig = _page("Robust GRPO: returns and tails (test period)", run)
    panels = (
        ("sharpe", "test Sharpe ratio (excess of cash)", False),
        ("cvar_95", "daily CVaR 95% (mean of the worst 5% of days)", True),
        ("max_drawdown", "max drawdown", True),
    )
    for i, (measure, title, percent) in enumerate(panels):
        ax = fig.add_axes([0.13 + i * 0.29, 0.36, 0.24, 0.54])
        charts.interval_chart(table, measure, ax, colour_of, percent=percent)
        ax.set_title(title, fontsize=9)
        if i:
            ax.set_yticklabels([])
    cash = {
        algo: [run.weights[n]["cash"].mean() for n in rows if "cash" in run.weights.get(n, {})]
        for algo, rows in ((ROBUST_METHOD, robust), (METHOD, policy_rows(run.metrics, METHOD)))
    }
    held = [
        f"{a.replace('_', ' ')} {sum(v) / len(v):.0%}" for a, v in cash.items() if v
    ]  # the average share in cash over rebalances and seeds
    words = [
        *tail_verdict(run.metrics),
        *([f"Average share in cash (T-bills): {', '.join(held)}."] if held else []),
        "Points: each trained seed and each baseline on the test period; bars: 95% stationary-"
        "bootstrap intervals (mean block 21 days, the same resampled days for every strategy). "
        "CVaR and drawdown are losses: right is better.",
    ]
    fig.text(0.04, 0.27, "\n".join(textwrap.fill(w, 175) for w in words), fontsize=8.5, va="top")
    return fig


def page_sweep(run: Run, colour_of: dict[str, str]):
    """Sweep test runs: the validation score against each swept value, the choice, the trial
    count and the winner's deflated Sharpe ratio over every trial."""  # noqa: D205, D209
    if run.sweep is None or run.sweep_winner is None:
        return None
    table, winner = run.sweep, run.sweep_winner
    params = [c for c in table.columns if c.startswith("param:")]
    fig = _page(f"Sweep: {len(table)} trials, chosen on validation only", run)
    width = 0.88 / max(len(params), 1)
    for i, col in enumerate(params or ["val_score"]):
        ax = fig.add_axes([0.06 + i * width, 0.42, width - 0.05, 0.44])
        charts.sweep_chart(table, col, ax)
    metric = str(winner.get("metric", "log_growth")).replace("_", " ")
    words = [
        f"Chosen: {winner['params']} (target {winner['target']}), the best mean validation "
        f"{metric} over seeds {winner['seeds']}: {winner['val_score']:.3f}.",
        f"Trials: {winner['n_trials']}, every one counted by the deflated Sharpe ratio of the "
        f"winner's validation returns (Bailey & López de Prado 2014): DSR "
        f"{winner['dsr']:.2f}, PSR {winner['psr']:.2f}, validation Sharpe "
        f"{winner['val_sharpe_winner']:.2f}. A DSR below 0.95 means the winner's validation "
        "Sharpe ratio is within what the best of this many trials would show by luck.",
        "The test range was touched once, after the sweep, by the chosen configuration: "
        "the other pages of this report.",
    ]
    fig.text(0.04, 0.33, "\n".join(textwrap.fill(w, 170) for w in words), fontsize=9, va="top")
    return fig


def page_seeds(run: Run, colour_of: dict[str, str]):
    """Appendix: the test figures of every trained policy, seed by seed."""
    table = headline_table(run.metrics, run.stats, by_seed=True)
    if table.empty:
        return None
    fig = _page("Appendix: every trained policy, seed by seed (test period)", run)
    stats = stats_table(run.metrics, run.stats, by_seed=True)
    height = min(0.40, 0.022 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.92 - height, 0.92, height])
    _table(ax, table, colour_of, font=6.5 if len(table) > 16 else 8)
    ax = fig.add_axes([0.04, 0.46 - height, 0.92, height])
    _table(ax, stats, colour_of, font=6.5 if len(table) > 16 else 8)
    return fig
