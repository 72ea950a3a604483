"""One function per chart, quantstats-style: ``chart(data, ax, ...) -> None``.

Charts draw numbers they are given or that [`portfolio_rl.conventions.measures`][] computes;
they never define a measure of their own. Colours are fixed per strategy for the whole report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.agents.registry import ALGORITHMS
from portfolio_rl.conventions.measures import drawdown_frame, rolling_sharpe, wealth

#: Red, orange, purple (and more) for the RL algorithms, in registry order.
ALGO_COLOURS = dict(zip(ALGORITHMS, ("#d62728", "#ff7f0e", "#9467bd", "#8c2d04"), strict=False))
FIXED = {"equal_weight": "#7f7f7f", "benchmark": "#000000"}
#: Colours of the other strategies, in order: chosen greedily for the largest smallest
#: CIELAB distance (delta E 26 or more) from each other, the algorithms', 1/N's and the
#: benchmark's, so every strategy of a run with cash (thirteen baselines, an anchor) is its
#: own colour (a test checks it).
PALETTE = (
    "#2ca02c",
    "#1f77b4",
    "#c51b7d",
    "#17becf",
    "#bcbd22",
    "#637939",
    "#00796b",
    "#0b3d91",
    "#843c39",
    "#b8860b",
    "#e7969c",
    "#fdae6b",
    "#de9ed6",
    "#66c2a5",
)


def algo_of(name: str) -> str | None:
    """The RL algorithm of a strategy name (``grpo``, ``grpo_s3``, ``grpo (5 seeds)``)."""
    base = name.split(" (")[0].split("_s")[0]
    return base if base in ALGORITHMS else None


def colour_for(name: str, colour_of: dict[str, str]) -> str:
    """The strategy's colour, or its algorithm's for a summary row."""
    algo = algo_of(name)
    return colour_of.get(name) or (ALGO_COLOURS[algo] if algo else "black")


def colours(names: list[str]) -> dict[str, str]:
    """One colour per strategy, the same on every page."""
    out, i = {}, 0
    for name in names:
        if name in FIXED:
            out[name] = FIXED[name]
        elif algo_of(name) is not None:
            out[name] = ALGO_COLOURS[algo_of(name)]
        else:
            out[name] = PALETTE[i % len(PALETTE)]
            i += 1
    return out


def styles(name: str) -> dict[str, Any]:
    """Line style of a strategy: thin for RL seeds, bold for 1/N and the benchmark."""
    if algo_of(name) is not None:
        return {"lw": 1.0, "alpha": 0.75}
    if name in FIXED:
        return {"lw": 1.6, "ls": "--" if name == "equal_weight" else "-"}
    return {"lw": 1.0, "alpha": 0.9}


def pct_formatter() -> Any:
    """Axis ticks as whole percentages."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _legend(ax: Any, title: str | None = None) -> None:
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        title=title,
        title_fontsize=7,
    )


def lines(frame: pd.DataFrame, ax: Any, colour_of: dict[str, str]) -> None:
    """One line per strategy in its colour and style; an algorithm's seeds as one line (the
    mean over seeds) in a band (their range)."""  # noqa: D205, D209
    seeds: dict[str, list[str]] = {}
    for name in frame:
        algo = algo_of(name)
        if algo is None:
            ax.plot(frame.index, frame[name], color=colour_of[name], label=name, **styles(name))
        else:
            seeds.setdefault(algo, []).append(name)
    for algo, names in seeds.items():
        group = frame[names]
        colour = ALGO_COLOURS[algo]
        label = f"{algo} (mean of {len(names)} seeds)" if len(names) > 1 else names[0]
        ax.plot(group.index, group.mean(axis=1), color=colour, lw=1.4, label=label)
        if len(names) > 1:
            ax.fill_between(
                group.index, group.min(axis=1), group.max(axis=1), color=colour, alpha=0.2, lw=0
            )


def wealth_chart(returns: pd.DataFrame, ax: Any, colour_of: dict[str, str]) -> None:
    """Compounded wealth of each strategy, log scale, from 1."""
    from matplotlib.ticker import LogLocator, ScalarFormatter

    w = returns.apply(lambda c: pd.Series(wealth(c.to_numpy()), index=c.index))
    lines(w, ax, colour_of)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=()))
    ax.set_ylabel("wealth, log scale (start = 1)")
    ax.grid(alpha=0.3, which="both")
    _legend(ax)


def drawdown_chart(returns: pd.DataFrame, ax: Any, colour_of: dict[str, str]) -> None:
    """Drawdown from the running peak of each strategy."""
    lines(drawdown_frame(returns), ax, colour_of)
    _legend(ax, "drawdowns shown")
    ax.set_ylabel("drawdown from the running peak")
    ax.yaxis.set_major_formatter(pct_formatter())
    ax.grid(alpha=0.3)


def rolling_sharpe_chart(returns: pd.DataFrame, ax: Any, colour_of: dict[str, str]) -> None:
    """Trailing one-year Sharpe ratio of each strategy."""
    lines(rolling_sharpe(returns), ax, colour_of)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("rolling 252-day Sharpe")
    ax.grid(alpha=0.3)
    _legend(ax)


def annual_returns_heatmap(
    returns: pd.DataFrame, ax: Any, order: list[str], groups: dict[str, list[str]]
) -> Any:
    """Calendar-year returns, one row per strategy in ``order``; returns the image.

    A row named in ``groups`` is the mean of its columns' calendar-year returns: an
    algorithm's seeds are one row, as in the headline table (the appendix lists each seed).
    """
    annual = (1 + returns).groupby(returns.index.year).prod() - 1
    for label, columns in groups.items():
        annual[label] = annual[columns].mean(axis=1)
    data = annual.T.loc[order]
    lim = np.nanmax(np.abs(data.to_numpy()))
    im = ax.imshow(data.to_numpy(), cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
    # cell size in points decides the label size: readable (7 pt or more) or none at all
    box = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    cell_w, cell_h = 72 * box.width / data.shape[1], 72 * box.height / data.shape[0]
    size = min(8.0, cell_w / 3.4, cell_h * 0.7)
    step = max(1, int(np.ceil(7 / max(cell_w / 3.0, 1e-9)))) if size < 7 else 1
    years = [str(c) if k % step == 0 else "" for k, c in enumerate(data.columns)]
    ax.set_xticks(range(len(data.columns)), years, fontsize=7.5)
    ax.set_yticks(range(len(data.index)), data.index, fontsize=min(8.0, cell_h * 0.75))
    if size >= 7:
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                label = f"{data.iloc[i, j]:.0%}".replace("-0%", "0%")
                ax.text(j, i, label, ha="center", va="center", fontsize=size)
    ax.set_title("calendar-year returns (partial first/last years)", fontsize=9)
    return im


def asset_colours(n: int) -> list[Any]:
    """Colours for n assets whose neighbours differ (tab20 with the pairs split apart)."""
    import matplotlib as mpl

    cmap = mpl.colormaps["tab20"]
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [cmap(order[i % 20]) for i in range(n)]


#: The most assets the weights page draws one by one; the rest are summed into "other".
MAX_DRAWN_ASSETS = 20


def drawn_assets(frames: list[pd.DataFrame]) -> list[str]:
    """The assets the weights page draws: all of them, or the ``MAX_DRAWN_ASSETS - 1``
    with the largest mean weight over ``frames`` (cash always), in their column order."""  # noqa: D205, D209
    columns = list(frames[0].columns)
    if len(columns) <= MAX_DRAWN_ASSETS:
        return columns
    mean = pd.concat(frames).mean()
    top = set(mean.drop("cash", errors="ignore").nlargest(MAX_DRAWN_ASSETS - 1).index)
    return [c for c in columns if c in top or c == "cash"]


def with_other(weights: pd.DataFrame, drawn: list[str]) -> pd.DataFrame:
    """``weights`` on the ``drawn`` assets, plus ``other (N)``: the sum of the rest."""
    rest = [c for c in weights.columns if c not in drawn]
    if not rest:
        return weights[drawn]
    return weights[drawn].assign(**{f"other ({len(rest)})": weights[rest].sum(axis=1)})


def weights_chart(weights: pd.DataFrame, ax: Any, colours_: list[Any]) -> None:
    """Target weights at each rebalance, stacked."""
    ax.stackplot(weights.index, weights.T.to_numpy(), colors=colours_, step="post", lw=0)
    ax.set_ylim(0, 1)
    ax.tick_params(labelsize=7)
    ax.yaxis.set_major_formatter(pct_formatter())


def turnover_chart(metrics: pd.DataFrame, ax: Any, colour_of: dict[str, str]) -> None:
    """Annual one-way turnover and costs per strategy, as bars (an algorithm's seeds
    summarised in one row, as [`portfolio_rl.report.text.summarise_seeds`][] makes)."""  # noqa: D205, D209
    m = metrics.sort_values("turnover")
    y = np.arange(len(m))
    ax.barh(
        y - 0.2,
        m["turnover"],
        height=0.4,
        color=[colour_for(n, colour_of) for n in m.index],
        label="turnover (1-way / yr)",
    )
    ax.barh(y + 0.2, m["avg_cost"] * 100, height=0.4, color="#bbbbbb", label="cost (% / yr)")
    ax.set_yticks(y, m.index, fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7.5, loc="lower right", frameon=False)
    ax.set_title("turnover and costs", fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def training_curve(logs: dict[str, pd.DataFrame], key: str, ax: Any, title: str) -> None:
    """One logged figure against the iteration, one line per training run."""
    for name, log in logs.items():
        if key not in log:  # a run of 0 iterations logs its validation only
            continue
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


def seed_sharpe_chart(
    sharpes: dict[str, pd.DataFrame], references: dict[str, tuple[float, float, float]], ax: Any
) -> None:
    """Each seed's test Sharpe with its bootstrap 95% interval, per algorithm, beside the
    references' (1/N, the best robust baseline) intervals as shaded bands.

    ``sharpes[algo]`` has columns ``sharpe, lo, hi`` (one row per seed); a reference is
    ``(sharpe, lo, hi)``. The axis spans the intervals, so a gap of 0.01 looks like one.
    """  # noqa: D205
    for (label, (value, lo, hi)), style in zip(references.items(), ("--", ":"), strict=False):
        ax.axhline(value, color="black", ls=style, lw=1, label=f"{label} {value:.2f}")
        ax.axhspan(lo, hi, color="#999999", alpha=0.08, lw=0)
    for j, (algo, table) in enumerate(sharpes.items()):
        colour = ALGO_COLOURS.get(algo, "#333333")
        x = j + np.linspace(-0.25, 0.25, len(table))
        err = [table["sharpe"] - table["lo"], table["hi"] - table["sharpe"]]
        ax.errorbar(x, table["sharpe"], yerr=err, fmt="o", ms=3, color=colour, lw=1, capsize=2)
    ax.set_xticks(range(len(sharpes)), list(sharpes))
    ax.set_title("test Sharpe per seed, 95% bootstrap intervals", fontsize=9)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2)
    ax.grid(alpha=0.3)


def exposure_chart(held: dict[str, pd.Series], ax: Any, colour_of: dict[str, str]) -> None:
    """Share in risky assets at each rebalance, one step line per strategy."""
    for name, exposure in held.items():
        ax.step(
            exposure.index,
            exposure,
            where="post",
            color=colour_of[name],
            label=name,
            **styles(name),
        )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share in risky assets at each rebalance")
    ax.yaxis.set_major_formatter(pct_formatter())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="lower left")


def exposure_vs_volatility(
    held: dict[str, pd.Series], reference: pd.Series, ax: Any, colour_of: dict[str, str]
) -> None:
    """Exposure at each rebalance against the trailing 63-day volatility of 1/N's returns.

    A strategy that times risk slopes down: less exposure when the market is volatile.
    """
    vol = reference.rolling(63).std(ddof=1) * np.sqrt(252)
    for name, exposure in held.items():
        x = vol.reindex(exposure.index)
        mask = x.notna()
        ax.scatter(x[mask], exposure[mask], s=8, alpha=0.6, color=colour_of[name], label=name)
    ax.set_xlabel("1/N volatility over the previous 63 days (annualised)")
    ax.set_ylabel("share in risky assets")
    ax.xaxis.set_major_formatter(pct_formatter())
    ax.yaxis.set_major_formatter(pct_formatter())
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)


def fold_validation_chart(
    logs: dict[str, pd.DataFrame], references: dict[str, float], ax: Any, title: str
) -> None:
    """Walk-forward: each fold's validation scores side by side (x: iterations, fold after
    fold), with that fold's 1/N score as a dashed segment."""  # noqa: D205, D209
    offset = 0
    for k, (label, log) in enumerate(logs.items()):
        scored = log[log["val_score"].notna()]
        x = scored["iteration"] + 1 + offset
        ax.plot(x, scored["val_score"], marker="o", ms=2.5, lw=1, color=ALGO_COLOURS["grpo"])
        if label in references:
            span = [offset, offset + log["iteration"].max() + 1]
            ax.plot(
                span,
                [references[label]] * 2,
                color="black",
                ls="--",
                lw=1,
                label="1/N" if k == 0 else None,
            )
        offset += int(log["iteration"].max()) + 2
        ax.axvline(offset - 0.5, color="#cccccc", lw=0.6)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("iterations, fold after fold", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, frameon=False)


def interval_chart(
    table: pd.DataFrame, measure: str, ax: Any, colour_of: dict[str, str], percent: bool = False
) -> None:
    """A forest plot: one row per strategy, its point estimate and 95% interval.

    ``table`` has columns ``measure``, ``<measure>_lo`` and ``<measure>_hi``, indexed by
    strategy, drawn top to bottom in its order.
    """
    y = np.arange(len(table))[::-1]
    for yi, (name, row) in zip(y, table.iterrows(), strict=True):
        colour = colour_for(str(name), colour_of)
        err = [[row[measure] - row[f"{measure}_lo"]], [row[f"{measure}_hi"] - row[measure]]]
        ax.errorbar(row[measure], yi, xerr=err, fmt="o", ms=3.5, color=colour, lw=1.2, capsize=2)
    ax.set_yticks(y, [str(n) for n in table.index], fontsize=7)
    if percent:
        ax.xaxis.set_major_formatter(pct_formatter())
    ax.grid(axis="x", alpha=0.3)


def sweep_chart(trials: pd.DataFrame, column: str, ax: Any) -> None:
    """Each trial's validation score against one swept value; the chosen trials in red."""
    values = trials[column]
    numeric = pd.to_numeric(values, errors="coerce")
    x = numeric if numeric.notna().all() else values.astype(str)
    chosen = trials["chosen"].astype(bool)
    ax.scatter(x[~chosen], trials.loc[~chosen, "val_score"], s=14, color="#555555")
    ax.scatter(x[chosen], trials.loc[chosen, "val_score"], s=22, color="#d62728", label="chosen")
    if numeric.notna().all() and numeric.gt(0).all() and numeric.max() / numeric.min() > 20:
        ax.set_xscale("log")
    ax.set_title(column.removeprefix("param:"), fontsize=8)
    ax.set_ylabel("validation score", fontsize=8)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
