"""Cases from an attack on the tool (issue 31), kept so they stay fixed: a setting is applied
or refused, never ignored; a cache is checked before it is served; a strategy that cannot
decide is refused before the backtest."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app
from portfolio_rl.data.sources import load_prices
from portfolio_rl.errors import ConfigError

runner = CliRunner()


@pytest.fixture(scope="module")
def small_prices(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    path = tmp / "p.csv"
    load_prices("sp500", start="2010-01-01", end="2016-12-31").iloc[:, :6].to_csv(path)
    return tmp, path


def test_train_set_anchor_is_applied_not_dropped(small_prices):
    tmp, path = small_prices
    out = tmp / "anchored"
    args = ["train", "--prices", str(path), "--train-end", "2013-12-31", "--val-end", "2014-12-31"]
    result = runner.invoke(
        app, [*args, "--set", "anchor=min_variance", "--set", "iterations=0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["anchor"] == "min_variance"
    assert json.loads((out / "policy.json").read_text())["anchor"]["name"] == "min_variance"


def test_quick_never_raises_an_explicit_iteration_count():
    from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig
    from portfolio_rl.workflows.quick import quick_experiment

    exp = ExperimentConfig(rl=RLConfig(train={"iterations": 0}))
    assert quick_experiment(exp).rl.train["iterations"] == 0
    assert quick_experiment(ExperimentConfig()).rl.train["iterations"] == 20


def test_a_key_given_twice_in_yaml_is_an_error(tmp_path):
    from portfolio_rl.plumbing.typed import load_yaml

    path = tmp_path / "twice.yaml"
    path.write_text("rl:\n  seeds: [0]\n  seeds: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"key 'seeds' is given twice \(line 3\)"):
        load_yaml(path)
    path.write_text("rl:\n  seeds: [0]\nname: a\n")
    assert load_yaml(path)["rl"]["seeds"] == [0]


@pytest.mark.parametrize("damage", ["nan", "negative", "negative with its checksum"])
def test_a_corrupt_anchor_table_is_computed_again(tmp_path, damage):
    from portfolio_rl.backtest.anchors import _write_table, anchor_table, table_key

    prices = load_prices("sp500", start="2015-01-01", end="2016-06-30").iloc[:, :5]
    good = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path).weights
    path = tmp_path / "anchors" / f"{table_key(prices, 'inverse_vol', {}, 60)}.parquet"
    frame = pd.read_parquet(path)
    if damage == "nan":
        frame.iloc[100, 0] = np.nan
    else:  # the right shape and sums, negative weights
        frame.iloc[100, :2] = [-0.5, frame.iloc[100, 1] + frame.iloc[100, 0] + 0.5]
    frame.to_parquet(path)
    if damage.endswith("checksum"):  # a forged file: the checksum matches, the simplex not
        _write_table(path, frame)
    again = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path).weights
    pd.testing.assert_frame_equal(again, good)


def test_a_window_too_short_for_a_policy_is_refused_before_the_backtest(small_prices):
    tmp, path = small_prices
    out = tmp / "plain"
    args = ["train", "--prices", str(path), "--train-end", "2013-12-31", "--val-end", "2014-12-31"]
    assert runner.invoke(app, [*args, "--iterations", "0", "--out", str(out)]).exit_code == 0
    result = runner.invoke(
        app,
        ["backtest", "--prices", str(path), "--policy", str(out), "--window", "126",
         "--out", str(tmp / "b")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--window 126: the policies need windows of at least 252 returns" in result.output
    assert not (tmp / "b").exists()


BACKTEST = ["backtest", "--prices", "factors", "--start", "2019-01-01", "--rebalance-days", "63"]


def backtest(out, *extra):
    args = [*BACKTEST, "--strategies", "equal_weight", "--out", str(out), *extra]
    return runner.invoke(app, args)


def test_force_never_deletes_a_users_files_in_a_run_folder(tmp_path):
    out = tmp_path / "run"
    assert backtest(out).exit_code == 0
    assert "metrics.csv" in json.loads((out / "manifest.json").read_text())["files"]
    (out / "notes.txt").write_text("mine")
    (out / "mydata").mkdir()
    (out / "mydata" / "a.csv").write_text("1")
    result = backtest(out, "--force")
    assert result.exit_code == 2
    assert "holds files portfolio-rl did not write (mydata/a.csv, notes.txt)" in result.output
    assert (out / "notes.txt").read_text() == "mine" and (out / "mydata" / "a.csv").is_file()
    (out / "notes.txt").unlink()
    (out / "mydata" / "a.csv").unlink()
    assert backtest(out, "--force").exit_code == 0


def test_force_refuses_a_folder_that_portfolio_rl_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    result = backtest(out, "--force")
    assert result.exit_code == 2 and "not a folder portfolio-rl wrote" in result.output
    assert (out / "thesis.tex").is_file()


def test_report_force_replaces_only_its_own_files(tmp_path):
    run = tmp_path / "run"
    assert backtest(run).exit_code == 0
    pdf, md = tmp_path / "r.pdf", tmp_path / "r.md"
    for path in (pdf, md):
        path.write_text("a user's file")
        for force in ([], ["--force"]):
            option = ["-o", str(pdf)] if path == pdf else ["--markdown", str(md)]
            result = runner.invoke(app, ["report", str(run), *option, *force])
            assert result.exit_code == 2, result.output
            assert path.read_text() == "a user's file"
        path.unlink()
    assert runner.invoke(app, ["report", str(run), "-o", str(pdf)]).exit_code == 0
    assert runner.invoke(app, ["report", str(run), "-o", str(pdf), "--force"]).exit_code == 0
    assert runner.invoke(app, ["report", str(run), "--markdown", str(md)]).exit_code == 0
    again = runner.invoke(app, ["report", str(run), "--markdown", str(md), "--force"])
    assert again.exit_code == 0 and md.read_text().startswith("<!-- portfolio-rl report")


def test_sweep_force_keeps_a_users_files_and_the_old_sweep_when_it_fails(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from portfolio_rl.plumbing.files import write_manifest
    from portfolio_rl.workflows import sweep_ray

    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "data: {prices: sp500, start: '2008-01-01', end: '2016-12-31'}\n"
        "strategies: [equal_weight, min_variance]\n"
        "sweep:\n  target: min_variance\n  space: {strategy_params.min_variance.max_weight: "
        "{grid: [0.5]}}\n"
    )
    out = tmp_path / "sweep"
    (out / "trials").mkdir(parents=True)
    (out / "trials" / "t.csv").write_text("old")
    write_manifest(out, "sweep")
    (out / "notes.txt").write_text("mine")
    args = ["sweep", str(sweep), "--out", str(out), "--force", "--pdf", str(tmp_path / "s.pdf")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "notes.txt" in result.output
    (out / "notes.txt").unlink()

    def fail(*args, **kwargs):
        raise RuntimeError("the cluster went away")

    monkeypatch.setattr(sweep_ray, "_sweep", fail)
    assert runner.invoke(app, args).exit_code != 0
    assert (out / "trials" / "t.csv").read_text() == "old"  # the old sweep, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_killed_runs_staging_folder_and_lock_are_cleaned_up_by_the_next_run(tmp_path):
    from portfolio_rl.plumbing.files import _take_lock

    dead = tmp_path / ".old-run.abcd1234.partial"
    (dead / "weights").mkdir(parents=True)
    (tmp_path / ".old-run.lock").write_text("")
    live_lock = tmp_path / ".busy.lock"
    live = tmp_path / ".busy.wxyz5678.partial"
    live.mkdir()
    fd = _take_lock(live_lock)  # another process is writing "busy"
    try:
        assert backtest(tmp_path / "new").exit_code == 0
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        import os

        os.close(fd)
    assert left == [".busy.lock", ".busy.wxyz5678.partial", "new"]


def test_worker_processes_end_when_their_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "from portfolio_rl.plumbing.processes import worker_pool\n"
        "import os, time\n"
        "manager, pool = worker_pool(2)\n"
        "children = [p.pid for p in pool._pool] + [manager._process.pid]\n"
        "print(' '.join(map(str, children)), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    children = [int(p) for p in parent.stdout.readline().split()]
    assert len(children) == 3
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:  # a zombie waits for init, it runs nothing
            return f.read().split(") ")[1][0] != "Z"

    deadline = time.monotonic() + 10
    while any(map(alive, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, children))


def test_a_symbolic_link_loop_as_out_is_one_error_line(tmp_path):
    import os

    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    result = backtest(tmp_path / "a")
    assert result.exit_code == 2 and "symbolic links loop" in result.output


def test_a_setting_far_too_large_is_refused_before_anything_is_allocated(small_prices):
    tmp, path = small_prices
    args = ["train", "--prices", str(path), "--set", "hidden=1000000000", "--out", str(tmp / "h")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "hidden must lie in 1..4096" in result.output


@pytest.mark.parametrize("killed_at", ["unit", "copy"])
def test_a_kill_at_any_write_leaves_the_old_checkpoint_or_the_new_one(
    tmp_path, monkeypatch, killed_at
):
    import torch

    from portfolio_rl.agents import records

    records.save_unit(tmp_path, "policy", {"w": torch.zeros(2)}, {"best_iteration": 1})
    real = records.atomic_write if killed_at == "unit" else records.atomic_write_text
    name = "atomic_write" if killed_at == "unit" else "atomic_write_text"

    def killed(path, *args):
        raise KeyboardInterrupt  # kill -9 between or inside the writes

    monkeypatch.setattr(records, name, killed)
    with pytest.raises(KeyboardInterrupt):
        records.save_unit(tmp_path, "policy", {"w": torch.ones(2)}, {"best_iteration": 2})
    monkeypatch.setattr(records, name, real)
    state, meta, _ = records.load_unit(tmp_path, "policy")
    expected = 1 if killed_at == "unit" else 2
    assert meta == {"best_iteration": expected}
    assert torch.equal(state["w"], torch.full((2,), float(expected - 1)))
    assert not (tmp_path / "policy.json").exists()  # no copy that disagrees with the unit


@pytest.mark.parametrize(
    ("file", "damage"),
    [
        ("config.json", b"\x89PNG\x00\x01"),
        ("config.json", b"[1, 2]"),
        ("metrics.csv", b"\x00\x01\x02"),
        ("metrics.csv", b"strategy,sharpe\nequal_weight,high\n"),
        ("weights/equal_weight.csv", b"date,A\n2020-01-02,lots\n"),
        ("policies/grpo-s0/train_log.csv", b"iteration,val_score\n0,good\n"),
        ("policies/grpo-s0/summary.json", b"\xff\xfe"),
    ],
)
def test_report_on_an_edited_or_binary_run_file_is_one_error_line(tmp_path, file, damage):
    run = tmp_path / "run"
    assert backtest(run).exit_code == 0
    if file.startswith("policies/"):
        config = json.loads((run / "config.json").read_text())
        config["policies"] = {"grpo_s0": "policies/grpo-s0"}
        (run / "config.json").write_text(json.dumps(config))
    (run / file).parent.mkdir(parents=True, exist_ok=True)
    (run / file).write_bytes(damage)
    result = runner.invoke(app, ["report", str(run), "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2, result.output
    assert f"{file} cannot be read" in result.output
    assert not (tmp_path / "r.pdf").exists()


def test_a_price_file_with_two_date_columns_is_refused(tmp_path):
    from portfolio_rl.data.checks import validate_prices
    from portfolio_rl.errors import DataError

    days = pd.bdate_range("2020-01-01", periods=5)
    frame = pd.DataFrame({"Date": days, "date": days.strftime("%Y%m%d"), "A": 1.0 + np.arange(5)})
    with pytest.raises(DataError, match="more than one date column \\('Date', 'date'\\)"):
        validate_prices(frame)


def test_holdings_of_true_and_false_are_not_read_as_one_and_zero(tmp_path):
    from portfolio_rl.errors import DataError
    from portfolio_rl.workflows.allocation import read_holdings

    path = tmp_path / "h.csv"
    path.write_text("asset,value\nAAPL,True\nAMD,False\n")
    with pytest.raises(DataError, match="every value must be a number"):
        read_holdings(path)
    path.write_text("asset,value\nAAPL, 100\nAMD,2.5e3\n")
    assert read_holdings(path).to_dict() == {"AAPL": 100.0, "AMD": 2500.0}


def test_a_strategy_that_mostly_fails_is_marked_failed_not_reported_as_a_result(tmp_path):
    from portfolio_rl.report.run import Run
    from portfolio_rl.report.text import headline_table
    from portfolio_rl.report.verdicts import verdict

    config = tmp_path / "c.yaml"  # five assets can never each hold at most 5%
    config.write_text("strategy_params: {min_variance: {max_weight: 0.05}}\n")
    out = tmp_path / "o"
    args = [*BACKTEST, "--config", str(config), "--strategies", "equal_weight,min_variance"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "marked failed, left out of the verdict" in result.output
    run = Run(out)
    assert run.metrics["failed"].to_dict() == {"equal_weight": False, "min_variance": True}
    assert "min_variance (failed)" in headline_table(run.metrics, run.stats).index
    assert verdict(run.metrics, run.stats).startswith(
        "Marked failed, and left out of every comparison: min_variance"
    )


def test_anchor_auto_with_no_baseline_to_choose_is_refused(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("strategies: [benchmark]\nrl: {train: {anchor: auto}}\n")
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "o")])
    assert (
        result.exit_code == 2 and "anchor auto chooses among the run's baselines" in result.output
    )
    config.write_text("strategies: [benchmark]\n")
    args = ["train", "--config", str(config), "--anchor", "auto", "--out", str(tmp_path / "t")]
    result = runner.invoke(app, args)
    assert (
        result.exit_code == 2 and "anchor auto chooses among the run's baselines" in result.output
    )


def test_a_sweep_killed_while_replacing_a_folder_gives_the_old_one_back(tmp_path):
    from portfolio_rl.plumbing.files import write_manifest
    from portfolio_rl.workflows.sweep_ray import restore_killed

    folder, old = tmp_path / "sweep", tmp_path / ".sweep.4194303.old"  # a pid nobody has
    (old / "trials").mkdir(parents=True)
    (old / "trials" / "t.csv").write_text("old")
    (folder / "ray").mkdir(parents=True)  # what the killed sweep had written
    write_manifest(folder, "sweep")
    restore_killed(folder)
    assert (folder / "trials" / "t.csv").read_text() == "old" and not old.exists()


@pytest.mark.parametrize("field", ["backtest", "data", "rl", "policies", "risk_free", "n_boot"])
def test_report_on_a_run_config_with_an_edited_field_is_one_error_line(tmp_path, field):
    run = tmp_path / "run"
    assert backtest(run).exit_code == 0
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(config | {field: ["edited"]}))
    result = runner.invoke(app, ["report", str(run), "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2 and f"its {field} field has an invalid value" in result.output
