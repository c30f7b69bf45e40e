"""The per-image result cache that makes runs resumable.

One JSON file per (sample content, method version, protocol) key, written atomically by the driver as each
result arrives — so Ctrl-C or a crash loses at most the images in flight, and nothing is counted twice. The
key hashes the sample's *bytes* (not its name) and the method's code/checkpoint hash, so an edited image or
a retrained model is never served a stale row.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.data.io import atomic_write
from harness.metrics import METRICS

# Bump when the metric definitions change: every cached row then becomes a miss.
METRICS_VERSION = "1:" + ",".join(METRICS)


def cache_key(sample_hash: str, method_version: str, resolution: str) -> str:
    return hashlib.sha256(f"{sample_hash}|{method_version}|{resolution}|{METRICS_VERSION}".encode()).hexdigest()


class RowCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "rows"

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except (json.JSONDecodeError, OSError):
            return None  # a torn file from a hard kill: recompute it

    def get_png(self, key: str) -> bytes | None:
        """A prediction kept for the MLflow image grid (only grid samples are kept)."""
        p = self.root.parent / "png" / key[:2] / f"{key}.png"
        return p.read_bytes() if p.is_file() else None

    def put_png(self, key: str, data: bytes) -> None:
        atomic_write(self.root.parent / "png" / key[:2] / f"{key}.png", data)

    def put(self, key: str, row: dict[str, Any]) -> None:
        atomic_write(self._path(key), json.dumps(row, allow_nan=True))
