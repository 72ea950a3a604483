from portfolio_rl.workflows.bench_scale import scale_tables


def test_scale_table_shows_grpo_growth_against_50_assets():
    figures = {"scale_grpo_20_s": 0.3, "scale_grpo_50_s": 0.25, "scale_grpo_500_s": 2.0}
    figures |= {"scale_min_variance_50_s": 0.01, "scale_min_variance_50_skfolio_s": 0.04}
    (_, header, rows), *_ = scale_tables(figures)
    assert header == ["model", "20 assets", "50 assets", "500 assets"]
    assert rows[0] == ["min_variance", "-", "0.01 (0.04)", "-"]
    assert rows[-2] == ["GRPO (s per iteration)", "0.3", "0.25", "2"]
    assert rows[-1] == ["GRPO, x its time at 50 assets", "1.20x", "1.00x", "8.00x"]
