"""``bench --only cluster``: the main job on a local Ray cluster of 1 and 2 one-CPU nodes.

The quick industries49 experiment (``run --quick --config backtests/industries49.yaml``: GRPO,
2 seeds, 9 walk-forward folds, every baseline over 1980-2021) as whole processes: on a
cluster of one node, of two nodes (`portfolio_rl.plumbing.cluster.start_local_cluster`, each
node on a core of its own, the driver on the head's, as on machines of their own), and
on this machine's own pool of one and of two worker processes, the reference: what two
processes gain over one on these two cores without Ray. The speed-up is the
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


def _timed(args: list[str], env: dict[str, str] | None = None, core: int | None = None) -> float:
    """Wall seconds of ``portfolio-rl ARGS`` as a fresh process (on ``core`` if given)."""
    from portfolio_rl.plumbing.cluster import on_core

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "portfolio_rl", *args],
        env=env,
        check=True,
        capture_output=True,
        preexec_fn=on_core(core),
    )
    return time.perf_counter() - started


def bench_cluster(repeats: int = 2) -> dict[str, Any]:
    """Wall time of the quick industries49 run on 1 and 2 Ray nodes (the median of
    ``repeats``, taken in turn, on a shared machine) and on the local pool of 1 and 2
    processes (what two processes gain over one here without Ray)."""  # noqa: D205, D209
    import statistics

    from portfolio_rl.plumbing.cluster import node_core, start_local_cluster, stop_local_cluster

    out: dict[str, Any] = {}
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        files = ["--pdf", f"{tmp}/r.pdf", "--force"]
        for workers in (1, 2):
            out[f"cluster_local_{workers}_s"] = _timed(
                [*QUICK, "--out", f"{tmp}/local", "--threads", str(workers), *files]
            )
        for _ in range(repeats):
            for nodes in (1, 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                address, env = start_local_cluster(nodes, port)
                try:
                    run = [*QUICK, "--out", f"{tmp}/n{nodes}", "--address", address, *files]
                    # the driver on the head's core, as on a head machine
                    times[nodes].append(_timed(run, env, node_core(1, nodes)))
                finally:
                    stop_local_cluster(env)
    for nodes, seconds in times.items():
        out[f"cluster_{nodes}_node_s"] = statistics.median(seconds)
    out["cluster_local_speedup"] = out["cluster_local_1_s"] / out["cluster_local_2_s"]
    out["cluster_speedup_2_over_1"] = out["cluster_1_node_s"] / out["cluster_2_node_s"]
    return out
