"""What the terminal shows: tables that fit the terminal, numbers never cut."""

import numpy as np
import pandas as pd
import pytest

from portfolio_rl.cli.console import METRIC_COLUMNS, print_metrics


def metrics_frame():
    names = ["reinforce (5 seeds)", "robust_mv_ellipsoid (in-sample)", "equal_weight", "grpo"]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "cagr": rng.uniform(-0.2, 0.3, 4),
            "ann_vol": rng.uniform(0.1, 0.3, 4),
            "sharpe": rng.uniform(-1, 2, 4),
            "sortino": rng.uniform(-1, 3, 4),
            "max_drawdown": rng.uniform(-0.6, -0.1, 4),
            "cvar_95": rng.uniform(-0.04, -0.01, 4),
            "turnover": rng.uniform(0, 12, 4),
            "solver_failures": [0, 3, 0, 0],
        },
        index=names,
    )
    return frame


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_the_metrics_table_fits_the_terminal_with_every_number_whole(columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    frame = metrics_frame()
    print_metrics(frame, "test period 2015-01-01 .. 2022-12-28")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(map(len, lines)) <= columns, out
    assert "…" not in out
    shown = [label for label, _, _ in METRIC_COLUMNS if f" {label} " in lines[2]]
    assert "Sharpe" in shown and "CAGR" in shown
    for _, row in frame.iterrows():  # every shown number appears whole
        for label, key, fmt in METRIC_COLUMNS:
            if label in shown:
                assert fmt.format(row[key]) in out, (label, fmt.format(row[key]))
    if columns >= 160:
        assert len(shown) == len(METRIC_COLUMNS)
