"""`portfolio-rl run` end to end on small settings, and the PDF it writes."""

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app

pypdf = pytest.importorskip("pypdf")
runner = CliRunner()

SMALL = """
name: small
data: {prices: sp500, start: "2004-01-01", end: "2018-12-31"}
splits: {train_end: "2012-12-31", val_end: "2014-12-31"}
backtest: {rebalance_days: 42, cost_bps: 10}
strategies: [equal_weight, min_variance, robust_mv_ellipsoid, dro_cvar, benchmark]
rl:
  algos: [grpo, ppo, robust_grpo]
  seeds: [0, 1]
  seeds_together: true   # GRPO's two seeds in one batched call
  train: {iterations: 3, batch_starts: 4, group_size: 4, eval_every: 1, scenarios: 3}
n_boot: 100
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    config = tmp / "small.yaml"
    config.write_text(SMALL)
    out, pdf = tmp / "run", tmp / "report.pdf"
    result = runner.invoke(
        app, ["run", "--config", str(config), "--out", str(out), "--pdf", str(pdf)]
    )
    assert result.exit_code == 0, result.output
    return out, pdf, result.output


def pdf_text(pdf):
    reader = pypdf.PdfReader(str(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def test_run_writes_everything(small_run):
    out, _, output = small_run
    for name in (
        "returns.csv",
        "metrics.csv",
        "stats.csv",
        "config.json",
        "seeds.csv",
        "weights/grpo_s0.csv",
        "weights/dro_cvar.csv",
        "policies/grpo-s1/fold-00/policy.pt",
        "policies/grpo-s1/fold-03/policy.json",
        "policies/ppo-s0/fold-03/train_log.csv",
    ):
        assert (out / name).is_file(), name
    assert "report:" in output and "GRPO" in output
    metrics = pd.read_csv(out / "metrics.csv", index_col=0)
    assert {"grpo_s0", "grpo_s1", "ppo_s0", "robust_grpo_s1", "benchmark"} <= set(metrics.index)
    seeds = pd.read_csv(out / "seeds.csv")
    assert set(seeds["strategy"]) >= {"grpo (mean)", "ppo (mean)", "robust_grpo (mean)"}
    assert "ROBUST_GRPO" in output  # the verdict has robust GRPO's lines too


def test_pdf_has_the_sections_and_metadata(small_run):
    _, pdf, _ = small_run
    reader, pages = pdf_text(pdf)
    # no cash: no exposure page; walk-forward: a folds page; robust GRPO: its page; the
    # bundled S&P 500 index: a benchmark page; seeds last
    assert len(pages) == 13
    text = "\n".join(pages)
    for heading in (
        "Appendix: every trained policy",
        "Walk-forward folds",
        "Robust GRPO: returns and tails",
        "Robust GRPO's max drawdown was",
        "Summary",
        "Wealth and drawdowns",
        "Rolling one-year Sharpe",
        "Weights over time",
        "GRPO training",
        "The strategies in this report",
        "min_variance: Minimum variance",
        "Statistics",
        "Against the benchmark (sp500)",
        "Limitations",
        "Verdict",
        "Survivorship bias",
    ):
        assert heading in text, heading
    assert reader.metadata.title.startswith("portfolio-rl report")
    assert "GRPO" in reader.metadata.subject


def test_headline_table_equals_metrics_csv(small_run):
    """Page 1 has a row per baseline and one per algorithm (means over its seeds); the
    appendix has a row per seed: every number equals metrics.csv's."""
    out, pdf, _ = small_run
    _, pages = pdf_text(pdf)
    metrics = pd.read_csv(out / "metrics.csv", index_col=0)
    seeded = metrics.index.str.contains("_s")
    means = metrics[seeded].groupby(metrics.index[seeded].str.split("_s").str[0]).mean()
    means.index = [f"{a} (2 seeds)" for a in means.index]
    rows_page1 = pd.concat([metrics[~seeded], means])
    for page, table in ((pages[0], rows_page1), (pages[-1], metrics[seeded])):
        check_rows(page.splitlines(), table)
    assert "grpo_s0" not in pages[0] and "grpo (2 seeds)" in pages[0]


def check_rows(lines, metrics):
    for name, m in metrics.iterrows():
        row = next(line for line in lines if line.startswith(name + " ") or line == name)
        numbers = re.findall(r"-?\d+\.\d+%?", row)
        expected = [f"{m['cagr']:.2%}", f"{m['ann_vol']:.2%}", f"{m['sharpe']:.2f}"]
        assert numbers[:3] == expected, (name, row)
        assert f"{m['max_drawdown']:.2%}" in row and f"{m['turnover']:.2f}" in row


def test_the_stats_page_labels_each_test_and_leaves_a_strategy_against_itself_empty(small_run):
    out, pdf, _ = small_run
    _, pages = pdf_text(pdf)
    stats_page = next(p for p in pages if p.startswith("Statistics") or "\nStatistics" in p)
    for label in ("p vs 1/N (HAC)", "p vs 1/N (JKM)", "p vs best robust (HAC)", "(JKM)"):
        assert label in stats_page, label
    stats = pd.read_csv(out / "stats.csv", index_col=0)
    assert stats.loc["equal_weight", ["p_vs_ew", "p_hac_vs_ew"]].isna().all()
    best = stats.attrs.get("best_robust") or stats["p_vs_best_robust"].isna().idxmax()
    assert stats.loc[best, ["p_vs_best_robust", "p_hac_vs_best_robust"]].isna().all()


@pytest.mark.parametrize(
    ("months", "says"), [(12, ("every 1 year", "±2.0")), (60, ("every 5 years", "±0.9"))]
)
def test_the_report_describes_the_protocol_the_run_used(small_run, tmp_path, months, says):
    """The same run read as a 1-year-fold and as a 5-year-fold protocol: the text follows."""
    import json
    import shutil

    out, _, _ = small_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    config = json.loads((copy / "config.json").read_text())
    config["rl"]["retrain_every"] = months
    config["splits"] = {"train_end": "2011-12-31", "val_end": "2014-12-31"}
    (copy / "config.json").write_text(json.dumps(config))
    pdf = tmp_path / "r.pdf"
    assert runner.invoke(app, ["report", str(copy), "-o", str(pdf)]).exit_code == 0
    text = " ".join(" ".join(pdf_text(pdf)[1]).split())
    assert f"retrained every {months} months; the first trains to 2011-12-31" in text
    folds = next(p for p in pdf_text(pdf)[1] if "Walk-forward folds" in p)
    folds = " ".join(folds.split())
    for phrase in (*says, "validated on those 3 years", "trained to 2011-12-31"):
        assert phrase in folds, phrase


def test_report_command_redraws_and_never_overwrites(small_run, tmp_path):
    out, _, _ = small_run
    again = tmp_path / "again.pdf"
    result = runner.invoke(app, ["report", str(out), "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert again.stat().st_size > 10_000
    result = runner.invoke(app, ["report", str(out), "-o", str(again)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert runner.invoke(app, ["report", str(out), "-o", str(again), "--force"]).exit_code == 0
    bad = runner.invoke(app, ["report", str(tmp_path)])
    assert bad.exit_code == 2 and "not a run directory" in bad.output


def test_run_with_tickers_against_a_stand_in_yfinance(tmp_path, monkeypatch):
    from portfolio_rl.data import download

    rng = np.random.default_rng(0)

    def fake(ticker, start, end):
        idx = pd.bdate_range(start, end - pd.Timedelta(days=1))
        close = 50 * np.cumprod(1 + rng.normal(3e-4, 0.012, len(idx)))
        return pd.DataFrame({"Close": close}, index=idx)

    monkeypatch.setattr(download, "_yf_download", fake)
    monkeypatch.setenv("PORTFOLIO_RL_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "c.yaml"
    config.write_text(
        SMALL.replace("seeds: [0, 1]", "seeds: [0]")
        .replace("algos: [grpo, ppo, robust_grpo]", "algos: [grpo]")
        .replace(", benchmark]", "]")  # downloaded tickers have no index series
    )
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            "--config",
            str(config),
            "--tickers",
            "AAA,BBB,CCC",
            "--start",
            "2012-01-01",
            "--end",
            "2020-12-31",
            "--out",
            str(out),
            "--pdf",
            str(tmp_path / "r.pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out / "metrics.csv", index_col=0)
    assert "grpo_s0" in metrics.index and "benchmark" not in metrics.index
    assert (tmp_path / "cache" / "AAA.parquet").is_file()
    assert (tmp_path / "r.pdf").stat().st_size > 10_000


def test_run_refuses_to_overwrite(small_run):
    out, _, _ = small_run
    result = runner.invoke(app, ["run", "--out", str(out)])
    assert result.exit_code == 2 and "already exists" in result.output


@pytest.mark.slow
def test_the_default_run_is_bit_identical_twice(tmp_path):
    """One seed makes a run bit-identical: the whole default `portfolio-rl run`, twice."""
    for name in ("a", "b"):
        args = ["run", "--out", str(tmp_path / name), "--pdf", str(tmp_path / f"{name}.pdf")]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    for table in ("metrics.csv", "returns.csv", "stats.csv"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes()


def test_walk_forward_training_never_sees_the_future(tmp_path):
    """Change every price after d: every RL weight decided on or before d stays bit-identical,
    the folds trained before d included; later folds and weights may change."""
    from portfolio_rl.data.sources import load_prices
    from portfolio_rl.workflows import pipeline
    from portfolio_rl.workflows.experiment import load_experiment

    prices = load_prices("sp500", start="2004-01-01", end="2018-12-31")
    d = pd.Timestamp("2016-06-30")
    changed = prices.copy()
    later = changed.index > d
    changed.loc[later] *= np.random.default_rng(0).uniform(0.7, 1.4, size=(later.sum(), 20))
    weights = []
    for name, frame in (("a", prices), ("b", changed)):
        frame.to_csv(tmp_path / f"{name}.csv")
        config = tmp_path / f"{name}.yaml"
        config.write_text(
            SMALL.replace("prices: sp500", f"prices: {tmp_path / name}.csv")
            .replace(", benchmark]", "]")
            .replace("algos: [grpo, ppo, robust_grpo]", "algos: [grpo]")
            .replace("seeds: [0, 1]", "seeds: [0]")
        )
        done = pipeline.run(
            load_experiment(config), out=tmp_path / f"run-{name}", pdf=tmp_path / f"{name}.pdf"
        )
        assert done.exp.rl.walk_forward and len(done.result.weights["grpo_s0"]) > 10
        weights.append(done.result.weights["grpo_s0"])
    a, b = weights
    assert np.array_equal(a.loc[:d].to_numpy(), b.loc[:d].to_numpy())
    assert not np.array_equal(a.loc[d:].to_numpy(), b.loc[d:].to_numpy())
    for fold in ("fold-00", "fold-01"):  # validated before d: the same policies, bit for bit
        pa = (tmp_path / "run-a" / "policies" / "grpo-s0" / fold / "policy.pt").read_bytes()
        pb = (tmp_path / "run-b" / "policies" / "grpo-s0" / fold / "policy.pt").read_bytes()
        assert pa == pb, fold
