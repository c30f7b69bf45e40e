"""benchmark → collect-votes → analyze-votes, as a user runs it: a real run-benchmark with --out logged to
MLflow, the study served by the `harness collect-votes` process (URL read from its stdout), participants
answering over HTTP, the server killed with SIGKILL mid-study and restarted, and the analysis logged beside the
benchmark run. The participants know the methods only by comparing the images they are shown with the
benchmark's own prediction files."""

from __future__ import annotations

import json
import re
import selectors
import signal
import sqlite3
from pathlib import Path

import pytest
import requests

from harness.cli import main
from tests.collect_helpers import csrf_of, trial_of
from tests.processes import start_harness, stop_process

pytestmark = pytest.mark.slow
PREFERENCE = ("lum-match", "reinhard", "composite")  # best first


def _serve(args, cwd, log):
    """Start `harness collect-votes` and return (process, the URL line it printed)."""
    proc = start_harness("collect-votes", *args, cwd=cwd, stderr=open(log, "w"))
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=90):
        stop_process(proc, signal.SIGKILL)
        pytest.fail(f"collect-votes printed no URL: {Path(log).read_text()}")
    return proc, proc.stdout.readline()


class Participant:
    def __init__(self, url: str, subject_id: str, predictions: dict[bytes, str]) -> None:
        self.url, self.s, self.known = url, requests.Session(), predictions
        self.csrf = csrf_of(self.s.get(url).text)
        r = self.s.post(url + "start", data={"csrf": self.csrf, "subject_id": subject_id})
        assert r.status_code == 200

    def answer(self, n: int | None = None) -> int:
        """Answer up to n trials by preference; returns how many were answered."""
        done = 0
        while n is None or done < n:
            page = self.s.get(self.url + "trial").text
            if "data-done" in page:
                break
            shown = {}
            for side, src in re.findall(r'data-output="(a|b)"><img src="([^"]+)"', page):
                shown[side] = self.known[self.s.get(self.url.split("/s/")[0] + src).content]
            pick = min("ab", key=lambda side: PREFERENCE.index(shown[side]))
            r = self.s.post(self.url + "answer", data={"csrf": self.csrf, "trial": trial_of(page), "choice": pick},
                            allow_redirects=False)
            assert r.status_code == 303
            done += 1
        return done


def test_benchmark_collect_analyze(tmp_path, capsys, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert main(["run-benchmark", "--suite", "sample", "--limit", "3", "--methods", ",".join(PREFERENCE[::-1]),
                 "--out", str(tmp_path / "bench"), "--tracking-uri", uri, "--cache-dir", str(tmp_path / "cache"),
                 "--num-cpus", "2", "--json", "--bootstrap", "20", "--no-progress"]) == 0
    run_id = json.loads(capsys.readouterr().out)["mlflow_run_id"]
    client = MlflowClient(uri)
    child = next(r for r in client.search_runs([client.get_run(run_id).info.experiment_id])
                 if r.data.tags.get("mlflow.parentRunId") == run_id)
    for bad, words in (("0" * 32, "no such MLflow run"), (child.info.run_id, f"pass --run {run_id}")):
        assert main(["collect-votes", "--run", bad, "--tracking-uri", uri, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    predictions = {p.read_bytes(): p.parent.name for p in (tmp_path / "bench").glob("*/*.png")}

    study = tmp_path / "study"
    proc, line = _serve(["--run", run_id, "--tracking-uri", uri, "--images", "2", "--subjects", "2", "--out",
                         str(study), "--port", "0"], tmp_path, tmp_path / "serve1.log")
    m = re.fullmatch(r"(http://127\.0\.0\.1:\d+/s/([A-Za-z0-9_-]{32})/)\n", line)
    assert m, line  # the URL, alone on its line
    url, token = m.groups()
    ann = Participant(url, "ann", predictions)
    assert ann.answer(4) == 4
    assert stop_process(proc, signal.SIGKILL) == -signal.SIGKILL  # a crash
    con = sqlite3.connect(study / "votes.db")
    assert con.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 4  # every acknowledged answer is there
    con.close()

    proc, line = _serve(["--out", str(study), "--port", "0"], tmp_path, tmp_path / "serve2.log")
    url = line.strip()
    assert url.endswith(f"/s/{token}/")  # same study, same token
    ann.url = url  # the browser keeps its cookie: it continues where it was
    assert trial_of(ann.s.get(url + "trial").text) == 5
    assert ann.answer() == 3
    bob = Participant(url, "bob", predictions)
    assert bob.answer() == 7
    assert stop_process(proc) == 0
    assert "stopped: 12 votes from 2 participant(s)" in (tmp_path / "serve2.log").read_text()

    proc, line = _serve(["--out", str(study), "--port", "0", "--host", "127.0.0.2"], tmp_path,
                        tmp_path / "serve3.log")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.2:\d+/s/[A-Za-z0-9_-]{32}/\n", line), line
        assert requests.get(line.strip(), timeout=10).status_code == 200
    finally:
        assert stop_process(proc) == 0
    assert "warning: serving on 127.0.0.2" in (tmp_path / "serve3.log").read_text()

    # the export, unchanged, into analyze-votes; logged beside the benchmark run in its experiment
    assert main(["analyze-votes", str(study / "votes.csv"), "--json", "--bootstrap", "20"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in res["methods"]] == list(PREFERENCE)
    assert [m["win_rate"] for m in res["methods"]] == [1.0, 0.5, 0.0]  # 8/8, 4/8, 0/8 by hand
    assert res["n_votes"] == 12 and res["settings"]["n_subjects"] == 2
    exp = client.get_run(run_id).info.experiment_id
    runs = [r for r in client.search_runs([exp]) if r.data.tags.get("harness.command") == "analyze-votes"]
    assert len(runs) == 1 and runs[0].data.tags["harness.benchmark_run"] == run_id
    arts = {a.path for a in client.list_artifacts(runs[0].info.run_id, "study")}
    assert {"study/study.json", "study/trials.csv", "study/consistency.csv"} <= arts
