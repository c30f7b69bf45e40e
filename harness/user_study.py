"""The user-study builder: the outputs of a benchmark run → a study directory that `harness collect-votes`
serves and whose votes.csv `harness analyze-votes` reads. This is the Python API behind collect-votes; the
command only parses flags, calls `build_study` and serves the result.

The outputs come from one of three sources (`CollectConfig.run` / `.pred_dirs`):
- a run-benchmark MLflow run id: its suite, data root, --limit and --out folder are read from the run;
- a run-benchmark --out folder: one sub-folder of predictions per method (named by `dirname_of` of the method
  label) and its per_image.csv, whose `method` and `id` columns give the methods and the samples it ran on;
- prediction folders, NAME=DIR,... (one `<id>.png` per sample of the suite).

Which images are shown: the suite's samples (only those in per_image.csv for an --out folder) in suite order;
of these, the `images` at the positions `random.Random(seed).sample(range(n_samples), images)`, kept in suite
order. Every method must have a prediction for every sample (not only the sampled ones: a hole is a broken
source), and the outputs of one image must have the same size.

example:
    from harness.config import CollectConfig
    from harness.user_study import build_study

    cfg = CollectConfig(out="study/", run="bench/", suite="sample", design="ab", images=8, subjects=10)
    study_dir = build_study(cfg, note=print)  # a Path; an existing study there is checked, not rebuilt
    # then: harness collect-votes --out study/   (serve it)   ·   harness analyze-votes study/votes.csv
"""

from __future__ import annotations

import csv
import random
from dataclasses import replace
from pathlib import Path
from typing import Callable

from harness.config import CollectConfig
from harness.data.io import find_image, id_to_stem, png_bytes, read_rgb
from harness.data.specs import Suite
from harness.data.suites import load_spec, open_suite
from harness.errors import HarnessError, InputError, UnknownNameError
from harness.methods.spec import dirname_of, split_method_list
from studies.collect import StudyImage, create_study, is_study, read_study


def parse_pred_dirs(text: str) -> dict[str, str]:
    """NAME=DIR,NAME=DIR → {name: dir}, each item checked (one-line InputError naming it)."""
    out: dict[str, str] = {}
    for item in (t.strip() for t in text.split(",")):
        name, eq, folder = item.partition("=")
        name, folder = name.strip(), folder.strip()
        if not eq or not name or not folder:
            raise InputError("--pred-dirs", f"'{item}' is not NAME=DIR (e.g. IPH=preds/iph)")
        if name.lower() == "tie":
            raise InputError("--pred-dirs", "'tie' cannot be a method name (the A/B CSV uses it for ties)")
        if name in out:
            raise InputError("--pred-dirs", f"method '{name}' is given twice")
        if not Path(folder).is_dir():
            raise InputError(folder, f"prediction directory of method '{name}' not found")
        out[name] = str(Path(folder).resolve())
    return out


def _out_dir_table(out_dir: Path) -> tuple[list[str], list[str]]:
    """(method labels, sample ids) of a run-benchmark --out folder, from its per_image.csv (first-seen order)."""
    table = out_dir / "per_image.csv"
    if not table.is_file():
        raise InputError(out_dir, "not a run-benchmark --out folder (no per_image.csv)")
    with table.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "method" not in rows[0] or "id" not in rows[0]:
        raise InputError(table, "has no 'method' or 'id' column, or no rows")
    return list(dict.fromkeys(r["method"] for r in rows)), list(dict.fromkeys(r["id"] for r in rows))


def resolve_sources(cfg: CollectConfig) -> tuple[dict[str, Path], dict, dict | None, Suite]:
    """({method: folder of its predictions}, source description, MLflow info or None, the suite)."""
    mlflow, only = None, None
    limit = cfg.limit
    suite_name, data_root = cfg.suite, cfg.data_root
    if cfg.pred_dirs is not None:
        dirs = {m: Path(p) for m, p in parse_pred_dirs(cfg.pred_dirs).items()}
        source = {"kind": "pred-dirs", "pred_dirs": {m: str(p) for m, p in dirs.items()}}
    else:
        run_dir = Path(cfg.run)
        if run_dir.is_dir():
            if not suite_name:
                raise HarnessError(f"--run {cfg.run} is a folder: give --suite too (the suite it was run on)")
            labels, only = _out_dir_table(run_dir)
            source = {"kind": "benchmark-out", "out": str(run_dir.resolve())}
        else:
            # Inside the branch: reading a run needs MLflow, which a folder or --pred-dirs study never touches.
            from harness.tracking.runs import benchmark_run

            info = benchmark_run(cfg.run, cfg.tracking_uri)
            if suite_name and info["suite"] and suite_name != info["suite"]:
                raise HarnessError(f"--suite {suite_name}: run {cfg.run} was on suite '{info['suite']}'")
            suite_name, data_root = suite_name or info["suite"], data_root or info["data_root"]
            limit = limit if limit is not None else info["limit"]
            labels, run_dir = info["methods"], Path(info["out"])
            if not run_dir.is_dir():
                raise InputError(run_dir, f"the --out folder of run {cfg.run} is not here (a relative path is "
                                          "read from the current directory)")
            source = {"kind": "mlflow-run", "run_id": cfg.run, "out": str(run_dir.resolve())}
            mlflow = {k: info[k] for k in ("uri", "run_id", "experiment_id", "experiment_name")}
        dirs = {}
        for label in labels:
            folder = run_dir / (dirname_of(label) or label)
            if not folder.is_dir():
                raise InputError(folder, f"no predictions of method '{label}' in the benchmark's --out folder")
            dirs[label] = folder
    if cfg.methods:
        wanted = split_method_list(cfg.methods)
        for m in wanted:
            if m not in dirs:
                raise UnknownNameError("method", m, list(dirs))
        dirs = {m: dirs[m] for m in dict.fromkeys(wanted)}
    need = 2 if cfg.design == "ab" else 3
    if len(dirs) < need:
        raise HarnessError(f"--design {cfg.design} needs at least {need} methods; got {len(dirs)} "
                           f"({', '.join(dirs) or 'none'})")
    suite = open_suite(suite_name, data_root, limit)
    if only is not None:  # the samples the benchmark ran on (it may have had a --limit)
        suite = replace(suite, specs=[s for s in suite.specs if s.id in set(only)])
        if not suite.specs:
            raise InputError(run_dir / "per_image.csv", f"none of its samples is in suite '{suite.name}'")
    source.update(suite=suite.name, data_root=str(Path(data_root).resolve()) if data_root else None,
                  suite_source=suite.source, notice=suite.notice, limit=limit)
    return dirs, source, mlflow, suite


def study_files(cfg: CollectConfig, dirs: dict[str, Path], suite: Suite) -> tuple[list[str], list[StudyImage]]:
    """(the sampled image ids, every file the study shows). Every method must have a prediction for every
    sample of the suite, of the same size as the other methods' for that sample."""
    found = {}
    for spec in suite.specs:
        for m, folder in dirs.items():
            path = find_image(folder, id_to_stem(spec.id))
            if path is None:
                raise InputError(folder / f"{id_to_stem(spec.id)}.png", f"no prediction of method '{m}' for "
                                                                        f"sample '{spec.id}'")
            found[spec.id, m] = path
    if cfg.images > len(suite.specs):
        raise HarnessError(f"--images {cfg.images}: suite '{suite.name}' has only {len(suite.specs)} images")
    # The seed rule of the module docstring: positions in the suite, kept in suite order.
    picked = set(random.Random(cfg.seed).sample(range(len(suite.specs)), cfg.images))
    specs = [s for k, s in enumerate(suite.specs) if k in picked]
    files = []
    for spec in specs:
        sizes = {}
        for m in dirs:
            path = found[spec.id, m]
            h, w = read_rgb(path).shape[:2]  # checks it is a readable 8-bit RGB image (InputError otherwise)
            first = next(iter(sizes.items()), None)
            if first and first[1] != (w, h):
                raise InputError(path, f"is {w}×{h} but method '{first[0]}' gave {first[1][0]}×{first[1][1]} "
                                       f"for sample '{spec.id}': outputs compared side by side must match")
            sizes[m] = (w, h)
            # The file's own bytes, not a re-encoding: participants judge exactly what the method wrote.
            files.append(StudyImage(spec.id, m, path.read_bytes(), path.suffix.lower()))
        files.append(StudyImage(spec.id, None, png_bytes(load_spec(spec).composite), ".png"))
    return [s.id for s in specs], files


def _request(cfg: CollectConfig, source: dict) -> dict:
    """What defines the study, to tell a resume from a different study in the same folder."""
    return {"source": {k: source.get(k) for k in ("kind", "run_id", "out", "pred_dirs", "suite", "data_root",
                                                  "limit")},
            "methods": cfg.methods, "design": cfg.design, "images": cfg.images, "subjects": cfg.subjects,
            "trials": cfg.trials, "repeats": cfg.repeats, "seed": cfg.seed}


def build_study(cfg: CollectConfig, note: Callable[[str], None]) -> Path:
    """Make the study directory cfg.out and return it; if a study is already there, check that it is the one
    asked for (InputError if not) and return it unchanged. `note` receives one-line remarks for the user
    (e.g. that the suite fell back to the bundled sample). Bad input: one HarnessError / InputError."""
    out = Path(cfg.out)
    if is_study(out):
        if cfg.builds:
            dirs, source, _, _ = resolve_sources(cfg)
            if read_study(out).get("request") != _request(cfg, source):
                raise InputError(out, "already holds a different study; choose another --out, or give only "
                                      "--out to serve this one again")
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "exists and is not a study directory (no study.json / votes.db); choose a new --out")
    if not cfg.builds:
        raise HarnessError(f"{out} is not a study yet: give --run RUN_ID or --pred-dirs NAME=DIR,... to build one")
    dirs, source, mlflow, suite = resolve_sources(cfg)
    if suite.notice:
        note(f"note: {suite.notice}")
    k = len(dirs)
    # Checked before any image is read: a design that cannot be balanced should fail fast.
    cells = min(cfg.images, len(suite.specs)) * (k * (k - 1) // 2 if cfg.design == "ab" else 1)
    if cfg.trials is not None and cfg.trials > cells:
        what = "images × pairs of methods" if cfg.design == "ab" else "images"
        raise HarnessError(f"--trials {cfg.trials}: a participant can see at most {cells} different trials "
                           f"({what})")
    images, files = study_files(cfg, dirs, suite)
    return create_study(out, design=cfg.design, methods=list(dirs), images=images, files=files,
                        subjects=cfg.subjects, trials=cfg.trials, repeats=cfg.repeats, seed=cfg.seed, source=source,
                        request=_request(cfg, source), mlflow=mlflow)


def study_of(csv_path: str | Path) -> dict | None:
    """study.json of the collect-votes study whose votes.csv this is, with its folder as "dir" (None for any
    other CSV, or a study that cannot be read: the analysis then runs without it)."""
    folder = Path(csv_path).resolve().parent
    if Path(csv_path).name != "votes.csv" or not is_study(folder):
        return None
    try:
        return {**read_study(folder), "dir": str(folder)}
    except (OSError, ValueError):
        return None
