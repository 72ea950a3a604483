"""Market simulation: the gymnasium environment and the batched torch simulator.

Importing this package registers ``portfolio_rl/Portfolio-v0`` with gymnasium.

Examples
--------
>>> import gymnasium as gym
>>> import portfolio_rl.envs
>>> env = gym.make("portfolio_rl/Portfolio-v0", start="2015-01-01", end="2018-12-31")
>>> obs, info = env.reset(seed=0)
>>> obs.shape[0] == len(env.unwrapped.assets)
True
"""

import gymnasium as gym

from portfolio_rl.plumbing.lazy import lazy_exports

ENV_ID = "portfolio_rl/Portfolio-v0"
if ENV_ID not in gym.envs.registration.registry:
    gym.register(id=ENV_ID, entry_point="portfolio_rl.envs.portfolio_env:PortfolioEnv")

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "PortfolioEnv": "portfolio_rl.envs.portfolio_env",
        "simulate": "portfolio_rl.envs.simulator",
        "SimResult": "portfolio_rl.envs.simulator",
    },
)
__all__ = ["ENV_ID", *__all__]
