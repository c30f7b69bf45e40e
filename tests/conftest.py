import os

# Two cores are shared by everything: keep torch from oversubscribing them in tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Ray on loopback only (see shared notes: otherwise it binds the non-loopback address and can hang).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
