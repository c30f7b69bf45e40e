"""Collect a user study in the browser: an A/B (pairs, with ties) or ranking (1–3) study of the outputs of a
benchmark run or of prediction folders, served on 127.0.0.1 with a random token in the URL. Every answer is
stored in STUDY_DIR/votes.db as it is given and exported to STUDY_DIR/votes.csv, exactly what analyze-votes
reads. The study URL is printed alone on stdout; Ctrl-C stops the server (answers are kept).

The first run builds STUDY_DIR (all at once: a temporary directory renamed into place); run the command again
with only --out to serve the same study again (participants continue with their id).

examples:
  harness run-benchmark --suite sample --limit 8 --methods composite,reinhard,lum-match --out bench/
  harness collect-votes --run RUN_ID --images 8 --subjects 10 --out study/    # the run's --out images
  harness collect-votes --run bench/ --suite sample --out study/              # a run-benchmark --out folder
  harness collect-votes --pred-dirs IPH=preds/iph,Dove-Net=preds/dovenet --suite folder --data-root data \\
      --design rank --out rank-study/
  harness collect-votes --out study/             # serve an existing study again
  harness collect-votes --out study/ --export    # rewrite its CSVs and stop
  harness analyze-votes study/votes.csv
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable

from harness.config import DESIGNS, CollectConfig, default_of, parse_limit

if TYPE_CHECKING:
    from pathlib import Path

    from harness.data.specs import Suite
    from studies.collect import StudyImage


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = lambda name: default_of(CollectConfig, name)  # noqa: E731 — the config's defaults, shown in --help
    g = p.add_argument_group("what to show (to build a new study)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--run", metavar="RUN_ID|DIR", help="a run-benchmark run: its MLflow run id (suite, data "
                     "root and --out folder are read from the run), or its --out folder (then give --suite)")
    src.add_argument("--pred-dirs", metavar="NAME=DIR,...", help="one folder of predictions <id>.png per method, "
                     "named as the study will report them")
    g.add_argument("--suite", help="the suite the outputs were made on (composites are taken from it)")
    g.add_argument("--data-root", help="where the suite's data lives")
    g.add_argument("--limit", type=parse_limit, help="only the suite's first N samples (or a fraction in (0, 1)), "
                                                     "as given to run-benchmark or score; a --run knows its own")
    g.add_argument("--methods", help="only these of the run's methods, in this order (default: all)")
    g.add_argument("--design", choices=DESIGNS, default=d("design"),
                   help="ab: two outputs side by side, A / B / no preference; rank: every output, ranked 1–3 "
                        "(default: %(default)s)")
    g.add_argument("--images", type=int, default=d("images"), help="images in the study, a seeded sample of the "
                                                                   "suite (default: %(default)s)")
    g.add_argument("--subjects", type=int, default=d("subjects"), help="participants planned; the design is "
                                                                       "balanced over them (default: %(default)s)")
    g.add_argument("--trials", type=int, help="trials per participant (default: every pair on every image for "
                                              "ab, every image for rank); fewer gives a balanced incomplete design")
    g.add_argument("--repeats", type=int, help="trials shown a second time as consistency checks (default: 3, "
                                               "at most one trial in five)")
    g.add_argument("--seed", type=int, default=d("seed"), help="image sample, design and presentation order "
                                                               "(default: %(default)s)")
    g.add_argument("--tracking-uri", help="MLflow store holding --run (default: $MLFLOW_TRACKING_URI, else "
                                          "sqlite ./mlflow.db)")
    g = p.add_argument_group("where")
    g.add_argument("--out", required=True, metavar="STUDY_DIR", help="the study directory (new, or an existing "
                                                                     "study to serve again)")
    g.add_argument("--host", help="bind address (default: 127.0.0.1, this machine only); any other address "
                                  "lets other machines in, with only the URL's token as protection")
    g.add_argument("--port", type=int, default=d("port"), help="port (default: %(default)s; 0 = any free port)")
    g.add_argument("--no-serve", action="store_true", help="build the study, print where, and stop")
    g.add_argument("--export", action="store_true", help="rewrite the study's CSVs from its database and stop")


def config_from_args(args: argparse.Namespace) -> CollectConfig:
    return CollectConfig(out=args.out, run=args.run, pred_dirs=args.pred_dirs, suite=args.suite,
                         data_root=args.data_root, limit=args.limit, methods=args.methods, design=args.design, images=args.images,
                         subjects=args.subjects, trials=args.trials, repeats=args.repeats, seed=args.seed,
                         host=args.host or default_of(CollectConfig, "host"), port=args.port,
                         tracking_uri=args.tracking_uri)


def parse_pred_dirs(text: str) -> dict[str, str]:
    """NAME=DIR,NAME=DIR → {name: dir}, each item checked (one-line InputError naming it)."""
    from pathlib import Path

    from harness.errors import InputError

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
    import csv

    from harness.errors import InputError

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
    from dataclasses import replace
    from pathlib import Path

    from harness.data.suites import open_suite
    from harness.errors import HarnessError, InputError, UnknownNameError
    from harness.methods.spec import dirname_of, split_method_list

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
    import random

    from harness.data.io import find_image, id_to_stem, png_bytes, read_rgb
    from harness.data.suites import load_spec
    from harness.errors import HarnessError, InputError
    from studies.collect import StudyImage

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
            files.append(StudyImage(spec.id, m, path.read_bytes(), path.suffix.lower()))
        files.append(StudyImage(spec.id, None, png_bytes(load_spec(spec).composite), ".png"))
    return [s.id for s in specs], files


def _request(cfg: CollectConfig, source: dict) -> dict:
    """What defines the study, to tell a resume from a different study in the same folder."""
    return {"source": {k: source.get(k) for k in ("kind", "run_id", "out", "pred_dirs", "suite", "data_root",
                                                  "limit")},
            "methods": cfg.methods, "design": cfg.design, "images": cfg.images, "subjects": cfg.subjects,
            "trials": cfg.trials, "repeats": cfg.repeats, "seed": cfg.seed}


def build(cfg: CollectConfig, note: Callable[[str], None]) -> None:
    """Make cfg.out, or check that the existing study there is the one asked for."""
    from pathlib import Path

    from harness.errors import HarnessError, InputError
    from studies.collect import create_study, is_study, read_study

    out = Path(cfg.out)
    if is_study(out):
        if cfg.builds:
            dirs, source, _, _ = resolve_sources(cfg)
            if read_study(out).get("request") != _request(cfg, source):
                raise InputError(out, "already holds a different study; choose another --out, or give only "
                                      "--out to serve this one again")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "exists and is not a study directory (no study.json / votes.db); choose a new --out")
    if not cfg.builds:
        raise HarnessError(f"{out} is not a study yet: give --run RUN_ID or --pred-dirs NAME=DIR,... to build one")
    dirs, source, mlflow, suite = resolve_sources(cfg)
    if suite.notice:
        note(f"note: {suite.notice}")
    k = len(dirs)
    cells = min(cfg.images, len(suite.specs)) * (k * (k - 1) // 2 if cfg.design == "ab" else 1)
    if cfg.trials is not None and cfg.trials > cells:
        what = "images × pairs of methods" if cfg.design == "ab" else "images"
        raise HarnessError(f"--trials {cfg.trials}: a participant can see at most {cells} different trials "
                           f"({what})")
    images, files = study_files(cfg, dirs, suite)
    create_study(out, design=cfg.design, methods=list(dirs), images=images, files=files, subjects=cfg.subjects,
                 trials=cfg.trials, repeats=cfg.repeats, seed=cfg.seed, source=source,
                 request=_request(cfg, source), mlflow=mlflow)


def run(args: argparse.Namespace) -> int:
    import sys

    from harness.console import current
    from harness.errors import HarnessError
    from studies.collect import StudyServer, read_study
    from studies.collect.export import export
    from studies.collect.store import Store

    cfg = config_from_args(args)
    console = current()
    build(cfg, console.note)
    info = read_study(cfg.out)
    unit = "votes" if info["design"] == "ab" else "rankings"
    plan = (f"{info['design']} study of {len(info['methods'])} methods ({', '.join(info['methods'])}) on "
            f"{len(info['images'])} images: {info['trials_per_subject']} trials + {info['repeats_per_subject']} "
            f"repeats per participant, {info['subjects']} planned")
    if args.export or args.no_serve:
        summary = export(Store(f"{cfg.out}/votes.db"), cfg.out)
        console.note(f"{cfg.out}: {plan}; {summary['votes']} {unit} from {summary['subjects']} participant(s) in "
                     f"{cfg.out}/votes.csv")
        return 0
    try:
        server = StudyServer(cfg.out, cfg.host, cfg.port)
    except OSError as err:
        raise HarnessError(f"cannot serve on {cfg.host}:{cfg.port} ({err.strerror or err}); pass --port 0 for any "
                           "free port") from None
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        console.note(f"warning: serving on {cfg.host}: every machine that can reach it and knows the URL can take "
                     "part — the token in the URL is the only protection, and the connection is not encrypted")
    counts = server.store.counts()
    console.out.write(server.url + "\n")
    console.out.flush()
    console.note(f"collect-votes: {plan}; {counts['joined']} joined, {counts['answers']} answers so far. Open "
                 f"the URL above (it carries the study's token); Ctrl-C stops.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        summary = server.close()
    cons = summary["consistency"]
    rate = (sum(c["consistent"] for c in cons) / sum(c["repeats"] for c in cons)) if cons else None
    print(f"stopped: {summary['votes']} {unit} from {summary['subjects']} participant(s) in {cfg.out}/votes.csv"
          + (f"; repeated trials answered the same: {rate:.0%}" if rate is not None else ""), file=sys.stderr)
    return 0
