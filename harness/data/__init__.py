"""Harmonization samples, suites and image I/O.

`harness.data.Sample` is loaded on first use: the command line imports light modules of this package
(harness/data/candidates.py) to check its flags, and must not pay for numpy to print --help."""

from typing import Any

__all__ = ["Sample"]


def __getattr__(name: str) -> Any:
    if name == "Sample":
        from harness.data.sample import Sample

        return Sample
    raise AttributeError(f"module 'harness.data' has no attribute '{name}'")
