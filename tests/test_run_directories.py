"""Run directories are written as a unit; reports of backtest runs say what the run holds."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app

runner = CliRunner()
BASE = ["backtest", "--prices", "factors", "--start", "2019-01-01", "--rebalance-days", "63"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_force_replaces_the_old_run_whole(tmp_path):
    out = tmp_path / "run"
    assert invoke(*BASE, "--strategies", "equal_weight,min_variance", "--out", out).exit_code == 0
    assert (out / "weights" / "min_variance.csv").is_file()
    assert invoke(*BASE, "--strategies", "equal_weight", "--out", out, "--force").exit_code == 0
    assert not (out / "weights" / "min_variance.csv").exists()  # no stale weights left
    assert set(pd.read_csv(out / "metrics.csv", index_col=0).index) == {"equal_weight"}


@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError])
def test_a_failure_while_writing_keeps_the_old_run(tmp_path, monkeypatch, fault):
    from portfolio_rl.backtest import runner as runner_module

    out = tmp_path / "run"
    assert invoke(*BASE, "--strategies", "equal_weight", "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    original = runner_module.write_run

    def write_half(folder, *args):
        original(folder, *args)
        raise fault("killed after writing")

    monkeypatch.setattr(runner_module, "write_run", write_half)
    result = invoke(*BASE, "--strategies", "min_variance", "--out", out, "--force")
    assert result.exit_code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_strategy_whose_solves_mostly_fail_is_reported(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("strategy_params: {min_variance: {max_weight: 0.05}}\n")  # 5 assets
    result = invoke(
        *BASE,
        "--config",
        config,
        "--strategies",
        "equal_weight,min_variance",
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 0, result.output
    assert "warning: min_variance:" in result.output and "solves failed" in result.output


def test_the_report_of_a_baselines_backtest_says_only_what_it_holds(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    out = tmp_path / "run"
    assert invoke(*BASE, "--strategies", "equal_weight,min_variance", "--out", out).exit_code == 0
    assert invoke("report", out, "-o", tmp_path / "r.pdf").exit_code == 0
    pages = [p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "r.pdf")).pages]
    first = pages[0]
    assert "walk-forward backtest of the baselines" in first and "GRPO allocation" not in first
    assert "?" not in first.split("Backtest:")[0]  # the data range is known
    assert "no trained policy" in first and "seeds" not in first
    assert not any("RL training curves" in p for p in pages)
    assert not any("Appendix: every trained policy" in p for p in pages)


def test_an_interrupted_pdf_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from portfolio_rl.report import pages

    out = tmp_path / "run"
    assert invoke(*BASE, "--strategies", "equal_weight", "--out", out).exit_code == 0

    def killed(run, colours):
        raise KeyboardInterrupt

    monkeypatch.setattr("portfolio_rl.report.pdf.PAGES", (pages.page_summary, killed))
    result = invoke("report", out, "-o", tmp_path / "r.pdf")
    assert result.exit_code != 0
    assert list(tmp_path.glob("*.pdf")) == [] and list(tmp_path.glob(".*tmp")) == []


TRAIN = ["train", "--iterations", "2", "--set", "batch_starts=4", "--set", "group_size=4"]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_train_is_written_as_a_unit_and_an_interrupt_keeps_the_previous_run(tmp_path, monkeypatch):
    from portfolio_rl.agents import runstate

    out = tmp_path / "t"
    assert invoke(*TRAIN, "--out", out).exit_code == 0
    before = snapshot(out)
    original = runstate.RunState.end_iteration

    def interrupted(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(runstate.RunState, "end_iteration", interrupted)
    result = invoke(*TRAIN, "--seed", "7", "--out", out, "--force")
    assert result.exit_code == 130
    assert snapshot(out) == before  # not the new config.json beside the old last.pt
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".t.") and p.is_dir()]


@pytest.mark.parametrize(
    "args",
    [
        ["--prices", "nosuchdata"],
        ["--train-end", "1980-12-31", "--val-end", "1981-12-31"],
        ["--device", "cuda"] if not __import__("torch").cuda.is_available() else ["--prices", "x"],
    ],
)
def test_a_failed_train_leaves_no_folder(tmp_path, args):
    out = tmp_path / "t"
    result = invoke(*TRAIN, *args, "--out", out)
    assert result.exit_code == 2 and "error:" in result.output, result.output
    assert not out.exists()
    assert invoke(*TRAIN, "--out", out).exit_code == 0  # so the rerun is not refused


def test_resume_refuses_flags_that_contradict_the_run(tmp_path):
    out = tmp_path / "t"
    assert invoke(*TRAIN, "--out", out).exit_code == 0
    result = invoke("train", "--resume", out, "--algo", "ppo", "--seed", "9")
    assert result.exit_code == 2
    assert "--algo ppo, --seed 9 contradict its config.json" in result.output
    result = invoke("train", "--resume", out, "--iterations", "3", "--seed", "0")
    assert result.exit_code == 0, result.output  # the same seed is no contradiction


def test_two_writers_of_one_folder_one_succeeds_whole_the_other_exits_2(tmp_path):
    import subprocess
    import sys

    for command in (
        [*TRAIN, "--iterations", "4"],
        [*BASE, "--strategies", "equal_weight,min_variance"],
    ):
        out = tmp_path / command[0]
        args = [sys.executable, "-m", "portfolio_rl", *command, "--out", str(out)]
        procs = [
            subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)
        ]
        results = [(p.wait(timeout=300), p.stdout.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        loser = next(text for code, text in results if code == 2)
        assert loser.count("error:") == 1 and (
            "another portfolio-rl process is writing" in loser or "already exists" in loser
        ), loser
        assert (out / ("policy.pt" if command[0] == "train" else "metrics.csv")).is_file()


def test_force_on_a_symlinked_out_replaces_its_target_and_leaves_no_dangling_link(tmp_path):
    target = tmp_path / "real"
    link = tmp_path / "link"
    assert invoke(*BASE, "--strategies", "equal_weight", "--out", target).exit_code == 0
    link.symlink_to(target)
    assert invoke(*BASE, "--strategies", "min_variance", "--out", link, "--force").exit_code == 0
    assert link.is_symlink() and link.resolve() == target
    assert (target / "weights" / "min_variance.csv").is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
