import atexit
import os
import shutil
import tempfile

import pytest

# Two cores are shared by everything: keep torch from oversubscribing them in tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Ray on loopback only (see shared notes: otherwise it binds the non-loopback address and can hang) — set here
# once, for this process, the Ray it starts and every harness subprocess (tests/processes.py copies os.environ).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# The default cache (results, logs, bundled builds) in a folder of this test session, not the working tree.
_CACHE = tempfile.mkdtemp(prefix="harness-test-cache-")
os.environ["HARNESS_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

from tests.processes import local_ray  # noqa: E402
# The MLflow store with every kind of run a report reads, made once per session when a test asks for it.
from tests.reports_helpers import report_all, report_built, report_store  # noqa: E402,F401


@pytest.fixture(scope="module")
def ray_worker_env() -> dict[str, str]:
    """Environment variables set before `ray_local` starts Ray (its workers inherit them); a module that
    needs some overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def ray_local(ray_worker_env):
    """One local Ray (2 CPUs, loopback) for the whole module, shut down after its last test."""
    with local_ray(num_cpus=2, env=ray_worker_env):
        yield
