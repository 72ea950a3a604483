"""portfolio-rl: GRPO portfolio allocation against robust-optimization baselines.

Everything heavy (torch, cvxpy, matplotlib, gymnasium) is imported only by the modules that
use it. The gymnasium environment ``portfolio_rl/Portfolio-v0`` is registered by
:mod:`portfolio_rl.envs.portfolio_env`, so ``gym.make`` finds it through gymnasium's
module prefix: ``gym.make("portfolio_rl.envs.portfolio_env:portfolio_rl/Portfolio-v0")``
(or after ``from portfolio_rl.envs.portfolio_env import PortfolioEnv``).
"""

from portfolio_rl.errors import PortfolioRLError

__version__ = "0.1.0"
__all__ = ["PortfolioRLError", "__version__"]
