"""Starting and stopping Ray the same way on a laptop and on a cluster.

`--ray-address` (or $RAY_ADDRESS) connects to an existing cluster; otherwise a local Ray starts on loopback
with an explicit CPU count and no dashboard, and is shut down when the run ends. An already-initialised Ray
(Python API users) is reused and left running.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict]:
    # Keep a local Ray on 127.0.0.1 (otherwise it binds the machine's outward address; see the notes).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import logging

    import ray

    owned = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                      configure_logging=True)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or len(os.sched_getaffinity(0)), _node_ip_address="127.0.0.1", **kwargs)
        owned = True
    try:
        res = ray.cluster_resources()
        yield {"address": address or "local", "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
               "cpus": int(res.get("CPU", 0)), "gpus": int(res.get("GPU", 0))}
    finally:
        if owned:
            ray.shutdown()
