"""Train GRPO with three seeds and draw its learning curves.

The validation measure by iteration, seeds overlaid, beside 1/N's score on the same
validation years.

Training reads prices up to ``val_end`` only; the policy kept is the iteration best on
validation (the untrained start is a candidate too). ``$GALLERY_ITERATIONS`` shortens it
(the docs use the default, CI a few iterations so the example cannot rot).
"""

# %% Imports: the one public training entry and its settings
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from portfolio_rl.agents import TrainConfig, train
from portfolio_rl.data import load_prices

# %% Train on 2005-2012, validate on 2013-2014 (the defaults but the number of iterations)
prices = load_prices("sp500", start="2005-01-01", end="2014-12-31")
iterations = int(os.environ.get("GALLERY_ITERATIONS", 100))
runs = {}
for seed in (0, 1, 2):
    config = TrainConfig(seed=seed, iterations=iterations, train_end="2012-12-31")
    runs[seed] = train(config, prices, tempfile.mkdtemp())
    print(f"seed {seed}: best validation {config.objective_label} {runs[seed].best_score:.4f} "
          f"({runs[seed].kept})")  # fmt: skip

# %% Learning curves: one point per validation (every eval_every iterations)
fig, ax = plt.subplots(figsize=(8, 4.2))
for seed, result in runs.items():
    log = result.log.dropna(subset=["val_score"])
    ax.plot(log["iteration"] + 1, log["val_score"], marker="o", ms=3, lw=1.2, label=f"seed {seed}")
summary = Path(runs[0].folder) / "summary.json"
import json  # noqa: E402  (the equal-weight score the run wrote beside its result)

equal = json.loads(summary.read_text())["val_equal_weight"]
ax.axhline(equal, color="grey", ls="--", lw=1, label="1/N on the same validation years")
ax.set(xlabel="iteration (0: the untrained policy)", ylabel=f"validation {config.objective_label}")
ax.set_title("GRPO on the S&P 500 sample: validation 2013-2014")
ax.legend(frameon=False)
ax.grid(alpha=0.3)
fig.text(0.99, 0.01, os.environ.get("GALLERY_STAMP", ""), ha="right", fontsize=7, color="grey")
fig.tight_layout()
fig.savefig(Path(os.environ.get("GALLERY_OUT", ".")) / "train_grpo.png", dpi=90)
