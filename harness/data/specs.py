"""Cheap, picklable descriptions of samples and suites.

A suite is indexed into `SampleSpec`s — an id, a loader kind, file paths or generation parameters — that Ray
workers turn into `Sample`s themselves (harness/data/suites.py: `load_spec`), so pixels never travel through
the driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class SampleSpec:
    """Where a sample comes from. `kind` names its loader (harness/data/suites.py: LOADERS); `args` is
    loader-specific."""

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
    held_out: bool = False  # made from the evaluation photos: never trained on (harness/data/photos.py)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.specs]

    def limited(self, limit: int | float | None) -> "Suite":
        """The first `limit` samples (an int ≥ 1), or that fraction of them (a float in (0, 1)), at least one.
        The limit is checked where the config is made (harness/options.py: check_limit)."""
        if limit is None:
            return self
        n = int(limit) if limit >= 1 else max(1, int(round(limit * len(self.specs))))
        return replace(self, specs=self.specs[:n])

    def __len__(self) -> int:
        return len(self.specs)


def files_hash(paths: list[str | None], salt: str = "") -> str:
    """sha256 over the bytes of files (None = an absent optional file), in order; a file is a local path or a
    location in a store (harness/storage.py)."""
    from harness.storage import read_bytes

    h = hashlib.sha256(salt.encode())
    for p in paths:
        h.update(b"\0" if p is None else read_bytes(str(p)))
        h.update(b"|")
    return h.hexdigest()
