import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "data" in result.output


def test_data_list_and_show():
    result = invoke("data", "list")
    assert result.exit_code == 0, result.output
    assert "sp500" in result.output and "factors" in result.output and "SP500" in result.output
    assert "industries49" in result.output
    result = invoke("data", "show", "sp500", "--start", "2010-01-01")
    assert result.exit_code == 0, result.output
    assert "AAPL" in result.output and "2010-01-04" in result.output and "ann. vol" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "show", "nosuchset"), "error: unknown dataset 'nosuchset'"),
        (("data", "show", "missing.csv"), "error: price file not found"),
        (("data", "show", "sp500", "--start", "2030-01-01"), "error: only 0 price rows"),
        (("data", "download", "../x", "--cache-dir", "CACHE"), "error: invalid ticker"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message, tmp_path):
    args = tuple(str(tmp_path) if a == "CACHE" else a for a in args)
    result = invoke(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), result.output
    assert "Traceback" not in result.output


def test_download_command_with_stand_in(tmp_path, monkeypatch):
    from portfolio_rl.data import download as dl

    def fake(ticker, start, end):
        idx = pd.bdate_range(start, end - pd.Timedelta(days=1))
        if ticker == "DEAD":
            return pd.DataFrame()
        return pd.DataFrame({"Close": range(1, len(idx) + 1)}, index=idx, dtype=float)

    monkeypatch.setattr(dl, "_yf_download", fake)
    out = tmp_path / "prices.parquet"
    args = [
        "data",
        "download",
        "AAA",
        "BBB",
        "--start",
        "2021-01-01",
        "--end",
        "2021-02-01",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
        "--retries",
        "0",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert list(pd.read_parquet(out).columns) == ["AAA", "BBB"]
    result = invoke(*[*args[:3], "DEAD", *args[3:]])
    assert result.exit_code == 2 and "already exists; pass --force" in result.output
    result = invoke(*[*args[:3], "DEAD", *args[3:], "--force"])
    assert result.exit_code == 2 and "error: no data for DEAD" in result.output
    assert list(pd.read_parquet(out).columns) == ["AAA", "BBB"]  # a failed download keeps it


def test_backtest_command_writes_the_run_directory(tmp_path):
    out = tmp_path / "run"
    args = [
        "backtest",
        "--prices",
        "factors",
        "--strategies",
        "equal_weight,min_variance",
        "--start",
        "2019-01-01",
        "--rebalance-days",
        "63",
        "--out",
        str(out),
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    for name in (
        "returns.csv",
        "metrics.csv",
        "stats.csv",
        "config.json",
        "weights/equal_weight.csv",
        "weights/min_variance.csv",
    ):
        assert (out / name).is_file(), name
    metrics = pd.read_csv(out / "metrics.csv", index_col=0)
    assert set(metrics.index) == {"equal_weight", "min_variance"}
    assert {
        "cagr",
        "ann_vol",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "cvar_95",
        "turnover",
    } <= set(metrics.columns)
    assert "equal_weight" in result.output and "Sharpe" in result.output
    again = invoke(*args)
    assert again.exit_code == 2 and "already exists" in again.output
    assert invoke(*args, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategies", "magic"], "error: unknown strategy magic"),
        (["--config", "missing.yaml"], "error: config file not found"),
        (["--start", "2030-01-01"], "error: not enough data"),
    ],
)
def test_backtest_bad_input(tmp_path, extra, message):
    result = invoke("backtest", "--prices", "factors", "--out", str(tmp_path / "r"), *extra)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_train_then_backtest_policy(tmp_path):
    out = tmp_path / "tr"
    result = invoke("train", "--iterations", "2", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "best validation log growth" in result.output
    for name in ("policy.pt", "policy.json", "config.json", "train_log.csv", "last.pt"):
        assert (out / name).is_file(), name
    bt = tmp_path / "bt"
    result = invoke(
        "backtest",
        "--config",
        "backtests/sp500.yaml",
        "--policy",
        str(out),
        "--strategies",
        "equal_weight",
        "--out",
        str(bt),
    )
    assert result.exit_code == 0, result.output
    assert "grpo" in pd.read_csv(bt / "metrics.csv", index_col=0).index


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--algo", "dqn"], "error: unknown --algo 'dqn'"),
        (["train", "--train-end", "2016-01-01", "--val-end", "2015-01-01"], "train_end must be"),
        (["train", "--resume", "/nonexistent"], "error: nothing to resume"),
        (["train", "--set", "lr"], "expected KEY=VALUE"),
        (["train", "--set", "lr=-1"], "lr must lie in 0..10"),
        (["train", "--set", "no_such=1"], "unknown key(s) no_such"),
        (["train", "--set", "distribution=gaussian"], "expected one of ['logistic_normal'"),
        (
            ["backtest", "--policy", "/nonexistent", "--strategies", "equal_weight"],
            "is not a trained run",
        ),
    ],
)
def test_train_bad_input(args, message, tmp_path):
    result = invoke(*args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_train_set_reaches_the_saved_config(tmp_path):
    out = tmp_path / "tr"
    args = ("--set", "hidden=8", "--set", "rewards={sharpe: 1.0}", "--iterations", "1")
    result = invoke("train", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    saved = __import__("json").loads((out / "config.json").read_text())
    assert saved["hidden"] == 8 and saved["rewards"] == {"sharpe": 1.0}


def test_settings_lists_every_training_setting_with_its_help():
    from dataclasses import fields

    from portfolio_rl.agents.config import TrainConfig

    result = invoke("settings", "--markdown")
    assert result.exit_code == 0, result.output
    for f in fields(TrainConfig):
        assert f"| `{f.name}` |" in result.output, f.name
    assert "### PPO only" in result.output and "### robust GRPO only" in result.output
    result = invoke("settings", "--group", "nonsense")
    assert result.exit_code == 2 and "unknown --group" in result.output


def test_bench_prints_the_walk_forward_side_by_side(monkeypatch):
    figures = {
        "env_steps_per_s": 40_000.0,
        "wf_min_cvar_s": 1.0,
        "wf_min_cvar_rebalances": 216,
        "wf_min_cvar_skfolio_s": 7.5,
        "wf_min_cvar_speedup": 7.5,
        "wf_dro_cvar_s": 1.2,
        "wf_dro_cvar_rebalances": 216,
    }
    monkeypatch.setattr(
        "portfolio_rl.workflows.bench.run_benchmarks", lambda names, repeats: figures
    )
    result = invoke("bench")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("gymnasium env: steps per second" in line and "40,000" in line for line in lines)
    assert any("min_cvar" in line and "7.50" in line and "7.5x" in line for line in lines)
    assert any("dro_cvar" in line and "1.20" in line and "-" in line for line in lines)
    assert invoke("bench", "--only", "nope").output.startswith("error: unknown benchmark")


def test_a_policy_that_kept_its_untrained_start_says_so_everywhere(tmp_path):
    out = tmp_path / "t"
    result = invoke("train", "--iterations", "0", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "warning: validation kept the untrained start" in result.output
    assert "decides 1/N" in result.output
    args = ("--policy", str(out), "--strategies", "equal_weight", "--out", str(tmp_path / "b"))
    result = invoke("backtest", *args)
    assert result.exit_code == 0 and "grpo kept its untrained start" in result.output
    result = invoke("allocate", "--policy", str(out))
    assert result.exit_code == 0 and "grpo kept its untrained start" in result.output
