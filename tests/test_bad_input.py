"""Bad input is one `error:` line and exit 2, checked before any data is read or written."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from portfolio_rl.cli import app, main

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error(result, message):
    lines = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and message in lines[0], result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def write_config(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--start", "2015-13-01"], "is not a date"),
        (["backtest", "--end", "notadate"], "is not a date"),
        (["backtest", "--start", "1850-01-01"], "between 1900 and 2100"),
        (["backtest", "--cost-bps", "1e9"], "not a cost model"),
        (["backtest", "--cost-bps", "inf"], "costs must be finite"),
        (["backtest", "--rf", "nan"], "rf must be an annual rate above -1"),
        (["backtest", "--rf", "-1"], "rf must be an annual rate above -1"),
        (["backtest", "--strategies", "equal_weight,equal_weight"], "more than once"),
        (["backtest", "--strategies", "grpo"], "add it with --policy"),
        (["train", "--seed", "-1"], "seed must be a whole number from 0"),
        (["train", "--seed", str(2**70)], "seed must be a whole number from 0"),
    ],
)
def test_bad_flags(tmp_path, args, message):
    out = tmp_path / "out"
    one_error(invoke(*args, "--out", out), message)
    assert not out.exists()


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("n_boot: .nan", "expected a finite number"),
        ("n_boot: .inf", "expected a finite number"),
        ("n_boot: 0", "n_boot must be from 1"),
        ("n_boot: -5", "n_boot must be from 1"),
        ("strategy_params: {min_variance: 5}", "must be a mapping"),
        ("strategy_params: {min_variance: {solver: MAGIC}}", "solver must be one of"),
        ("strategy_params: {min_variance: {covariance: shrunk}}", "covariance must be one of"),
        ("strategy_params: {nonsense: {}}", "unknown strategy nonsense"),
        ("rl: {train: {lr: .nan}}", "expected a finite number"),
        ("rl: {train: {rewards: {log_growth: much}}}", "finite number"),
        ("rl: {train: {learning_rate: 0.1}}", "unknown key(s) learning_rate"),
        ("strategies: [equal_weight, equal_weight]", "more than once"),
        ("a: &x [1]\nb: *x", "aliases"),
    ],
)
def test_bad_configs_fail_before_any_data_is_read(tmp_path, yaml, message):
    out = tmp_path / "out"
    one_error(invoke("backtest", "--config", write_config(tmp_path, yaml), "--out", out), message)
    assert not out.exists()


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = write_config(tmp_path, "\n".join(lines))
    assert path.stat().st_size < 700
    one_error(invoke("backtest", "--config", path), "aliases")


def test_a_huge_config_is_not_read(tmp_path):
    path = write_config(tmp_path, "# " + "x" * 2_000_000)
    one_error(invoke("backtest", "--config", path), "a config is at most")


def test_usage_errors_from_the_parser_are_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["portfolio-rl", "train", "--iterations", "-1"])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith("error: ")


def prices_csv(tmp_path, frame):
    path = tmp_path / "p.csv"
    frame.to_csv(path)
    return path


def toy_frame(n=400):
    idx = pd.bdate_range("2020-01-01", periods=n, name="Date")
    rng = np.random.default_rng(0)
    return pd.DataFrame(100 * np.cumprod(1 + rng.normal(0, 0.01, (n, 2)), axis=0), idx, ["A", "B"])


def test_bad_price_files(tmp_path):
    frame = toy_frame()
    flags = frame.assign(C=True)
    one_error(invoke("data", "show", prices_csv(tmp_path, flags)), "true/false")
    text = "Date,A,A\n2020-01-01,1,2\n2020-01-02,1,2\n"
    (tmp_path / "dup.csv").write_text(text)
    one_error(invoke("data", "show", tmp_path / "dup.csv"), "more than once")
    old = frame.set_axis(pd.bdate_range("1850-01-01", periods=400, name="Date"))
    one_error(invoke("data", "show", prices_csv(tmp_path, old)), "between 1900 and 2100")


def test_benchmark_needs_an_index(tmp_path):
    path = prices_csv(tmp_path, toy_frame())
    args = ["backtest", "--prices", path, "--strategies", "benchmark", "--start", "2021-03-01"]
    one_error(invoke(*args, "--out", tmp_path / "o"), "has no index series")


def test_out_that_is_a_file_is_refused_even_with_force(tmp_path):
    path = tmp_path / "file"
    path.write_text("keep me")
    one_error(invoke("backtest", "--out", path, "--force"), "is a file")
    assert path.read_text() == "keep me"


def test_download_out_to_a_folder(tmp_path, monkeypatch):
    from portfolio_rl.data import download

    monkeypatch.setattr(
        download, "_yf_download", lambda t, s, e: toy_frame().rename(columns={"A": "Close"})
    )
    args = ["data", "download", "AAA", "--out", tmp_path, "--cache-dir", tmp_path / "c"]
    one_error(invoke(*args), "is a folder")


def test_offline_says_yahoo_could_not_be_reached(tmp_path, monkeypatch):
    from portfolio_rl.data import download

    monkeypatch.setattr(download, "_yf_download", lambda t, s, e: pd.DataFrame())
    monkeypatch.setattr(download, "yahoo_reachable", lambda timeout=3.0: False)
    result = invoke("run", "--tickers", "AAPL,MSFT", "--out", tmp_path / "o")
    one_error(result, "Yahoo Finance could not be reached")


@pytest.mark.parametrize("name", ["CON", "nul", "COM1", "LPT9.x"])
def test_windows_device_names_are_not_tickers(tmp_path, name):
    one_error(invoke("data", "download", name, "--cache-dir", tmp_path), "reserved device name")


def test_a_full_disk_is_one_line_and_leaves_no_run(tmp_path, monkeypatch):
    import errno

    from portfolio_rl.backtest import runner as runner_module

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "returns.csv")

    monkeypatch.setattr(runner_module, "write_run", full)
    out = tmp_path / "out"
    args = ["backtest", "--strategies", "equal_weight", "--start", "2021-01-01", "--out", out]
    one_error(invoke(*args), "No space left on device")
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "p"
    result = invoke("train", "--iterations", "2", "--out", folder)
    assert result.exit_code == 0, result.output
    return folder


def rewrite_record(folder, stem, **fields):
    """A unit whose record (inside the .pt) was forged, with its copy to match."""
    from portfolio_rl.agents.records import load_unit, save_unit

    state, meta, _ = load_unit(folder, stem)
    save_unit(folder, stem, state, {k: v for k, v in (meta | fields).items() if v != "DROP"})


@pytest.mark.parametrize(
    ("copy", "record", "weights", "message"),
    [
        ("[1, 2]", None, None, "policy.json does not match the record inside policy.pt"),
        ("EDIT", None, None, "(edited after training?)"),
        (None, {"features": "DROP"}, None, "was trained on an earlier version's features"),
        (None, {"features": ["mom_5", "vol_21"]}, None, "trained on 2 features per asset"),
        (None, {"val_end": 12345}, None, "field 'val_end' has an invalid value 12345"),
        (None, {"val_end": "notadate"}, None, "field 'val_end' has an invalid value"),
        (None, {"val_end": "2010-01-01"}, None, "train_end 2012-12-31 is not before val_end"),
        (None, {"anchor": {"name": "min_variance"}}, None, "field 'anchor' has an invalid"),
        (None, {"best_iteration": "x"}, None, "field 'best_iteration' has an invalid value"),
        (None, {"hidden": 10**9}, None, "field 'hidden' has an invalid value"),
        (None, {"assets": "DROP"}, None, "field 'assets' is missing"),
        (None, None, b"", "policy.pt cannot be read"),
        (None, None, b"garbage" * 10, "policy.pt cannot be read"),
    ],
)
def test_malformed_policy_files(tmp_path, trained, copy, record, weights, message):
    import shutil

    folder = tmp_path / "p"
    shutil.copytree(trained, folder)
    if copy == "EDIT":  # a field of the readable copy changed by hand
        edited = json.loads((folder / "policy.json").read_text())
        (folder / "policy.json").write_text(json.dumps(edited | {"val_end": "1999-01-01"}))
    elif copy is not None:
        (folder / "policy.json").write_text(copy)
    if record is not None:
        rewrite_record(folder, "policy", **record)
    if weights is not None:
        (folder / "policy.pt").write_bytes(weights)
    one_error(invoke("backtest", "--policy", folder, "--out", tmp_path / "o"), message)


def test_policy_backtests_start_after_validation(tmp_path, trained):
    val_end = pd.Timestamp(json.loads((trained / "policy.json").read_text())["val_end"])
    base = [
        "backtest",
        "--config",
        "backtests/sp500.yaml",
        "--policy",
        trained,
        "--strategies",
        "equal_weight",
    ]
    result = invoke(*base, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    returns = pd.read_csv(tmp_path / "a" / "returns.csv", index_col=0, parse_dates=True)
    assert returns.index[0] > val_end
    early = invoke(*base, "--start", "2010-01-01", "--out", tmp_path / "b")
    one_error(early, "--allow-in-sample")
    allowed = invoke(*base, "--start", "2010-01-01", "--allow-in-sample", "--out", tmp_path / "c")
    assert allowed.exit_code == 0 and "grpo (in-sample)" in allowed.output
    metrics = pd.read_csv(tmp_path / "c" / "metrics.csv", index_col=0)
    assert metrics.loc["grpo", "in_sample"] and not metrics.loc["equal_weight", "in_sample"]


def test_a_plain_policy_carries_to_another_universe_and_the_run_says_so(tmp_path, trained):
    args = ["backtest", "--prices", "factors", "--policy", trained, "--out", tmp_path / "o"]
    result = invoke(*args, "--strategies", "equal_weight")
    assert result.exit_code == 0, result.output
    assert "grpo was trained on 20 other assets" in result.output
    config = json.loads((tmp_path / "o" / "config.json").read_text())
    assert config["transfers"] and "applied to these 5" in config["transfers"][0]
    weights = pd.read_csv(tmp_path / "o" / "weights" / "grpo.csv", index_col=0)
    assert weights.shape[1] == 5 and np.allclose(weights.sum(axis=1), 1.0)


def test_an_anchored_policy_on_other_assets_is_refused(tmp_path):
    folder = tmp_path / "anchored"
    args = ["train", "--anchor", "min_variance", "--iterations", "0", "--out", folder]
    assert invoke(*args).exit_code == 0
    result = invoke("backtest", "--prices", "factors", "--policy", folder, "--out", tmp_path / "o")
    one_error(result, "an anchored or steered policy needs its own universe")


def test_a_policy_trained_with_cash_needs_cash(tmp_path):
    folder = tmp_path / "cash"
    assert invoke("train", "--cash", "--iterations", "2", "--out", folder).exit_code == 0
    base = ["backtest", "--config", "backtests/sp500.yaml", "--policy", folder]
    one_error(invoke(*base, "--out", tmp_path / "a"), "it holds cash: pass --cash")
    assert invoke(*base, "--cash", "--out", tmp_path / "b").exit_code == 0


def test_run_directory_instead_of_policy_folder(tmp_path, trained):
    run = tmp_path / "run"
    (run / "policies").mkdir(parents=True)
    import shutil

    shutil.copytree(trained, run / "policies" / "grpo-s0")
    one_error(invoke("backtest", "--policy", run), "is a run directory")


def test_resume_refuses_edited_or_damaged_checkpoints_and_finished_runs(tmp_path, trained):
    import shutil

    folder = tmp_path / "r"
    shutil.copytree(trained, folder)
    result = invoke("train", "--resume", folder)
    assert result.exit_code == 0 and "nothing to resume" in result.output  # it has finished
    meta = json.loads((folder / "last.json").read_text())
    (folder / "last.json").write_text(json.dumps(meta | {"finished": None}))
    one_error(invoke("train", "--resume", folder), "last.json does not match the record")
    (folder / "last.json").unlink()  # a kill between the unit and its copy: the unit rules
    result = invoke("train", "--resume", folder)
    assert result.exit_code == 0 and "nothing to resume" in result.output
    rewrite_record(folder, "last", finished=None, next_iteration="x")
    one_error(invoke("train", "--resume", folder), "field 'next_iteration' has an invalid")
    (folder / "config.json").write_text("{not json")
    one_error(invoke("train", "--resume", folder), "config.json")
    (folder / "last.pt").unlink()
    (folder / "config.json").write_text(
        json.dumps(json.loads((trained / "config.json").read_text()))
    )
    one_error(invoke("train", "--resume", folder), "last.pt is missing")


def test_same_seed_same_checkpoint_bytes_and_usual_file_modes(tmp_path):
    import os

    for name in ("a", "b"):
        assert invoke("train", "--iterations", "2", "--out", tmp_path / name).exit_code == 0
    for file in ("policy.pt", "last.pt"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a" / "policy.pt").stat().st_mode & 0o777 == 0o666 & ~umask
    torch.load(tmp_path / "a" / "policy.pt", weights_only=True)


# --------------------------------------------------------------------------- issue 25's causes


def test_deeply_nested_yaml_and_a_null_key_are_one_error(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    one_error(invoke("backtest", "--config", deep), "nested too deeply")
    null = tmp_path / "null.yaml"
    null.write_text("null: 1\nzzz: 2\n")
    one_error(invoke("backtest", "--config", null), "unknown key(s) None, zzz")


def test_prices_whose_ratio_overflows_are_refused_before_training(tmp_path):
    frame = toy_frame()
    frame.iloc[200, 0] = 1e300
    path = prices_csv(tmp_path, frame)
    one_error(invoke("train", "--prices", path, "--out", tmp_path / "t"), "moves by a factor of")
    assert not (tmp_path / "t").exists()


def test_numeric_dates_are_read_as_dates(tmp_path):
    frame = toy_frame(300)
    frame.index = frame.index.strftime("%Y%m%d").astype(int)
    frame.index.name = "Date"
    result = invoke("data", "show", prices_csv(tmp_path, frame))
    assert result.exit_code == 0 and "2020-01-01" in result.output, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--rf", "inf"], "rf must be an annual rate above -1 and at most 1"),
        (["run", "--algos", ""], "rl.algos is empty"),
        (["backtest", "--strategies", ""], "strategies is empty"),
        (["allocate", "--strategy", "equal_weight", "--capital", "inf"], "--capital must be"),
        (["run", "--pdf", "x.docx"], "a report is a PDF"),
        (
            [
                "data",
                "download",
                "AAPL",
                "--start",
                "2020-01-01",
                "--end",
                "2020-02-01",
                "--out",
                "x.xlsx",
            ],
            "unsupported output type 'x.xlsx'",
        ),
        (["backtest", "--cash", "--prices", "CASHFILE"], "already have a column named 'cash'"),
    ],
)
def test_refused_before_any_work(tmp_path, args, message):
    frame = toy_frame(600)
    frame["cash"] = 1.0 + np.arange(len(frame)) * 1e-5
    args = [str(prices_csv(tmp_path, frame)) if a == "CASHFILE" else a for a in args]
    one_error(invoke(*args), message)


def test_holdings_too_large_to_add_up_are_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("asset,value\nAAPL,1e308\nAMD,1e308\n")
    result = invoke("allocate", "--strategy", "equal_weight", "--holdings", path)
    one_error(result, "every value must be a number from 0 to")


def test_a_report_needs_a_pdf_name_and_a_complete_run(tmp_path):
    out = tmp_path / "run"
    base = ["backtest", "--prices", "factors", "--start", "2019-01-01", "--rebalance-days", "63"]
    assert invoke(*base, "--strategies", "equal_weight", "--out", out).exit_code == 0
    one_error(invoke("report", out, "-o", tmp_path / "r.png"), "a report is a PDF")
    (out / "returns.csv").write_text("date,equal_weight\n2020-01-01,abc\n")
    one_error(invoke("report", out, "-o", tmp_path / "r.pdf"), "returns.csv cannot be read")


def test_a_full_disk_while_writing_the_pdf_is_one_line(tmp_path, monkeypatch):
    import zlib

    from portfolio_rl.report import pdf as pdf_module

    out = tmp_path / "run"
    base = ["backtest", "--prices", "factors", "--start", "2019-01-01", "--rebalance-days", "63"]
    assert invoke(*base, "--strategies", "equal_weight", "--out", out).exit_code == 0

    def full(path, write):
        raise zlib.error("Error -3 while compressing data")

    monkeypatch.setattr(pdf_module, "atomic_write", full)
    result = invoke("report", out, "-o", tmp_path / "r.pdf")
    one_error(result, "could not write")
    assert "the run directory" in result.output and not (tmp_path / "r.pdf").exists()


def test_a_walk_forward_policy_folder_names_its_folds(tmp_path):
    for k in range(3):
        fold = tmp_path / "grpo-s0" / f"fold-0{k}"
        fold.mkdir(parents=True)
        (fold / "policy.pt").write_bytes(b"")
    result = invoke("backtest", "--policy", tmp_path / "grpo-s0", "--out", tmp_path / "o")
    one_error(result, "holds 3 walk-forward folds (fold-00 .. fold-02)")
