"""A run's results as markdown: the headline table and the verdict, for the docs and README.

The same tables and sentences as the PDF's first page (`portfolio_rl.report.text` and
`portfolio_rl.report.verdicts`), so a figure in the documentation is the run's own, never
typed by hand.
"""

from __future__ import annotations

from pathlib import Path

from portfolio_rl.plumbing.markdown import markdown_table
from portfolio_rl.report.protocol import protocol_lines
from portfolio_rl.report.run import Run
from portfolio_rl.report.text import headline_table
from portfolio_rl.report.verdicts import seed_comparison, verdict

#: The first line of ``report --markdown``'s file: ``--force`` replaces only such files.
MARKDOWN_MARK = b"<!-- portfolio-rl report --markdown"


def results_markdown(run_dir: str | Path) -> str:
    """The headline table, the protocol and the verdict of a run directory, in markdown.

    Parameters
    ----------
    run_dir : str or Path
        A directory written by ``portfolio-rl run`` or ``backtest``.

    Returns
    -------
    str
        A paragraph on the protocol (data, test range, folds, seeds, wall time), the
        headline table (one row per strategy, RL algorithms as means over seeds), the
        verdict as bullet points and GRPO seed by seed against 1/N, the best robust baseline
        and its anchor.
    """
    run = Run(Path(run_dir))
    table = headline_table(run.metrics, run.stats)
    rows = [[name, *row] for name, row in zip(table.index, table.to_numpy().tolist(), strict=True)]
    lines = [*protocol_lines(run)]
    wall = run.config.get("train_and_backtest_s")
    if wall is not None:
        lines[-1] += f" Training and backtest took {wall / 60:.1f} min."
    lines = [line + "\n" for line in lines]
    lines += [markdown_table(["strategy", *table.columns], rows), ""]
    said = verdict(run.metrics, run.stats, run.seeds)
    lines += ["**Verdict.**", ""] + [f"- {line}" for line in said.splitlines()]
    seeds = seed_comparison(run.metrics, run.stats)
    if not seeds.empty:
        rows = [[n, *r] for n, r in zip(seeds.index, seeds.to_numpy().tolist(), strict=True)]
        lines += ["", "**GRPO seed by seed** (test Sharpe; paired HAC p-values):", ""]
        lines += [markdown_table(["policy", *seeds.columns], rows)]
    return "\n".join(lines) + "\n"
