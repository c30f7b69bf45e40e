"""The suites registry: named collections of samples, and the loaders that turn their specs into samples.

Entries are lazy "module:attr" strings (nothing is imported to list them). `open_suite(name, data_root,
limit)` indexes a suite; `load_spec(spec)` builds a `Sample` (in Ray workers too); `spec_content_hash(spec)`
hashes everything a sample is made of. Unknown names get did-you-mean suggestions.

- `portraittest` — PortraitTest in the folder layout, from `--data-root` or `$HARNESS_DATA`; falls back to the
                   bundled sample suite *and says so* (notice, `source`, every record) when it is absent
- `sample`       — the bundled suite of real public-domain photos (harness/data/loaders/bundled.py)
- `folder`       — the harness's own layout, for any user data (harness/data/loaders/folder.py)
- `iharmony4`    — the official iHarmony4 layout, reference = the whole background, per-subset results
- `relit`        — the bundled photos under spatially varying light, with per-reference truths
- `intharmony`   — a build of `harness build-intharmony` (COCO instances → samples), per-augmentation results

A loader module (LOADERS, by `SampleSpec.kind`) provides `load(spec) -> Sample` and `content_hash(spec) -> str`.
"""

from __future__ import annotations

import importlib

from harness.data.specs import SampleSpec, Suite
from harness.errors import HarnessError, UnknownNameError

# name → ("module:function(data_root) -> Suite", one-line description)
SUITES: dict[str, tuple[str, str]] = {
    "portraittest": ("harness.data.loaders.portraittest:open_portraittest",
                     "PortraitTest (folder layout); bundled sample when absent, and says so"),
    "sample": ("harness.data.loaders.bundled:open_bundled",
               "bundled real photos (skimage, matplotlib) with seeded perturbations"),
    "folder": ("harness.data.loaders.folder:open_folder", "any data in the harness folder layout (--data-root)"),
    "iharmony4": ("harness.data.loaders.iharmony4:open_iharmony4",
                  "iHarmony4 official layout; reference = whole background; per subset"),
    "relit": ("harness.data.loaders.relit:open_relit",
              "bundled photos under two lights; several references, each with the truth it implies"),
    "intharmony": ("harness.data.loaders.intharmony:open_intharmony",
                   "a `harness build-intharmony` output (--data-root); bundled test split when absent, and says so"),
}

# SampleSpec.kind → the module that loads and hashes such specs
LOADERS: dict[str, str] = {
    "bundled": "harness.data.loaders.bundled",
    "folder": "harness.data.loaders.folder",
    "iharmony4": "harness.data.loaders.iharmony4",
    "relit": "harness.data.loaders.relit",
}


def list_suites() -> dict[str, str]:
    return {name: desc for name, (_, desc) in SUITES.items()}


def open_suite(name: str, data_root: str | None = None, limit: int | float | None = None) -> Suite:
    """Index a suite by name (UnknownNameError with did-you-mean for unknown names)."""
    if name not in SUITES:
        raise UnknownNameError("suite", name, list(SUITES))
    module, _, attr = SUITES[name][0].partition(":")
    suite = getattr(importlib.import_module(module), attr)(data_root)
    if not suite.specs:
        raise HarnessError(f"suite '{name}' has no samples" + (f" under {suite.data_root}" if suite.data_root else ""))
    return suite.limited(limit)


def loader_module(kind: str) -> str:
    if kind not in LOADERS:
        raise UnknownNameError("sample kind", kind, list(LOADERS))
    return LOADERS[kind]


def load_spec(spec: SampleSpec):
    """Build the Sample for a spec (runs in Ray workers too)."""
    return importlib.import_module(loader_module(spec.kind)).load(spec)


def spec_content_hash(spec: SampleSpec) -> str:
    """sha256 of everything the sample is made of (file bytes, or generation recipe + photo bytes)."""
    return importlib.import_module(loader_module(spec.kind)).content_hash(spec)
