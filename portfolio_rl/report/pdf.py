"""Multi-page PDF report of a run directory (matplotlib, vector graphics).

Pages: summary (what was run, headline table, verdict); wealth and drawdowns; rolling
Sharpe and annual returns; weights over time, turnover and costs; RL training curves and
the spread over seeds; statistics; limitations. Everything is read from the run directory,
so ``portfolio-rl report RUN_DIR`` can redraw any run.
"""

from __future__ import annotations

import json
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.errors import PortfolioRLError
from portfolio_rl.paths import atomic_write
from portfolio_rl.report.verdict import best_robust, policy_rows, verdict

PAGE = (11.69, 8.27)  # A4 landscape, inches
ALGO_COLOURS = {"grpo": "#d62728", "ppo": "#ff7f0e", "reinforce": "#9467bd"}
FIXED = {"equal_weight": "#7f7f7f", "benchmark": "#000000"}
SECTIONS = (
    "Summary",
    "Wealth and drawdowns",
    "Rolling Sharpe and annual returns",
    "Weights, turnover and costs",
    "RL training",
    "Statistics",
    "Limitations",
)


# --------------------------------------------------------------------------- data


class Run:
    """The tables of a run directory."""

    def __init__(self, folder: Path) -> None:
        def csv(name: str, **kw: Any) -> pd.DataFrame | None:
            path = folder / name
            return pd.read_csv(path, **kw) if path.is_file() else None

        self.folder = folder
        try:
            self.returns = pd.read_csv(folder / "returns.csv", index_col=0, parse_dates=True)
            self.metrics = pd.read_csv(folder / "metrics.csv", index_col=0)
            self.stats = pd.read_csv(folder / "stats.csv", index_col=0)
            self.config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise PortfolioRLError(f"{folder} is not a complete run directory: {exc}") from None
        self.turnover = csv("turnover.csv", index_col=0, parse_dates=True)
        self.costs = csv("costs.csv", index_col=0, parse_dates=True)
        self.failures = csv("failures.csv")
        self.seeds = csv("seeds.csv")
        self.weights = {
            p.stem: pd.read_csv(p, index_col=0, parse_dates=True)
            for p in sorted((folder / "weights").glob("*.csv"))
        }
        self.logs: dict[str, pd.DataFrame] = {}
        for name, rel in (self.config.get("policies") or {}).items():
            log = folder / rel / "train_log.csv"
            if log.is_file():
                self.logs[name] = pd.read_csv(log)


def colours(names: list[str]) -> dict[str, str]:
    """One colour per strategy, the same on every page."""
    # dark, distinct colours that stay readable as text; red, orange and purple are kept
    # for the RL algorithms, grey and black for 1/N and the benchmark
    palette = [
        "#1f77b4",
        "#2ca02c",
        "#8c564b",
        "#e377c2",
        "#17becf",
        "#bcbd22",
        "#1b9e77",
        "#7570b3",
        "#a6761d",
        "#e7298a",
        "#66a61e",
        "#0b3d91",
        "#006d2c",
    ]
    out, i = {}, 0
    for name in names:
        algo = name.split("_s")[0]
        if name in FIXED:
            out[name] = FIXED[name]
        elif algo in ALGO_COLOURS:
            out[name] = ALGO_COLOURS[algo]
        else:
            out[name] = palette[i % len(palette)]
            i += 1
    return out


def _pct(v: float) -> str:
    return f"{v:.2%}" if np.isfinite(v) else "-"


def headline_table(metrics: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """The strings of the headline table, sorted by Sharpe ratio (as printed on page 1)."""
    rows = {}
    for name, m in metrics.sort_values("sharpe", ascending=False).iterrows():
        ci = ""
        if name in stats.index and "sharpe_lo" in stats:
            ci = f" [{stats.loc[name, 'sharpe_lo']:.2f}, {stats.loc[name, 'sharpe_hi']:.2f}]"
        rows[name] = {
            "CAGR": _pct(m["cagr"]),
            "Volatility": _pct(m["ann_vol"]),
            "Sharpe [95% CI]": f"{m['sharpe']:.2f}{ci}",
            "Sortino": f"{m['sortino']:.2f}",
            "Max drawdown": _pct(m["max_drawdown"]),
            "CVaR 95% (daily)": _pct(m["cvar_95"]),
            "Turnover (1-way/yr)": f"{m['turnover']:.2f}",
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------- pages


def _page(title: str, number: int, run: Run):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=PAGE)
    fig.text(0.04, 0.955, title, fontsize=17, weight="bold", color="#1f2d3d")
    fig.text(
        0.96,
        0.955,
        f"{run.config.get('name', 'run')}  ·  page {number}",
        fontsize=9,
        ha="right",
        color="#555555",
    )
    fig.add_artist(plt.Line2D([0.04, 0.96], [0.94, 0.94], color="#1f2d3d", lw=0.8))
    return fig


def _table(
    ax,
    frame: pd.DataFrame,
    colour_of: dict[str, str] | None = None,
    font: float = 8.0,
    first_col: str = "Strategy",
) -> None:
    """Draw ``frame`` filling ``ax``: rows share its height, columns sized by their text."""
    ax.axis("off")
    labels = [first_col, *frame.columns]
    cells = [[idx, *row] for idx, row in zip(frame.index, frame.to_numpy().tolist(), strict=True)]
    chars = [max(len(str(x)) for x in col) for col in zip(labels, *cells, strict=True)]
    widths = np.array(chars, dtype=float) + 2
    table = ax.table(
        cellText=cells,
        colLabels=labels,
        colWidths=list(widths / widths.sum()),
        bbox=[0, 0, 1, 1],
        cellLoc="right",
        colLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(font)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#dddddd")
        if r == 0:
            cell.set_facecolor("#1f2d3d")
            cell.set_text_props(color="white", weight="bold")
        elif r % 2 == 0:
            cell.set_facecolor("#f5f7fa")
        if c == 0 and r > 0:
            cell.set_text_props(
                ha="left", weight="bold", color=(colour_of or {}).get(cells[r - 1][0], "black")
            )
            cell._loc = "left"


def page_summary(run: Run, colour_of: dict[str, str]):
    """Page 1: what was run, headline table, verdict."""
    cfg = run.config
    fig = _page("Summary: GRPO allocation vs robust optimisation", 1, run)
    bt = cfg.get("backtest", {})
    data = cfg.get("data", {})
    splits = cfg.get("splits", {})
    rl = cfg.get("rl", {})
    r = run.returns
    source = ", ".join(data.get("tickers") or []) or data.get("prices", "?")
    assets = cfg.get("assets") or list(run.weights.get("equal_weight", pd.DataFrame()).columns)
    lines = [
        f"Data: {source} ({len(assets)} assets), prices {cfg.get('data_range', ['?', '?'])[0]} .. "
        f"{cfg.get('data_range', ['?', '?'])[1]}.  Train to {splits.get('train_end')}, validate to "
        f"{splits.get('val_end')}, test {r.index[0].date()} .. {r.index[-1].date()} "
        f"({len(r)} days, touched once).",
        f"Backtest: rebalance every {bt.get('rebalance_days')} trading days, "
        f"{bt.get('window')}-day {'expanding' if bt.get('expanding') else 'rolling'} window, "
        f"costs {bt.get('cost_bps')} bps "
        f"per unit of turnover (+{bt.get('impact_bps', 0)} bps square-law impact), rf = "
        f"{cfg.get('rf', 0):.2%}. Returns are daily, net of costs.",
        f"RL: {', '.join(rl.get('algos', []))} with seeds {rl.get('seeds')}; policies chosen on "
        f"validation Sharpe; deterministic (mean) allocations in the test. "
        f"Sharpe intervals: stationary bootstrap, 95%.",
    ]
    fig.text(
        0.04,
        0.915,
        "\n".join(textwrap.fill(x, 185) for x in lines),
        fontsize=8,
        va="top",
        linespacing=1.5,
    )
    table = headline_table(run.metrics, run.stats)
    height = min(0.57, 0.024 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.80 - height, 0.92, height])
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


def _wealth(r: pd.DataFrame) -> pd.DataFrame:
    return (1 + r).cumprod()


def _styles(name: str) -> dict[str, Any]:
    if name.split("_s")[0] in ALGO_COLOURS:
        return {"lw": 1.0, "alpha": 0.75}
    if name in FIXED:
        return {"lw": 1.6, "ls": "--" if name == "equal_weight" else "-"}
    return {"lw": 1.0, "alpha": 0.9}


def page_wealth(run: Run, colour_of: dict[str, str]):
    """Page 2: cumulative wealth (log scale) and drawdowns."""
    fig = _page("Wealth and drawdowns (test period, net of costs)", 2, run)
    w = _wealth(run.returns)
    from matplotlib.ticker import LogLocator, ScalarFormatter

    ax = fig.add_axes([0.08, 0.52, 0.68, 0.38])
    for name in w:
        ax.plot(w.index, w[name], color=colour_of[name], label=name, **_styles(name))
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=()))
    ax.set_ylabel("wealth, log scale (start = 1)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    ax2 = fig.add_axes([0.08, 0.08, 0.68, 0.36], sharex=ax)
    dd = w / np.maximum(w.cummax(), 1.0) - 1
    for name in _focus(run):
        ax2.plot(dd.index, dd[name], color=colour_of[name], label=name, **_styles(name))
    ax2.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        title="drawdowns shown",
        title_fontsize=7,
    )
    ax2.set_ylabel("drawdown from the running peak")
    ax2.yaxis.set_major_formatter(_pct_formatter())
    ax2.grid(alpha=0.3)
    return fig


def _pct_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _focus(run: Run) -> list[str]:
    """GRPO seeds, 1/N, the best robust baseline, min variance and the benchmark."""
    names = policy_rows(run.metrics, "grpo")
    for extra in ("equal_weight", best_robust(run.metrics), "min_variance", "benchmark"):
        if extra and extra in run.returns and extra not in names:
            names.append(extra)
    return names


def page_rolling(run: Run, colour_of: dict[str, str]):
    """Page 3: rolling one-year Sharpe and annual returns heatmap."""
    import matplotlib.pyplot as plt

    fig = _page("Rolling one-year Sharpe ratio and calendar-year returns", 3, run)
    ax = fig.add_axes([0.06, 0.56, 0.70, 0.34])
    r = run.returns
    roll = r.rolling(252).mean() / r.rolling(252).std() * np.sqrt(252)
    for name in _focus(run):
        ax.plot(roll.index, roll[name], color=colour_of[name], label=name, **_styles(name))
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("rolling 252-day Sharpe")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    annual = (1 + r).groupby(r.index.year).prod() - 1
    ax2 = fig.add_axes([0.16, 0.06, 0.78, 0.42])
    data = annual.T.loc[run.metrics.sort_values("sharpe", ascending=False).index]
    lim = np.nanmax(np.abs(data.to_numpy()))
    im = ax2.imshow(data.to_numpy(), cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
    ax2.set_xticks(range(len(data.columns)), [str(c) for c in data.columns], fontsize=7)
    ax2.set_yticks(range(len(data.index)), data.index, fontsize=6.5)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax2.text(j, i, f"{data.iloc[i, j]:.0%}", ha="center", va="center", fontsize=5.5)
    ax2.set_title("calendar-year returns (partial first/last years)", fontsize=9)
    plt.colorbar(im, ax=ax2, fraction=0.02, pad=0.01, format=_pct_formatter())
    return fig


def page_weights(run: Run, colour_of: dict[str, str]):
    """Page 4: weights over time for GRPO and the main baselines; turnover and costs."""
    import matplotlib as mpl

    fig = _page("Weights over time, turnover and costs", 4, run)
    grpo = policy_rows(run.metrics, "grpo")
    shown = [
        n
        for n in ([*grpo[:1], "min_variance", best_robust(run.metrics), "risk_parity"])
        if n and n in run.weights
    ][:4]
    assets = list(next(iter(run.weights.values())).columns) if run.weights else []
    asset_colours = [mpl.colormaps["tab20"](i % 20) for i in range(len(assets))]
    for i, name in enumerate(shown):
        ax = fig.add_axes([0.05 + (i % 2) * 0.36, 0.55 - (i // 2) * 0.42, 0.32, 0.33])
        wts = run.weights[name]
        ax.stackplot(wts.index, wts.T.to_numpy(), colors=asset_colours, step="post", lw=0)
        ax.set_ylim(0, 1)
        ax.set_title(
            f"{name}: target weights at each rebalance",
            fontsize=9,
            color=colour_of.get(name, "black"),
        )
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(_pct_formatter())
    if assets:
        handles = [
            mpl.patches.Patch(color=c, label=a) for a, c in zip(assets, asset_colours, strict=True)
        ]
        fig.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.05, 0.0),
            ncol=10,
            fontsize=6.5,
            frameon=False,
        )
    ax = fig.add_axes([0.79, 0.12, 0.18, 0.76])
    m = run.metrics.sort_values("turnover")
    y = np.arange(len(m))
    ax.barh(
        y - 0.2,
        m["turnover"],
        height=0.4,
        color=[colour_of[n] for n in m.index],
        label="turnover (1-way / yr)",
    )
    ax.barh(y + 0.2, m["avg_cost"] * 100, height=0.4, color="#bbbbbb", label="cost (% / yr)")
    ax.set_yticks(y, m.index, fontsize=6.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=6.5, loc="lower right", frameon=False)
    ax.set_title("turnover and costs", fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    return fig


def page_training(run: Run, colour_of: dict[str, str]):
    """Page 5: GRPO training curves and the spread of test Sharpe over seeds."""
    fig = _page("RL training curves (GRPO) and the spread over seeds", 5, run)
    panels = [
        ("reward_mean", "reward (mean outcome)"),
        ("kl", "KL to reference (k3)"),
        ("clip_ratio_high", "clip ratio (high + low)"),
        ("entropy", "policy entropy"),
        ("val_score", "validation Sharpe"),
    ]
    grpo_logs = {n: log for n, log in run.logs.items() if n.startswith("grpo")}
    for i, (key, title) in enumerate(panels):
        ax = fig.add_axes([0.05 + (i % 3) * 0.31, 0.53 - (i // 3) * 0.43, 0.26, 0.33])
        for name, log in grpo_logs.items():
            x = log["iteration"] + 1
            y = log[key] + (log["clip_ratio_low"] if key == "clip_ratio_high" else 0)
            mask = y.notna()
            ax.plot(
                x[mask],
                y[mask],
                lw=1,
                marker="o" if key == "val_score" else None,
                ms=3,
                label=name,
                alpha=0.8,
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == 0 and grpo_logs:
            ax.legend(fontsize=6.5, frameon=False)
        if not grpo_logs:
            ax.text(0.5, 0.5, "no GRPO training in this run", ha="center", transform=ax.transAxes)
    ax = fig.add_axes([0.67, 0.10, 0.29, 0.33])
    algos = [a for a in ALGO_COLOURS if policy_rows(run.metrics, a)]
    for j, algo in enumerate(algos):
        sr = run.metrics.loc[policy_rows(run.metrics, algo), "sharpe"]
        ax.scatter(np.full(len(sr), j), sr, color=ALGO_COLOURS[algo], zorder=3)
        ax.plot([j - 0.25, j + 0.25], [sr.mean()] * 2, color=ALGO_COLOURS[algo], lw=2)
    for ref, style in (("equal_weight", "--"), (best_robust(run.metrics), ":")):
        if ref and ref in run.metrics.index:
            ax.axhline(
                run.metrics.loc[ref, "sharpe"],
                color="black",
                ls=style,
                lw=1,
                label=f"{ref} ({run.metrics.loc[ref, 'sharpe']:.2f})",
            )
    ax.set_xticks(range(len(algos)), algos)
    ax.set_title("test Sharpe per seed (bar = mean)", fontsize=9)
    ax.legend(fontsize=6.5, frameon=False, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def page_stats(run: Run, colour_of: dict[str, str]):
    """Page 6: bootstrap intervals, Sharpe-difference tests, PSR and DSR."""
    fig = _page("Statistics", 6, run)
    s = run.stats.loc[run.metrics.sort_values("sharpe", ascending=False).index]
    cols = {
        "Sharpe": run.metrics["sharpe"].map("{:.2f}".format),
        "Sharpe 95% CI": [
            f"[{a:.2f}, {b:.2f}]" for a, b in zip(s["sharpe_lo"], s["sharpe_hi"], strict=True)
        ],
        "CAGR 95% CI": [
            f"[{a:.1%}, {b:.1%}]" for a, b in zip(s["cagr_lo"], s["cagr_hi"], strict=True)
        ],
    }
    table = pd.DataFrame(cols, index=s.index)
    for key, label in (
        ("sr_diff_vs_ew", "ΔSharpe vs 1/N"),
        ("p_vs_ew", "p vs 1/N"),
        ("sr_diff_vs_best_robust", "ΔSharpe vs best robust"),
        ("p_vs_best_robust", "p vs best robust"),
        ("psr", "PSR (SR>0)"),
        ("dsr", "DSR"),
    ):
        if key in s:
            table[label] = s[key].map("{:.2f}".format)
    height = min(0.68, 0.028 * (len(table) + 1))
    ax = fig.add_axes([0.04, 0.90 - height, 0.92, height])
    _table(ax, table, colour_of, font=7 if len(table) > 20 else 8)
    robust = best_robust(run.metrics)
    note = (
        "Confidence intervals: stationary bootstrap (Politis & Romano 1994; mean block 21 days, "
        f"{run.config.get('n_boot', 1000)} resamples). Sharpe differences: Jobson & Korkie (1981) "
        f"with Memmel's (2003) correction, two-sided, against equal weight and against the best "
        f"robust baseline by test Sharpe ({robust}). PSR: probability that the true Sharpe ratio "
        "is above 0 given skewness and kurtosis (Bailey & López de Prado 2012). DSR: PSR against "
        f"the expected maximum Sharpe ratio of {len(run.metrics)} strategies tried "
        "(Bailey & López de Prado 2014). Choosing the best robust baseline after the fact favours "
        "it: the test against it is conservative for GRPO."
    )
    fig.text(0.04, 0.17, textwrap.fill(note, 175), fontsize=8, va="top", linespacing=1.5)
    return fig


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
    else:
        out.append(
            "Downloaded data: adjusted closes from Yahoo Finance via yfinance, not "
            "audited; delistings are absent (survivorship bias)."
        )
    years = len(r) / 252
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
    n_rl = sum(len(policy_rows(run.metrics, a)) for a in ALGO_COLOURS)
    out.append(
        f"Multiple testing: {n} strategies (including {n_rl} trained policies over seeds) were "
        "compared on the same test period; the deflated Sharpe ratio accounts for this, the "
        "individual p-values do not."
    )
    grpo = policy_rows(run.metrics, "grpo")
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
    if run.failures is not None and len(run.failures):
        counts = run.failures.groupby("strategy").size()
        out.append(
            "Solver failures (previous weights kept): "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + "."
        )
    else:
        out.append("Solver failures: none (every optimisation returned an optimal solution).")
    out.append(
        "Model risk: features are price-only (momentum, volatility, drawdown); no fundamentals, "
        "news or regime information; the policy is retrained once, not walk-forward."
    )
    return out


def page_limitations(run: Run, colour_of: dict[str, str]):
    """Page 7: limitations generated from the run."""
    fig = _page("Limitations", 7, run)
    y = 0.90
    for item in limitations(run):
        text = textwrap.fill(item, 150)
        fig.text(0.05, y, "•", fontsize=11, va="top")
        fig.text(0.07, y, text, fontsize=10, va="top", linespacing=1.5)
        y -= 0.035 * (text.count("\n") + 1) + 0.03
    fig.text(
        0.05,
        0.04,
        f"Generated by portfolio-rl from {run.folder.name} on {datetime.now():%Y-%m-%d %H:%M}.",
        fontsize=8,
        color="#555555",
    )
    return fig


PAGES = (
    page_summary,
    page_wealth,
    page_rolling,
    page_weights,
    page_training,
    page_stats,
    page_limitations,
)


def make_report(run_dir: str | Path, pdf: str | Path, force: bool = False) -> Path:
    """Write the report of ``run_dir`` to ``pdf`` (atomically; never over a file unless forced)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    pdf = Path(pdf)
    if pdf.exists() and not force:
        raise PortfolioRLError(f"{pdf} already exists; pass --force to overwrite it")
    run = Run(Path(run_dir))
    colour_of = colours(list(run.returns.columns))
    meta = {
        "Title": f"portfolio-rl report: {run.config.get('name', 'run')}",
        "Author": "portfolio-rl",
        "Subject": "GRPO portfolio allocation vs robust-optimization baselines, walk-forward test",
        "Keywords": "GRPO, portfolio, robust optimization, backtest",
        "CreationDate": datetime.now(),
    }
    style = {
        "pdf.fonttype": 42,
        "font.family": "DejaVu Sans",
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }

    def write(tmp: Path) -> None:
        with plt.rc_context(style), PdfPages(tmp, metadata=meta) as doc:
            for page in PAGES:
                fig = page(run, colour_of)
                doc.savefig(fig)
                plt.close(fig)

    atomic_write(pdf, write)
    return pdf
