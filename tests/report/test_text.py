"""The verdict says what the numbers say."""

import pandas as pd
import pytest

from portfolio_rl.report.text import stats_table
from portfolio_rl.report.verdicts import tail_verdict, verdict


def tables(grpo_sharpes, p_values, ew=0.9, robust=0.8):
    names = [f"grpo_s{i}" for i in range(len(grpo_sharpes))]
    metrics = pd.DataFrame(
        {"sharpe": [*grpo_sharpes, ew, robust]}, index=[*names, "equal_weight", "min_cvar"]
    )
    stats = pd.DataFrame(
        {"p_vs_ew": [*p_values, 1.0, 0.5], "p_vs_best_robust": [*p_values, 0.5, 1.0]},
        index=metrics.index,
    )
    return metrics, stats


@pytest.mark.parametrize(
    ("sharpes", "pvals", "head"),
    [
        ([1.5, 1.6, 1.4], [0.01, 0.01, 0.2], "Yes: GRPO beat equal_weight"),
        ([0.2, 0.3, 0.1], [0.01, 0.01, 0.01], "No: GRPO did significantly worse than equal_weight"),
        ([0.95, 0.92, 0.91], [0.4, 0.5, 0.6], "Not significantly: GRPO had a higher Sharpe"),
        ([0.85, 0.88, 0.87], [0.4, 0.5, 0.6], "No: GRPO did not beat equal_weight"),
    ],
)
def test_verdict_against_one_over_n(sharpes, pvals, head):
    metrics, stats = tables(sharpes, pvals)
    first = verdict(metrics, stats).splitlines()[0]
    assert first.startswith(head), first
    assert f"{len(sharpes)} seed(s)" in first


def test_verdict_names_the_best_robust_baseline_and_the_seed_interval():
    metrics, stats = tables([1.0, 1.1], [0.3, 0.3])
    seeds = pd.DataFrame(
        [{"strategy": "grpo (mean)", "sharpe_lo": 0.4, "sharpe_hi": 1.7, "sharpe_std": 0.07}]
    )
    text = verdict(metrics, stats, seeds)
    assert "the best robust baseline, chosen after the test (min_cvar)" in text
    assert "[0.40, 1.70]" in text


def test_no_grpo_no_verdict():
    metrics = pd.DataFrame({"sharpe": [0.9]}, index=["equal_weight"])
    assert "No GRPO policy" in verdict(metrics, pd.DataFrame(index=metrics.index))


def test_tail_verdict_compares_robust_grpo_with_grpo_and_the_baselines():
    metrics = pd.DataFrame(
        {
            "sharpe": [0.5, 0.6, 0.7, 0.9, 0.8],
            "max_drawdown": [-0.20, -0.30, -0.50, -0.40, -0.25],
            "cvar_95": [-0.015, -0.02, -0.03, -0.025, -0.018],
        },
        index=["robust_grpo_s0", "robust_grpo_s1", "grpo_s0", "equal_weight", "min_cvar"],
    )
    drawdown, tails = tail_verdict(metrics)
    assert drawdown.startswith("Robust GRPO's max drawdown was -25.00% on average over 2 seed(s)")
    assert "smaller than grpo's -50.00% (2/2 seeds smaller)" in drawdown
    assert "the same as min_cvar's -25.00%" in drawdown
    assert "smaller than equal_weight's -40.00% (2/2" in drawdown
    assert "smaller than min_cvar's -1.80% (1/2 seeds smaller)" in tails
    assert tail_verdict(metrics.drop(index=["robust_grpo_s0", "robust_grpo_s1"])) == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"prices": "sp500"}, "Survivorship bias: the bundled stocks"),
        ({"prices": "industries49"}, "no survivorship bias, but they are not investable"),
        ({"prices": "sp500", "tickers": ["AAPL"]}, "Downloaded data: adjusted closes"),
        ({"prices": "my.csv"}, "Your price file (my.csv)"),
    ],
)
def test_limitations_name_the_data_the_run_used(data, says):
    from types import SimpleNamespace

    from portfolio_rl.report.text import limitations

    returns = pd.DataFrame(
        {"equal_weight": [0.01, -0.01] * 300}, index=pd.bdate_range("2010-01-01", periods=600)
    )
    metrics = pd.DataFrame({"sharpe": [0.5]}, index=["equal_weight"])
    run = SimpleNamespace(
        config={"data": data, "backtest": {"cost_bps": 10}},
        returns=returns,
        metrics=metrics,
        failures=None,
        seeds=None,
        turnover=None,
        folds=None,
        stats=pd.DataFrame(index=metrics.index),
    )
    text = " ".join(limitations(run))
    assert says in text
    assert ("Downloaded data" in text) == bool(data.get("tickers"))


def test_stats_table_summarises_seeds_and_the_appendix_lists_them():
    names = ["grpo_s0", "grpo_s1", "equal_weight"]
    metrics = pd.DataFrame({"sharpe": [0.9, 1.1, 0.95]}, index=names)
    stats = pd.DataFrame(
        {
            "sharpe_lo": [0.1, 0.3, 0.2],
            "sharpe_hi": [1.6, 1.9, 1.7],
            "cagr_lo": [0.01, 0.02, 0.015],
            "cagr_hi": [0.2, 0.25, 0.22],
            "p_hac_vs_ew": [0.7, 0.4, 1.0],
            "psr": [0.9, 0.96, 0.95],
            "sr_diff_vs_ew": [-0.001, 0.02, 0.0],
        },
        index=names,
    )
    table = stats_table(metrics, stats)
    assert list(table.index) == ["grpo (2 seeds)", "equal_weight"]
    grpo = table.loc["grpo (2 seeds)"]
    assert grpo["Sharpe"] == "1.00" and grpo["Sharpe 95% CI"] == "[0.10, 1.90]"
    assert grpo["p vs 1/N (HAC)"] == "0.40-0.70" and grpo["PSR (SR>0)"] == "0.93"
    assert table.loc["equal_weight", "p vs 1/N (HAC)"] == "1.00"
    seeds = stats_table(metrics, stats, by_seed=True)
    assert list(seeds.index) == ["grpo_s1", "grpo_s0"]
    assert seeds.loc["grpo_s0", "p vs 1/N (HAC)"] == "0.70"
    assert seeds.loc["grpo_s0", "ΔSharpe vs 1/N"] == "0.00"  # not -0.00


def test_the_verdict_leads_with_the_comparator_named_before_the_test():
    """The comparator is tested whatever the test Sharpe ratios say; the best robust
    baseline (here another one) comes after it, labelled as chosen after the test."""
    import numpy as np

    from portfolio_rl.backtest.stats import compute_stats
    from portfolio_rl.report.verdicts import seed_comparison

    rng = np.random.default_rng(0)
    days = pd.bdate_range("2015-01-01", periods=750)
    names = ["grpo_s0", "grpo_s1", "equal_weight", "robust_mv_ellipsoid", "min_cvar"]
    drift = np.array([6e-4, 5e-4, 4e-4, 2e-4, 5.5e-4])
    returns = pd.DataFrame(rng.normal(drift, 0.01, (len(days), 5)), index=days, columns=names)
    stats = compute_stats(
        returns, "equal_weight", "min_cvar", n_boot=20, comparator="robust_mv_ellipsoid"
    )
    assert stats["comparator"].eq("robust_mv_ellipsoid").all()
    assert np.isfinite(stats.loc["grpo_s0", "p_hac_vs_comparator"])
    assert np.isnan(stats.loc["robust_mv_ellipsoid", "p_hac_vs_comparator"])
    from portfolio_rl.conventions.measures import sharpe

    metrics = pd.DataFrame({"sharpe": [sharpe(returns[c].to_numpy()) for c in names]}, index=names)
    lines = verdict(metrics, stats).splitlines()
    assert "the comparator named before the test (robust_mv_ellipsoid)" in lines[0]
    assert "equal_weight" in lines[1]
    assert "the best robust baseline, chosen after the test (min_cvar)" in lines[2]
    table = seed_comparison(metrics, stats)
    assert list(table.columns[:3]) == [
        "Sharpe",
        "robust_mv_ellipsoid Sharpe",
        "p vs robust_mv_ellipsoid (HAC)",
    ]


def test_an_experiment_names_only_a_comparator_it_runs():
    from portfolio_rl.workflows.experiment import ExperimentConfig

    assert ExperimentConfig().comparator == "robust_mv_ellipsoid"
    assert ExperimentConfig(strategies=("equal_weight", "min_variance")).comparator is None
    assert ExperimentConfig(compare_to="min_variance").comparator == "min_variance"
    assert ExperimentConfig(compare_to="none").comparator is None
    with pytest.raises(ValueError, match="compare_to 'dro_cvar' is not one of the run's"):
        ExperimentConfig(strategies=("equal_weight",), compare_to="dro_cvar")


def test_policies_named_after_their_folders_are_not_seeds_and_get_their_own_verdict():
    import pandas as pd

    from portfolio_rl.report.text import named_runs, policy_rows
    from portfolio_rl.report.verdicts import verdict

    names = ["grpo_s0", "grpo_s1", "grpo_sp500", "grpo_industries49", "equal_weight"]
    metrics = pd.DataFrame({"sharpe": [0.9, 0.8, 0.7, 0.6, 0.5]}, index=names)
    assert policy_rows(metrics, "grpo") == ["grpo_s0", "grpo_s1"]
    assert named_runs(metrics, "grpo") == ["grpo_sp500", "grpo_industries49"]
    stats = pd.DataFrame({"p_hac_vs_ew": [0.5] * 5}, index=names)
    said = verdict(metrics, stats)
    assert "GRPO_SP500 had a higher Sharpe ratio than equal_weight" in said
    assert "over 2 seed(s) vs 0.500" in said  # the seeds of grpo, without the named runs


def test_a_seed_summary_averages_the_numbers_and_flags_a_failure_of_any_seed():
    from portfolio_rl.report.text import summarise_seeds

    metrics = pd.DataFrame(
        {
            "sharpe": [0.8, 1.0, 0.9],
            "max_dd_duration": [10, 15, 12],
            "failed": [False, True, False],
        },
        index=["grpo_s0", "grpo_s1", "equal_weight"],
    )
    summary, spread = summarise_seeds(metrics)
    assert list(summary.index) == ["equal_weight", "grpo (2 seeds)"]
    assert summary["failed"].dtype == bool and summary["failed"].tolist() == [False, True]
    assert summary.loc["grpo (2 seeds)", "sharpe"] == pytest.approx(0.9)
    assert summary.loc["grpo (2 seeds)", "max_dd_duration"] == 12.5
    assert spread["grpo (2 seeds)"]["sharpe"] == pytest.approx(0.1414, abs=1e-4)
    baselines = metrics.drop(index=["grpo_s0", "grpo_s1"])
    alone, _ = summarise_seeds(baselines)  # no seeds: the table as it was, dtypes too
    pd.testing.assert_frame_equal(alone, baselines)
