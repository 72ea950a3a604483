"""The shipped experiment files as one table, for the docs (so no page restates a config)."""

from __future__ import annotations

from pathlib import Path

from portfolio_rl.plumbing.markdown import markdown_table


def experiments_markdown(folder: Path) -> str:
    """One row per experiment YAML in ``folder`` (sweep files aside): its data, splits,
    walk-forward folds, algorithms and seeds, and its comparator, as the code reads them."""  # noqa: D205, D209
    from portfolio_rl.data.sources import load_prices
    from portfolio_rl.plumbing.typed import load_yaml
    from portfolio_rl.workflows.experiment import load_experiment, train_config_for
    from portfolio_rl.workflows.folds import fold_starts, test_start

    rows = []
    for path in sorted(Path(folder).glob("*.yaml")):
        if "sweep" in (load_yaml(path) or {}):
            continue
        exp = load_experiment(path)
        prices = load_prices(exp.data.prices, start=exp.data.start, end=exp.data.end)
        starts = fold_starts(exp, prices) if exp.rl.walk_forward else []
        folds = (
            f"{len(starts)}, every {exp.rl.retrain_every} months"
            if len(starts) > 1
            else ("1" if starts or not exp.rl.walk_forward else "0")
        )
        grpo = train_config_for(exp, exp.rl.algos[0], exp.rl.seeds[0])
        guide = f"steers {grpo.steer}" if grpo.steer != "none" else f"anchor {grpo.anchor}"
        rows.append(
            [
                f"`{path.name}`",
                f"{exp.data.prices}{' + cash' if exp.cash else ''}",
                f"{prices.index[0].date()} .. {prices.index[-1].date()}",
                f"{exp.splits.train_end} / {exp.splits.val_end}",
                test_start(exp),
                folds,
                f"{', '.join(exp.rl.algos)} x {len(exp.rl.seeds)} seeds",
                "-" if guide == "anchor none" else guide,
                exp.comparator or "-",
            ]
        )
    header = ["file", "data", "prices", "train to / validate to", "test from", "folds"]
    header += ["policies", "guided by", "comparator"]
    return markdown_table(header, rows) + "\n"
