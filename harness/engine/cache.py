"""The per-image result cache that makes runs resumable — keyed so that it cannot go stale.

One JSON file per row, written atomically by the driver as each result arrives: Ctrl-C or a crash loses at
most the work in flight, and nothing is counted twice. A row is reused only if every input is unchanged:

- the sample's bytes (its loader's `content_hash`) and its id (the row carries it);
- the method's label (name + options) and, for learned methods, the checkpoint's bytes (weights + JSON, or
  the official .pth files);
- the protocol key (`harness:native`, `harness:256`, `bcmi:256`, `idih:256`, `idih:512`, `idih:longest1024`)
  and the reference mode (`given`/`auto`);
- the source of every project module on the method's and the scoring's code path — found by following the
  import statements (top-level and inside functions) from the method's modules, the worker, and the sample's
  loader, read from the files Python would import (no hand-kept list, no hand-bumped version string);
- the versions of the numerical libraries that produce the numbers (numpy, torch, scipy, scikit-image,
  colour-science, pillow, opencv).

Editing `baselines/unet.py` recomputes the baselines built on it; editing `studies/` or the MLflow code
recomputes nothing.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from harness.data.io import atomic_write

PROJECT_PACKAGES = frozenset({"harness", "iph", "baselines", "studies", "reports"})
# opencv: the idih protocol's resize is OpenCV's own 8-bit arithmetic (harness/scoring/peers.py)
LIBRARIES = ("numpy", "torch", "scipy", "scikit-image", "colour-science", "pillow", "opencv-python-headless")
WORKER_MODULE = "harness.engine.worker"  # harmonize → 8-bit → score, in every Ray worker


# ------------------------------------------------------------------------------------------ source closure
def _module_file(name: str) -> Path | None:
    """The source file Python would import for `name`, found without importing anything: the top-level
    package is located like the import system does (sys.path order), the rest of the name is walked on disk
    (`pkg/mod.py` or `pkg/mod/__init__.py`). None when it is not a module (e.g. `pkg.function`)."""
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    if not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = Path(base).joinpath(*rest)
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@lru_cache(maxsize=4096)
def _parse_imports(path: str, mtime_ns: int, size: int, package: str) -> tuple[str, ...]:
    """Every module name an import statement in the file names, anywhere in it (functions included)."""
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return tuple(sorted(n for n in names if n))


def source_closure(roots: Iterable[str]) -> dict[str, Path]:
    """Module name → source file, for `roots` and every module of the project (and of the roots' own
    top-level packages) that they import, transitively, with the packages' __init__ files."""
    roots = list(roots)
    follow = PROJECT_PACKAGES | {r.split(".")[0] for r in roots}
    found: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found or name.split(".")[0] not in follow:
            continue
        path = _module_file(name)
        if path is None:
            continue  # `from pkg import function`: the candidate "pkg.function" is not a module
        found[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run on import
        package = name if path.name == "__init__.py" else ".".join(parts[:-1])
        st = path.stat()
        todo += [n for n in _parse_imports(str(path), st.st_mtime_ns, st.st_size, package) if n not in found]
    return found


def sources_hash(roots: Iterable[str]) -> str:
    """sha256 over the names and bytes of `source_closure(roots)`."""
    h = hashlib.sha256()
    for name, path in sorted(source_closure(roots).items()):
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------- the key
def file_hash(path: str | Path) -> str:
    """sha256 of a file, or of every file in a folder (official weights come as a folder of .pth)."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for file in files:
        h.update(file.name.encode() + b"\0")
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def method_fingerprint(spec) -> str:
    """Everything about a method that decides its output: label, code path, checkpoint bytes."""
    info = spec.info
    if info.kind == "classical":
        roots = ["harness.methods.classical", info.module]
    elif info.kind == "learned":
        roots = ["harness.methods.learned", info.module] + ([info.official.partition(":")[0]] if info.official else [])
    else:
        roots = [info.module]
    h = hashlib.sha256(f"{spec.label}|{sources_hash(roots)}".encode())
    if info.kind == "learned":
        ckpt = spec.checkpoint()
        if ckpt is not None and ckpt.exists():
            h.update(file_hash(ckpt).encode())
            meta = ckpt.with_suffix(".json")
            if ckpt.is_file() and meta.is_file():
                h.update(file_hash(meta).encode())
    return h.hexdigest()


def library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for lib in LIBRARIES:
        try:
            out.append(f"{lib}={version(lib)}")
        except PackageNotFoundError:
            out.append(f"{lib}=absent")
    return ",".join(out)


def scoring_fingerprint(loader_module: str) -> str:
    """The code that loads the sample, runs the method in the worker and scores it, plus library versions."""
    return hashlib.sha256(f"{sources_hash([WORKER_MODULE, loader_module])}|{library_versions()}".encode()).hexdigest()


def row_key(sample_id: str, sample_hash: str, method_fp: str, scoring_fp: str, protocol: str, reference: str) -> str:
    """`protocol` is the protocol key (harness/scoring/protocols.py: protocol_key), resolution included: each
    protocol and resolution has keys of its own. The sample's id is part of the key as well as its bytes: a
    row carries its id, and two samples with the same pixels under two names (a suite with duplicates) are
    two rows, not one row returned twice."""
    text = f"{sample_id}|{sample_hash}|{method_fp}|{scoring_fp}|{protocol}|{reference}"
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ storage
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

    def put(self, key: str, row: dict[str, Any]) -> None:
        atomic_write(self._path(key), json.dumps(row, allow_nan=True))

    def get_png(self, key: str) -> bytes | None:
        """A prediction kept for the MLflow image grid (only grid samples are kept)."""
        p = self.root.parent / "png" / key[:2] / f"{key}.png"
        return p.read_bytes() if p.is_file() else None

    def put_png(self, key: str, data: bytes) -> None:
        atomic_write(self.root.parent / "png" / key[:2] / f"{key}.png", data)
