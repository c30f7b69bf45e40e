"""The harness as the tests run it, each way written once: its CLI in this process or in a subprocess of its own,
a local Ray, the MLflow UI (`harness ui`), and a wait on a condition with a deadline (never a fixed sleep).
tests/conftest.py wraps what a whole module shares in fixtures (`ray_local`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds a CLI subprocess may take before the test fails


# --- in this process -------------------------------------------------------------------------------------------
def cli(*argv: str) -> str:
    """stdout of `harness ARGV`, run in this process; it must exit 0."""
    from harness.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    assert code == 0, (argv, out.getvalue())
    return out.getvalue()


def cli_json(*argv: str) -> dict:
    """The JSON document `harness ARGV` printed, run in this process."""
    return json.loads(cli(*argv))


def one_line_error(capsys, argv: Sequence[str], *needles: str) -> str:
    """`harness ARGV`, run in this process, refused as a user error: exit 2 and one line on stderr, no
    traceback, holding every needle; that line."""
    from harness.cli import main

    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


# --- in a subprocess -------------------------------------------------------------------------------------------
def harness_env(env: Mapping[str, str] | None = None, path: Sequence[Path | str] = ()) -> dict[str, str]:
    """This process's environment (with conftest's Ray loopback setting) and `env`, with `path`, then this
    checkout, first on PYTHONPATH: the subprocess imports this checkout's code (or the copies in `path`)
    whatever its working directory."""
    paths = [str(p) for p in path] + [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    return {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths)}


def run_harness(*argv: str, env: Mapping[str, str] | None = None, path: Sequence[Path | str] = (),
                cwd: Path | str = ROOT, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """`python -m harness.cli ARGV` to its end: return code, stdout and stderr (text)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *argv], env=harness_env(env, path), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def harness_json(*argv: str, **kwargs) -> dict:
    """The JSON document `python -m harness.cli ARGV` printed; it must exit 0. Options as `run_harness`."""
    proc = run_harness(*argv, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def start_harness(*argv: str, env: Mapping[str, str] | None = None, cwd: Path | str = ROOT,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`python -m harness.cli ARGV` in the background, in a process group of its own (see `stop_process`)."""
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], env=harness_env(env), cwd=cwd,
                            stdout=stdout, stderr=stderr, text=True, start_new_session=True)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 30) -> int:
    """`sig` to the process's whole group (the servers it started too), SIGKILL if it outlives `timeout` s;
    its return code."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def wait_until(condition: Callable[[], object], seconds: float, what: str,
               proc: subprocess.Popen | None = None, detail: Callable[[], object] = lambda: "") -> None:
    """Poll `condition` until it holds; fail the test after `seconds`, or as soon as `proc` has exited."""
    deadline = time.monotonic() + seconds
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the process exited first (code {proc.returncode}) {detail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:g} s {detail()}")
        time.sleep(0.2)


@contextlib.contextmanager
def mlflow_ui(uri: str, seconds: float = 180) -> Iterator[list[str]]:
    """`harness ui --port 0` over the store `uri`, stopped on exit. Yields the lines it printed: "MLflow UI:
    <link>" and one link line per further experiment — all of them, waited for: how many the store holds is
    read from it here."""
    from mlflow.tracking import MlflowClient

    shown = [e for e in MlflowClient(uri).search_experiments() if (e.experiment_id, e.name) != ("0", "Default")]
    proc = start_harness("ui", "--tracking-uri", uri, "--port", "0", stderr=subprocess.DEVNULL)
    lines: list[str] = []  # read by a thread: a pipe read never blocks the deadline
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        wait_until(lambda: sum("http://" in line for line in lines) >= max(1, len(shown)), seconds,
                   "harness ui printing its links", proc, lambda: lines)
        yield list(lines)
    finally:
        stop_process(proc)


# --- Ray -------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def local_ray(num_cpus: int = 2, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """One Ray on this machine, on loopback, with `num_cpus` CPUs, shut down on exit. `env` is set before it
    starts (every worker inherits it) and taken back after."""
    import ray

    with pytest.MonkeyPatch.context() as mp:
        for k, v in (env or {}).items():
            mp.setenv(k, v)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


# --- MLflow ----------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A port free on 127.0.0.1 now (the caller retries if another process takes it first)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(root: Path, seconds: float = 180) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 with a store of its own — sqlite backend `root`/server.db, artifacts
    proxied by the server into `root`/artifacts (--serve-artifacts) — as a lab runs it; yields its URL once
    /health answers, stopped on exit. Its output goes to `root`/server.log."""
    import urllib.request

    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                return r.read() == b"OK"
        except OSError:
            return False

    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job runner: a faster start
    for _ in range(3):  # a port taken between free_port() and the bind: the server exits, try another
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(root / "server.log", "a")
        proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
                                 "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + seconds
        while proc.poll() is None and not healthy(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        if proc.poll() is None and healthy(url):
            break
        stop_process(proc, signal.SIGTERM)
        log.close()
    else:
        pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
    try:
        yield url
    finally:
        stop_process(proc, signal.SIGTERM)
        log.close()


# --- a Ray cluster whose worker node cannot see the driver's folders -------------------------------------------
RAY = Path(sys.executable).with_name("ray")


def _process_tree(pids: Sequence[int]) -> list[tuple[int, str]]:
    """`pids` and every process below them (read from /proc's parent links), each with its start time, so that
    a pid the system has reused since is never signalled."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            pid, rest = stat.read_text().split(" (", 1)
            children.setdefault(int(rest.rsplit(") ", 1)[1].split()[1]), []).append(int(pid))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append((pid, _started(pid)))
        todo += children.get(pid, [])
    return out


def _started(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _node_ports() -> list[str]:
    """Ports of a node's own: Ray's defaults (10001, 52365, …) may belong to another cluster on this machine."""
    flags = ["--node-manager-port", "--object-manager-port", "--runtime-env-agent-port", "--metrics-export-port",
             "--dashboard-agent-grpc-port", "--dashboard-agent-listen-port"]
    return [x for f in flags for x in (f, str(free_port()))]


# `ray start` of a worker node on 127.0.0.1: with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (loopback only) `ray start`
# refuses to join a cluster, and with it on it replaces 127.0.0.1 — as the head's address and as the node's own —
# by the machine's outward address. This is `ray start` with the addresses kept as given.
RAY_START_ON_LOOPBACK = """
import sys
import ray._private.services as services
services.resolve_ip_for_localhost = lambda host: host
from ray.scripts.scripts import main
sys.argv = ["ray", "start", *sys.argv[1:]]
main()
"""

WAIT_FOR_NODES = """
import json, sys, time
import ray
ray.init(address=sys.argv[1], log_to_driver=False)
deadline = time.monotonic() + float(sys.argv[2])
while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() < deadline:
    time.sleep(0.2)
print(json.dumps([{"ip": n["NodeManagerAddress"], "alive": n["Alive"], "cpus": n["Resources"].get("CPU", 0)}
                  for n in ray.nodes()]))
"""


@contextlib.contextmanager
def hidden_folder_cluster(base: Path, hide: Sequence[Path], keep: Sequence[Path] = (),
                          worker_cpus: int = 2, seconds: float = 90) -> Iterator[tuple[str, list[dict]]]:
    """A two-node Ray cluster on 127.0.0.1, started with `ray start` as a lab would: a head with no CPUs (every
    task runs on the other node; drivers attach to the head) and a worker node whose processes run in a mount
    namespace of their own (`unshare -m`), where every folder of `hide` is an empty tmpfs — the driver's folders
    are not there, as on another machine — except the folders of `keep` (inside a hidden one), bind-mounted
    back. Ray's files go under `base` (short: socket paths are limited). Yields the head's address and the
    nodes as Ray lists them ({ip, alive, cpus}); on exit every process of both nodes is stopped, by pid (other
    clusters on this machine are left alone)."""
    import shlex

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    # "0": 127.0.0.1 stays 127.0.0.1; no token authentication (`ray start` turns it on when ~/.ray holds a
    # token, and a driver connecting without RAY_AUTH_MODE=token is then refused)
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled")
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--disable-usage-stats", "--block"]
    q = shlex.quote
    saved = [base / f"keep{i}" for i in range(len(keep))]
    script = ["set -e", "mount --make-rprivate /"]  # nothing mounted here reaches the rest of the machine
    for src, tmp in zip(keep, saved):
        tmp.mkdir()
        script.append(f"mount --bind {q(str(src))} {q(str(tmp))}")
    script += [f"mount -t tmpfs tmpfs {q(str(h))}" for h in hide]
    for src, tmp in zip(keep, saved):
        script += [f"mkdir -p {q(str(src))}", f"mount --bind {q(str(tmp))} {q(str(src))}"]
    script.append("exec env RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 " + shlex.join(
        [sys.executable, "-c", RAY_START_ON_LOOPBACK, "--address", address, "--num-cpus", str(worker_cpus),
         "--temp-dir", str(base / "w"), *_node_ports(), *common]))
    log = open(base / "cluster.log", "a")
    head = [str(RAY), "start", "--head", "--port", str(port), "--num-cpus", "0", "--temp-dir", str(base / "h"),
            "--include-dashboard", "false", *_node_ports(), *common]
    procs = [subprocess.Popen(head, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]

    def gcs_up() -> bool:
        import socket

        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        return False

    try:
        wait_until(gcs_up, seconds, "the head node", procs[0], lambda: (base / "cluster.log").read_text()[-2000:])
        procs.append(subprocess.Popen(["unshare", "-m", "sh", "-c", "\n".join(script)], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))
        out = subprocess.run([sys.executable, "-c", WAIT_FOR_NODES, address, str(seconds)], env=env,
                             capture_output=True, text=True, timeout=seconds + 60)
        nodes = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []
        if sum(n["alive"] for n in nodes) < 2:
            pytest.fail(f"the two-node cluster did not start: {out.stderr[-1500:]} "
                        f"{(base / 'cluster.log').read_text()[-2000:]}")
        yield address, nodes
    finally:
        tree = _process_tree([p.pid for p in procs])
        for p in reversed(procs):  # `ray start --block` stops the processes it started when signalled
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=15)
        for pid, started in tree:  # and whatever outlived it
            if started and _started(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        log.close()
