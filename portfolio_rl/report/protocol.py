"""What a run did, in words written from its own config: data, ranges, folds, costs, policies.

Never fixed text: a report of a run with 1-year folds and one with 5-year folds, or with
cash and without, each says what that run did.
"""

from __future__ import annotations

import pandas as pd

from portfolio_rl.agents.registry import ALGORITHMS, METHOD, ROBUST_METHOD
from portfolio_rl.conventions.mandate import Mandate
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
        + (f" ({risk_free['source']})" if risk_free.get("source") else "")
        if risk_free
        else f"rf = {cfg.get('rf', 0):.2%}"
    )
    cash_text = (
        "Cash is an asset: it earns the risk-free rate, trades free and is where every "
        "portfolio starts; baselines stay fully invested unless they time exposure."
        if cfg.get("cash")
        else "Always fully invested (no cash asset)."
    )
    mandate = Mandate(**cfg.get("constraints") or {})
    if mandate.binding:
        cash_text += (
            f" Mandate: {mandate.describe()}; every strategy met it at every rebalance "
            "(the optimizers solve with it, the other baselines and the RL policies' action "
            "transform project onto it, and the engine checks each decision)."
        )
    train = rl.get("train") or {}
    objective = train.get("val_objective", "auto").replace("_", " ")
    guided = train.get("steer", "none") != "none" or train.get("anchor", "none") != "none"
    if objective == "auto" and guided:
        objective = "Sharpe ratio (the test's measure; reward: the certainty equivalent)"
    elif objective == "auto":
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
        validation = rl.get("validation", "auto")
        if validation == "expanding" or (validation == "auto" and guided):
            later = (
                "each later fold trains that much later and validates from the same day to the "
                "day before it trades (an expanding window); "
            )
        else:
            later = "each later fold that much later; "
        training = (
            f"Walk-forward: {len(folds)} folds from {folds[0]}, retrained every "
            f"{rl.get('retrain_every', 12)} months; the first trains to {splits.get('train_end')} "
            f"and validates to {splits.get('val_end')}, {later}"
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
        + "".join(f" Another universe: {note}." for note in cfg.get("transfers") or [])
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


def glossary(names: list[str], config: dict) -> list[str]:
    """One line per strategy name in the report: what it is, from the code that defines it
    (a baseline's docstring, the algorithm registry, the anchor's parameters)."""  # noqa: D205, D209
    import inspect

    from portfolio_rl.baselines import BASELINES

    algos = {
        METHOD: "GRPO (DeepSeekMath's group-relative policy optimisation), the method",
        ROBUST_METHOD: "GRPO scored by a risk measure over S market scenarios per start",
        "ppo": "PPO with a value network and GAE, a baseline on the same data and policy",
        "reinforce": "REINFORCE with the batch mean as baseline, on the same data and policy",
    }
    lines = []
    for name in names:
        algo = next((a for a in ALGORITHMS if name == a or name.startswith(f"{a} (")), None)
        steer = ((config.get("rl") or {}).get("train") or {}).get("steer", "none")
        if algo is not None:
            what = algos.get(algo, algo)
            if algo == METHOD and steer != "none":
                what += (
                    f", steering {steer}: it chooses that optimizer's parameters at each "
                    f"decision (untrained, it is {steer})"
                )
            lines.append(f"{name}: {what}; one row per algorithm, the mean over its seeds.")
        elif name.startswith("anchor_"):
            spec = name.removeprefix("anchor_")
            what = "each fold's baseline chosen on validation" if spec == "auto" else spec
            lines.append(
                f"{name}: the weights an anchored policy starts from ({what}), "
                "decided every day from the window ending there, without the "
                "baseline's cost term, with 5% of 1/N mixed in and at most 95.3% invested; "
                "what the policy did before any update."
            )
        elif name == "benchmark":
            data = config.get("data", {})
            index = data.get("benchmark") or (
                "the S&P 500" if data.get("prices") == "sp500" else "the index"
            )
            lines.append(f"benchmark: {index}, bought and held (not a portfolio of these assets).")
        elif name in BASELINES:
            doc = inspect.getdoc(BASELINES[name][0]) or ""
            first = doc.split("\n\n")[0].replace("\n", " ").replace("``", "")
            params = BASELINES[name][1] | dict(config.get("strategy_params", {}).get(name, {}))
            extra = f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else ""
            lines.append(f"{name}: {first}{extra}")
    return lines


def fold_note(config: dict) -> str:
    """The walk-forward page's footnote, from the run's own folds and splits."""
    folds = config.get("folds") or []
    splits = config.get("splits", {})
    months = int(config.get("rl", {}).get("retrain_every", 12))
    val_days = (pd.Timestamp(splits["val_end"]) - pd.Timestamp(splits["train_end"])).days
    val = f"{val_days / 365.25:.1f}".removesuffix(".0")
    years = months / 12
    length = (
        f"{years:g} year{'s' if years != 1 else ''}" if months % 12 == 0 else f"{months} months"
    )
    half = 1.96 / years**0.5
    return (
        f"{len(folds)} folds from {folds[0] if folds else '?'}, retrained every {length}. Each "
        "fold's policy trades from its first day until the next fold's; it was trained on all "
        f"data up to {val} years before that day and validated on those {val} years (fold 1: "
        f"trained to {splits.get('train_end')}, validated to {splits.get('val_end')}), starting "
        f"from the previous fold's policy. One fold is {length} of returns: its Sharpe ratio "
        f"is noisy (about ±{half:.1f} at 95%). Pooled: the whole stitched test period."
    )
