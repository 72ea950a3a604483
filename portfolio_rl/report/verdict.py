"""Whether GRPO beat 1/N and the best robust baseline, in words, from a run's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.baselines import ROBUST

ALPHA = 0.05


def policy_rows(metrics: pd.DataFrame, algo: str) -> list[str]:
    """Strategy names of the trained policies of ``algo`` (``grpo`` or ``grpo_s<seed>``)."""
    return [n for n in metrics.index if n == algo or n.startswith(f"{algo}_s")]


def best_robust(metrics: pd.DataFrame) -> str | None:
    """The robust baseline with the highest test Sharpe ratio."""
    robust = [n for n in ROBUST if n in metrics.index]
    return str(metrics.loc[robust, "sharpe"].idxmax()) if robust else None


def compare(metrics: pd.DataFrame, stats: pd.DataFrame, algo: str, other: str, p_col: str) -> str:
    """One sentence on whether ``algo`` (over its seeds) beat ``other`` on test Sharpe."""
    rows = policy_rows(metrics, algo)
    sr = metrics.loc[rows, "sharpe"].to_numpy()
    ref = float(metrics.loc[other, "sharpe"])
    higher = int((sr > ref).sum())
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
        f"{higher}/{n} seeds higher; Jobson-Korkie-Memmel p-values {p_text} "
        f"(significant at {ALPHA:.0%}: {significant_better} better, {significant_worse} worse)."
    )


def verdict(metrics: pd.DataFrame, stats: pd.DataFrame, seeds: pd.DataFrame | None = None) -> str:
    """The verdict paragraph of the report and the terminal."""
    if not policy_rows(metrics, "grpo"):
        return "No GRPO policy was part of this run: no verdict on GRPO."
    lines = []
    if "equal_weight" in metrics.index:
        lines.append(compare(metrics, stats, "grpo", "equal_weight", "p_vs_ew"))
    robust = best_robust(metrics)
    if robust is not None:
        lines.append(
            compare(metrics, stats, "grpo", robust, "p_vs_best_robust").replace(
                robust, f"the best robust baseline ({robust})", 1
            )
        )
    if seeds is not None and "sharpe_lo" in seeds:
        row = seeds[seeds["strategy"] == "grpo (mean)"]
        if len(row) and np.isfinite(row["sharpe_lo"].iloc[0]):
            r = row.iloc[0]
            lines.append(
                f"GRPO's mean test Sharpe over seeds has a 95% t-interval of "
                f"[{r['sharpe_lo']:.2f}, {r['sharpe_hi']:.2f}] (seed spread sd "
                f"{r['sharpe_std']:.2f})."
            )
    return "\n".join(lines)
