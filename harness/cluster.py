"""Starting and stopping Ray the same way on a laptop and on a cluster.

`--ray-address` (or $RAY_ADDRESS) connects to an existing cluster; otherwise a local Ray starts on loopback
with an explicit CPU count and no dashboard, and is shut down when the run ends. An already-initialised Ray
(Python API users) is reused and left running.

An address nobody answers on fails within seconds, with one line naming it: Ray itself would retry its GCS
connection for minutes, printing warnings.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Iterator

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


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict]:
    """Yield {address, nodes, cpus, gpus} of the cluster in use."""
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
                ray.init(address=address, **kwargs)
            except ConnectionError as err:
                raise HarnessError(f"--ray-address {address}: {str(err).splitlines()[0]}") from None
        else:
            # address="local": a new local instance even when `ray start` (or another program's Ray) runs on this
            # machine — with no address Ray would connect to the latest such cluster and ignore num_cpus
            ray.init(address="local", num_cpus=num_cpus or len(os.sched_getaffinity(0)),
                     _node_ip_address="127.0.0.1", **kwargs)
        owned = True
    try:
        res = ray.cluster_resources()
        yield {"address": address or "local", "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
               "cpus": int(res.get("CPU", 0)), "gpus": int(res.get("GPU", 0))}
    finally:
        if owned:
            ray.shutdown()
