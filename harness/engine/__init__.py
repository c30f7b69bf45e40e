"""The benchmark engine: Ray session, work units, result cache, the run-benchmark orchestration."""
