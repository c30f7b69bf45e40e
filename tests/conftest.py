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


# `make test` runs two pytest workers (xdist, --dist loadfile): a file's tests on one worker, so its module
# fixtures are built once; files that share a session fixture go to the same worker (SHARED_FILE), so it too is
# built once.
SHARED_FILE = {"test_reports_browser.py": "test_reports.py"}  # report_store (tests/reports_helpers.py)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's per-file scheduling with SHARED_FILE's files as one unit. (Its own `loadgroup` marks do not
    group under pytest 9: xdist 3.8 renames `item._nodeid`, which pytest 9's nodeid no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            folder, _, name = file.rpartition("/")
            return f"{folder}/{SHARED_FILE[name]}" if name in SHARED_FILE else file

    return SharedFileScheduling(config, log)


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
