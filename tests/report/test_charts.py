"""Charts: what they draw from the run's returns."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from portfolio_rl.report.charts import annual_returns_heatmap, turnover_chart
from portfolio_rl.report.text import summarise_seeds


def test_the_heatmap_draws_an_algorithm_as_the_mean_of_its_seeds():
    days = pd.bdate_range("2020-01-01", "2021-12-31")
    rng = np.random.default_rng(0)
    returns = pd.DataFrame(
        rng.normal(0.0005, 0.01, (len(days), 3)), index=days, columns=["grpo_s0", "grpo_s1", "A"]
    )
    returns.loc["2020", "A"] = -4e-6  # a year of -0.1%: printed as 0%, not -0%
    fig, ax = plt.subplots()
    im = annual_returns_heatmap(
        returns, ax, ["A", "grpo (2 seeds)"], {"grpo (2 seeds)": ["grpo_s0", "grpo_s1"]}
    )
    shown = im.get_array()
    annual = (1 + returns).groupby(days.year).prod() - 1
    assert shown.shape == (2, 2)  # two rows: no row per seed
    np.testing.assert_allclose(shown[1], annual[["grpo_s0", "grpo_s1"]].mean(axis=1))
    np.testing.assert_allclose(shown[0], annual["A"])
    labels = [t.get_text() for t in ax.texts]
    assert "0%" in labels and "-0%" not in labels
    plt.close(fig)


def test_turnover_bars_summarise_seeds():
    metrics = pd.DataFrame(
        {"turnover": [0.4, 0.6, 0.3], "avg_cost": [0.001, 0.001, 0.001], "sharpe": [1, 1, 1]},
        index=["grpo_s0", "grpo_s1", "equal_weight"],
    )
    summary, _ = summarise_seeds(metrics)
    fig, ax = plt.subplots()
    turnover_chart(summary, ax, {"equal_weight": "#7f7f7f"})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["equal_weight", "grpo (2 seeds)"]
    assert [p.get_width() for p in ax.patches[:2]] == [0.3, 0.5]
    plt.close(fig)
