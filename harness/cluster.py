"""Starting and stopping Ray the same way on a laptop and on a cluster.

`--ray-address` (or $RAY_ADDRESS) connects to an existing cluster; otherwise a local Ray starts on loopback
with an explicit CPU count and no dashboard, and is shut down when the run ends. An already-initialised Ray
(Python API users) is reused and left running.

An address nobody answers on fails within seconds, with one line naming it: Ray itself would retry its GCS
connection for minutes, printing warnings.

On a cluster the nodes need only the dependencies: the project's own packages travel with the job as Ray's
runtime environment (`py_modules`, `project_runtime_env`), and a folder of the driver's that the workers would
read or write is checked to be visible from every node before any work starts (`check_shared`).
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from harness.errors import HarnessError

PROBE_SECONDS = 3.0


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of "host:port", "ray://host:port" or "gcs://host:port"; None for "auto"/"local"."""
    if address in ("auto", "local"):
        return None
    for scheme in ("ray://", "gcs://"):
        if address.startswith(scheme):
            address = address[len(scheme):]
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise HarnessError(f"--ray-address '{address}': expected host:port, ray://host:port or auto")
    return host.strip("[]") or "127.0.0.1", int(port)


def _auto_address() -> str | None:
    """The address `ray.init(address="auto")` would use: the latest local `ray start` cluster, recorded in
    Ray's temp dir ($RAY_TMPDIR or the system temp dir, then ray/ray_current_cluster)."""
    import tempfile

    path = os.path.join(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray", "ray_current_cluster")
    try:
        with open(path) as f:
            return f.read().strip() or None
    except OSError:
        return None


def probe(address: str) -> None:
    """Refuse an address nothing is listening on, within PROBE_SECONDS."""
    shown = address
    if address == "auto":
        address = _auto_address() or ""
        if not address:
            raise HarnessError("--ray-address auto: no running Ray cluster found on this machine (start one with "
                               "`ray start --head`, or leave --ray-address out for a local Ray)")
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=PROBE_SECONDS):
            pass
    except OSError as err:
        why = "timed out" if isinstance(err, socket.timeout) else (err.strerror or str(err)).lower()
        raise HarnessError(f"--ray-address {shown}: no Ray cluster answers at {hp[0]}:{hp[1]} ({why})") from None


# The project's own packages: what a worker may import. Sent to a cluster as the job's runtime environment, so
# its nodes need only the dependencies installed (not this checkout, nor `pip install` of it).
PROJECT_PACKAGES = ("harness", "iph", "baselines", "studies", "reports")
# Left out of the upload: caches, and the shipped checkpoints (28 MB of the 35) — the engine sends the weights a
# run uses as bytes through the object store (harness/methods/weights.py), never as a path a worker opens.
# (gitignore patterns, matched by Ray against paths without a trailing slash: no "dir/" forms)
UPLOAD_EXCLUDES = ["__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache", ".ruff_cache", "checkpoints",
                   "*.egg-info"]


def project_runtime_env() -> dict:
    """Ray's runtime environment that carries the project's code to every worker: `py_modules`, one folder per
    project package, wherever this process imports it from (a checkout or site-packages), without importing any
    of them. Ray zips each folder once per content hash, uploads it to the cluster, and puts it first on the
    workers' import path — ahead of any other copy a node has installed, so a worker runs the driver's code."""
    import importlib.util

    folders = []
    for name in PROJECT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.append(str(list(spec.submodule_search_locations)[0]))
    return {"py_modules": folders, "excludes": list(UPLOAD_EXCLUDES)}


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None,
                shared: Sequence["SharedPath"] = ()) -> Iterator[dict]:
    """Yield {address, nodes, cpus, gpus} of the cluster in use. Connecting to a cluster sends the project's
    code with the job (`project_runtime_env`); on a cluster of several nodes every path of `shared` — a folder
    that workers read or write — is checked to be the same folder on every node first (`check_shared`)."""
    # Keep a local Ray on 127.0.0.1 (otherwise it binds the machine's outward address; see the notes).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        probe(address)  # before importing ray: a wrong address costs well under a second
    import logging

    import ray

    owned = False
    if not ray.is_initialized():
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                      configure_logging=True)
        if address:
            try:
                ray.init(address=address, runtime_env=project_runtime_env(), **kwargs)
            except ConnectionError as err:
                raise HarnessError(f"--ray-address {address}: {str(err).splitlines()[0]}") from None
        else:
            # address="local": a new local instance even when `ray start` (or another program's Ray) runs on this
            # machine — with no address Ray would connect to the latest such cluster and ignore num_cpus
            ray.init(address="local", num_cpus=num_cpus or len(os.sched_getaffinity(0)),
                     _node_ip_address="127.0.0.1", **kwargs)
        owned = True
    try:
        check_shared(shared)
        res = ray.cluster_resources()
        yield {"address": address or "local", "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
               "cpus": int(res.get("CPU", 0)), "gpus": int(res.get("GPU", 0))}
    finally:
        if owned:
            ray.shutdown()


# ------------------------------------------------------------------------------- folders the workers use
@dataclass(frozen=True)
class SharedPath:
    """A folder of the driver's that a command's Ray workers read or write: the folder, the flag (or thing)
    that named it, what the workers do with it ("read"/"write"), and what to give instead on a cluster."""

    path: str
    flag: str
    use: str
    instead: str


CHECK_SECONDS = 120.0  # a node's first task sets up the runtime environment (the upload) before it answers
MARKER = ".harness-visible-"


def check_shared(paths: Sequence[SharedPath]) -> None:
    """On a cluster of several nodes, refuse — one line naming the folder and what to use instead — any of
    `paths` that another alive node does not see. Decided by looking, not by the path's name, with a tiny task
    pinned to each other node: a folder the workers write into must be the same folder — the driver writes a
    marker file of random content into it (into its nearest existing parent, for one not made yet) and each node
    reads it back; a folder they only read must hold the same files — its listing (names, file sizes) must be
    the same on each node, so a copy of the data at the same path on every node passes too (as does a folder
    the workers write into but the driver cannot)."""
    if not paths:
        return
    import ray

    here = ray.get_runtime_context().get_node_id()
    others = [n for n in ray.nodes() if n.get("Alive") and n["NodeID"] != here]
    if not others:
        return
    for shared in paths:
        _check_one(shared, others)


def _check_one(shared: SharedPath, nodes: list[dict]) -> None:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder = Path(shared.path).absolute()
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    marker, expected = (None, _listing(str(folder))) if shared.use == "read" else _leave_marker(folder)
    try:
        probe = ray.remote(num_cpus=0, max_retries=0)(sees)
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(str(folder), marker, expected): n for n in nodes}
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=CHECK_SECONDS)
        for ref, node in refs.items():
            where = f"Ray node {node.get('NodeManagerAddress', '?')} ({node['NodeID'][:8]})"
            if ref not in ready:
                raise HarnessError(f"{shared.flag} {shared.path}: {where} did not answer within {CHECK_SECONDS:g} s, "
                                   "so whether it sees this folder is unknown")
            if not ray.get(ref):
                raise HarnessError(f"{shared.flag} {shared.path}: {where} does not see the same folder (only this "
                                   f"machine has it), and the cluster's workers {shared.use} it: use {shared.instead}")
    finally:
        if marker:
            (folder / marker).unlink(missing_ok=True)


def _leave_marker(folder: Path) -> tuple[str | None, str]:
    """(marker file name, its content) written into `folder`; (None, the folder's listing) when we cannot
    write into it."""
    import secrets

    name, content = f"{MARKER}{secrets.token_hex(8)}", secrets.token_hex(16)
    try:
        (folder / name).write_text(content)
    except OSError:
        return None, _listing(str(folder))
    return name, content


def _listing(folder: str) -> str:
    """The folder's entries: file names with their sizes, folder names (a folder's own size is the
    filesystem's business)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
        return "\n".join(f"{e.name}/" if e.is_dir() else f"{e.name}\t{e.stat().st_size}" for e in entries
                         if not e.name.startswith(MARKER))
    except OSError:
        return "\0unreadable"


def sees(folder: str, marker: str | None, expected: str) -> bool:
    """On a node: is `folder` the driver's folder — its marker there with the driver's content — or, without a
    marker, a folder with the same listing?"""
    if marker is None:
        return _listing(folder) == expected and expected != "\0unreadable"
    try:
        return (Path(folder) / marker).read_text() == expected
    except (OSError, UnicodeDecodeError):
        return False
