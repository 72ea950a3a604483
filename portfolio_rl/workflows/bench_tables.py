"""The figures of ``portfolio-rl bench`` as tables: for the terminal and for the docs."""

from __future__ import annotations

import re
from typing import Any

#: What each figure of ``portfolio-rl bench`` measures, and its unit (``{s}``: S scenarios).
LABELS = {
    "env_steps_per_s": ("gymnasium env: steps per second, one env", "steps/s"),
    "sim_portfolio_steps_per_s": ("batched simulator: portfolio-steps per second", "steps/s"),
    "sim_buy_and_hold_ceiling_per_s": (
        "the limit: the same arrays held, no decisions (buy and hold)",
        "steps/s",
    ),
    "sim_batch": ("the simulator's batch", ""),
    "train_grpo_portfolio_days_per_s": (
        "GRPO training: portfolio-days simulated a second",
        "days/s",
    ),
    "train_grpo_s_per_iteration": ("GRPO training: one iteration", "s"),
    "train_batch": ("the training batch", ""),
    "robust_grpo_S{s}_portfolio_days_per_s": (
        "robust GRPO, S={s} scenarios: portfolio-days a second",
        "days/s",
    ),
    "robust_grpo_S{s}_s_per_iteration": ("robust GRPO, S={s} scenarios: one iteration", "s"),
    "seeds_one_s": ("one GRPO seed alone", "s"),
    "seeds_5_one_after_another_s": ("5 GRPO seeds one after another", "s"),
    "seeds_5_together_s": ("5 GRPO seeds trained together (one batched process)", "s"),
    "seeds_5_together_vs_one": ("5 seeds together against one alone (5x would be no gain)", "x"),
    "seeds_device": ("device of the seeds figures", ""),
    "process_backtest_min_variance_s": ("whole process: min_variance walk-forward, ours", "s"),
    "process_skfolio_walkforward_s": ("whole process: the same with skfolio (the peer)", "s"),
    "process_speedup": ("whole process: our speed-up over skfolio", "x"),
    "steer_table_ms_per_day": ("steered GRPO: the frontier table of one day", "ms"),
    "steer_table_days": ("steered GRPO: table days of one training", "days"),
    "train_steered_grpo_s_per_iteration": ("steered GRPO training: one iteration", "s"),
    "cluster_local_1_s": ("quick industries49 run in one process of this machine", "s"),
    "cluster_local_2_s": ("the same in this machine's pool of 2 processes", "s"),
    "cluster_local_speedup": ("2 local processes against 1 (this machine without Ray)", "x"),
    "cluster_1_node_s": ("the same on a Ray cluster of 1 one-CPU node (median of 2)", "s"),
    "cluster_2_node_s": ("the same on a Ray cluster of 2 one-CPU nodes (median of 2)", "s"),
    "cluster_speedup_2_over_1": ("2 nodes against 1 (the issue asks at least 1.7x)", "x"),
}


def label(key: str) -> tuple[str, str]:
    """The words and the unit of a figure's key (the key itself when it has no label)."""
    match = re.fullmatch(r"robust_grpo_S(\d+)_(\w+)", key)
    if match:
        text, unit = LABELS.get(f"robust_grpo_S{{s}}_{match.group(2)}", (key, ""))
        return text.format(s=match.group(1)), unit
    return LABELS.get(key, (key, ""))


def bench_tables(
    figures: dict[str, Any], repeats: int = 1
) -> list[tuple[str, list[str], list[list[str]]]]:
    """The figures of :func:`run_benchmarks` as ``(title, header, rows)`` tables of strings.

    What the terminal prints and ``bench --markdown`` writes: the throughput figures, then
    each model's walk-forward beside skfolio's when those ran.
    """
    tables = []
    plain = [
        [
            label(key)[0],
            f"{v:,.0f}"
            if isinstance(v, float) and v > 100
            else (f"{v:.3g}" if isinstance(v, float) else str(v)),
            label(key)[1],
        ]
        for key, v in figures.items()
        if not key.startswith(("wf_", "scale_")) and not re.fullmatch(r"process_\w+_\d+_\w+", key)
    ]
    if plain:
        title = "portfolio-rl bench (medians of repeats in one process)"
        tables.append((title, ["figure", "value", "unit"], plain))
    models = [k[3:-2] for k in figures if k.startswith("wf_") and k.endswith("_s")]
    models = [m for m in models if not m.endswith("_skfolio")]
    if models:
        rows = []
        for m in models:
            theirs = figures.get(f"wf_{m}_skfolio_s")
            rows.append(
                [
                    m,
                    str(figures[f"wf_{m}_rebalances"]),
                    f"{figures[f'wf_{m}_s']:.2f}",
                    "-" if theirs is None else f"{theirs:.2f}",
                    "-" if theirs is None else f"{figures[f'wf_{m}_speedup']:.1f}x",
                ]
            )
        title = "walk-forward 2005-2022 per model, seconds"
        title += f" (medians of {repeats})" if repeats > 1 else ""
        tables.append((title, ["model", "rebalances", "ours", "skfolio", "speed-up"], rows))
    from portfolio_rl.workflows.bench_scale import scale_tables

    return tables + scale_tables(figures)


def bench_markdown(figures: dict[str, Any], repeats: int = 1) -> str:
    """The tables of :func:`bench_tables` in markdown, each under its title."""
    from portfolio_rl.plumbing.markdown import markdown_table

    return (
        "\n\n".join(
            f"**{title}**\n\n{markdown_table(header, rows)}"
            for title, header, rows in bench_tables(figures, repeats)
        )
        + "\n"
    )
