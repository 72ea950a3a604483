"""portfolio-rl: GRPO portfolio allocation against robust-optimization baselines.

Importing the package registers the gymnasium environment ``portfolio_rl/Portfolio-v0``;
everything heavy (torch, cvxpy, matplotlib) is imported only by the modules that use it.
"""

from portfolio_rl.errors import PortfolioRLError

__version__ = "0.1.0"
__all__ = ["PortfolioRLError", "__version__"]


def _register_env() -> None:
    try:
        from gymnasium.envs.registration import register, registry
    except ImportError:  # gymnasium is a dependency; stay importable without it anyway
        return
    if "portfolio_rl/Portfolio-v0" not in registry:
        register(
            id="portfolio_rl/Portfolio-v0",
            entry_point="portfolio_rl.envs.portfolio_env:PortfolioEnv",
        )


_register_env()
