"""The exact long-only efficient frontier of one year of S&P 500 returns, with the baselines.

The frontier comes from Markowitz's critical line algorithm
(`portfolio_rl.baselines.frontier.critical_line`): every corner portfolio, exact, no grid of
solves. Each baseline fitted on the same year is a point beside it (in-sample figures: the
frontier is the best any portfolio could have done on these estimates).
"""

# %% Imports
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from portfolio_rl.baselines import (
    EqualWeight,
    InverseVolatility,
    MaxSharpe,
    MinVariance,
    RobustMeanVariance,
)
from portfolio_rl.baselines.frontier import critical_line, frontier_at
from portfolio_rl.data import load_prices

# %% One year of daily returns, annualised mean and covariance
returns = load_prices("sp500", start="2019-01-01", end="2019-12-31").pct_change().iloc[1:]
mu, cov = returns.mean().to_numpy() * 252, returns.cov().to_numpy() * 252
start = MinVariance().fit(returns).weights_  # the frontier's left end, from cvxpy

# %% Corner portfolios from tau = 0 (minimum variance) to the maximum return
taus, corners = critical_line(cov, mu, start, tau_end=10.0)
grid = np.unique(np.concatenate([taus, np.geomspace(1e-4, taus[-1], 400)]))  # dense near 0
points = np.array([frontier_at(taus, corners, t) for t in grid])
vol = np.sqrt(np.einsum("ki,ij,kj->k", points, cov, points))
print(
    f"{len(taus)} corner portfolios; the frontier spans volatility {vol.min():.1%}..{vol.max():.1%}"
)

# %% The frontier and the baselines on it
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(vol, points @ mu, color="black", lw=1.5, label="efficient frontier (exact)")
models = {
    "1/N": EqualWeight(),
    "inverse volatility": InverseVolatility(),
    "min variance": MinVariance(),
    "max Sharpe": MaxSharpe(),
    "robust mean-variance": RobustMeanVariance(),
}
for name, model in models.items():
    w = model.fit(returns).weights_
    ax.scatter(np.sqrt(w @ cov @ w), w @ mu, s=40, label=name, zorder=3)
ax.set(title="S&P 500 sample, 2019 (in-sample)", xlabel="annual volatility", ylabel="annual mean")
ax.xaxis.set_major_formatter("{x:.0%}")
ax.yaxis.set_major_formatter("{x:.0%}")
ax.legend(frameon=False, fontsize=8)
ax.grid(alpha=0.3)
fig.text(0.99, 0.01, os.environ.get("GALLERY_STAMP", ""), ha="right", fontsize=7, color="grey")
fig.tight_layout()
fig.savefig(Path(os.environ.get("GALLERY_OUT", ".")) / "efficient_frontier.png", dpi=90)
