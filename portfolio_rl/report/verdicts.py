"""The verdict: GRPO against the comparator named before the test, and the others.

The others are 1/N, the best robust baseline (chosen after the test, and said so) and the
optimizer a policy started from. Each sentence quotes the mean test Sharpe over seeds, how
many seeds were higher and the paired Ledoit-Wolf HAC p-value of each seed; a reference is
only "beaten" when most seeds are significantly better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.agents.registry import METHOD, ROBUST_METHOD
from portfolio_rl.baselines import FAILED_SHARE, best_robust, failed_strategies
from portfolio_rl.report.text import named_runs, policy_rows

ALPHA = 0.05


def compare(metrics: pd.DataFrame, stats: pd.DataFrame, algo: str, other: str, p_col: str) -> str:
    """One sentence on whether ``algo`` (over its seeds) beat ``other`` on test Sharpe."""
    rows = policy_rows(metrics, algo)
    sr = metrics.loc[rows, "sharpe"].to_numpy()
    ref = float(metrics.loc[other, "sharpe"])
    higher = int((sr > ref).sum())
    hac = p_col.replace("p_vs_", "p_hac_vs_")
    test = "Ledoit-Wolf HAC" if hac in stats else "Jobson-Korkie-Memmel"
    p_col = hac if hac in stats else p_col
    pvals = stats.loc[rows, p_col].to_numpy() if p_col in stats else np.full(len(rows), np.nan)
    significant_better = int(((sr > ref) & (pvals < ALPHA)).sum())
    significant_worse = int(((sr < ref) & (pvals < ALPHA)).sum())
    n = len(rows)
    if significant_better > n / 2:
        head = f"Yes: {algo.upper()} beat {other}"
    elif significant_worse > n / 2:
        head = f"No: {algo.upper()} did significantly worse than {other}"
    elif sr.mean() > ref:
        head = f"Not significantly: {algo.upper()} had a higher Sharpe ratio than {other}"
    else:
        head = f"No: {algo.upper()} did not beat {other}"
    p_text = ", ".join(f"{p:.2f}" for p in pvals)
    return (
        f"{head}. Mean test Sharpe {sr.mean():.3f} over {n} seed(s) vs {ref:.3f}; "
        f"{higher}/{n} seeds higher; {test} p-values {p_text} "
        f"(significant at {ALPHA:.0%}: {significant_better} better, {significant_worse} worse)."
    )


def comparator_of(stats: pd.DataFrame) -> str | None:
    """The comparator the run's experiment named before the test (``stats.csv``), if any."""
    names = stats.get("comparator", pd.Series(dtype=object)).dropna().astype(str)
    names = names[names != ""]
    return str(names.iloc[0]) if len(names) else None


def verdict(metrics: pd.DataFrame, stats: pd.DataFrame, seeds: pd.DataFrame | None = None) -> str:
    """The verdict paragraph of the report and the terminal: GRPO (and robust GRPO, when it
    ran) against the comparator named before the test, 1/N, the best robust baseline
    (chosen after the test, and said so) and the optimizer it started from.

    Examples
    --------
    >>> from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, run_backtest
    >>> from portfolio_rl.baselines import EqualWeight, MinVariance
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2016-01-01", end="2019-12-31")
    >>> strategies = [BaselineStrategy("1/N", EqualWeight()), BaselineStrategy("mv", MinVariance())]
    >>> result = run_backtest(prices, strategies, BacktestConfig(start="2018-01-01", cost_bps=10))
    >>> from portfolio_rl.backtest import compute_metrics, compute_stats
    >>> from portfolio_rl.report import verdict
    >>> metrics = compute_metrics(result.returns)
    >>> verdict(metrics, compute_stats(result.returns, reference="1/N", n_boot=100))
    'No GRPO policy was part of this run: no verdict on GRPO.'
    """  # noqa: D205
    failed = failed_strategies(metrics)
    lines = [
        f"Marked failed, and left out of every comparison: {', '.join(failed)} (more than "
        f"{FAILED_SHARE:.0%} of its decisions failed; its figures are the weights it kept)."
    ] if failed else []  # fmt: skip
    metrics = metrics.drop(index=failed)
    methods = [m for m in (METHOD, ROBUST_METHOD) if policy_rows(metrics, m)]
    methods += named_runs(metrics, METHOD)  # e.g. one GRPO per training universe
    if not methods:
        return "\n".join([*lines, "No GRPO policy was part of this run: no verdict on GRPO."])
    robust = best_robust(metrics)
    comparator = comparator_of(stats)
    comparator = comparator if comparator in metrics.index else None
    for method in methods:
        if comparator is not None:
            also = " (also the best robust baseline after the test)" if comparator == robust else ""
            lines.append(
                compare(metrics, stats, method, comparator, "p_vs_comparator").replace(
                    comparator, f"the comparator named before the test ({comparator}){also}", 1
                )
            )
        if "equal_weight" in metrics.index:
            lines.append(compare(metrics, stats, method, "equal_weight", "p_vs_ew"))
        if robust is not None and robust != comparator:
            lines.append(
                compare(metrics, stats, method, robust, "p_vs_best_robust").replace(
                    robust, f"the best robust baseline, chosen after the test ({robust})", 1
                )
            )
        anchors = stats.get("anchor", pd.Series(dtype=object)).reindex(policy_rows(metrics, method))
        anchor = anchors.dropna().astype(str).replace("", np.nan).dropna()
        if len(anchor) and anchor.iloc[0] in metrics.index and anchor.iloc[0] != comparator:
            name = anchor.iloc[0]
            lines.append(
                compare(metrics, stats, method, name, "p_vs_anchor").replace(
                    name, f"the optimizer it started from ({name})", 1
                )
            )
        row = seeds[seeds["strategy"] == f"{method} (mean)"] if seeds is not None else []
        if len(row) and "sharpe_lo" in row and np.isfinite(row["sharpe_lo"].iloc[0]):
            r = row.iloc[0]
            lines.append(
                f"{method.upper()}'s mean test Sharpe over seeds has a 95% t-interval of "
                f"[{r['sharpe_lo']:.2f}, {r['sharpe_hi']:.2f}] (seed spread sd "
                f"{r['sharpe_std']:.2f})."
            )
    return "\n".join(lines)


def seed_comparison(metrics: pd.DataFrame, stats: pd.DataFrame, algo: str = METHOD) -> pd.DataFrame:
    """Each seed of ``algo`` beside the comparator, 1/N, the best robust baseline and its
    anchor, as strings.

    The test Sharpe ratios and the paired Ledoit-Wolf HAC p-values; the comparator when the
    experiment named one, the best robust baseline when it is another, the anchor only when
    the policies had one.

    Returns
    -------
    DataFrame of shape (n_seeds, 1 + 2 per reference)
        Index: the policies (``grpo_s0``); columns: ``Sharpe``, then for each reference its
        Sharpe (headed by its name) and ``p vs <name> (HAC)``. Empty without ``algo``.
    """  # noqa: D205
    metrics = metrics.drop(index=failed_strategies(metrics))
    rows = policy_rows(metrics, algo)
    comparator = comparator_of(stats)
    refs = [(comparator, "comparator")] if comparator in metrics.index else []
    refs.append(("equal_weight", "ew"))
    robust = best_robust(metrics)
    if robust is not None and robust != comparator:
        refs.append((robust, "best_robust"))
    anchors = stats.get("anchor", pd.Series(dtype=object)).reindex(rows).dropna().astype(str)
    anchor = next((a for a in anchors if a in metrics.index), None)
    if anchor is not None and anchor not in {name for name, _ in refs}:
        refs.append((anchor, "anchor"))
    table = pd.DataFrame(index=rows)
    table["Sharpe"] = metrics.loc[rows, "sharpe"].map("{:.3f}".format)
    for name, key in refs:
        table[f"{name} Sharpe"] = f"{metrics.loc[name, 'sharpe']:.3f}"
        p = stats.reindex(rows).get(f"p_hac_vs_{key}", pd.Series(np.nan, index=rows))
        table[f"p vs {name} (HAC)"] = p.map(lambda v: f"{v:.2f}" if np.isfinite(v) else "")
    return table


def tail_verdict(metrics: pd.DataFrame) -> list[str]:
    """Plain words on robust GRPO's tails: its max drawdown and daily CVaR (95%) against
    GRPO, 1/N and the best robust baseline, as means over seeds (empty without it)."""  # noqa: D205, D209
    rows = policy_rows(metrics, ROBUST_METHOD)
    if not rows:
        return []
    others = {METHOD: policy_rows(metrics, METHOD)}
    others |= {n: [n] for n in ("equal_weight", best_robust(metrics)) if n in metrics.index}
    lines = []
    for measure, label in (("max_drawdown", "max drawdown"), ("cvar_95", "daily CVaR (95%)")):
        mine = metrics.loc[rows, measure].to_numpy()
        parts = []
        for name, other in others.items():
            if not other:
                continue
            ref = float(metrics.loc[other, measure].mean())
            better = int((mine > ref).sum())  # both are negative: higher is a smaller loss
            gap = mine.mean() - ref
            word = "smaller than" if gap > 0 else "larger than"
            word = "the same as" if abs(gap) < 5e-5 else word
            parts.append(f"{word} {name}'s {ref:.2%} ({better}/{len(mine)} seeds smaller)")
        lines.append(
            f"Robust GRPO's {label} was {mine.mean():.2%} on average over {len(mine)} seed(s): "
            + "; ".join(parts)
            + "."
        )
    return lines
