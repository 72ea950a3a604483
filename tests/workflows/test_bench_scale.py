from portfolio_rl.workflows.bench_scale import scale_tables


def test_scale_table_shows_grpo_growth_against_50_assets():
    figures = {"scale_grpo_20_s": 0.3, "scale_grpo_50_s": 0.25, "scale_grpo_500_s": 2.0}
    figures |= {"scale_min_variance_50_s": 0.01, "scale_min_variance_50_skfolio_s": 0.04}
    (_, header, rows), *_ = scale_tables(figures)
    assert header == ["model", "20 assets", "50 assets", "500 assets"]
    assert rows[0] == ["min_variance", "-", "0.01 (0.04)", "-"]
    assert rows[-2] == ["GRPO (s per iteration)", "0.3", "0.25", "2"]
    assert rows[-1] == ["GRPO, x its time at 50 assets", "1.20x", "1.00x", "8.00x"]


def test_grpo_seconds_take_the_median_of_rounds_over_every_size(tmp_path):
    from portfolio_rl.workflows.bench_scale import _grpo_seconds

    figures = _grpo_seconds((3, 5), tmp_path, iterations=2, rounds=3)
    assert set(figures) == {"scale_grpo_3_s", "scale_grpo_5_s"}
    assert all(seconds > 0 for seconds in figures.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"g{n}-{i}" for n in (3, 5) for i in range(3)
    ]
