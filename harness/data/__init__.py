"""Harmonization samples, suites and image I/O."""

from harness.data.sample import Sample

__all__ = ["Sample"]
