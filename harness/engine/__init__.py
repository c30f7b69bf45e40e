"""The benchmark engine: work units, result cache, the run-benchmark orchestration."""
