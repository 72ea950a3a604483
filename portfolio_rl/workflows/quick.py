"""``--quick``: a smaller run of any experiment, for a first look."""

from __future__ import annotations

import dataclasses

from portfolio_rl.workflows.experiment import ExperimentConfig

#: What `--quick` keeps of an experiment.
QUICK = {"seeds": (0, 1), "iterations": 20, "n_boot": 200}


def quick_experiment(exp: ExperimentConfig) -> ExperimentConfig:
    """A smaller run for a first look: GRPO alone (the method; PPO and REINFORCE are in the
    full run), 2 seeds, at most 20 iterations in every walk-forward fold (fewer when the
    experiment asks for fewer, 0 included), 200 bootstrap resamples."""  # noqa: D205, D209
    algos = ("grpo",) if "grpo" in exp.rl.algos else exp.rl.algos[:1]
    iterations = min(int(exp.rl.train.get("iterations", QUICK["iterations"])), QUICK["iterations"])
    rl = dataclasses.replace(
        exp.rl,
        algos=algos,
        algo_train={a: v for a, v in exp.rl.algo_train.items() if a in algos},
        seeds=QUICK["seeds"],
        train=dict(exp.rl.train) | {"iterations": iterations},
        fold_iterations=min(exp.rl.fold_iterations, QUICK["iterations"]),
    )
    return dataclasses.replace(exp, n_boot=QUICK["n_boot"], rl=rl)
