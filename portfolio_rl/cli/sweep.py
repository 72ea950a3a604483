"""``portfolio-rl sweep``: a search on Ray Tune, chosen on validation, tested once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import app, command


@app.command()
@command
def sweep(
    sweep_file: Annotated[
        Path,
        typer.Argument(
            help="A sweep YAML: an experiment config with a `sweep:` block (space, seeds, "
            "searcher); see backtests/sweep_example.yaml."
        ),
    ],
    address: Annotated[
        str | None,
        typer.Option(
            help="Attach to a running Ray cluster (`ray start --head` there, then e.g. "
            "auto or HOST:6379); default: start Ray on this machine."
        ),
    ] = None,
    max_concurrent: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Trials at once (default: one per CPU Ray can see)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted sweep in --out; finished trials stay.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Sweep folder (default backtests/runs/<name>-sweep)."),
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option(help="Report of the chosen configuration's test run.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing sweep folder that portfolio-rl wrote (its manifest.json); "
            "the old one is kept until the new sweep has finished, and a folder holding "
            "anything else is refused."
        ),
    ] = False,
) -> None:
    """Search training or strategy settings on validation (Ray Tune), then test the winner once."""
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.sweep_ray import run_sweep

    hooks = pipeline.Hooks(console.say, console.progress_bar)
    done = run_sweep(
        sweep_file,
        out=out,
        pdf=pdf,
        address=address,
        max_concurrent=max_concurrent,
        resume=resume,
        force=force,
        hooks=hooks,
    )
    shown = done.trials.drop(columns=["key"]).sort_values("val_score", ascending=False).round(4)
    console.print_table(shown.head(20), f"sweep: {len(shown)} trials (validation only)")
    w = done.winner
    console.say(
        f"chosen on validation: {w['params']} ({w['target']}); {w['n_trials']} trials, "
        f"winner's DSR {w['dsr']:.2f} (PSR {w['psr']:.2f})"
    )
    console.print_metrics(done.test.metrics, "test period, touched once by the chosen config")
    console.say(f"sweep: {done.folder}\nreport: {done.pdf}")
