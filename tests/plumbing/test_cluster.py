"""Placing a local cluster's nodes: each on a core of its own, as on machines of their own."""

import subprocess
import sys

import pytest

from portfolio_rl.plumbing.cluster import local_cores, node_core, on_core


def test_a_child_put_on_a_core_runs_there_and_none_leaves_it_free():
    cores = local_cores()
    if not cores:
        pytest.skip("this system does not say which cores a process may use")
    show = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    pinned = subprocess.run(show, preexec_fn=on_core(cores[-1]), capture_output=True, text=True)
    assert pinned.stdout.strip() == str([cores[-1]])
    assert on_core(None) is None
    free = subprocess.run(show, capture_output=True, text=True)
    assert free.stdout.strip() == str(cores)


def test_node_k_of_a_local_cluster_gets_the_kth_core_when_there_are_enough():
    cores = local_cores()
    if not cores:
        pytest.skip("this system does not say which cores a process may use")
    assert [node_core(k, len(cores)) for k in range(1, len(cores) + 1)] == cores
    assert node_core(1, len(cores) + 1) is None
