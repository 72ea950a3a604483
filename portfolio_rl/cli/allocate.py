"""``portfolio-rl allocate``: the weights to hold after the latest close, and the trades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import CashFlag, app, command
from portfolio_rl.errors import ConfigError


@app.command()
@command
def allocate(
    policy: Annotated[
        Path | None, typer.Option(help="A trained policy (a folder from `portfolio-rl train`).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="A baseline by name (min_variance, equal_weight, ...).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Experiment YAML (data, backtest window, parameters).")
    ] = None,
    prices: Annotated[
        str | None, typer.Option(help="Price source: bundled name or CSV/parquet file.")
    ] = None,
    holdings: Annotated[
        Path | None,
        typer.Option(help="Current positions: a CSV with columns asset and value (money)."),
    ] = None,
    capital: Annotated[
        float | None,
        typer.Option(min=0, help="Money to allocate (default: the holdings' total)."),
    ] = None,
    cash: CashFlag = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the allocation here (.csv or .json).")
    ] = None,
) -> None:
    """Target weights after the latest close in the data (what the backtest would decide)."""
    import dataclasses

    from portfolio_rl.plumbing.files import atomic_write, atomic_write_text
    from portfolio_rl.plumbing.typed import replace
    from portfolio_rl.workflows.allocation import allocate as compute
    from portfolio_rl.workflows.allocation import read_holdings
    from portfolio_rl.workflows.experiment import load_experiment

    exp = load_experiment(config)
    if prices is not None:
        exp = replace(exp, data=dataclasses.replace(exp.data, prices=prices, tickers=None))
    exp = replace(exp, cash=cash)
    if out is not None and out.suffix not in (".csv", ".json"):
        raise ConfigError(f"--out {out}: use a .csv or .json file")
    current = read_holdings(holdings) if holdings is not None else None
    done = compute(exp, policy=policy, strategy=strategy, holdings=current, capital=capital)
    table = done.weights.round(4).to_frame()
    if done.trades is not None:
        table = table.join(done.trades.round(2))
    shown = table[(table["weight"] != 0) | (table.get("current", 0) != 0)]
    console.print_table(
        shown.reset_index(names="asset"),
        title=f"{done.strategy} after the close of {done.as_of.date()}",
    )
    for note in done.notes:
        console.warning(note)
    if done.stale_days > 5:
        console.warning(
            f"stale data: it ends {done.stale_days} days ago ({done.as_of.date()}), "
            "not a basis for trading today"
        )
    if done.cost is not None:
        print(f"turnover {done.turnover:.3f}, estimated cost {done.cost:,.2f} (cost model)")
    if out is not None:
        payload = {
            "strategy": done.strategy,
            "as_of": str(done.as_of.date()),
            "weights": {k: float(v) for k, v in done.weights.items()},
        }
        if out.suffix == ".json":
            atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
        else:
            atomic_write(out, lambda tmp: table.rename_axis("asset").to_csv(tmp))
        print(f"wrote {out}")
