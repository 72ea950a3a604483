"""Workflows: typed configs in, result objects out, nothing printed.

Experiments and their walk-forward folds, the pipeline behind the commands (``backtest``,
``run``), allocation, sweeps and the benchmarks. One training of a config is
`portfolio_rl.agents.train`.

Examples
--------
>>> from portfolio_rl.workflows import ExperimentConfig, load_experiment
>>> exp = load_experiment("backtests/sp500.yaml")
>>> exp.rl.algos
('grpo', 'ppo', 'reinforce')
"""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "ExperimentConfig": "portfolio_rl.workflows.experiment",
        "load_experiment": "portfolio_rl.workflows.experiment",
        "backtest": "portfolio_rl.workflows.pipeline",
        "run": "portfolio_rl.workflows.pipeline",
        "allocate": "portfolio_rl.workflows.allocation",
    },
)
