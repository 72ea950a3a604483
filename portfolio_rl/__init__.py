"""portfolio-rl: GRPO portfolio allocation against robust-optimization baselines.

The packages are the layers: :mod:`~portfolio_rl.plumbing`, :mod:`~portfolio_rl.conventions`
(market and cost model, features, measures, rewards), :mod:`~portfolio_rl.data`,
:mod:`~portfolio_rl.envs`, :mod:`~portfolio_rl.agents`, :mod:`~portfolio_rl.baselines`,
:mod:`~portfolio_rl.backtest`, :mod:`~portfolio_rl.report`, :mod:`~portfolio_rl.workflows`
and :mod:`~portfolio_rl.cli`. Importing this package is cheap: torch, cvxpy, matplotlib and
gymnasium load only with the modules that use them (``import portfolio_rl.envs`` registers
the gymnasium id ``portfolio_rl/Portfolio-v0``).
"""

from portfolio_rl.errors import PortfolioRLError

__version__ = "0.1.0"
__all__ = ["PortfolioRLError", "__version__"]
