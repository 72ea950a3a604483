"""What a run did, in words written from its own config: data, ranges, folds, costs, policies.

Never fixed text: a report of a run with 1-year folds and one with 5-year folds, or with
cash and without, each says what that run did.
"""

from __future__ import annotations

import pandas as pd

from portfolio_rl.report.run import Run


def protocol_lines(run: Run) -> list[str]:
    """What was run, in three paragraphs written from the run's own config: the data and the
    ranges (walk-forward folds or one split), the backtest and costs, and the RL policies."""  # noqa: D205, D209
    cfg = run.config
    policies = list(cfg.get("policies") or {})
    bt = cfg.get("backtest", {})
    data = cfg.get("data", {})
    splits = cfg.get("splits", {})
    rl = cfg.get("rl", {})
    r = run.returns
    source = ", ".join(data.get("tickers") or []) or data.get("prices", "?")
    assets = cfg.get("assets") or list(run.weights.get("equal_weight", pd.DataFrame()).columns)
    risk_free = cfg.get("risk_free") or {}
    rf_text = (
        f"risk-free rate {risk_free['annualised_mean']:.2%} a year over the test period"
        if risk_free
        else f"rf = {cfg.get('rf', 0):.2%}"
    )
    cash_text = (
        "Cash is an asset: it earns the risk-free rate, trades free and is where every "
        "portfolio starts; baselines stay fully invested unless they time exposure."
        if cfg.get("cash")
        else "Always fully invested (no cash asset)."
    )
    train = rl.get("train") or {}
    objective = train.get("val_objective", "auto").replace("_", " ")
    if objective == "auto":
        objective = "log growth"
        if "robust_grpo" in rl.get("algos", []):
            objective += " (robust_grpo: its risk measure over validation windows)"
    if train.get("val_aggregate", "path") != "path":
        objective += f", {train['val_aggregate'].replace('_', ' ')} of the validation years"
    first, last = cfg.get("data_range") or [r.index[0].date(), r.index[-1].date()]
    training = (
        f"Train to {splits.get('train_end')}, validate to {splits.get('val_end')}, "
        if cfg.get("quick") is not None
        else ""
    )
    folds = cfg.get("folds") or []
    if len(folds) > 1:
        training = (
            f"Walk-forward: {len(folds)} folds from {folds[0]}, retrained every "
            f"{rl.get('retrain_every', 12)} months; the first trains to {splits.get('train_end')} "
            f"and validates to {splits.get('val_end')}, each later fold that much later; "
        )
    once = ", touched once" if policies and not cfg.get("in_sample") else ""
    return [
        f"Data: {source} ({len(assets)} assets), prices {first} .. {last}.  {training}"
        f"test {r.index[0].date()} .. {r.index[-1].date()} ({len(r)} days{once}).",
        f"Backtest: rebalance every {bt.get('rebalance_days')} trading days, "
        f"{bt.get('window')}-day {'expanding' if bt.get('expanding') else 'rolling'} window, "
        f"costs {bt.get('cost_bps')} bps "
        f"per unit of turnover (+{bt.get('impact_bps', 0)} bps square-law impact), {rf_text} "
        f"(Sharpe and Sortino are in excess of it). Returns are daily, net of costs. {cash_text}",
        _policies_line(cfg, policies, rl, objective)
        + " Sharpe intervals: stationary bootstrap, 95%.",
    ]


def _policies_line(cfg: dict, policies: list[str], rl: dict, objective: str) -> str:
    """What the summary says of the trained policies the run holds."""
    if not policies:
        return "RL: no trained policy in this run."
    if cfg.get("quick") is not None:  # a `portfolio-rl run`: trained here over seeds
        what = f"{', '.join(rl.get('algos', []))} with seeds {rl.get('seeds')}, trained here"
    else:
        what = f"loaded from training runs: {', '.join(policies)}"
    text = (
        f"RL: {what}; policies chosen on validation {objective} (the untrained start is a "
        "candidate); deterministic (mean) allocations in the test."
    )
    if cfg.get("in_sample"):
        text += (
            f" In-sample (marked): {', '.join(cfg['in_sample'])} are tested on dates they "
            "were trained or validated on."
        )
    return text
