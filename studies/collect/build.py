"""Making a study directory, all at once or not at all: everything is written into a temporary sibling
directory which is renamed into place only when complete, so an interrupted build leaves no half-study.

    STUDY_DIR/study.json     what the study is (design, methods, images, plan sizes, where the outputs came
                             from); no secrets — safe to share beside the results
    STUDY_DIR/votes.db       the plan, the participants and every answer (sqlite; holds the URL token and the
                             form-signing key, so it is readable by its owner only)
    STUDY_DIR/images/        the images the study shows, under random names (the name of a file tells nothing
                             about which method made it); nothing else is ever served
    STUDY_DIR/votes.csv, trials.csv, consistency.csv   the exports (studies/collect/export.py)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from studies.collect.design import ab_plan, rank_depth, rank_plan
from studies.collect.export import export
from studies.collect.store import Store

FORMAT = 1
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@dataclass(frozen=True)
class StudyImage:
    """One file the study shows: `method` None is the composite (the input)."""

    image: str
    method: str | None
    data: bytes
    suffix: str  # ".png", ".jpg" or ".jpeg"


def is_study(path: str | Path) -> bool:
    path = Path(path)
    return (path / "study.json").is_file() and (path / "votes.db").is_file()


def read_study(path: str | Path) -> dict:
    """study.json of a study directory."""
    return json.loads((Path(path) / "study.json").read_text(encoding="utf-8"))


def create_study(out: str | Path, *, design: str, methods: list[str], images: list[str],
                 files: list[StudyImage], subjects: int, trials: int | None, repeats: int | None, seed: int,
                 source: dict, request: dict, mlflow: dict | None = None) -> Path:
    """Build STUDY_DIR `out` (which must not exist, or be an empty directory). `images` are the image ids in
    study order; `files` must hold the composite and every method's output for each of them."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(out)
    need = {(i, m) for i in images for m in [None, *methods]}
    have = {(f.image, f.method) for f in files}
    if need != have:
        raise ValueError(f"files do not match the study's images × (composite + methods): missing "
                         f"{sorted(need - have, key=str)[:3]}, extra {sorted(have - need, key=str)[:3]}")
    if design == "ab":
        plan = ab_plan(methods, images, subjects, trials, repeats, seed)
    elif design == "rank":
        plan = rank_plan(methods, images, subjects, trials, repeats, seed)
    else:
        raise ValueError(f"design must be 'ab' or 'rank', not {design!r}")
    n_trials = len([t for t in plan[0] if t.repeat_of is None])
    n_repeats = len(plan[0]) - n_trials
    info = {"format": FORMAT, "design": design, "methods": list(methods), "images": list(images),
            "subjects": subjects, "trials_per_subject": n_trials, "repeats_per_subject": n_repeats,
            "rank_depth": rank_depth(len(methods)) if design == "rank" else None, "seed": seed,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": source,
            "mlflow": mlflow, "request": request}
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "images").mkdir(parents=True)
        os.chmod(tmp, 0o700)
        names = []
        for f in files:
            if f.suffix not in IMAGE_TYPES:
                raise ValueError(f"unsupported image type {f.suffix!r}")
            name = secrets.token_hex(16) + f.suffix
            (tmp / "images" / name).write_bytes(f.data)
            names.append((name, f.image, f.method))
        meta = {**info, "token": secrets.token_urlsafe(24), "secret": secrets.token_hex(32)}
        store = Store.create(tmp / "votes.db", meta, names, plan)
        os.chmod(tmp / "votes.db", 0o600)
        (tmp / "study.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        export(store, tmp)
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
