"""Config fields that are also command-line flags, and the option groups several commands share.

Every option is written once, on a config dataclass: its name, default, how its text is read, its check and
its help. The CLI's flags are generated from those fields (`add_arguments`) and the config is made from the
parsed flags (`from_args`), so a flag, its default and its check cannot drift apart between the CLI and the
Python API (lm-evaluation-harness: one config object for both).

    @dataclass(kw_only=True)
    class BenchmarkConfig(SuiteOptions, ...):
        reference: str = option("given", choices=("given", "auto"), group=RUN, help="…")

    add_arguments(parser, BenchmarkConfig)      # --suite, --data-root, --limit, …, --reference
    cfg = from_args(BenchmarkConfig, args)      # the same checks as BenchmarkConfig(suite=…) from Python

How a field becomes a flag:
- `--` + the field's name with `_` → `-`, unless `flag=` says otherwise; `positional=True` makes it an argument;
- a bool defaulting to False is a switch `--name`; one defaulting to True is `--no-name` (its help says what
  the switch does);
- `parse(text)` reads the flag's text (argparse's `type`); else the default's type (int, float, str);
  `repeat=True` makes the flag repeatable and `parse` then reads the whole list of texts;
- `choices` are offered to argparse and checked for Python callers too; `check(flag, value)` runs on every
  config made, from flags or from Python, and returns the value (possibly normalised);
- `cli=False`: a Python-API-only field;
- `path=True`: a file or folder the user names — made absolute against the caller's working directory when the
  config is made (after every check), so it means the same in a Ray worker, a Ray Tune trial or Ray Train
  worker (each runs in a working directory of its own) and in the MLflow record read back from elsewhere.

The option groups below are the shared ones (suite, compute, bootstrap, tracking, cache, storage); the evaluation
protocol's group lives with the protocols (harness/scoring/protocols.py), the command configs in
harness/config/. Every error is a one-line HarnessError naming the flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import MISSING, dataclass, fields
from typing import Any, Callable, Sequence

from harness.errors import HarnessError
from harness.storage import HELP as STORAGE_HELP
from harness.storage import check_endpoint, check_location

KEY = "harness.option"  # where a field keeps its Option in dataclasses.Field.metadata
# argparse group titles, in the order --help shows them
RUN, DATA, TRAINING, RESULTS, COMPUTE = "what to run", "data", "optimisation", "where results go", "compute"
GROUP_ORDER = (RUN, DATA, TRAINING, RESULTS, COMPUTE)


@dataclass(frozen=True)
class Option:
    help: str
    flag: str | None = None
    parse: Callable[[Any], Any] | None = None
    choices: Sequence[Any] | None = None
    check: Callable[[str, Any], Any] | None = None
    group: str | None = None
    metavar: str | None = None
    positional: bool = False
    repeat: bool = False
    cli: bool = True
    shown: str | None = None  # how --help shows the default, when it is not a plain value
    path: bool = False  # a user's file or folder: made absolute against the working directory (see above)


def option(default: Any = MISSING, *, help: str, factory: Callable[[], Any] | None = None, **how: Any) -> Any:
    """A config field that describes its flag too (see the module docstring); `how` are Option's fields."""
    meta = {KEY: Option(help=help, **how)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def redefault(options: type, name: str, default: Any = MISSING, **how: Any) -> Any:
    """Field `name` of option group `options` with another default (and Option fields replaced by `how`): a
    command that needs a different default keeps the group's flag, help and check."""
    f = next(f for f in fields(options) if f.name == name)
    opt = dataclasses.replace(f.metadata[KEY], **how)
    return dataclasses.field(default=default, metadata={KEY: opt})


def _opt(f: dataclasses.Field) -> Option | None:
    return f.metadata.get(KEY)


def flag_of(f: dataclasses.Field) -> str:
    """The flag a field is set with on the command line (what its errors name)."""
    opt = _opt(f)
    if opt is not None and opt.flag:
        return opt.flag
    if opt is not None and opt.positional:
        return f.name.upper()
    name = f.name.replace("_", "-")
    return f"--no-{name}" if f.default is True else f"--{name}"


class Options:
    """Base of every config: checks each field (choices, `check`), then each class's `_check` hook (a check
    that involves several fields), from the most general class to the most specific."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            opt, value = _opt(f), getattr(self, f.name)
            if opt is None or value is None:
                continue
            if opt.choices is not None and not opt.repeat and value not in opt.choices:
                raise HarnessError(f"{flag_of(f)} must be {' or '.join(map(str, opt.choices))}, not '{value}'")
            if opt.check is not None:
                setattr(self, f.name, opt.check(flag_of(f), value))
        for cls in reversed(type(self).__mro__):
            hook = cls.__dict__.get("_check")
            if hook is not None:
                hook(self)
        for f in fields(self):  # type: ignore[arg-type]  # last: a hook may set a default path (--out)
            opt, value = _opt(f), getattr(self, f.name)
            if opt is not None and opt.path and isinstance(value, str) and value:
                setattr(self, f.name, absolute_path(value))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


# ------------------------------------------------------------------------------------------ flags from fields
def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def default_of(cls: type, name: str) -> Any:
    """The default of field `name` of config dataclass `cls` (what the CLI shows and uses)."""
    for f in fields(cls):
        if f.name == name:
            value = _default(f)
            if value is MISSING:
                raise KeyError(f"{cls.__name__}.{name} has no default")
            return value
    raise KeyError(f"{cls.__name__} has no field {name}")


def _help(opt: Option, default: Any) -> str:
    if opt.shown is not None:
        return f"{opt.help} (default: {opt.shown})"
    if default is MISSING or default is None or isinstance(default, (bool, list, dict)) or opt.repeat:
        return opt.help
    return f"{opt.help} (default: %(default)s)"


def _kind(f: dataclasses.Field, default: Any) -> type:
    """What a flag's text is read as: the default's type, else the field's annotation (`int | None` → int)."""
    if isinstance(default, (int, float, str)) and not isinstance(default, bool):
        return type(default)
    names = {t.strip() for t in str(f.type).split("|")}
    return int if "int" in names else float if "float" in names else str


def add_arguments(parser: argparse.ArgumentParser, cls: type, *,
                  skip: Sequence[str] = ()) -> dict[str, argparse._ArgumentGroup]:
    """Add a flag for every CLI field of config class `cls` (except `skip`), in argparse groups; returns the
    groups by title (a command adds its own flags that are not config fields there, e.g. --dry-run)."""
    chosen = [f for f in fields(cls) if (opt := _opt(f)) is not None and opt.cli and f.name not in skip]
    titles = sorted({_opt(f).group for f in chosen if _opt(f).group},  # type: ignore[union-attr]
                    key=lambda t: GROUP_ORDER.index(t) if t in GROUP_ORDER else len(GROUP_ORDER))
    groups = {t: parser.add_argument_group(t) for t in titles}
    for f in chosen:
        opt = _opt(f)
        assert opt is not None
        target = groups[opt.group] if opt.group else parser
        default = _default(f)
        kw: dict[str, Any] = {"help": _help(opt, default)}
        if opt.metavar:
            kw["metavar"] = opt.metavar
        if opt.positional:
            target.add_argument(f.name, type=opt.parse or str, **kw)
            continue
        if isinstance(default, bool):
            target.add_argument(flag_of(f), dest=f.name, action="store_false" if default else "store_true",
                                help=opt.help)
            continue
        if opt.repeat:
            target.add_argument(flag_of(f), dest=f.name, action="append", default=[], **kw)
            continue
        kind = opt.parse or _kind(f, default)
        kw.update(type=kind, choices=opt.choices)
        if default is MISSING:
            kw["required"] = True
        else:
            kw["default"] = default
        target.add_argument(flag_of(f), dest=f.name, **kw)
    return groups


def group(parser: argparse.ArgumentParser, title: str) -> argparse._ArgumentGroup:
    """The parser's argument group called `title` (made when it has none yet)."""
    for g in parser._action_groups:
        if g.title == title:
            return g  # type: ignore[return-value]
    return parser.add_argument_group(title)


def from_args(cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """The config `cls` from parsed flags (`values` set the fields that have no flag, or replace one)."""
    kw = {}
    for f in fields(cls):
        opt = _opt(f)
        if opt is None or not opt.cli or f.name in values or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        kw[f.name] = opt.parse(value) if opt.repeat and opt.parse else value
    return cls(**kw, **values)


# ---------------------------------------------------------------------------------------------------- checks
def positive(flag: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise HarnessError(f"{flag} must be an integer ≥ {minimum}, not {value!r}")
    return value


def non_negative(flag: str, value: Any) -> int:
    return positive(flag, value, minimum=0)


def number_above(minimum: float, *, inclusive: bool = False) -> Callable[[str, Any], float]:
    """A check: a number > `minimum` (≥ with `inclusive`)."""
    def check(flag: str, value: Any) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            value >= minimum if inclusive else value > minimum)
        if not ok:
            raise HarnessError(f"{flag} must be {'≥' if inclusive else '>'} {minimum:g}, not {value!r}")
        return value
    return check


def fraction(flag: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise HarnessError(f"{flag} must be a fraction in [0, 1), not {value}")
    return value


def port(flag: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise HarnessError(f"{flag} must be 0 (any free port) or 1–65535, not {value!r}")
    return value


def check_limit(flag: str, limit: Any) -> int | float | None:
    """`--limit`: None, a positive whole count, or a fraction in (0, 1); anything else is refused (a limit of
    0 or −3 used to run one sample silently)."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit):
        raise HarnessError(f"{flag} must be a positive count or a fraction in (0, 1), not {limit!r}")
    if limit >= 1:
        if float(limit).is_integer():
            return int(limit)
        raise HarnessError(f"{flag} {limit}: a count must be a whole number (or give a fraction in (0, 1))")
    if limit > 0:
        return float(limit)
    raise HarnessError(f"{flag} must be a positive count or a fraction in (0, 1), not {limit}")


def parse_limit(text: str) -> int | float:
    """argparse type for --limit."""
    try:
        value = float(text)
    except ValueError:
        raise HarnessError(f"--limit must be a positive count or a fraction in (0, 1), not '{text}'") from None
    return check_limit("--limit", value)


def comma_list(text: str) -> list[str]:
    """"a, b,,c" → ["a", "b", "c"]."""
    return [t.strip() for t in text.split(",") if t.strip()]


def key_values(flag: str) -> Callable[[list[str]], dict[str, str]]:
    """The reader of a repeatable KEY=VALUE flag: ["a=1", "b=2"] → {"a": "1", "b": "2"}."""
    def read(items: list[str]) -> dict[str, str]:
        out = {}
        for item in items:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise HarnessError(f"{flag} '{item}' is not KEY=VALUE")
            out[key.strip()] = value.strip()
        return out
    return read


def absolute_path(value: str) -> str:
    """A user's path made absolute against the working directory ("~" expanded, symlinks kept); a URI
    (`models:/iph@stage1`, `s3://…`) is left as it is."""
    if value.startswith("models:/") or "://" in value:
        return value
    return os.path.abspath(os.path.expanduser(value))


def absolute_store(flag: str, uri: Any) -> Any:
    """`--tracking-uri`: a relative sqlite file (`sqlite:///runs.db`, three slashes) made absolute, so every
    process of a run — Ray workers included — writes to the same database."""
    prefix = "sqlite:///"
    if isinstance(uri, str) and uri.startswith(prefix) and not uri.startswith(prefix + "/") and \
            not uri[len(prefix):].startswith(":memory:"):
        return prefix + absolute_path(uri[len(prefix):])
    return uri


def default_cache_dir() -> str:
    """Per-image results, logs, bundled builds and downloaded models: $HARNESS_CACHE, else ./.harness-cache."""
    return os.environ.get("HARNESS_CACHE", ".harness-cache")


# ------------------------------------------------------------------------------------- the shared option groups
# Keyword-only, so a command's config may put required fields of its own first. A config lists its groups
# most-specific first: dataclasses order fields from the last base to the first, and --help follows that order.
@dataclass(kw_only=True)
class SuiteOptions(Options):
    suite: str = option("portraittest", group=RUN, help="suite name (`harness list suites`)")
    data_root: str | None = option(None, group=RUN, path=True,
                                   help="where the suite's data lives (portraittest also reads $HARNESS_DATA)")
    limit: int | float | None = option(None, group=RUN, parse=parse_limit, check=check_limit,
                                       help="first N samples, or a fraction in (0, 1) — for smoke runs")


@dataclass(kw_only=True)
class StoreOptions(Options):
    tracking_uri: str | None = option(None, group=RESULTS, check=absolute_store, help="MLflow store",
                                      shown="$MLFLOW_TRACKING_URI, else sqlite ./mlflow.db")


@dataclass(kw_only=True)
class TrackingOptions(StoreOptions):
    mlflow: bool = option(True, group=RESULTS, help="do not log to MLflow")


@dataclass(kw_only=True)
class CacheOptions(Options):
    resume: bool = option(False, group=RESULTS, help="reuse cached per-image results; compute only the rest")
    cache_dir: str = option(factory=default_cache_dir, group=RESULTS, path=True, help="per-image results and logs",
                            shown="$HARNESS_CACHE, else .harness-cache")


@dataclass(kw_only=True)
class StorageOptions(Options):
    """Where training checkpoints, curves and Tune's state persist (harness/storage.py). Ray Train and Tune on
    more than one node need storage every node reaches: a shared (NFS) folder or an object store."""

    storage: str | None = option(None, group=RESULTS, path=True, check=check_location, metavar="URI",
                                 help=f"where checkpoints, curves and Tune state persist: {STORAGE_HELP}; "
                                      "a multi-node cluster needs one every node reaches",
                                 shown="under --out, on this machine")
    storage_endpoint: str | None = option(None, group=RESULTS, check=check_endpoint, metavar="URL",
                                          help="endpoint of an S3-compatible store (MinIO, Ceph, …), e.g. "
                                               "http://127.0.0.1:9000; also used for s3:// --data-root",
                                          shown="$AWS_ENDPOINT_URL, else AWS")


@dataclass(kw_only=True)
class ComputeOptions(Options):
    ray_address: str | None = option(None, group=COMPUTE, help="Ray cluster to use", shown="$RAY_ADDRESS, else "
                                     "a local Ray")
    num_cpus: int | None = option(None, group=COMPUTE, check=positive, help="local Ray: CPUs to use",
                                  shown="all available")
    progress: bool = option(True, group=COMPUTE, help="no progress bar (none under --json either)")


@dataclass(kw_only=True)
class BootstrapOptions(Options):
    seed: int = option(0, group=COMPUTE, help="bootstrap seed")
    bootstrap: int = option(2000, group=COMPUTE, check=positive, help="bootstrap resamples for CIs and paired "
                                                                      "tests")
