"""``portfolio-rl settings``: every training setting, its default, choices and help, by group."""

from __future__ import annotations

from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import app, command
from portfolio_rl.errors import ConfigError


def settings_markdown(group: str | None = None) -> str:
    """The training settings as markdown tables, one per group (what the docs include)."""
    from portfolio_rl.agents.config import GROUPS, TrainConfig
    from portfolio_rl.plumbing.markdown import markdown_table
    from portfolio_rl.plumbing.typed import settings_table

    rows = settings_table(TrainConfig)
    parts = []
    for name in GROUPS if group is None else (group,):
        mine = [r for r in rows if r["group"] == name]
        table = markdown_table(
            ["key", "default", "choices", "meaning"],
            [[f"`{r['name']}`", f"`{r['default']}`", r["choices"], r["help"]] for r in mine],
        )
        parts.append(f"### {name}\n\n{table}\n")
    return "\n".join(parts)


@app.command()
@command
def settings(
    group: Annotated[
        str | None,
        typer.Option(
            help="Only this group: data, GRPO, policy, schedule, selection, 'PPO only', "
            "'robust GRPO only' or run."
        ),
    ] = None,
    markdown: Annotated[
        bool, typer.Option(help="Markdown tables (what the docs include) instead of a table.")
    ] = False,
) -> None:
    """List every training setting (`rl.train:` in an experiment, `train --set KEY=VALUE`).

    Each setting's default, its choices or bounds, and what it does, grouped: GRPO's own,
    the policy, the schedule, selection on validation, PPO only and robust GRPO only.
    """
    from portfolio_rl.agents.config import GROUPS, TrainConfig
    from portfolio_rl.plumbing.typed import settings_table

    if group is not None and group not in GROUPS:
        raise ConfigError(f"unknown --group {group!r}: choose {', '.join(GROUPS)}")
    if markdown:
        print(settings_markdown(group))
        return
    rows = [r for r in settings_table(TrainConfig) if group is None or r["group"] == group]
    console.print_settings(rows)
