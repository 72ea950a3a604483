"""The work behind the commands: data -> (train) -> backtest -> metrics -> run directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.config import ExperimentConfig, load_experiment, replace
from portfolio_rl.errors import ConfigError


def load_data(data: Any, min_rows: int = 2) -> tuple[pd.DataFrame, pd.Series | None]:
    """Prices and benchmark of a :class:`~portfolio_rl.config.DataConfig`."""
    from portfolio_rl.datasets import load_benchmark, load_prices, validate_prices

    if data.tickers:
        from portfolio_rl.download import download_prices

        end = data.end or pd.Timestamp.today().strftime("%Y-%m-%d")
        raw = download_prices(
            data.tickers, data.start or "2000-01-01", end, progress=sys.stderr.isatty()
        )
        frame = validate_prices(raw)
        return load_prices(frame, min_rows=min_rows), None
    prices = load_prices(data.prices, start=data.start, end=data.end, min_rows=min_rows)
    bench = load_benchmark(data.prices)
    if bench is not None:
        bench = bench.reindex(prices.index).ffill()
    return prices, bench


def test_start(exp: ExperimentConfig) -> str:
    """First test date: the day after the validation range."""
    return str((pd.Timestamp(exp.splits.val_end) + pd.Timedelta(days=1)).date())


def backtest_experiment(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    policies: list[Path],
    out: Path,
    show_progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every strategy of ``exp`` (and the policies) and write the run directory."""
    from portfolio_rl.backtest.runner import (
        DEFAULT_STRATEGIES,
        build_baselines,
        evaluate,
        run,
        write_run,
    )

    names = list(exp.strategies or DEFAULT_STRATEGIES)
    strategies: list[Any] = build_baselines(names, exp.strategy_params, exp.backtest)
    policy_names = []
    for folder in policies:
        from portfolio_rl.agents.checkpoint import load_policy_strategy

        strat = load_policy_strategy(folder)
        strategies.append(strat)
        policy_names.append(strat.name)
    bench = benchmark if "benchmark" in names else None
    from portfolio_rl.cli import _progress_bar

    with _progress_bar("backtest") as bar:
        task = bar.add_task("backtest", total=None)
        result = run(
            prices,
            strategies,
            exp.backtest,
            benchmark=bench,
            progress=lambda done, total: (
                bar.update(task, completed=done, total=total) if show_progress else None
            ),
        )
    metrics, stats = evaluate(result, rf=exp.rf, n_boot=exp.n_boot)
    config = exp.to_dict() | {
        "policies": [str(p) for p in policies],
        "policy_strategies": policy_names,
    }
    write_run(out, result, metrics, stats, config)
    return metrics, stats


def run_backtest_command(
    *,
    config: Path | None,
    prices: str | None,
    strategies: str | None,
    policies: list[Path],
    start: str | None,
    end: str | None,
    window: int | None,
    expanding: bool,
    rebalance_days: int | None,
    cost_bps: float | None,
    rf: float,
    out: Path | None,
    force: bool,
) -> None:
    """``portfolio-rl backtest``."""
    from portfolio_rl.cli import print_metrics
    from portfolio_rl.paths import new_run_dir

    exp = load_experiment(config)
    if prices is not None:
        exp = replace(
            exp,
            data=replace(
                exp.data,
                prices=prices,
                tickers=None,
                start=None if config is None else exp.data.start,
            ),
        )
    if config is None and start is None:
        start = "2005-01-01"
    bt = exp.backtest
    bt_start = start or (test_start(exp) if config is not None else bt.start)
    try:
        bt = BacktestConfig(
            start=bt_start,
            end=end or bt.end,
            window=window or bt.window,
            expanding=expanding or bt.expanding,
            rebalance_days=rebalance_days or bt.rebalance_days,
            cost_bps=bt.cost_bps if cost_bps is None else cost_bps,
            impact_bps=bt.impact_bps,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = None
    if strategies is not None:
        names = tuple(s.strip() for s in strategies.split(",") if s.strip())
    exp = replace(exp, backtest=bt, rf=rf, strategies=names)
    price_frame, bench = load_data(exp.data)
    run_dir = new_run_dir(out, "backtest", force=force)
    metrics, _ = backtest_experiment(exp, price_frame, bench, policies, run_dir)
    first = pd.read_csv(run_dir / "returns.csv", index_col=0, nrows=1).index[0]
    print_metrics(
        metrics,
        title=f"walk-forward from {first} ({exp.data.prices}), "
        f"{bt.rebalance_days}-day rebalance, {bt.cost_bps:g} bps",
    )
    print(f"run directory: {run_dir}")


def train_config_for(exp: ExperimentConfig, algo: str, seed: int, **overrides: Any) -> Any:
    """The TrainConfig of an experiment: its data, splits, costs and ``rl.train`` settings."""
    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.config import from_mapping

    base = {
        "algo": algo,
        "seed": seed,
        "prices": exp.data.prices,
        "data_start": exp.data.start or "1900-01-01",
        "train_end": exp.splits.train_end,
        "val_end": exp.splits.val_end,
        "rebalance_days": exp.backtest.rebalance_days,
        "cost_bps": exp.backtest.cost_bps,
    }
    settings = base | dict(exp.rl.train) | {k: v for k, v in overrides.items() if v is not None}
    return from_mapping(TrainConfig, settings, where="rl.train")


def run_train_command(
    *,
    config: Path | None,
    prices: str | None,
    algo: str,
    train_end: str | None,
    val_end: str | None,
    iterations: int | None,
    seed: int,
    device: str,
    resume: Path | None,
    out: Path | None,
    force: bool,
) -> None:
    """``portfolio-rl train``."""
    import json

    from portfolio_rl.agents.checkpoint import trainer
    from portfolio_rl.agents.config import TrainConfig
    from portfolio_rl.config import from_mapping
    from portfolio_rl.paths import new_run_dir

    if resume is not None:
        cfg_path = Path(resume) / "config.json"
        if not cfg_path.is_file():
            raise ConfigError(f"nothing to resume in {resume}: config.json not found")
        train_cfg = from_mapping(TrainConfig, json.loads(cfg_path.read_text()), "config.json")
        if iterations is not None:
            train_cfg = replace(train_cfg, iterations=iterations)
        folder = Path(resume)
        exp = replace(load_experiment(config), data=replace(load_experiment(config).data,
                                                            prices=train_cfg.prices))
    else:
        exp = load_experiment(config)
        if prices is not None:
            exp = replace(exp, data=replace(exp.data, prices=prices, tickers=None))
        if train_end or val_end:
            from portfolio_rl.config import SplitConfig

            splits = {"train_end": train_end or exp.splits.train_end,
                      "val_end": val_end or exp.splits.val_end}
            exp = replace(exp, splits=from_mapping(SplitConfig, splits, "splits"))
        train_cfg = train_config_for(exp, algo, seed, iterations=iterations, device=device)
        folder = new_run_dir(out, f"train-{algo}-s{seed}", force=force)
    price_frame, _ = load_data(exp.data)
    result = trainer(train_cfg.algo)(
        train_cfg, price_frame, folder, resume=resume is not None, progress=sys.stderr.isatty()
    )
    print(
        f"{train_cfg.algo} seed {train_cfg.seed}: best validation Sharpe {result.best_score:.3f} "
        f"at iteration {result.best_iteration + 1}/{result.iterations_run} ({result.stopped}), "
        f"{result.wall_s:.1f} s"
    )
    print(f"run directory: {folder}  (use with: portfolio-rl backtest --policy {folder})")
