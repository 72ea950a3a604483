"""`portfolio-rl sweep`: the sweep file, the trials (validation only), the choice, the DSR
over every trial, and a real sweep on local Ray."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app
from portfolio_rl.workflows.sweep import choose, experiment, load_sweep, run_trial, trial_key

runner = CliRunner()

BASE = """
name: tiny
data: {prices: sp500, start: "2004-01-01", end: "2016-12-31"}
splits: {train_end: "2012-12-31", val_end: "2014-12-31"}
backtest: {rebalance_days: 42, cost_bps: 10}
strategies: [equal_weight, robust_mv_ellipsoid]
rl:
  train: {iterations: 2, batch_starts: 4, group_size: 4, eval_every: 1}
n_boot: 100
"""
SWEEP = """
sweep:
  target: grpo
  space:
    rl.train.lr: {grid: [0.001, 0.01]}
  seeds: [0, 1]
"""


def write(tmp_path, text, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("sweep:\n  space: {rl.train.lr: [1, 2]}\n", "give one of"),
        ("sweep:\n  space: {seed: {grid: [1, 2]}}\n", "seeds are repeats"),
        ("sweep:\n  searcher: optuna\n  space: {rl.train.lr: {grid: [1, 2]}}\n", "cannot grid"),
        ("sweep:\n  space: {rl.train.lr: {uniform: [1]}}\n", "low, high"),
        ("sweep:\n  space: {rl.train.nonsense: {grid: [1]}}\n", "nonsense"),
        ("sweep:\n  space: {rl.train.lr: {grid: [-1.0]}}\n", "lr must lie in 0..10"),
        ("sweep:\n  space: {rl.train.lr: {loguniform: [0, 0.1]}}\n", "needs low above 0"),
        ("sweep:\n  space: {rl.train.hidden: {randint: [8, 2]}}\n", "low must be below high"),
        ("sweep:\n  space: {rl.train.hidden: {randint: [2.5, 8]}}\n", "whole numbers"),
        ("sweep:\n  space: {rl.train.hidden: {grid: [1000000000]}}\n", "hidden must lie in"),
        ("sweep:\n  space: {data.prices: {grid: [sp500, /no/such.csv]}}\n", "not found"),
        ("1: 2\nsweep:\n  space: {rl.train.lr: {grid: [0.1]}}\n", "unknown key(s) 1"),
        ("sweep:\n  target: no_such_thing\n", "neither an RL algorithm nor a baseline"),
        ("sweep:\n  metric: calmar\n", "metric"),
        ("", "needs a `sweep:` block"),
    ],
)
def test_bad_sweep_files_are_one_error_line(tmp_path, block, message):
    result = runner.invoke(app, ["sweep", str(write(tmp_path, BASE + block))])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_section_that_is_not_a_mapping_is_one_error_line(tmp_path):
    text = BASE.split("rl:")[0] + "rl: null\nsweep:\n  space: {rl.train.lr: {grid: [0.1]}}\n"
    result = runner.invoke(app, ["sweep", str(write(tmp_path, text))])
    assert result.exit_code == 2 and "rl must be a mapping, got None" in result.output


def test_a_trial_sets_its_values_and_trains_only_its_target(tmp_path):
    base, sweep = load_sweep(write(tmp_path, BASE + SWEEP))
    exp = experiment({"rl.train.lr": 0.01, "seed": 1}, base, sweep)
    assert exp.rl.train["lr"] == 0.01 and exp.rl.algos == ("grpo",) and not exp.rl.walk_forward
    params = {"target": "robust_mv_ellipsoid", "strategy_params.robust_mv_ellipsoid.kappa": 2.0}
    exp = experiment(params, base, sweep)
    assert exp.strategy_params["robust_mv_ellipsoid"]["kappa"] == 2.0
    assert trial_key({"a": 1, "b": 2}) == trial_key({"b": 2, "a": 1})


@pytest.mark.parametrize("target", ["grpo", "robust_mv_ellipsoid"])
def test_trials_see_validation_returns_only_and_never_run_twice(tmp_path, target):
    base, sweep = load_sweep(write(tmp_path, BASE + SWEEP))
    params = {"target": target, "seed": 0}
    record = run_trial(params, base, sweep, tmp_path / "trials")
    frame = pd.read_csv(
        tmp_path / "trials" / record["key"] / "validation.csv", index_col=0, parse_dates=True
    )
    assert frame.index[0] > pd.Timestamp("2012-12-31")
    assert frame.index[-1] <= pd.Timestamp("2014-12-31")  # the sweep never sees the test range
    assert np.isfinite(record["val_score"])
    (tmp_path / "trials" / record["key"] / "validation.csv").unlink()
    assert run_trial(params, base, sweep, tmp_path / "trials") == record  # not trained again


def test_the_winner_has_the_best_mean_over_seeds():
    records = [
        {"key": "a0", "params": {"x": 1, "seed": 0}, "target": "grpo", "seeds": [0],
         "val_score": 0.9, "val_sharpe": 1.0},
        {"key": "a1", "params": {"x": 1, "seed": 1}, "target": "grpo", "seeds": [1],
         "val_score": 0.0, "val_sharpe": 0.0},
        {"key": "b0", "params": {"x": 2, "seed": 0}, "target": "grpo", "seeds": [0],
         "val_score": 0.5, "val_sharpe": 0.5},
        {"key": "b1", "params": {"x": 2, "seed": 1}, "target": "grpo", "seeds": [1],
         "val_score": 0.5, "val_sharpe": 0.5},
    ]  # fmt: skip
    table, winner = choose(records)
    assert winner["params"] == {"x": 2} and winner["keys"] == ["b0", "b1"]  # not the best seed
    assert winner["seeds"] == [0, 1] and table["chosen"].sum() == 2


def test_psr_and_dsr_equal_skfolio():
    measures = pytest.importorskip("skfolio.measures")
    from portfolio_rl.backtest.stats import deflated_sharpe, probabilistic_sharpe

    rng = np.random.default_rng(7)
    r = rng.standard_t(5, 750) * 0.01 + 0.0006
    trials = rng.normal(0.02, 0.015, 12)
    theirs_psr = measures.probabilistic_sharpe_ratio(r, benchmark_sharpe_ratio=0.01)
    assert probabilistic_sharpe(r, 0.01) == pytest.approx(theirs_psr, rel=1e-9)
    theirs_dsr = measures.deflated_sharpe_ratio(r, trial_sharpe_ratios=trials)
    assert deflated_sharpe(r, trials) == pytest.approx(theirs_dsr, rel=1e-9)
    assert deflated_sharpe(r, trials) < probabilistic_sharpe(r)  # 12 trials deflate it


@pytest.fixture(scope="module")
def ray_sweep(tmp_path_factory):
    pytest.importorskip("ray")
    tmp = tmp_path_factory.mktemp("sweep")
    path = write(tmp, BASE + SWEEP)
    out, pdf = tmp / "out", tmp / "sweep.pdf"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--pdf", str(pdf)])
    assert result.exit_code == 0, result.output
    return tmp, out, pdf, result.output


def test_a_sweep_on_local_ray_chooses_on_validation_and_tests_once(ray_sweep):
    pypdf = pytest.importorskip("pypdf")
    _, out, pdf, output = ray_sweep
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4  # 2 values x 2 seeds
    means = trials.groupby("param:rl.train.lr")["val_score"].mean()
    assert trials.loc[trials["chosen"], "param:rl.train.lr"].unique() == [means.idxmax()]
    meta = json.loads((out / "test" / "sweep.json").read_text())
    assert meta["n_trials"] == 4 and 0 <= meta["dsr"] <= 1
    metrics = pd.read_csv(out / "test" / "metrics.csv", index_col=0)
    assert {"grpo_s0", "grpo_s1", "equal_weight"} <= set(metrics.index)
    returns = pd.read_csv(out / "test" / "returns.csv", index_col=0, parse_dates=True)
    assert returns.index[0] > pd.Timestamp("2014-12-31")  # the test starts after validation
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(pdf)).pages)
    assert "Sweep: 4 trials, chosen on validation only" in text and "Trials: 4" in text
    assert "chosen on validation" in output


def test_resuming_a_finished_sweep_trains_nothing_again(ray_sweep):
    tmp, out, _, _ = ray_sweep
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/s*/policy.pt")}
    pdf = tmp / "again.pdf"
    path = tmp / "sweep.yaml"
    result = runner.invoke(
        app, ["sweep", str(path), "--out", str(out), "--pdf", str(pdf), "--resume"]
    )
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    again = runner.invoke(app, ["sweep", str(path), "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output


def test_the_same_sweep_with_the_optuna_searcher(tmp_path):
    pytest.importorskip("optuna")
    block = """
sweep:
  target: grpo
  space:
    rl.train.lr: {loguniform: [0.001, 0.01]}
  seeds: [0, 1]
  num_samples: 2
  searcher: optuna
"""
    out = tmp_path / "out"
    path = write(tmp_path, BASE + block)
    args = ["sweep", str(path), "--out", str(out), "--pdf", str(tmp_path / "o.pdf")]
    result = runner.invoke(app, [*args, "--max-concurrent", "2"])
    assert result.exit_code == 0, result.output
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and trials["param:rl.train.lr"].between(0.001, 0.01).all()
    assert (trials["seeds"] == "0 1").all()  # a searcher cannot grid: the seeds train inside
    meta = json.loads((out / "test" / "sweep.json").read_text())
    assert meta["n_trials"] == 2 and meta["seeds"] == [0, 1]


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_and_runs_only_the_unfinished_trials(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    pytest.importorskip("ray")
    path = write(tmp_path, BASE.replace("iterations: 2", "iterations: 25") + SWEEP)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "portfolio_rl", "sweep", str(path), "--out", str(out),
           "--pdf", str(tmp_path / "s.pdf"), "--max-concurrent", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not list(out.glob("trials/*/trial.json")) and time.time() < deadline:
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    output, _ = proc.communicate(timeout=300)
    done = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("trials/*/trial.json")}
    assert proc.returncode != 0 and 1 <= len(done) < 4, output
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("trials/*/trial.json")}
    assert len(after) == 4 and all(after[k] == v for k, v in done.items())
    assert len(pd.read_csv(out / "trials.csv")) == 4


def test_without_ray_a_sweep_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    result = runner.invoke(app, ["sweep", str(write(tmp_path, BASE + SWEEP))])
    assert result.exit_code == 2 and "pip install 'portfolio-rl[sweep]'" in result.output


def test_a_baseline_winner_is_tested_once_after_validation(tmp_path):
    from portfolio_rl.workflows.pipeline import SILENT
    from portfolio_rl.workflows.sweep_ray import _test_once

    base, sweep = load_sweep(write(tmp_path, BASE + SWEEP))
    params = {"target": "robust_mv_ellipsoid", "strategy_params.robust_mv_ellipsoid.kappa": 1.0}
    winner = {"params": params, "target": "robust_mv_ellipsoid", "keys": [], "seeds": [0]}
    run = _test_once(base, sweep, winner, tmp_path, hooks=SILENT)
    assert run.result.returns.index[0] > pd.Timestamp("2014-12-31")
    assert "robust_mv_ellipsoid" in run.metrics.index
    assert run.exp.strategy_params["robust_mv_ellipsoid"]["kappa"] == 1.0


def test_the_progress_bar_knows_how_many_trials_come():
    from portfolio_rl.workflows.sweep import SweepConfig
    from portfolio_rl.workflows.sweep_ray import trial_count

    space = {"a": {"grid": [1, 2, 3]}, "b": {"grid": [0, 1]}, "c": {"uniform": [0, 1]}}
    assert trial_count(SweepConfig(space=space, seeds=(0, 1), num_samples=2)) == 24
    assert (
        trial_count(SweepConfig(space={"c": {"uniform": [0, 1]}}, searcher="optuna", num_samples=5))
        == 5
    )
