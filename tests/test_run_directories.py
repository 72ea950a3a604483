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
