"""Method specs — what `--methods` names — and the interface every built method provides.

A spec is `name` or `name:key=value,key=value` (e.g. `iph:checkpoint=run.safetensors,r1=0.7`), or a method from
outside the project, `package.module:attr[:key=value,...]`. `MethodSpec` is small and picklable: the driver
parses and checks it, Ray workers `build()` it. A built method turns a `Sample` into a full-resolution RGB
image (float32 H×W×3 in [0, 1]) that differs from the composite only inside the foreground:

- classical methods (harness/methods/classical.py) run at the sample's own resolution in Ray tasks;
- learned methods (iph/, baselines/) run at their working size (256²) in Ray actors that load their weights
  once — from bytes the driver read (`weights`, harness/methods/weights.py), never from a driver's path; the
  full-resolution result comes from the polynomial colour mapping (harness/methods/highres.py);
- external methods are whatever their class does (interface in harness/methods/registry.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from harness.errors import HarnessError
from harness.methods import registry
from harness.options import absolute_path

if TYPE_CHECKING:
    from harness.methods.weights import WeightFiles

REPO_ROOT = Path(__file__).resolve().parents[2]
Resolver = Callable[[str], Path]  # "models:/NAME@ALIAS" (or /VERSION) → a local checkpoint file


class Method(Protocol):
    """What a built method provides (classical, learned and external alike)."""

    uses_reference: bool
    resolution: int | None

    def harmonize(self, sample) -> np.ndarray: ...


@dataclass(frozen=True)
class MethodSpec:
    """A method by name plus options; what the driver sends to Ray workers."""

    name: str
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # the local file the `checkpoint=` option names, found on the driver (`parse`): a models:/NAME@ALIAS
    # downloaded from the registry, a relative path made absolute against the caller's working directory (a Ray
    # worker runs elsewhere); the label keeps what the user typed
    resolved: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str, resolve: Resolver | None = None) -> "MethodSpec":
        """The spec `text` names; a `checkpoint=models:/…` option is resolved now with `resolve` (the model
        registry's download, passed in by the caller: this package does not know where runs are stored), a
        `checkpoint=PATH` against the working directory."""
        head, _, rest = text.strip().partition(":")
        if "." in head:  # package.module:attr[:options] — a method from outside the project
            attr, _, rest = rest.partition(":")
            name = f"{head}:{attr}"
        else:
            name = head
        opts = []
        for item in filter(None, (t.strip() for t in rest.split(","))):
            key, eq, value = item.partition("=")
            if not eq:
                raise HarnessError(f"method option '{item}' in '{text}' is not key=value")
            opts.append((key.strip(), value.strip()))
        registry.get(name)  # unknown names: did-you-mean
        spec = cls(name, tuple(opts))
        ref = spec.opts.get("checkpoint", "")
        if ref.startswith("models:/"):
            if resolve is None:
                raise HarnessError(f"method '{spec.label}': a models:/ checkpoint needs the model registry; run it "
                                   "through run-benchmark, or pass resolve= to MethodSpec.parse")
            spec = cls(name, tuple(opts), str(resolve(ref)))
        elif ref and spec.info.kind == "learned":
            spec = cls(name, tuple(opts), absolute_path(ref))
        return spec

    def with_option(self, key: str, value: str) -> "MethodSpec":
        """The same method with one more option (it shows in the label: the run says what it ran)."""
        return MethodSpec(self.name, (*self.options, (key, value)), self.resolved)

    @property
    def info(self) -> registry.MethodInfo:
        return registry.get(self.name)

    @property
    def opts(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def label(self) -> str:
        """Display name: the name, plus options when any were given."""
        if not self.options:
            return self.name
        return f"{self.name}:" + ",".join(f"{k}={v}" for k, v in self.options)

    @property
    def dirname(self) -> str:
        """The label made safe as one directory name (a checkpoint path in the options has slashes)."""
        return dirname_of(self.label) or self.name

    @property
    def in_actor(self) -> bool:
        """Runs in the engine's actor pool, built once per worker: learned methods (weights) and methods from
        outside the project (their constructors may load anything); classical ones run in plain tasks."""
        return self.info.kind != "classical"

    def checkpoint(self) -> Path | None:
        """The learned method's weights: `checkpoint=` (a path, a folder of official .pth files, or
        models:/NAME@ALIAS from the MLflow registry), else the shipped one."""
        info = self.info
        if info.kind != "learned":
            return None
        if self.resolved:
            return Path(self.resolved)
        given = self.opts.get("checkpoint")
        if given is None:  # the shipped one, inside the install folder
            return None if info.checkpoint is None else REPO_ROOT / info.checkpoint
        if given.startswith("models:/"):
            raise HarnessError(f"method '{self.label}': its models:/ checkpoint was not resolved (MethodSpec.parse "
                               "with resolve=)")
        return Path(absolute_path(given))  # the user's: relative to the working directory

    def available(self) -> bool:
        if self.info.kind != "learned":
            return True
        ckpt = self.checkpoint()
        return ckpt is not None and ckpt.exists()

    def weights(self) -> WeightFiles:
        """The learned method's checkpoint as bytes, read here (on the driver): what the engine sends to its
        workers, so that no worker opens a path of the driver's (harness/methods/weights.py)."""
        from harness.methods.weights import read_weights

        self.build_check()
        return read_weights(self.checkpoint())

    def build_check(self) -> None:
        """Raise the explanatory error when a learned method's checkpoint is missing (nothing is loaded)."""
        ckpt = self.checkpoint()
        if self.opts.get("checkpoint") and (ckpt is None or not ckpt.exists()):
            raise HarnessError(f"method '{self.label}': no checkpoint at {ckpt} (a relative path is read from "
                               "the working directory)")
        if ckpt is None or not ckpt.exists():
            raise HarnessError(f"method '{self.name}' has no checkpoint ({ckpt}): train one with "
                               f"`harness train --method {self.name}` or give {self.name}:checkpoint=PATH")

    def build(self, weights: WeightFiles | None = None) -> Method:
        """Instantiate (in the worker). Learned methods load their weights here: from `weights` (bytes the
        driver read, `MethodSpec.weights`) when given, else from the checkpoint's path."""
        info = self.info
        if info.kind == "classical":
            from harness.methods.classical import ClassicalMethod

            return ClassicalMethod(self)
        if info.kind == "learned":
            from harness.methods.learned import LearnedMethod

            if weights is not None:
                from harness.methods.weights import as_on_driver, local_copy

                with local_copy(weights) as copy:
                    try:
                        return LearnedMethod(self, copy)
                    except HarnessError as err:
                        raise as_on_driver(err, copy, weights) from None
            self.build_check()
            return LearnedMethod(self, self.checkpoint())
        return _build_external(self)


def _build_external(spec: MethodSpec) -> Method:
    factory = registry.load(spec.info.target)
    try:
        method = factory(**spec.opts)
    except TypeError as err:
        raise HarnessError(f"method '{spec.label}': {err}") from None
    if not callable(getattr(method, "harmonize", None)):
        raise HarnessError(f"method '{spec.name}': {type(method).__name__} has no harmonize(sample) method")
    return method


def _check_external_options(spec: MethodSpec) -> None:
    """The module and attribute exist and accept the options given — checked in the driver, without
    building the method (its constructor may load weights)."""
    import inspect

    factory = registry.load(spec.info.target)
    try:
        inspect.signature(factory).bind(**spec.opts)
    except TypeError as err:
        raise HarnessError(f"method '{spec.label}': {err}") from None
    except ValueError:  # no signature to read (a builtin): the worker will find out
        pass


def dirname_of(label: str) -> str:
    """The directory `run-benchmark --out` writes a method's predictions to, from its label ('' if nothing of
    the label survives); collect-votes finds them with it."""
    return re.sub(r"[^A-Za-z0-9._=,:+@-]+", "_", label).strip("._")


def split_method_list(text: str) -> list[str]:
    """Split "a,b:k=v,k2=v2,c" into methods: a comma starts a new method unless the next item is k=v."""
    out: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item and ":" not in item.split("=", 1)[0] and out:
            out[-1] += "," + item
        else:
            out.append(item)
    return out


def resolve_methods(names: str | list[str] | None, resolve: Resolver | None = None) -> list[MethodSpec]:
    """Parse `--methods a,b:opt=v`; None → every available built-in method. Unknown names → did-you-mean.
    Every spec is checked now (options, checkpoints), so a typo fails before any work starts; `resolve` turns
    `models:/NAME@ALIAS` checkpoints into local files (see `MethodSpec.parse`)."""
    if names is None:
        return [MethodSpec(n) for n in registry.BUILTIN if MethodSpec(n).available()]
    if isinstance(names, str):
        names = split_method_list(names)
    specs = [MethodSpec.parse(n, resolve) for n in names]
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise HarnessError(f"method listed twice: {', '.join(dup)}")
    for s in specs:
        if s.info.kind == "classical":
            s.build()  # cheap: checks the options
        elif s.info.kind == "learned":
            if not s.available():
                s.build_check()  # raises the explanatory error
            from harness.methods.learned import check_options

            check_options(s)
        else:
            _check_external_options(s)
    return specs


def describe_methods() -> list[dict[str, Any]]:
    """Rows for `harness list methods`, from the registry and checkpoint metadata alone (no torch)."""
    rows = []
    for name, info in registry.all_methods().items():
        spec = MethodSpec(name)
        row = {"name": name, "kind": info.kind, "uses_reference": info.uses_reference,
               "resolution": f"{info.resolution}→full" if info.upsample == registry.NATIVE  # predicts at 256²
               else info.resolution or "full", "params": 0 if info.kind == "classical" else None,
               "params_full": 0 if info.kind == "classical" else info.params,
               "available": True, "checkpoint": None, "description": info.description}
        if info.kind == "learned":
            ckpt = spec.checkpoint()
            row["available"] = spec.available()
            if row["available"]:
                from harness.methods.checkpoint import read_meta

                row["params"] = read_meta(ckpt).get("parameters")
                row["checkpoint"] = str(ckpt)
        rows.append(row)
    return rows
