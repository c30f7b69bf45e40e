"""From the database to the files analysts use, rewritten atomically (temporary file + rename) after every
answer and when the server stops, so they are never half-written and always current:

- `votes.csv` — exactly what `harness analyze-votes` reads: `subject,image,method_a,method_b,winner` (A/B;
  method_a is the output shown on the left, as "A") or `subject,image,method,rank` (ranking; blank = not
  ranked). Only first showings: repeated trials are consistency checks, not extra votes.
- `trials.csv` — every answered trial, repeats included: what was shown where, the answer, when the trial was
  first and last displayed and answered (UTC), and the response time measured in the browser (from the
  moment the images had loaded) and on the server (from the last display).
- `consistency.csv` — per subject, how many repeated trials got the same answer as their first showing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from studies.collect.store import Store

AB_HEADER = ("subject", "image", "method_a", "method_b", "winner")
RANK_HEADER = ("subject", "image", "method", "rank")
_lock = threading.Lock()


def _iso(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _csv(header: tuple[str, ...], rows: list[tuple]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    # no fsync: the database is the record (synchronous=FULL); these files are rewritten from it at every
    # answer and at every start, so a crash can at worst leave the previous, complete version
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def vote_rows(answers: list[dict], design: str, methods: list[str]) -> list[tuple]:
    rows: list[tuple] = []
    for a in answers:
        if a["repeat_of"] is not None:
            continue
        if design == "ab":
            left, right = a["methods"]
            rows.append((a["subject"], a["image"], left, right, a["winner"]))
        else:
            ranks = a["ranks"]
            rows += [(a["subject"], a["image"], m, ranks[m] or "") for m in methods if m in ranks]
    return rows


def consistency(answers: list[dict]) -> list[dict]:
    """Per subject with repeated trials answered: repeats, consistent (same winner for A/B, the same ranking
    for ranking studies) and the rate."""
    by_key = {(a["slot"], a["position"]): a for a in answers}
    per: dict[str, list[bool]] = {}
    for a in answers:
        if a["repeat_of"] is None:
            continue
        first = by_key.get((a["slot"], a["repeat_of"]))
        if first is None:
            continue
        same = first["ranks"] == a["ranks"] if a["ranks"] is not None else first["winner"] == a["winner"]
        per.setdefault(a["subject"], []).append(same)
    return [{"subject": s, "repeats": len(v), "consistent": sum(v), "rate": sum(v) / len(v)}
            for s, v in per.items()]


def export(store: Store, study_dir: str | Path) -> dict:
    """Rewrite votes.csv, trials.csv and consistency.csv; returns {votes, trials, subjects, consistency}."""
    study_dir = Path(study_dir)
    meta = store.meta()
    design, methods = meta["design"], meta["methods"]
    with _lock:
        answers = store.answered()
        votes = vote_rows(answers, design, methods)
        trial_rows = []
        for a in answers:
            shown = (a["methods"] if design == "ab" else [json.dumps(a["methods"], ensure_ascii=False)])
            answer = [a["choice"], a["winner"]] if design == "ab" else [json.dumps(a["ranks"], ensure_ascii=False),
                                                                        a["winner"]]
            trial_rows.append((a["subject"], a["position"] + 1, a["image"], *shown, *answer,
                               "" if a["repeat_of"] is None else a["repeat_of"] + 1, _iso(a["first_shown_at"]),
                               _iso(a["shown_at"]), _iso(a["answered_at"]),
                               "" if a["rt_client_ms"] is None else a["rt_client_ms"],
                               "" if a["rt_server_ms"] is None else a["rt_server_ms"]))
        head = (("left", "right", "choice", "winner") if design == "ab" else ("layout", "ranks", "winner"))
        cons = consistency(answers)
        _write(study_dir / "votes.csv", _csv(AB_HEADER if design == "ab" else RANK_HEADER, votes))
        _write(study_dir / "trials.csv", _csv(("subject", "trial", "image", *head, "repeat_of", "first_shown_utc",
                                               "shown_utc", "answered_utc", "rt_client_ms", "rt_server_ms"),
                                              trial_rows))
        _write(study_dir / "consistency.csv", _csv(("subject", "repeats", "consistent", "rate"),
                                                   [(c["subject"], c["repeats"], c["consistent"], f"{c['rate']:.3f}")
                                                    for c in cons]))
    return {"votes": sum(a["repeat_of"] is None for a in answers), "rows": len(votes), "trials": len(answers),
            "subjects": len({a["subject"] for a in answers}),
            "consistency": cons}
