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


def _lab(colour):
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour))
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_strategy_of_a_cash_run_has_its_own_colour():
    from portfolio_rl.baselines import BASELINES
    from portfolio_rl.report.charts import colours

    names = [*BASELINES, "anchor_auto", "grpo (5 seeds)", "ppo (5 seeds)", "reinforce (5 seeds)"]
    chosen = colours(names)
    labs = {n: _lab(c) for n, c in chosen.items()}
    closest = min(
        (float(np.linalg.norm(labs[a] - labs[b])), a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    )
    assert closest[0] > 20, closest


def test_a_large_universe_draws_its_largest_weights_and_sums_the_rest():
    import numpy as np
    import pandas as pd

    from portfolio_rl.report.charts import MAX_DRAWN_ASSETS, drawn_assets, with_other

    rng = np.random.default_rng(0)
    columns = [f"A{i:03d}" for i in range(500)] + ["cash"]
    weights = pd.DataFrame(rng.dirichlet(np.ones(501), size=6), columns=columns)
    drawn = drawn_assets([weights])
    assert len(drawn) == MAX_DRAWN_ASSETS and "cash" in drawn
    assert drawn == [c for c in columns if c in drawn]  # in the columns' order
    frame = with_other(weights, drawn)
    assert list(frame.columns) == [*drawn, "other (481)"]
    np.testing.assert_allclose(frame.sum(axis=1), weights.sum(axis=1))
    small = weights[columns[:5]]
    assert drawn_assets([small]) == columns[:5] and with_other(small, columns[:5]).equals(small)
