"""Suites: named collections of samples, and their registry.

A suite is indexed cheaply into `SampleSpec`s — small picklable records (an id, a loader kind, file paths or
generation parameters) that Ray workers turn into `Sample`s themselves, so pixels never travel through the
driver. `open_suite(name, data_root)` is the one entry point; unknown names get did-you-mean suggestions.

Registered suites:
- `folder`       — the harness's own layout, for any user data (`--data-root DIR`); see harness/data/folder.py
- `portraittest` — PortraitTest in the folder layout, from `--data-root` or `$HARNESS_DATA`; falls back to the
                   bundled sample suite *and says so* (notice, `source`, every record) when it is absent
- `iharmony4`    — the official iHarmony4 layout, reference = the whole background, per-subset results
- `sample`       — the bundled suite of real public-domain photos (harness/data/bundled.py)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import HarnessError, UnknownNameError

BUNDLED_SOURCE = "bundled-sample"


@dataclass(frozen=True)
class SampleSpec:
    """Where a sample comes from; `load_spec(spec)` builds the `Sample`. `args` is loader-specific."""

    id: str
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    """An indexed suite. `source` says where its data really came from; `notice` is shown to the user."""

    name: str
    source: str
    specs: list[SampleSpec]
    notice: str | None = None
    data_root: str | None = None

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.specs]

    def limited(self, limit: int | float | None) -> "Suite":
        """The first `limit` samples (an int), or a fraction of them (a float in (0, 1))."""
        if limit is None:
            return self
        n = int(limit) if limit >= 1 else max(1, int(round(limit * len(self.specs))))
        return Suite(self.name, self.source, self.specs[:n], self.notice, self.data_root)

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self):
        return (load_spec(s) for s in self.specs)


# --- loaders: kind → function(spec) -> Sample; each suite module registers its own -----------------
_LOADERS: dict[str, Callable] = {}
_HASHERS: dict[str, Callable] = {}


def register_loader(kind: str, load: Callable, content_hash: Callable) -> None:
    _LOADERS[kind] = load
    _HASHERS[kind] = content_hash


def load_spec(spec: SampleSpec):
    """Build the Sample for a spec (runs in Ray workers too)."""
    _ensure_registered()
    return _LOADERS[spec.kind](spec)


def spec_content_hash(spec: SampleSpec) -> str:
    """sha256 of everything the sample is made of (file bytes, or generation recipe + photo bytes)."""
    _ensure_registered()
    return _HASHERS[spec.kind](spec)


def files_hash(paths: list[str | None], salt: str = "") -> str:
    h = hashlib.sha256(salt.encode())
    for p in paths:
        h.update(b"\0" if p is None else Path(p).read_bytes())
        h.update(b"|")
    return h.hexdigest()


def _ensure_registered() -> None:
    if not _LOADERS:
        import harness.data.bundled  # noqa: F401  (each module registers its loader on import)
        import harness.data.folder  # noqa: F401
        import harness.data.iharmony4  # noqa: F401


# --- the suite registry ---------------------------------------------------------------------------
def _open_sample(data_root: str | None) -> Suite:
    from harness.data.bundled import bundled_suite

    return bundled_suite()


def _open_folder(data_root: str | None) -> Suite:
    from harness.data.folder import folder_suite

    if not data_root:
        raise HarnessError("suite 'folder' needs --data-root DIR (with composite/, mask/, reference/, real/)")
    return folder_suite(data_root, name="folder")


def _portraittest_root(data_root: str | None) -> tuple[Path | None, list[str]]:
    candidates: list[Path] = []
    if data_root:
        candidates.append(Path(data_root))
    env = os.environ.get("HARNESS_DATA")
    if env:
        candidates += [Path(env) / "PortraitTest", Path(env) / "portraittest", Path(env)]
    for c in candidates:
        if (c / "composite").is_dir():
            return c, [str(c) for c in candidates]
    return None, [str(c) for c in candidates]


def _open_portraittest(data_root: str | None) -> Suite:
    from harness.data.bundled import bundled_suite
    from harness.data.folder import folder_suite

    root, looked = _portraittest_root(data_root)
    if root is not None:
        suite = folder_suite(root, name="portraittest")
        suite.source = "portraittest"
        return suite
    if data_root:  # the user pointed somewhere explicit: a silent fallback would hide their mistake
        raise HarnessError(f"{data_root}: no PortraitTest here (expected composite/, mask/, reference/, real/)")
    suite = bundled_suite()
    where = ", ".join(looked) if looked else "no --data-root and HARNESS_DATA unset"
    suite.name = "portraittest"
    suite.source = f"{BUNDLED_SOURCE} (PortraitTest not found)"
    suite.notice = (f"PortraitTest not found ({where}): running the bundled sample suite instead. "
                    "These are NOT PortraitTest numbers. Set --data-root or HARNESS_DATA to use it.")
    return suite


def _open_iharmony4(data_root: str | None) -> Suite:
    from harness.data.iharmony4 import iharmony4_suite

    root = data_root or (str(Path(os.environ["HARNESS_DATA"]) / "iHarmony4") if os.environ.get("HARNESS_DATA") else None)
    if not root:
        raise HarnessError("suite 'iharmony4' needs --data-root DIR (or HARNESS_DATA/iHarmony4)")
    return iharmony4_suite(root)


SUITES: dict[str, tuple[Callable[[str | None], Suite], str]] = {
    "portraittest": (_open_portraittest, "PortraitTest (folder layout); bundled sample when absent, and says so"),
    "sample": (_open_sample, "bundled real photos (skimage, matplotlib) with seeded perturbations"),
    "folder": (_open_folder, "any data in the harness folder layout (--data-root)"),
    "iharmony4": (_open_iharmony4, "iHarmony4 official layout; reference = whole background; per subset"),
}


def list_suites() -> dict[str, str]:
    return {name: desc for name, (_, desc) in SUITES.items()}


def open_suite(name: str, data_root: str | None = None, limit: int | float | None = None) -> Suite:
    """Index a suite by name. Raises UnknownNameError (did-you-mean) for unknown names."""
    if name not in SUITES:
        raise UnknownNameError("suite", name, list(SUITES))
    suite = SUITES[name][0](data_root)
    if not suite.specs:
        raise HarnessError(f"suite '{name}' has no samples" + (f" under {suite.data_root}" if suite.data_root else ""))
    return suite.limited(limit)
