"""Configs of the commands that run methods on a suite and score them — run-benchmark, run-robustness, score,
and export-suite (which writes a suite for outside tools) — and of run-efficiency, which times them."""

from __future__ import annotations

from dataclasses import MISSING, dataclass
from typing import Any
from harness.data.candidates import REFERENCE_MODES, check_candidates
from harness.errors import HarnessError
from harness.methods.registry import DEFAULT_UPSAMPLE, UPSAMPLE
from harness.options import (RESULTS, RUN, BootstrapOptions, CacheOptions, ComputeOptions, SuiteOptions,
                             TrackingOptions, comma_list, option, positive, redefault)
from harness.scoring.protocols import ProtocolOptions


def method_list(text: str) -> list[str]:
    """`--methods a,b:k=v,k2=v2` → ["a", "b:k=v,k2=v2"] (imported when a flag is read: --help stays light)."""
    from harness.methods.spec import split_method_list

    return split_method_list(text)


def _upsample() -> Any:
    return option(None, group=RUN, choices=UPSAMPLE, shown="each method's own: IPH's colour mapping (its paper's), "
                  f"{DEFAULT_UPSAMPLE} for the others",
                  help="how a method working at 256² reaches the sample's resolution: mapping (a per-image colour "
                       "mapping), residual (its change, resized, added to the native composite) or bicubic (its "
                       "output resized); at 256² no way up is taken (harness/methods/highres.py)")


def _methods() -> Any:
    return option(None, group=RUN, parse=method_list, shown="every available method",
                  help="comma-separated methods, each `name` or `name:key=value,...`, or a method from outside the "
                       "project, `package.module:attr` (see `harness list methods`)")


# Bases are listed most-specific first: dataclasses order fields from the last base to the first, and --help
# shows them in that order (the suite first, compute last).
@dataclass(kw_only=True)
class BenchmarkConfig(BootstrapOptions, ComputeOptions, TrackingOptions, CacheOptions, ProtocolOptions,
                      SuiteOptions):
    """`harness run-benchmark`: every method on every sample, scored, summarised, logged."""

    methods: list[str] | None = _methods()
    upsample: str | None = _upsample()
    reference: str = option("given", group=RUN, choices=REFERENCE_MODES,
                            help="reference regions: the suite's, or picked automatically — the most salient "
                                 "object in the background, offline (harness/data/references.py)")
    out: str | None = option(None, group=RESULTS, path=True, help="write predictions DIR/<method>/<id>.png and "
                                                                  "DIR/per_image.csv")
    grid_samples: int = option(4, cli=False, help="samples per method shown as an image grid in MLflow")

    def _check(self) -> None:
        if self.methods is not None and not self.methods:
            raise HarnessError("--methods: no methods given")


@dataclass(kw_only=True)
class RobustnessConfig(BootstrapOptions, ComputeOptions, TrackingOptions, CacheOptions, ProtocolOptions,
                       SuiteOptions):
    """`harness run-robustness`: every method with every candidate reference region of every sample."""

    suite: str = redefault(SuiteOptions, "suite", "relit")
    methods: list[str] | None = _methods()
    upsample: str | None = _upsample()
    references: str = option("suite,background,auto,boxes:4", group=RUN, check=check_candidates,
                             help="candidate regions, comma-separated: suite, background, auto, boxes:K "
                                  "(harness/data/candidates.py)")
    grid_samples: int = option(3, cli=False, help="samples shown as a figure (outputs side by side per region)")


@dataclass(kw_only=True)
class ScoreConfig(BootstrapOptions, ProtocolOptions, SuiteOptions):
    """`harness score`: saved predictions in PRED_DIR (harness/data/predictions.py) against a suite."""

    suite: str = redefault(SuiteOptions, "suite", MISSING)
    pred_dir: str = option(group=RUN, help="directory of predictions (names and sizes: see above), or a "
                                           "run-benchmark --out folder: every method in it")
    partial: bool = option(False, group=RUN, help="score the samples that have a prediction and leave the others "
                                                  "out (said on stderr); default: a missing prediction is an error")


@dataclass(kw_only=True)
class ExportConfig(SuiteOptions):
    """`harness export-suite`: any suite in the folder layout."""

    suite: str = redefault(SuiteOptions, "suite", MISSING)
    out: str = option(group=RESULTS, help="output directory (new or empty, unless --overwrite)")
    overwrite: bool = option(False, group=RESULTS, help="replace a suite already in --out: its sample folders "
                                                        "(composite/, mask/, …) are removed first, so no old sample "
                                                        "stays")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(t) for t in comma_list(text)]
    except ValueError:
        raise HarnessError(f"--sizes must be comma-separated pixel counts, e.g. 256,1024,2048, not '{text}'") from None
    return sizes


def _check_sizes(flag: str, sizes: Any) -> list[int]:
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or not 32 <= s <= 8192 for s in sizes):
        raise HarnessError(f"{flag} must be sides of 32 to 8192 pixels, not {sizes!r}")
    return list(dict.fromkeys(sizes))


@dataclass(kw_only=True)
class EfficiencyConfig(ComputeOptions, TrackingOptions):
    """`harness run-efficiency`: each method timed on square inputs of each size (batch 1, fixed threads)."""

    methods: list[str] | None = _methods()
    sizes: list[int] = option(factory=lambda: [256, 1024, 2048], group=RUN, parse=_sizes, check=_check_sizes,
                              help="square input sides in pixels, comma-separated", shown="256,1024,2048")
    repeat: int = option(5, group=RUN, check=positive, help="timed calls per method and size (after a warm-up)")
    threads: int = option(1, group=RUN, check=positive, help="torch threads per timing on a CPU (each timing runs "
                                                            "alone, one after the other)")
    upsample: str | None = _upsample()
