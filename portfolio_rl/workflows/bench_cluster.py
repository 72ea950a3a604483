"""``bench --only cluster``: the main job on a local Ray cluster of 1 and 2 one-CPU nodes.

The quick industries49 experiment (``run --quick --config backtests/industries49.yaml``: GRPO,
2 seeds, 9 walk-forward folds, every baseline over 1980-2021) as whole processes: on a
cluster of one node, of two nodes (`portfolio_rl.plumbing.cluster.start_local_cluster`), and
on this machine's own pool of two worker processes, the reference. The speed-up is the
one-node time over the two-node time.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from portfolio_rl.plumbing.files import CHECKOUT_DIR

QUICK = ["run", "--quick", "--config", str(CHECKOUT_DIR / "backtests" / "industries49.yaml")]


def _timed(args: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of ``portfolio-rl ARGS`` as a fresh process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "portfolio_rl", *args], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def bench_cluster() -> dict[str, Any]:
    """Wall time of the quick industries49 run on 1 and 2 Ray nodes and on the local pool."""
    from portfolio_rl.plumbing.cluster import start_local_cluster, stop_local_cluster

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = ["--pdf", f"{tmp}/r.pdf", "--force"]
        out["cluster_local_pool_s"] = _timed(
            [*QUICK, "--out", f"{tmp}/local", "--threads", "2", *files]
        )
        for nodes in (1, 2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            address, env = start_local_cluster(nodes, port)
            try:
                run = [*QUICK, "--out", f"{tmp}/n{nodes}", "--address", address, *files]
                out[f"cluster_{nodes}_node_s"] = _timed(run, env)
            finally:
                stop_local_cluster(env)
    out["cluster_speedup_2_over_1"] = out["cluster_1_node_s"] / out["cluster_2_node_s"]
    return out
