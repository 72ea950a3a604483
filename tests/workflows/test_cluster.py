"""`run --address`: the main job on a Ray cluster writes what the local run writes, byte for byte.

The slow tests start a local two-node cluster (``ray start --head`` plus one ``ray start
--address``, one CPU each, token authentication on as Ray 2.60 sets it); `.ci/run` runs them
as their own step.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from portfolio_rl.cli import app

TABLES = ("metrics.csv", "stats.csv", "returns.csv", "turnover.csv", "costs.csv", "failures.csv")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node on this machine, one CPU each, the worker on 127.0.0.2 (a host
    of its own to the driver); the address and the environment."""
    pytest.importorskip("ray")
    from portfolio_rl.plumbing.cluster import start_local_cluster, stop_local_cluster

    address, env = start_local_cluster(2, _free_port())
    try:
        yield address, env
    finally:
        stop_local_cluster(env)


def _run(out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "portfolio_rl", "run", "--quick", "--out", str(out)]
    args += ["--pdf", str(out.with_suffix(".pdf")), "--strategies", "equal_weight,min_variance"]
    return subprocess.run([*args, *extra], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_run_on_a_two_node_cluster_writes_the_local_run_byte_for_byte(tmp_path, cluster):
    address, env = cluster
    local = _run(tmp_path / "local", env, "--threads", "2")
    assert local.returncode == 0, local.stdout + local.stderr
    remote = _run(tmp_path / "ray", env, "--address", address)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    said = remote.stdout + remote.stderr
    assert "as Ray tasks on" in said and "(2 CPUs)" in said
    for name in TABLES:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    weights = sorted(p.name for p in (tmp_path / "local" / "weights").iterdir())
    assert weights == sorted(p.name for p in (tmp_path / "ray" / "weights").iterdir())
    for name in weights:
        a, b = (tmp_path / run / "weights" / name for run in ("local", "ray"))
        assert a.read_bytes() == b.read_bytes(), name
    policies = sorted(
        p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("policy.pt")
    )
    assert len(policies) == 2 * 4  # 2 seeds x 4 folds, gathered into the run folder


#: Anchor tables, ``auto``'s validation scores and frontier tables, here (``None``) and as
#: Ray tasks, in blocks of a few days so that both nodes take some.
TABLES_SCRIPT = """
import dataclasses, sys
from pathlib import Path

import numpy as np
from portfolio_rl.backtest import anchors, steering, tables
from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.data.sources import load_prices

tables.BLOCK = steering.BLOCK = 20
prices = load_prices("sp500", start="2012-01-01", end="2014-12-31")
names, ends = ["equal_weight", "min_variance", "risk_parity"], ["2013-12-31", "2014-12-31"]
out = {}
for where in (None, sys.argv[1]):
    table = anchors.anchor_table(
        prices, "risk_parity", {}, 252, Path(sys.argv[2], str(where)), days=prices.index[252::5],
        address=where,
    )
    bt = BacktestConfig(rebalance_days=21)
    scores = anchors.choose_anchors(prices, names, {}, bt, "2013-01-01", ends, address=where)
    frontiers = steering.steering_for(
        prices, "robust_mv_ellipsoid", {}, bt, "2014-12-31", address=where
    ).tables
    out[where] = (table.weights, scores, frontiers)
(here, scores, frontiers), (there, *rest) = out.values()
assert here.equals(there) and scores == rest[0] and list(frontiers) == list(rest[1])
for day, table in frontiers.items():
    for field in dataclasses.fields(table):
        mine, theirs = (getattr(t, field.name) for t in (table, rest[1][day]))
        assert np.array_equal(mine, theirs), (day, field.name)
"""


@pytest.mark.slow
def test_anchor_and_frontier_tables_as_ray_tasks_are_the_local_ones(tmp_path, cluster):
    address, env = cluster
    done = subprocess.run(
        [sys.executable, "-c", TABLES_SCRIPT, address, str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


HOLD_SCRIPT = """
import sys, time
from portfolio_rl.plumbing.cluster import ray_pool

def nap(seconds):
    started = time.time()
    time.sleep(seconds)
    return started, time.time()

_, pool = ray_pool(sys.argv[1])
jobs = [pool.apply_async(nap, (s,)) for s in (3.0, 0.2, 0.2, 0.2, 0.2)]
held = len(pool.held)
spans = [job.get() for job in jobs]
pool.terminate()
most = max(sum(a <= t < b for a, b in spans) for t, _ in spans)
starts = [a for a, _ in spans]
print(held, most, starts == sorted(starts), spans[-1][1] < spans[0][1])
"""


@pytest.mark.slow
def test_the_pool_sends_a_task_when_a_cpu_frees_first_given_first(cluster):
    address, env = cluster
    done = subprocess.run(
        [sys.executable, "-c", HOLD_SCRIPT, address],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # 3 held of 5 on 2 CPUs, never more than 2 at once, started in order, and the short
    # ones all ran on the other CPU while the long one ran (none waited behind it)
    assert done.stdout.split() == ["3", "2", "True", "True"], done.stdout + done.stderr


def test_an_address_that_does_not_answer_is_one_error_and_writes_nothing(tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--quick", "--address", f"127.0.0.1:{_free_port()}", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert (
        len(errors) == 1 and "no Ray cluster answers" in errors[0] and "RAY_AUTH_MODE" in errors[0]
    )
    assert not out.exists()


def test_without_ray_an_address_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    result = CliRunner().invoke(
        app, ["run", "--quick", "--address", "auto", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "pip install 'portfolio-rl[cluster]'" in result.output
    assert not (tmp_path / "r").exists()


def _kill_worker_node() -> None:
    """Kill the second node's raylet (its socket is ``raylet.1``) and its worker processes."""
    import signal

    raylet = _worker_raylet()
    table = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout
    children = [
        int(p) for p, pp in (x.split() for x in table.splitlines()[1:]) if int(pp) == raylet
    ]
    for pid in [*children, raylet]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _worker_raylet() -> int:
    """The pid of the second node's raylet (its socket is ``raylet.1``)."""
    for line in subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True
    ).stdout.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "/raylet/raylet " in args and "sockets/raylet.1 " in args:
            return int(pid)
    raise AssertionError("no worker raylet")


def _free_cpus(address: str, env: dict[str, str]) -> float:
    """The cluster's CPUs that no task holds, as another client sees them."""
    probe = f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
    probe += "print(ray.available_resources().get('CPU', 0.0))"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ctrl_c_on_the_driver_cancels_its_tasks_and_leaves_no_run_folder(tmp_path, cluster):
    import signal
    import time

    address, env = cluster
    out = tmp_path / "ray"
    args = [sys.executable, "-m", "portfolio_rl", "run", "--quick", "--out", str(out)]
    args += ["--address", address, "--pdf", str(tmp_path / "ray.pdf")]
    proc = subprocess.Popen(
        [*args, "--strategies", "equal_weight"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said = []
    for line in proc.stdout:  # Ctrl-C once the trainings run on both nodes
        said.append(line)
        if "training grpo" in line:
            break
    proc.send_signal(signal.SIGINT)
    said += proc.stdout.readlines()
    proc.wait(timeout=120)
    text = "".join(said)
    assert proc.returncode == 130 and said[-1].strip() == "interrupted", text
    assert "Traceback" not in text and not out.exists()
    deadline = time.time() + 60  # the cancelled tasks give their CPUs back
    while (free := _free_cpus(address, env)) < 2 and time.time() < deadline:
        time.sleep(1)
    assert free == 2


@pytest.mark.slow
def test_a_lost_worker_node_is_a_retried_task_or_one_error_never_half_a_run(tmp_path, cluster):
    address, env = cluster
    out = tmp_path / "ray"
    args = [
        sys.executable,
        "-m",
        "portfolio_rl",
        "run",
        "--quick",
        "--out",
        str(out),
        "--address",
        address,
    ]
    args += ["--pdf", str(tmp_path / "ray.pdf"), "--strategies", "equal_weight"]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    said, killed = [], False
    for line in proc.stdout:  # kill the worker node once both trainings are under way
        said.append(line)
        if "(fold 2/4" in line:
            _kill_worker_node()
            killed = True
            break
    said += proc.stdout.readlines()
    proc.wait(timeout=600)
    text = "".join(said)
    assert killed, text
    if proc.returncode == 0:  # the lost task ran again on the head node, and the run said so
        from portfolio_rl.report.run import Run

        said_so = ("again: its worker or node was lost", "lost the progress queue")
        assert any(words in text for words in said_so), text
        assert len(Run(out).weights) == 3 and (out / "manifest.json").is_file()
    else:
        errors = [line for line in said if line.startswith("error:")]
        assert proc.returncode == 2 and len(errors) == 1, text
        assert "the Ray cluster lost" in errors[0]
        assert "Traceback" not in text
        assert not out.exists()


@pytest.mark.slow
def test_a_client_without_the_token_setting_is_one_error_naming_the_fix(tmp_path, cluster):
    address, env = cluster
    plain = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}
    done = _run(tmp_path / "run", plain, "--address", address)
    errors = [
        line
        for line in done.stdout.splitlines() + done.stderr.splitlines()
        if line.startswith("error:")
    ]
    assert done.returncode == 2 and len(errors) == 1, done.stdout + done.stderr
    assert "RAY_AUTH_MODE=token" in errors[0] and not (tmp_path / "run").exists()
