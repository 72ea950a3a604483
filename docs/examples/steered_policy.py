"""A steered GRPO policy: the parameters it chose, and its weights beside the optimizer's.

At each decision it chose the robust optimizer's parameters; its weights are set beside
those of the optimizer with its configured parameters.

Steered GRPO samples robust mean-variance's risk aversion, ellipsoid radius and covariance
shrinkage at each decision; the portfolio is that optimizer solved with them, so the
untrained policy is the optimizer itself. This example uses the command line as a user
would, then reads the run directory's files. ``$GALLERY_ITERATIONS`` shortens the training.
"""

# %% Train (2000-2009, validate 2010-2014), then backtest 2015-2022 beside the optimizer
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

work = Path(tempfile.mkdtemp())
iterations = os.environ.get("GALLERY_ITERATIONS", "60")
cli = [sys.executable, "-m", "portfolio_rl"]
common = ["--config", "backtests/sp500_steered.yaml"]
train = ["train", "--steer", "robust_mv_ellipsoid", "--iterations", iterations]
subprocess.run([*cli, *train, *common, "--out", str(work / "policy")], check=True)
backtest = ["backtest", "--policy", str(work / "policy"), "--strategies", "robust_mv_ellipsoid"]
subprocess.run([*cli, *backtest, *common, "--out", str(work / "run")], check=True)

# %% What the run directory holds: the parameters chosen, and both strategies' weights
chosen = pd.read_csv(work / "run" / "steering" / "grpo.csv", index_col=0, parse_dates=True)
mine = pd.read_csv(work / "run" / "weights" / "grpo.csv", index_col=0, parse_dates=True)
theirs = pd.read_csv(
    work / "run" / "weights" / "robust_mv_ellipsoid.csv", index_col=0, parse_dates=True
)
print(chosen.describe().round(3))

# %% Parameters over time (top) and the largest holdings of each (bottom)
fig, axes = plt.subplots(3, 1, figsize=(8, 7.5), sharex=True)
for column in chosen:
    axes[0].plot(chosen.index, chosen[column], lw=1.2, label=column)
axes[0].set(title="Parameters steered GRPO chose at each decision")
axes[0].legend(frameon=False, fontsize=8)
top = theirs.mean().nlargest(6).index
for ax, frame, title in ((axes[1], mine, "steered GRPO"), (axes[2], theirs, "robust_mv_ellipsoid")):
    ax.stackplot(frame.index, frame[top].T.to_numpy(), labels=list(top), alpha=0.85)
    ax.set(title=f"{title}: weights of the optimizer's six largest holdings", ylim=(0, 1))
axes[2].legend(frameon=False, fontsize=7, ncol=6, loc="upper left")
fig.text(0.99, 0.005, os.environ.get("GALLERY_STAMP", ""), ha="right", fontsize=7, color="grey")
fig.tight_layout()
fig.savefig(Path(os.environ.get("GALLERY_OUT", ".")) / "steered_policy.png", dpi=90)
