import atexit
import os
import shutil
import tempfile

# Two cores are shared by everything: keep torch from oversubscribing them in tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Ray on loopback only (see shared notes: otherwise it binds the non-loopback address and can hang).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# The default cache (results, logs, bundled builds) in a folder of this test session, not the working tree.
_CACHE = tempfile.mkdtemp(prefix="harness-test-cache-")
os.environ["HARNESS_CACHE"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

# The MLflow store with every kind of run a report reads, made once per session when a test asks for it.
from tests.reports_helpers import report_built, report_store  # noqa: E402,F401
