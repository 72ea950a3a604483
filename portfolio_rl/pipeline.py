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


def backtest_and_evaluate(
    exp: ExperimentConfig,
    prices: pd.DataFrame,
    benchmark: pd.Series | None,
    policies: list[Any],
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Walk forward with the baselines of ``exp`` plus ``policies``; measures and statistics."""
    from portfolio_rl.backtest.engine import run_backtest
    from portfolio_rl.backtest.runner import DEFAULT_STRATEGIES, build_baselines, evaluate
    from portfolio_rl.cli import _progress_bar

    names = list(exp.strategies or DEFAULT_STRATEGIES)
    strategies = [*build_baselines(names, exp.strategy_params, exp.backtest), *policies]
    with _progress_bar("backtest") as bar:
        task = bar.add_task("backtest", total=None)
        result = run_backtest(
            prices,
            strategies,
            exp.backtest,
            benchmark=benchmark if "benchmark" in names else None,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    metrics, stats = evaluate(result, rf=exp.rf, n_boot=exp.n_boot)
    return result, metrics, stats


def load_policies(folders: list[Path]) -> list[Any]:
    """Trained runs as strategies named after their algorithm (``grpo``), with the seed
    appended (``grpo_s1``) when several runs of one algorithm are given."""  # noqa: D205, D209
    from collections import Counter

    from portfolio_rl.agents.checkpoint import load_policy_strategy

    loaded = [load_policy_strategy(folder) for folder in folders]
    counts = Counter(p.name for p in loaded)
    for p in loaded:
        if counts[p.name] > 1:
            p.name = f"{p.name}_s{p.meta['seed']}"
    if len({p.name for p in loaded}) != len(loaded):
        raise ConfigError("two --policy runs have the same algorithm and seed")
    return loaded


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
    rf: float | None,
    out: Path | None,
    force: bool,
) -> None:
    """``portfolio-rl backtest``."""
    from portfolio_rl.backtest.runner import write_run
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
    loaded = load_policies(policies)
    run_dir = new_run_dir(out, "backtest", force=force)
    result, metrics, stats = backtest_and_evaluate(exp, price_frame, bench, loaded)
    config = exp.to_dict() | {
        "policies": {p.name: str(f) for p, f in zip(loaded, policies, strict=True)}
    }
    write_run(run_dir, result, metrics, stats, config)
    first = result.returns.index[0].date()
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
        exp = load_experiment(config)
        exp = replace(exp, data=replace(exp.data, prices=train_cfg.prices))
    else:
        exp = load_experiment(config)
        if prices is not None:
            exp = replace(exp, data=replace(exp.data, prices=prices, tickers=None))
        if train_end or val_end:
            from portfolio_rl.config import SplitConfig

            splits = {
                "train_end": train_end or exp.splits.train_end,
                "val_end": val_end or exp.splits.val_end,
            }
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


def seed_summary(
    metrics: pd.DataFrame,
    policy_names: dict[str, tuple[str, int]],
    wall_s: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per-seed test figures of the trained policies and their spread per algorithm.

    Returns one row per policy (``algo``, ``seed``, Sharpe, CAGR, max drawdown) followed by
    one ``<algo> (mean)`` row per algorithm with the mean, the sample std over seeds and a
    95% t-interval of the mean Sharpe.
    """
    from scipy import stats

    rows = []
    for name, (algo, seed) in policy_names.items():
        m = metrics.loc[name]
        rows.append(
            {
                "strategy": name,
                "algo": algo,
                "seed": seed,
                "sharpe": m["sharpe"],
                "cagr": m["cagr"],
                "max_drawdown": m["max_drawdown"],
                "train_wall_s": (wall_s or {}).get(name, float("nan")),
            }
        )
    frame = pd.DataFrame(rows)
    summary = []
    for algo, group in frame.groupby("algo", sort=False):
        sr = group["sharpe"].to_numpy()
        half = (
            stats.t.ppf(0.975, len(sr) - 1) * sr.std(ddof=1) / len(sr) ** 0.5
            if len(sr) > 1
            else float("nan")
        )
        summary.append(
            {
                "strategy": f"{algo} (mean)",
                "algo": algo,
                "seed": -1,
                "sharpe": sr.mean(),
                "sharpe_std": sr.std(ddof=1) if len(sr) > 1 else float("nan"),
                "sharpe_lo": sr.mean() - half,
                "sharpe_hi": sr.mean() + half,
                "cagr": group["cagr"].mean(),
                "max_drawdown": group["max_drawdown"].mean(),
                "train_wall_s": group["train_wall_s"].mean(),
            }
        )
    return pd.concat([frame, pd.DataFrame(summary)], ignore_index=True)


def auto_splits(prices: pd.DataFrame) -> Any:
    """Train / validation / test as the first 60% / next 20% / last 20% of the dates."""
    from portfolio_rl.config import SplitConfig

    dates = prices.index
    return SplitConfig(
        train_end=str(dates[int(len(dates) * 0.6)].date()),
        val_end=str(dates[int(len(dates) * 0.8)].date()),
    )


QUICK = {"seeds": (0, 1), "iterations": 20, "n_boot": 200}


def run_pipeline(
    *,
    config: Path | None,
    tickers: str | None,
    start: str | None,
    end: str | None,
    quick: bool,
    out: Path | None,
    pdf: Path | None,
    force: bool,
) -> tuple[Path, Path]:
    """``portfolio-rl run``: data -> train (algos x seeds) -> backtest -> stats -> PDF.

    Returns the run directory and the PDF path.
    """
    import time

    from portfolio_rl.agents.checkpoint import trainer
    from portfolio_rl.cli import print_metrics
    from portfolio_rl.config import DataConfig, RLConfig, default_config_path
    from portfolio_rl.paths import atomic_write, child_path, new_run_dir, reports_dir

    started = time.perf_counter()
    exp = load_experiment(config or default_config_path())
    if tickers:
        names = tuple(t.strip() for t in tickers.split(",") if t.strip())
        exp = replace(
            exp,
            data=DataConfig(prices="yfinance", tickers=names, start=start or "2010-01-01", end=end),
        )
    elif start or end:
        exp = replace(exp, data=replace(exp.data, start=start, end=end))
    if quick:
        exp = replace(
            exp,
            n_boot=QUICK["n_boot"],
            rl=RLConfig(
                algos=exp.rl.algos,
                seeds=QUICK["seeds"],
                train=dict(exp.rl.train) | {"iterations": QUICK["iterations"]},
            ),
        )
    source = ", ".join(exp.data.tickers) if exp.data.tickers else exp.data.prices
    _say(f"[1/4] loading data ({source})")
    prices, bench = load_data(exp.data, min_rows=600)
    if tickers:
        exp = replace(exp, splits=auto_splits(prices))
    exp = replace(exp, backtest=replace(exp.backtest, start=test_start(exp)))
    run_dir = new_run_dir(out, "run", force=force)
    pdf = pdf or child_path(reports_dir(), run_dir.name, ".pdf", what="report name")
    if pdf.exists() and not force:
        raise ConfigError(f"{pdf} already exists; pass --force to overwrite it")

    jobs = [(algo, seed) for algo in exp.rl.algos for seed in exp.rl.seeds]
    folders, policy_names, wall_s = [], {}, {}
    for i, (algo, seed) in enumerate(jobs, 1):
        _say(f"[2/4] training {algo} seed {seed} ({i}/{len(jobs)})")
        folder = run_dir / "policies" / f"{algo}-s{seed}"
        cfg = train_config_for(exp, algo, seed)
        res = trainer(algo)(cfg, prices, folder, progress=sys.stderr.isatty())
        _say(
            f"      best validation Sharpe {res.best_score:.2f} after {res.iterations_run} "
            f"iterations, {res.wall_s:.1f} s"
        )
        folders.append(folder)
        policy_names[f"{algo}_s{seed}"] = (algo, seed)
        wall_s[f"{algo}_s{seed}"] = res.wall_s

    _say(f"[3/4] walk-forward backtest from {exp.backtest.start} with every baseline")
    from portfolio_rl.agents.checkpoint import load_policy_strategy
    from portfolio_rl.backtest.runner import write_run

    policies = [
        load_policy_strategy(f, name) for f, name in zip(folders, policy_names, strict=True)
    ]
    result, metrics, stats = backtest_and_evaluate(exp, prices, bench, policies)
    seeds = seed_summary(metrics, policy_names, wall_s)
    elapsed = time.perf_counter() - started
    resolved = exp.to_dict() | {
        "policies": {
            n: str(f.relative_to(run_dir)) for n, f in zip(policy_names, folders, strict=True)
        },
        "data_range": [str(prices.index[0].date()), str(prices.index[-1].date())],
        "assets": list(prices.columns),
        "quick": quick,
        "train_and_backtest_s": round(elapsed, 1),
    }
    write_run(run_dir, result, metrics, stats, resolved)
    atomic_write(run_dir / "seeds.csv", lambda tmp: seeds.to_csv(tmp, index=False))

    _say(f"[4/4] writing the report to {pdf}")
    from portfolio_rl.report.pdf import make_report

    make_report(run_dir, pdf, force=force)
    print_metrics(
        metrics,
        title=f"test period {exp.backtest.start} .. "
        f"{prices.index[-1].date()}: net of {exp.backtest.cost_bps:g} bps costs",
    )
    from portfolio_rl.report.verdict import verdict

    print(verdict(metrics, stats, seeds))
    print(f"run directory: {run_dir}")
    print(f"report: {pdf}")
    return run_dir, pdf


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
