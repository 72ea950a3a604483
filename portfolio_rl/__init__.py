"""portfolio-rl: GRPO portfolio allocation against robust-optimization baselines.

The packages are the layers, each importing only from those before it: ``plumbing``,
``conventions`` (market and cost model, features, measures, rewards), ``data``, ``envs``,
``agents`` and ``baselines``, ``backtest``, ``report``, ``workflows`` and ``cli``. Importing
this package is cheap: torch, cvxpy, matplotlib and gymnasium load only with the modules
that use them (``import portfolio_rl.envs`` registers the gymnasium id
``portfolio_rl/Portfolio-v0``).
"""

from portfolio_rl.errors import PortfolioRLError

__version__ = "0.1.0"
__all__ = ["PortfolioRLError", "__version__"]
