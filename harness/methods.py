"""The Method interface and registry: every harmonization method the benchmark can run.

A method turns a `Sample` into a harmonized full-resolution RGB image (float32 H×W×3 in [0, 1]) that differs
from the composite only inside the foreground. It declares whether it uses the reference region, its working
resolution (None = the sample's own), its resources, and a `version()` string — a hash of its code and, for
learned methods, of its checkpoint — that keys the result cache, so a changed method is never served stale
results.

- Classical methods (baselines/classical.py) run at full resolution in stateless Ray tasks.
- Learned methods (iph/, baselines/) run at 256² inside Ray actors that load their weights once; their
  full-resolution result comes from the shared polynomial colour mapping (harness/highres.py).

Method specs are strings: `name` or `name:key=value,key=value` (e.g. `iph:checkpoint=run.safetensors,r1=0.7`).
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, UnknownNameError

LEARNED = ("iph", "dovenet", "bargainnet", "bargainnet-r", "rainnet")
# Shipped checkpoints (small, CPU-trained with `harness train`; see the README). Missing ones make the method
# unavailable until the user trains one or passes `name:checkpoint=PATH`.
SHIPPED_CHECKPOINTS = {
    "iph": "iph/checkpoints/iph.safetensors",
    "dovenet": "baselines/checkpoints/dovenet.safetensors",
    "bargainnet": "baselines/checkpoints/bargainnet.safetensors",
    "bargainnet-r": "baselines/checkpoints/bargainnet-r.safetensors",
    "rainnet": "baselines/checkpoints/rainnet.safetensors",
}
REPO_ROOT = Path(__file__).resolve().parent.parent


def _classical_names() -> list[str]:
    from baselines.classical import CLASSICAL

    return list(CLASSICAL)


def all_method_names() -> list[str]:
    return _classical_names() + list(LEARNED)


def _source_hash(*modules: Any) -> str:
    h = hashlib.sha256()
    for m in modules:
        h.update(inspect.getsource(m).encode())
    return h.hexdigest()[:16]


def _file_hash(path: str | Path) -> str:
    """sha256 of a checkpoint file, or of every .pth file in a folder of official weights."""
    path = Path(path)
    files = sorted(path.glob("*.pth")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for file in files:
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class MethodSpec:
    """A method by name plus options; picklable, cheap — what the driver sends to Ray workers."""

    name: str
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    tracking_uri: str | None = field(default=None, compare=False)  # for checkpoint=models:/NAME@ALIAS

    @classmethod
    def parse(cls, text: str, tracking_uri: str | None = None) -> "MethodSpec":
        name, _, rest = text.strip().partition(":")
        opts = []
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise HarnessError(f"method option '{item}' in '{text}' is not key=value")
            opts.append((key.strip(), value.strip()))
        if name not in all_method_names():
            raise UnknownNameError("method", name, all_method_names())
        return cls(name, tuple(opts), tracking_uri)

    @property
    def opts(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def label(self) -> str:
        """Display name: the name, plus options when any were given."""
        return self.name if not self.options else f"{self.name}:" + ",".join(f"{k}={v}" for k, v in self.options)

    @property
    def dirname(self) -> str:
        """The label made safe as one directory name (a checkpoint path in the options has slashes)."""
        import re

        return re.sub(r"[^A-Za-z0-9._=,:+@-]+", "_", self.label).strip("._") or self.name

    @property
    def learned(self) -> bool:
        return self.name in LEARNED

    def checkpoint(self) -> Path | None:
        path = self.opts.get("checkpoint") or SHIPPED_CHECKPOINTS.get(self.name)
        if path is None:
            return None
        if path.startswith("models:/"):  # the MLflow model registry (downloaded once, then cached)
            from harness.train import resolve_checkpoint

            return resolve_checkpoint(path, self.tracking_uri)
        p = Path(path)
        return p if p.is_absolute() or p.exists() else REPO_ROOT / p

    def version(self) -> str:
        """Cache key part: the label plus hashes of the code (and checkpoint) that produce the output.
        Computed in the driver without loading any weights."""
        import importlib

        import harness.highres
        import harness.resize

        if not self.learned:
            from baselines import classical

            return f"{self.label}@{_source_hash(classical)}"
        from iph.registry import _MODELS

        model_module = importlib.import_module(_MODELS[self.name].split(":")[0])
        ckpt = self.checkpoint()
        return (f"{self.label}@{_file_hash(ckpt) if ckpt and ckpt.exists() else 'none'}"
                f"+{_source_hash(model_module, harness.highres, harness.resize, importlib.import_module('harness.learned'))}")

    def available(self) -> bool:
        return not self.learned or (self.checkpoint() is not None and self.checkpoint().exists())

    def build(self) -> "Method":
        """Instantiate (in the worker). Learned methods load their weights here."""
        if self.learned:
            from harness.learned import LearnedMethod

            ckpt = self.checkpoint()
            if ckpt is None or not ckpt.exists():
                raise HarnessError(f"method '{self.name}' has no checkpoint ({ckpt}): train one with "
                                   f"`harness train --method {self.name}` or give {self.name}:checkpoint=PATH")
            return LearnedMethod(self, ckpt)
        return ClassicalMethod(self)


class Method:
    """What every method provides (see the module docstring)."""

    spec: MethodSpec
    uses_reference: bool
    resolution: int | None

    def version(self) -> str:
        return self.spec.version()

    def harmonize(self, sample) -> np.ndarray:
        raise NotImplementedError


class ClassicalMethod(Method):
    """A non-learned method of baselines/classical.py, run at the sample's own resolution."""

    def __init__(self, spec: MethodSpec) -> None:
        from baselines import classical

        self.spec = spec
        entry = classical.CLASSICAL[spec.name]
        self._fn, self.uses_reference, self.resolution = entry.fn, entry.uses_reference, entry.resolution
        allowed = [p for p in inspect.signature(self._fn).parameters.values() if p.kind == p.KEYWORD_ONLY]
        names = {p.name for p in allowed}
        for k, v in spec.options:
            if k not in names:
                raise HarnessError(f"method '{spec.name}' has no option '{k}'"
                                   f" (options: {', '.join(sorted(names)) or 'none'})")
        try:
            self._kwargs = {k: type(next(p.default for p in allowed if p.name == k))(v) for k, v in spec.options}
        except ValueError:
            raise HarnessError(f"method '{spec.label}': an option value is not a number") from None

    def version(self) -> str:
        return self.spec.version()

    def harmonize(self, sample) -> np.ndarray:
        return self._fn(sample.composite, sample.fg_mask, sample.ref_mask, **self._kwargs)


def resolve_methods(names: str | list[str] | None, tracking_uri: str | None = None) -> list[MethodSpec]:
    """Parse `--methods a,b:opt=v`; None → every available method. Unknown names → did-you-mean."""
    if names is None:
        return [MethodSpec(n) for n in all_method_names() if MethodSpec(n).available()]
    if isinstance(names, str):
        names = split_method_list(names)
    specs = [MethodSpec.parse(n, tracking_uri) for n in names]
    labels = [s.label for s in specs]
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise HarnessError(f"method listed twice: {', '.join(sorted(dup))}")
    for s in specs:
        if not s.available() or not s.learned:
            s.build()  # raises the explanatory error (missing checkpoint, unknown option); classical is cheap
    return specs


def split_method_list(text: str) -> list[str]:
    """Split "a,b:k=v,k2=v2,c" into methods: a comma starts a new method unless the next item is k=v."""
    out: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item and ":" not in item and out:
            out[-1] += "," + item
        else:
            out.append(item)
    return out


def describe_methods() -> list[dict[str, Any]]:
    """Rows for `harness list methods`: name, uses_reference, resolution, params, params_full, available."""
    from baselines.classical import CLASSICAL

    rows = []
    for name, m in CLASSICAL.items():
        rows.append({"name": name, "uses_reference": m.uses_reference, "resolution": m.resolution or "full",
                     "params": 0, "params_full": 0, "available": True, "description": m.description})
    if LEARNED:
        from harness.learned import describe_learned

        rows += describe_learned()
    return rows


