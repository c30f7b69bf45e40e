"""A learned method's weights as bytes: read once on the driver, sent to Ray workers through the object store.

A worker on another machine cannot open the driver's files — a user's `checkpoint=FILE`, a `models:/…` model
downloaded from the registry into the driver's temp folder, or the checkpoints shipped inside the project
(which the runtime environment does not upload: harness/cluster.py). So the driver reads every file the
loader will open (`read_weights`) and the engine puts them in the object store once per run; a worker
writes them into a private temporary folder of its own under the same names (`local_copy`) and loads from
there, with the same loaders and checks as a local file. Whether a checkpoint is one safetensors pair, one
official `.pth` file or a folder of them, the loader sees the same layout it would see on the driver.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from harness.errors import HarnessError, InputError


@dataclass(frozen=True)
class WeightFiles:
    """The files of one checkpoint: `name` is what the loader is given (a file name, or a folder name), and
    `files` every (path relative to the folder that holds `name`, bytes) the loader reads."""

    name: str
    files: tuple[tuple[str, bytes], ...]
    source: str  # the driver's path, for error messages only

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.files)


def read_weights(path: str | os.PathLike) -> WeightFiles:
    """Every file the checkpoint at `path` consists of (on the driver): a folder's files (the official `.pth`
    weights come as a folder), a `.safetensors` checkpoint and its `.json`, or any other file alone."""
    from harness.methods.checkpoint import checkpoint_paths

    path = Path(path)
    if path.is_dir():
        members = [(f"{path.name}/{p.name}", p) for p in sorted(path.iterdir()) if p.is_file()]
    elif path.suffix in (".safetensors", ".json"):
        weights, meta = checkpoint_paths(path)
        members = [(p.name, p) for p in (weights, meta) if p.is_file()]
        path = weights
    else:
        members = [(path.name, path)]
    try:
        files = tuple((name, p.read_bytes()) for name, p in members)
    except OSError as err:
        raise InputError(str(path), f"checkpoint cannot be read ({err.strerror or err})") from None
    if not files:
        raise InputError(str(path), "no checkpoint files here")
    return WeightFiles(path.name, files, str(path))


@contextlib.contextmanager
def local_copy(weights: WeightFiles) -> Iterator[Path]:
    """The checkpoint written into a new private temporary folder (on the worker), as the path to load; the
    folder is removed on exit — load everything inside the block."""
    with tempfile.TemporaryDirectory(prefix="harness-weights-") as tmp:
        for name, data in weights.files:
            target = Path(tmp, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield Path(tmp, weights.name)


def as_on_driver(err: HarnessError, copy: Path, weights: WeightFiles) -> HarnessError:
    """`err` (raised loading `copy`, the worker's copy) naming the driver's file instead of the copy."""
    here, there = str(copy.parent), str(Path(weights.source).parent)
    if isinstance(err, InputError):
        return InputError(err.where.replace(here, there), err.problem.replace(here, there))
    return HarnessError(str(err).replace(here, there))
