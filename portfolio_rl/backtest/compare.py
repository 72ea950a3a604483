"""Each anchored policy against the optimizer it started from: Sharpe, test, distance, exposure.

``anchors.csv`` of a run: one row per anchored policy (a seed) and one pooled row per
algorithm (the equal mix of its seeds' daily returns), each beside its anchor's strategy
(``anchor_<spec>``, what the policy decided before any update): both Sharpe ratios, the
Ledoit-Wolf HAC test of their difference, the median L1 distance between the weights they
decided on the same dates (how far training moved the policy), and both mean exposures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.backtest.stats import hac_sharpe_test
from portfolio_rl.conventions.market import CASH
from portfolio_rl.conventions.measures import sharpe


def anchor_comparison(
    returns: pd.DataFrame,
    weights: dict[str, pd.DataFrame],
    anchor_of: dict[str, str],
    algo_of: dict[str, str],
    rf: pd.Series | None = None,
) -> pd.DataFrame:
    """The table of ``anchors.csv``.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
        Daily net returns of the backtest.
    weights : dict
        Strategy -> (decision date x asset) target weights.
    anchor_of : dict
        Anchored policy -> its anchor's strategy.
    algo_of : dict
        Anchored policy -> its algorithm (the pooled rows group by it).
    rf : Series, optional
        Daily risk-free rate (Sharpe ratios and tests are of excess returns).

    Returns
    -------
    DataFrame indexed by strategy (then ``<algo> (pooled)``) with ``anchor``, ``sharpe``,
    ``anchor_sharpe``, ``sr_diff``, ``p_hac``, ``median_l1``, ``exposure`` and
    ``anchor_exposure``.
    """
    excess = returns if rf is None else returns.sub(rf.reindex(returns.index), axis=0)
    rows = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for name, anchor in anchor_of.items():
        rows[name] = _row(excess[name], excess[anchor], [weights[name]], weights[anchor])
        rows[name]["anchor"] = anchor
        groups.setdefault((algo_of[name], anchor), []).append(name)
    for (algo, anchor), names in groups.items():
        pooled = excess[names].mean(axis=1)
        row = _row(pooled, excess[anchor], [weights[n] for n in names], weights[anchor])
        rows[f"{algo} (pooled)"] = row | {"anchor": anchor}
    columns = ["anchor", "sharpe", "anchor_sharpe", "sr_diff", "p_hac", "median_l1"]
    columns += ["exposure", "anchor_exposure"]
    return pd.DataFrame.from_dict(rows, orient="index")[columns].rename_axis("strategy")


def _row(
    mine: pd.Series, anchor: pd.Series, decided: list[pd.DataFrame], started: pd.DataFrame
) -> dict[str, float]:
    a, b = mine.to_numpy(), anchor.to_numpy()
    diff, p = hac_sharpe_test(a, b)
    distances = [(w - started.reindex(w.index)).abs().sum(axis=1) for w in decided]
    return {
        "sharpe": sharpe(a),
        "anchor_sharpe": sharpe(b),
        "sr_diff": diff,
        "p_hac": p,
        "median_l1": float(np.median(pd.concat(distances).to_numpy())),
        "exposure": float(np.mean([_exposure(w) for w in decided])),
        "anchor_exposure": _exposure(started),
    }


def _exposure(weights: pd.DataFrame) -> float:
    """Mean share in risky assets over the decisions (1 without a cash column)."""
    if CASH not in weights.columns:
        return 1.0
    return float(1 - weights[CASH].mean())
