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

from harness.config import DESIGNS, CollectConfig, default_of, parse_limit


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


def run(args: argparse.Namespace) -> int:
    import sys

    from harness.console import current
    from harness.errors import HarnessError
    from harness.user_study import build_study  # here, not at the top: `harness --help` imports this module
    from studies.collect import StudyServer, read_study
    from studies.collect.export import export
    from studies.collect.store import Store

    cfg = config_from_args(args)
    console = current()
    build_study(cfg, console.note)
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
