"""The report's words and tables: the headline and statistics tables and the limitations.

The verdict's sentences are in [`portfolio_rl.report.verdicts`][]; the limitations are the
ones this run's data and results warrant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.agents.registry import ALGORITHMS, METHOD
from portfolio_rl.backtest.stats import STATS_FIELDS
from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.report.run import Run


def policy_rows(metrics: pd.DataFrame, algo: str) -> list[str]:
    """Strategy names of the trained policies of ``algo`` (``grpo`` or ``grpo_s<seed>``;
    ``grpo_sp500``, a run named after its folder, is not one of its seeds)."""  # noqa: D205, D209
    import re

    return [n for n in metrics.index if re.fullmatch(rf"{re.escape(algo)}(_s\d+)?", str(n))]


def named_runs(metrics: pd.DataFrame, algo: str) -> list[str]:
    """Policies of ``algo`` named after their folders (``grpo_sp500``: told apart from
    another run of the same seed, e.g. trained on another universe), each its own row."""  # noqa: D205, D209
    seeds = set(policy_rows(metrics, algo))
    return [n for n in metrics.index if str(n).startswith(f"{algo}_") and n not in seeds]


def _pct(v: float) -> str:
    return f"{v:.2%}" if np.isfinite(v) else "-"


def seed_rows(metrics: pd.DataFrame) -> dict[str, list[str]]:
    """The trained policies of each algorithm in ``metrics`` (algorithms with any)."""
    return {a: rows for a in ALGORITHMS if (rows := policy_rows(metrics, a))}


def seed_label(algo: str, k: int) -> str:
    """The row of an algorithm's k seeds summarised: ``grpo (5 seeds)``."""
    return f"{algo} ({k} seed{'s' if k > 1 else ''})"


def summarise_seeds(metrics: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Metrics with each algorithm's seeds replaced by one ``<algo> (k seeds)`` row of means
    (of flags such as ``failed``: whether any seed has it), and the sample std over seeds of
    each such row."""  # noqa: D205, D209
    groups = seed_rows(metrics)
    seeded = {n for rows in groups.values() for n in rows}
    flags = metrics.select_dtypes(bool).columns
    rows, spread = {}, {}
    for algo, names in groups.items():
        label, seeds = seed_label(algo, len(names)), metrics.loc[names]
        rows[label] = pd.concat([seeds.drop(columns=flags).mean(), seeds[flags].any()])
        spread[label] = seeds.std(ddof=1) if len(names) > 1 else None
    if not rows:
        return metrics.copy(), spread
    means = pd.DataFrame.from_dict(rows, orient="index", columns=metrics.columns)
    out = pd.concat([metrics.drop(index=list(seeded)), means.astype(dict.fromkeys(flags, bool))])
    return out, spread


def headline_table(
    metrics: pd.DataFrame, stats: pd.DataFrame, by_seed: bool = False
) -> pd.DataFrame:
    """The strings of the headline table, sorted by Sharpe ratio (as printed on page 1).

    One row per algorithm (means over seeds) and per baseline, every row with the same kind
    of interval: the stationary-bootstrap 95% interval of the Sharpe ratio (for an algorithm,
    the widest over its seeds, the hull); the spread over seeds is its own column. With
    ``by_seed``, one row per trained policy only (the appendix).
    """
    groups = seed_rows(metrics)
    if by_seed:
        metrics = metrics.loc[[n for rows in groups.values() for n in rows]]
        spread: dict[str, pd.Series | None] = {}
        members = {n: [n] for n in metrics.index}
    else:
        metrics, spread = summarise_seeds(metrics)
        members = {n: [n] for n in metrics.index}
        members |= {seed_label(a, len(rows)): rows for a, rows in groups.items()}
    rows = {}
    for name, m in metrics.sort_values("sharpe", ascending=False).iterrows():
        own = [n for n in members[name] if n in stats.index]
        ci = ""
        if own and "sharpe_lo" in stats:
            lo, hi = stats.loc[own, "sharpe_lo"].min(), stats.loc[own, "sharpe_hi"].max()
            ci = f"[{lo:.2f}, {hi:.2f}]"
        sd = spread.get(name)
        label = f"{name} (in-sample)" if bool(m.get("in_sample", False)) else name
        label = f"{label} (failed)" if bool(m.get("failed", False)) else label
        rows[label] = {
            "CAGR": _pct(m["cagr"]),
            "Volatility": _pct(m["ann_vol"]),
            "Sharpe": f"{m['sharpe']:.2f}",
            STATS_FIELDS["sharpe_ci"][0]: ci,
            "sd over seeds": "" if sd is None else f"{sd['sharpe']:.2f}",
            "Sortino": f"{m['sortino']:.2f}",
            "Max drawdown": _pct(m["max_drawdown"]),
            "CVaR 95% (daily)": _pct(m["cvar_95"]),
            "Turnover (1-way/yr)": f"{m['turnover']:.2f}",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table if spread else table.drop(columns="sd over seeds", errors="ignore")


#: Columns of the statistics tables: (stats.csv key, how an algorithm's seeds are summarised:
#: their mean, or the range of their p-values); labels from ``STATS_FIELDS``.
STATS_COLUMNS = (
    ("sr_diff_vs_comparator", "mean"),
    ("p_hac_vs_comparator", "range"),
    ("sr_diff_vs_ew", "mean"),
    ("p_hac_vs_ew", "range"),
    ("p_vs_ew", "range"),
    ("sr_diff_vs_best_robust", "mean"),
    ("p_hac_vs_best_robust", "range"),
    ("p_vs_best_robust", "range"),
    ("sr_diff_vs_anchor", "mean"),
    ("p_hac_vs_anchor", "range"),
    ("psr", "mean"),
    ("dsr", "mean"),
)


def stats_table(metrics: pd.DataFrame, stats: pd.DataFrame, by_seed: bool = False) -> pd.DataFrame:
    """The strings of the statistics table, sorted by Sharpe ratio.

    One row per baseline and per algorithm: an algorithm's row has the mean over its seeds
    of the Sharpe ratio, its differences, PSR and DSR, the widest of their bootstrap
    intervals (the hull) and the range ``lo-hi`` of their p-values. With ``by_seed``, one
    row per trained policy only (the appendix).
    """
    groups = seed_rows(metrics)
    seeded = [n for rows in groups.values() for n in rows]
    singles = seeded if by_seed else [n for n in metrics.index if n not in set(seeded)]
    units = {n: [n] for n in singles}
    if not by_seed:
        units |= {seed_label(a, len(rows)): rows for a, rows in groups.items()}
    order = sorted(units, key=lambda u: -metrics.loc[units[u], "sharpe"].mean())
    out = {}
    for unit in order:
        rows, st = units[unit], stats.loc[units[unit]]
        sharpe_ci = f"[{st['sharpe_lo'].min():.2f}, {st['sharpe_hi'].max():.2f}]"
        row = {
            "Sharpe": f"{metrics.loc[rows, 'sharpe'].mean():.2f}",
            STATS_FIELDS["sharpe_ci"][0]: sharpe_ci,
            STATS_FIELDS["cagr_ci"][0]: f"[{st['cagr_lo'].min():.1%}, {st['cagr_hi'].max():.1%}]",
        }
        for key, how in STATS_COLUMNS:
            if key not in st:
                continue
            values = st[key].dropna()
            if values.empty:
                row[STATS_FIELDS[key][0]] = ""
            elif how == "mean" or len(values) == 1:
                row[STATS_FIELDS[key][0]] = _num(values.mean())
            else:
                row[STATS_FIELDS[key][0]] = f"{values.min():.2f}-{values.max():.2f}"
        out[unit] = row
    return pd.DataFrame.from_dict(out, orient="index")


def _num(x: float) -> str:
    """Two decimals, without a sign on a zero (``-0.00``)."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def limitations(run: Run) -> list[str]:
    """The limitations that this run's data and results warrant."""
    cfg = run.config
    data = cfg.get("data", {})
    bt = cfg.get("backtest", {})
    r = run.returns
    out = []
    if data.get("prices") in ("sp500", "factors") and not data.get("tickers"):
        out.append(
            "Survivorship bias: the bundled stocks are companies that still existed when the data "
            "set was made; a real investor of the time could not have picked exactly these. All "
            "strategies share the bias, so the comparison between them is fairer than their levels."
        )
        out.append(
            "Stale and rounded data: prices end on 2022-12-28 and are rounded to 3 decimals "
            "(early split-adjusted prices below 1.00 have quantised returns). Research use only."
        )
    elif data.get("prices") == "industries49" and not data.get("tickers"):
        out.append(
            "Industry portfolios: Kenneth French's 49 value-weighted US industries hold every "
            "stock of their industry as it was listed, so there is no survivorship bias, but "
            "they are not investable as such (one would trade hundreds of stocks, or imperfect "
            f"sector funds), and the trading inside each portfolio is free; the "
            f"{bt.get('cost_bps')} bps cost is an assumption, not a quote."
        )
    elif data.get("tickers"):
        out.append(
            "Downloaded data: adjusted closes from Yahoo Finance via yfinance, not "
            "audited; delistings are absent (survivorship bias)."
        )
    else:
        out.append(
            f"Your price file ({data.get('prices')}): checked for gaps, bad values and stale "
            "series on load, nothing more; whether it is free of survivorship bias depends on "
            "how its assets were chosen."
        )
    years = len(r) / PERIODS
    out.append(
        f"Sample period: one test window, {r.index[0].date()} .. {r.index[-1].date()} "
        f"({years:.1f} years, one market history). Sharpe intervals are wide at this length "
        "(see the statistics page); a different period may rank the strategies differently."
    )
    out.append(
        f"Costs: {bt.get('cost_bps')} bps per unit of turnover charged at the rebalance close, "
        f"+{bt.get('impact_bps', 0)} bps square-law impact; no borrowing, shorting, taxes, or "
        "intraday execution: trades fill at the close whose prices the decision saw."
    )
    n = len(run.metrics)
    n_rl = sum(len(policy_rows(run.metrics, a)) for a in ALGORITHMS)
    out.append(
        f"Multiple testing: {n} strategies (including {n_rl} trained policies over seeds) were "
        "compared on the same test period; the deflated Sharpe ratio accounts for this, the "
        "individual p-values do not."
    )
    grpo = policy_rows(run.metrics, METHOD)
    if grpo and "equal_weight" in run.metrics.index:
        gap = run.metrics.loc[grpo, "sharpe"].mean() - run.metrics.loc["equal_weight", "sharpe"]
        if abs(gap) < 0.1:
            out.append(
                "GRPO's test Sharpe is within 0.1 of 1/N: the trained policies stay close to equal "
                "weight, which is consistent with how hard 1/N is to beat out of sample "
                "(DeMiguel, Garlappi & Uppal 2009)."
            )
    if run.seeds is not None and len(grpo) < 5:
        out.append(f"Seeds: {len(grpo)} GRPO seed(s); the seed interval is rough with so few.")
    summaries = getattr(run, "summaries", {})
    kept = [name for name, s in summaries.items() if int(s.get("best_iteration", 0)) < 0]
    if kept:
        out.append(
            f"Untrained starts: validation kept the starting policy in {len(kept)} of the "
            f"{len(summaries)} trainings (no iteration beat it; such a policy decides 1/N, "
            "its anchor's weights or the previous fold's policy): " + ", ".join(kept)[:400]
        )
    if cfg.get("diverged_folds"):
        out.append(
            f"Training diverged in {len(cfg['diverged_folds'])} walk-forward fold(s) (KL to the "
            "reference above max_kl); each kept its starting policy, the previous fold's: "
            + "; ".join(cfg["diverged_folds"])[:400]
        )
    if run.failures is not None and len(run.failures):
        counts = run.failures.groupby("strategy").size()
        rebalances = len(run.turnover) if run.turnover is not None else 0
        mostly = [k for k, v in counts.items() if rebalances and v > rebalances / 2]
        out.append(
            "Solver failures (previous weights kept): "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + (f" of {rebalances} rebalances." if rebalances else ".")
            + (
                f" {', '.join(mostly)} failed more often than not: its results say little "
                "about the model (check its solver and parameters)."
                if mostly
                else ""
            )
        )
    else:
        out.append("Solver failures: none (every optimisation returned an optimal solution).")
    folds = cfg.get("folds") or []
    training = (
        f"the policies are retrained walk-forward ({len(folds)} folds from {folds[0]}, each on "
        "all data before it, warm-started from the previous fold)"
        if len(folds) > 1
        else "the policies are trained once, before the test range"
    )
    out.append(
        "Model risk: features are price-only (momentum, volatility, drawdown, and the same for "
        f"the equal-weight index); no fundamentals, news or macro information; {training}."
    )
    return out
