"""The spread of an algorithm's test figures over its seeds (``seeds.csv``)."""

from __future__ import annotations

import pandas as pd
from scipy import special


def seed_summary(
    metrics: pd.DataFrame,
    policy_names: dict[str, tuple[str, int]],
    wall_s: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per-seed test figures of the trained policies and their spread per algorithm.

    Returns one row per policy (``algo``, ``seed``, Sharpe, CAGR, max drawdown) followed by
    one ``<algo> (mean)`` row per algorithm with the mean, the sample std over seeds and a
    95% t-interval of the mean Sharpe.
    """
    rows = []
    for name, (algo, seed) in policy_names.items():
        m = metrics.loc[name]
        rows.append(
            {
                "strategy": name,
                "algo": algo,
                "seed": seed,
                "sharpe": m["sharpe"],
                "cagr": m["cagr"],
                "max_drawdown": m["max_drawdown"],
                "train_wall_s": (wall_s or {}).get(name, float("nan")),
            }
        )
    frame = pd.DataFrame(rows)
    summary = []
    for algo, group in frame.groupby("algo", sort=False):
        sr = group["sharpe"].to_numpy()
        half = (
            special.stdtrit(len(sr) - 1, 0.975) * sr.std(ddof=1) / len(sr) ** 0.5
            if len(sr) > 1
            else float("nan")
        )
        summary.append(
            {
                "strategy": f"{algo} (mean)",
                "algo": algo,
                "seed": -1,
                "sharpe": sr.mean(),
                "sharpe_std": sr.std(ddof=1) if len(sr) > 1 else float("nan"),
                "sharpe_lo": sr.mean() - half,
                "sharpe_hi": sr.mean() + half,
                "cagr": group["cagr"].mean(),
                "max_drawdown": group["max_drawdown"].mean(),
                "train_wall_s": group["train_wall_s"].mean(),
            }
        )
    return pd.concat([frame, pd.DataFrame(summary)], ignore_index=True)
