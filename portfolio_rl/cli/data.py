"""``portfolio-rl data``: list, inspect and download price data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from portfolio_rl.cli import console
from portfolio_rl.cli.app import app, command

data_app = typer.Typer(help="List, inspect and download price data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("list")
@command
def data_list() -> None:
    """List the bundled datasets with their assets and date ranges."""
    from rich.console import Console
    from rich.table import Table

    from portfolio_rl.data.sources import BUNDLED, load_benchmark, load_prices

    table = Table(title="Bundled datasets")
    for col in ("name", "n", "first", "last", "rows", "benchmark", "assets"):
        table.add_column(col, overflow="fold")
    for name in BUNDLED:
        prices = load_prices(name)
        bench = load_benchmark(name)
        table.add_row(
            name,
            str(prices.shape[1]),
            str(prices.index[0].date()),
            str(prices.index[-1].date()),
            str(len(prices)),
            str(bench.name) if bench is not None else "-",
            " ".join(prices.columns),
        )
    Console().print(table)
    for spec in BUNDLED.values():
        print(f"  {spec.name}: {spec.description}")


@data_app.command("show")
@command
def data_show(
    source: Annotated[
        str, typer.Argument(help="Bundled name (sp500, factors) or a CSV/parquet file.")
    ],
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD.")] = None,
) -> None:
    """Summarise a price source: assets, dates, missing values, annualised return and vol."""
    from rich.console import Console
    from rich.table import Table

    from portfolio_rl.data.sources import load_prices, summarize

    prices = load_prices(source, start=start, end=end)
    summary = summarize(prices)
    table = Table(
        title=f"{source}: {prices.shape[1]} assets, {len(prices)} rows, "
        f"{prices.index[0].date()} .. {prices.index[-1].date()}"
    )
    for col in ("asset", "first", "last", "rows", "missing", "ann. return", "ann. vol"):
        table.add_column(col, justify="left" if col == "asset" else "right")
    for asset, row in summary.iterrows():
        table.add_row(
            str(asset),
            str(row["first"]),
            str(row["last"]),
            str(row["rows"]),
            str(row["missing"]),
            f"{row['ann_return']:.2%}",
            f"{row['ann_vol']:.2%}",
        )
    Console().print(table)


@data_app.command("download")
@command
def data_download(
    tickers: Annotated[list[str], typer.Argument(help="Yahoo tickers, e.g. AAPL MSFT SPY.")],
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")] = "2015-01-01",
    end: Annotated[str, typer.Option(help="End date (exclusive), YYYY-MM-DD.")] = "2024-12-31",
    out: Annotated[
        Path | None, typer.Option(help="Write the prices here; .csv, .csv.gz or .parquet.")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Cache folder (default $PORTFOLIO_RL_CACHE, else data/cache)."),
    ] = None,
    drop_missing: Annotated[
        bool, typer.Option(help="Drop tickers without data (with a warning) instead of failing.")
    ] = False,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries per ticker.")] = 3,
    force: Annotated[
        bool, typer.Option(help="Replace an existing file at --out (else it is refused).")
    ] = False,
) -> None:
    """Download adjusted daily closes with yfinance, through the per-ticker cache."""
    from portfolio_rl.data.checks import validate_prices
    from portfolio_rl.data.download import check_output, download_prices, write_prices
    from portfolio_rl.errors import DownloadError

    if out is not None:
        check_output(out)  # before the download, not after it
        if out.exists() and not force:
            raise DownloadError(f"{out} already exists; pass --force to replace it")
    with console.progress_bar("download", len(tickers)) as bar:
        raw = download_prices(
            tickers,
            start,
            end,
            cache=cache_dir,
            drop_missing=drop_missing,
            retries=retries,
            progress=bar,
        )
    prices = validate_prices(raw)
    if out is not None:
        write_prices(prices, out)
        print(f"wrote {prices.shape[1]} assets x {len(prices)} rows to {out}")
    else:
        print(prices.describe().T.to_string())
