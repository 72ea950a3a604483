"""A Ray cluster in place of the local worker pool: the same ``(manager, pool)`` interface.

`ray_pool` gives what [`portfolio_rl.plumbing.processes.worker_pool`][] gives, a ``manager``
whose ``Queue()`` carries progress back and a ``pool`` whose ``apply_async(fn, args)``
returns a job with ``ready()`` and ``get()``, so the code that spreads trainings and baseline
groups over processes runs them as Ray tasks unchanged. A task runs the same function with
the same arguments in a Ray worker (one CPU, one thread), so its results are the local ones
bit for bit. Price frames go to the object store once, not once per task. Files a task
writes on another host come back with its result (``ship``) and are written where the
driver expects them. A task whose worker dies is retried by Ray (``RETRIES``), and the pool
reports it; a task that still fails is one `PortfolioRLError` naming what was lost.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from portfolio_rl.errors import ConfigError, PortfolioRLError
from portfolio_rl.plumbing.mailbox import RayQueue, forget_mailbox, mailbox

#: Ray's retries of a task whose worker or node died (system failures, not Python errors).
RETRIES = 2
#: Ray 2.60's ``ray start --head`` turns on token authentication: a client without it is
#: refused (``InvalidAuthToken``) and retries for minutes.
AUTH_HINT = (
    " (is `ray start --head` running there? Since Ray 2.60 it asks for a token: set "
    "RAY_AUTH_MODE=token and the cluster's token in this shell, as docs/cluster.md says)"
)


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Refuse a ``HOST:PORT`` that does not answer a TCP connection, with the usual fix."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected auto or HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.removeprefix("ray://"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc})" + AUTH_HINT
        ) from None


def attach(address: str) -> int:
    """Attach to the Ray cluster at ``address`` (``auto``: ``RAY_ADDRESS`` or the local one)
    once per process; its CPUs. A cluster that cannot be reached is one ConfigError."""  # noqa: D205, D209
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--address runs on Ray: pip install 'portfolio-rl[cluster]' (on every node too)"
        ) from None
    check_reachable(address)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                logging_level="ERROR",
                log_to_driver=False,
            )
        except Exception as exc:  # ConnectionError, AuthenticationError, ...
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"could not attach to Ray at {address}: {text}" + AUTH_HINT) from None
        mailbox()  # its process starts while the driver reads the data
    return int(ray.cluster_resources().get("CPU", 0))


def detach() -> None:
    """Leave the cluster (at the end of a run; nothing when not attached)."""
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        forget_mailbox()
        ray.shutdown()


def ray_pool(address: str) -> tuple[Any, RayPool]:
    """``(manager, pool)`` on the Ray cluster at ``address``, as ``worker_pool`` gives."""
    attach(address)
    return _Manager(), RayPool()


class _Manager:
    """``Queue()`` on the cluster; ``shutdown`` leaves Ray to `detach`."""

    def Queue(self) -> RayQueue:
        return RayQueue()

    def shutdown(self) -> None:
        pass


def _host() -> str:
    import ray

    return ray.util.get_node_ip_address()


def _run(
    fn: Callable[..., Any],
    shape: tuple[int | None, ...],
    ship: Sequence[str],
    host: str,
    events: Any,
    key: int,
    *leaves: Any,
) -> tuple[Any, dict[str, bytes]]:
    """A task: ``fn(*args)``; on another host than the driver's, ``ship``'s files come back.

    ``args`` are rebuilt from ``leaves`` by ``shape`` (each argument's length when it was a
    tuple, else None), and the files under ``ship`` leave the task's host. The arguments come
    as top-level ``leaves`` so that Ray fetches the object-store ones before the task starts:
    a task blocked in ``ray.get`` hands its CPU back to Ray, which would start another task
    on it.
    """
    import shutil

    events.put(("start", key))
    args, rest = [], list(leaves)
    for size in shape:
        if size is None:
            args.append(rest.pop(0))
        else:
            args.append(tuple(rest[:size]))
            del rest[:size]
    result = fn(*args)
    files: dict[str, bytes] = {}
    if ship and _host() != host:
        for root in map(Path, ship):
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                files[str(path)] = path.read_bytes()
            shutil.rmtree(root, ignore_errors=True)
    events.put(("done", key))
    return result, files


class RayJob:
    """One task: ``ready()`` and ``get()`` as a multiprocessing ``AsyncResult`` has them."""

    def __init__(self, pool: RayPool, key: int) -> None:
        self.pool, self.key, self.what = pool, key, pool.names[key]

    def ready(self) -> bool:
        """Whether the task has ended (done or failed)."""
        import ray

        ref = self.pool.refs[self.key]
        if ref is None:  # held: perhaps a CPU is free now
            self.pool.send()
            ref = self.pool.refs[self.key]
        return ref is not None and bool(ray.wait([ref], timeout=0)[0])

    def get(self) -> Any:
        """The task's result, its shipped files written first; a lost task is one error."""
        import ray

        from portfolio_rl.plumbing.files import atomic_write

        while not self.ready():  # meanwhile the pool sends held tasks as CPUs free
            self.pool.wait(1.0)
        try:
            result, files = ray.get(self.pool.refs[self.key])
        except ray.exceptions.RayTaskError as exc:  # the function raised: its own error
            raise exc.as_instanceof_cause() from None
        except ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise PortfolioRLError(
                f"the Ray cluster lost {self.what} after {RETRIES} retries "
                f"({type(exc).__name__}: {first[:200]})"
            ) from None
        for name, data in files.items():
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(Path(name), lambda tmp, data=data: tmp.write_bytes(data))
        return result


class RayPool:
    """Tasks on the cluster, one CPU each, with ``apply_async`` as a multiprocessing pool.

    The pool sends a task when a CPU of the cluster is free, in the order given, and holds
    the rest: Ray would queue them at a node, where one can wait behind a long task while
    another node idles (seen: three short baselines 1.2 s behind a solver, the other node
    idle). An autoscaler is asked for a CPU per task not yet ended (``request_resources``).
    ``status()`` says how many tasks run and wait and which were started again after a
    worker died.
    """

    def __init__(self) -> None:
        import ray

        self.events = RayQueue()
        self.host = _host()
        self.refs: list[Any] = []  # None while held
        self.held: dict[int, tuple[Any, ...]] = {}  # the remote call of each held task
        self._cpus, self._asked, self._looked = (1, -1e9), 0, -1e9
        self.names: list[str] = []
        self.started: dict[int, int] = {}
        self.done: set[int] = set()
        self._shared: dict[int, Any] = {}
        self._task = ray.remote(num_cpus=1, max_retries=RETRIES)(_run)

    def _put(self, value: Any) -> Any:
        """Frames go to the object store once, whatever the number of tasks that read them."""
        import pandas as pd
        import ray

        if not isinstance(value, pd.DataFrame | pd.Series):
            return value
        if id(value) not in self._shared:
            self._shared[id(value)] = (value, ray.put(value))
        return self._shared[id(value)][1]

    def apply_async(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        ship: Sequence[Path] = (),
        what: str = "",
    ) -> RayJob:
        """Run ``fn(*args)`` as a task; ``ship``: the folders it writes (sent back from other
        hosts); ``what``: its name in messages."""  # noqa: D205, D209
        shape = tuple(len(a) if isinstance(a, tuple) else None for a in args)
        leaves = [self._put(x) for a in args for x in (a if isinstance(a, tuple) else (a,))]
        key = len(self.refs)
        self.held[key] = (fn, shape, [str(p) for p in ship], self.host, self.events, key, *leaves)
        self.refs.append(None)
        self.names.append(what or f"task {key + 1}")
        self.send(now=True)
        return RayJob(self, key)

    def _running(self) -> list[Any]:
        """The refs of the tasks sent and not ended."""
        import ray

        sent = [r for r in self.refs if r is not None]
        return ray.wait(sent, num_returns=len(sent), timeout=0)[1] if sent else []

    def send(self, now: bool = False) -> None:
        """Send held tasks, first given first, while fewer run than the cluster has CPUs
        (counted anew every 2 s: nodes that join are used); without ``now``, at most every
        50 ms (the loops ask once per job)."""  # noqa: D205, D209
        if not self.held or (not now and time.monotonic() < self._looked + 0.05):
            return
        import ray

        self._looked = time.monotonic()
        running = len(self._running())
        if time.monotonic() > self._cpus[1] + 2.0:  # counted at most every 2 s
            self._cpus = (max(int(ray.cluster_resources().get("CPU", 0)), 1), time.monotonic())
        self._ask(running + len(self.held))
        for key in list(self.held)[: max(self._cpus[0] - running, 0)]:
            self.refs[key] = self._task.remote(*self.held.pop(key))

    def _ask(self, cpus: int) -> None:
        """Ask an autoscaler for ``cpus`` CPUs (a hint, kept until the next; once per change)."""
        if cpus == self._asked:
            return
        from ray.autoscaler.sdk import request_resources

        try:
            request_resources(num_cpus=cpus)
        except Exception:  # a cluster that lost its head: the tasks' errors say so
            pass
        self._asked = cpus

    def wait(self, timeout: float) -> None:
        """Return when a task ends (and send the next) or after ``timeout`` seconds."""
        import ray

        running = self._running()
        if running:
            ray.wait(running, num_returns=1, timeout=timeout)
        else:
            time.sleep(timeout)
        self.send(now=True)

    def status(self) -> tuple[int, int, list[str]]:
        """``(running, waiting, retried)``: tasks started and not done, not yet started, and
        the names of those started again since the last call."""  # noqa: D205, D209
        import queue

        retried = []
        while True:
            try:
                kind, key = self.events.get_nowait()
            except queue.Empty:
                break
            if kind == "done":
                self.done.add(key)
                continue
            self.started[key] = self.started.get(key, 0) + 1
            if self.started[key] > 1:
                retried.append(self.names[key])
        running = len([k for k in self.started if k not in self.done])
        return running, len(self.refs) - len(self.started), retried

    @property
    def lost(self) -> bool:
        """Whether the queue of task starts was lost: `status` then tells no retries."""
        return self.events.lost

    def close(self) -> None:
        """Nothing to do: the tasks end by themselves."""

    def terminate(self) -> None:
        """Cancel every task that has not ended (an error or Ctrl-C on the driver)."""
        import ray

        self.held.clear()
        self._ask(0)  # nothing more to ask of an autoscaler
        for ref in self._running():  # cancelling an ended task trips an assertion in Ray
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already ended or gone
                pass

    def join(self) -> None:
        """Nothing to do: cancelled tasks need no waiting for."""


def start_local_cluster(nodes: int, port: int) -> tuple[str, dict[str, str]]:
    """A Ray cluster of ``nodes`` one-CPU nodes on this machine, token authentication on
    (as Ray 2.60 sets it); each worker node on a loopback address of its own
    (``127.0.0.2``, ...), so that its files travel back as from another machine, and each
    node's processes on a core of their own (`local_cores`), as on machines of their own.
    Returns the address and the environment a client needs (``RAY_AUTH_MODE=token``); the
    tests and ``bench --only cluster`` use it, `stop_local_cluster` ends it."""  # noqa: D205, D209
    import os

    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0")
    address = f"127.0.0.1:{port}"
    for k in range(1, nodes + 1):
        where = ["--address", address, "--node-ip-address", f"127.0.0.{k}"]
        if k == 1:
            where = ["--head", "--port", str(port), "--include-dashboard=false"]
        _ray_cli("start", *where, "--num-cpus", "1", env=env, core=node_core(k, nodes))
    return address, env


def node_core(k: int, nodes: int) -> int | None:
    """The core of node ``k`` (1 is the head) of a local cluster of ``nodes``: the k-th of
    `local_cores`, or None (anywhere) when the machine has fewer cores than nodes."""  # noqa: D205, D209
    cores = local_cores()
    return cores[k - 1] if nodes <= len(cores) else None


def local_cores() -> list[int]:
    """The cores this process may run on, in order (empty where the system does not say).

    `start_local_cluster` puts node k on the k-th (and ``bench --only cluster`` the
    driver on the head's): unpinned, two nodes' workers moved between this machine's two
    cores and trained about 6% slower side by side (a GRPO fold 4.79 s against 4.50 s),
    which machines of their own do not.
    """
    import os

    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def on_core(core: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that puts a child process (and its children) on ``core``."""
    import os

    return None if core is None else (lambda: os.sched_setaffinity(0, {core}))


def stop_local_cluster(env: dict[str, str]) -> None:
    """Stop every Ray process of this machine (``ray stop --force``)."""
    _ray_cli("stop", "--force", env=env, check=False)


def _ray_cli(*args: str, env: dict[str, str], check: bool = True, core: int | None = None) -> None:
    """``ray ARGS`` from this Python's environment, its processes on ``core`` if given; a
    failure is a PortfolioRLError."""  # noqa: D205, D209
    import shutil
    import subprocess
    import sys

    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    done = subprocess.run(
        [ray, *args], env=env, capture_output=True, text=True, timeout=300, preexec_fn=on_core(core)
    )
    if check and done.returncode != 0:
        raise PortfolioRLError(f"ray {args[0]} failed: {(done.stderr or done.stdout)[-300:]}")
