"""Walk-forward backtest of four baselines on the bundled S&P 500 sample: wealth curves.

Run it with ``python docs/examples/backtest_baselines.py``; it prints the test figures and
writes ``backtest_baselines.png`` (into ``$GALLERY_OUT``, else the current folder).
"""

# %% Imports: the public API of the backtest, the baselines and the data
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from portfolio_rl.backtest import BacktestConfig, BaselineStrategy, compute_metrics, run_backtest
from portfolio_rl.baselines import EqualWeight, MinVariance, RiskParity, RobustMeanVariance
from portfolio_rl.data import load_prices

# %% Prices from 2012; decisions from 2015 on the last 252 days, every 21 days, 10 bps costs
prices = load_prices("sp500", start="2012-01-01")
strategies = [
    BaselineStrategy("1/N", EqualWeight()),
    BaselineStrategy("min variance", MinVariance()),
    BaselineStrategy("risk parity", RiskParity()),
    BaselineStrategy("robust mean-variance", RobustMeanVariance()),
]
result = run_backtest(prices, strategies, BacktestConfig(start="2015-01-01", cost_bps=10))
metrics = compute_metrics(result.returns, result.turnover, result.costs)
print(metrics[["cagr", "ann_vol", "sharpe", "max_drawdown", "turnover"]].round(3))

# %% Wealth of one dollar, net of costs
wealth = (1 + result.returns).cumprod()
fig, ax = plt.subplots(figsize=(8, 4.2))
for name in wealth:
    ax.plot(
        wealth.index,
        wealth[name],
        lw=1.3,
        label=f"{name} (Sharpe {metrics.loc[name, 'sharpe']:.2f})",
    )
ax.set(title="Walk-forward test, 2015-2022, net of 10 bps costs", ylabel="wealth of $1")
ax.legend(frameon=False)
ax.grid(alpha=0.3)
fig.text(0.99, 0.01, os.environ.get("GALLERY_STAMP", ""), ha="right", fontsize=7, color="grey")
fig.tight_layout()
fig.savefig(Path(os.environ.get("GALLERY_OUT", ".")) / "backtest_baselines.png", dpi=90)
