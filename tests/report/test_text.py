"""The verdict says what the numbers say."""

import pandas as pd
import pytest

from portfolio_rl.report.text import verdict


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
    assert "the best robust baseline (min_cvar)" in text
    assert "[0.40, 1.70]" in text


def test_no_grpo_no_verdict():
    metrics = pd.DataFrame({"sharpe": [0.9]}, index=["equal_weight"])
    assert "No GRPO policy" in verdict(metrics, pd.DataFrame(index=metrics.index))
