"""RL allocation policies: GRPO (the method), robust GRPO, and PPO and REINFORCE as baselines.

Examples
--------
>>> import tempfile
>>> from portfolio_rl.agents import TrainConfig, train
>>> from portfolio_rl.data import load_prices
>>> prices = load_prices("sp500", start="2008-01-01", end="2014-12-31")
>>> config = TrainConfig(iterations=2, batch_starts=4, group_size=4, eval_every=1)
>>> result = train(config, prices, tempfile.mkdtemp())
>>> result.iterations_run
2
"""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "ALGORITHMS": "portfolio_rl.agents.registry",
        "TrainConfig": "portfolio_rl.agents.config",
        "TrainResult": "portfolio_rl.agents.runstate",
        "SimplexPolicy": "portfolio_rl.agents.policy",
        "load_policy": "portfolio_rl.agents.checkpoint",
        "train": "portfolio_rl.agents.registry",
    },
)
