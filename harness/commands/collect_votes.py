"""Collect a user study in the browser: an A/B (pairs, with ties) or ranking (1–3) study of the outputs of a
benchmark run or of prediction folders, served on 127.0.0.1 with a random token in the URL. Every answer is
stored in STUDY_DIR/votes.db as it is given and exported to STUDY_DIR/votes.csv, exactly what analyze-votes
reads. The study URL is printed alone on stdout; Ctrl-C stops the server (answers are kept).

The first run builds STUDY_DIR (all at once: a temporary directory renamed into place); run the command again
with only --out to serve the same study again (participants continue in the same browser, or elsewhere with
the resume code they were shown). It is served by gunicorn, one server per study directory; for participants
on other machines, put it behind a reverse proxy with TLS and pass --public-url (README).

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

from harness.config import CollectConfig
from harness.options import RESULTS, add_arguments as add_config_arguments, from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = add_config_arguments(p, CollectConfig)[RESULTS]
    g.add_argument("--no-serve", action="store_true", help="build the study, print where, and stop")
    g.add_argument("--export", action="store_true", help="rewrite the study's CSVs from its database and stop")


def run(args: argparse.Namespace) -> int:
    import sys

    from harness.console import current
    from harness.errors import HarnessError
    from harness.formatting import plural
    from harness.user_study import build_study  # here, not at the top: `harness --help` imports this module
    from studies.collect import StudyServer, read_study
    from studies.collect.export import export
    from studies.collect.server import StudyBusy
    from studies.collect.store import Store

    cfg = from_args(CollectConfig, args)
    console = current()
    build_study(cfg, console.note)
    info = read_study(cfg.out)
    unit = "votes" if info["design"] == "ab" else "rankings"
    plan = (f"{info['design']} study of {plural(len(info['methods']), 'method')} ({', '.join(info['methods'])}) "
            f"on {plural(len(info['images']), 'image')}: {info['trials_per_subject']} trials + "
            f"{info['repeats_per_subject']} repeats per participant, {info['subjects']} planned")
    if args.export or args.no_serve:
        summary = export(Store(f"{cfg.out}/votes.db"), cfg.out)
        console.note(f"{cfg.out}: {plan}; {summary['votes']} {unit} from {summary['subjects']} participant(s) in "
                     f"{cfg.out}/votes.csv")
        return 0
    try:
        server = StudyServer(cfg.out, cfg.host, cfg.port, public_url=cfg.public_url, join_rate=cfg.join_rate,
                             slot_timeout=cfg.slot_timeout)
    except StudyBusy as err:
        raise HarnessError(str(err)) from None
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
    if cfg.public_url:
        console.note(f"listening on {cfg.host}:{server.port} for the reverse proxy at {cfg.public_url}")
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
