"""Every `harness …` line of the README's "Everyday commands" block exits 0, run as a new user runs it: from an
empty working directory, with the README's relative paths, the default MLflow store (./mlflow.db) and cache
(./.harness-cache), one line after the other in the README's order (a later line reads what an earlier one
wrote: `score` the predictions of `--out preds/`, `collect-votes` that run, `report` every run).

Each line is scaled down where it would take minutes (SCALED says how: --limit, two cheap methods, the smoke
budget); its paths and names are the README's own, and a line added to or changed in the README fails here
until SCALED says how to run it. The commands run in this process, on one Ray started from another working
directory — so a relative path that reached a Ray worker unresolved would point elsewhere — that also answers
`--ray-address auto`. The two serving commands (`harness ui`, `collect-votes`) run as processes of their own on a
free port (`--port 0`), until they print their URL and a request is answered; then Ctrl-C, exit 0."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import write_iharmony4_tree
from tests.processes import ROOT, start_harness, stop_process, wait_until

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
RUN_ID = "RUN_ID"  # the README's placeholder: the run of the `--out preds/` line
BASE = "harness run-benchmark --suite sample --methods composite,reinhard,lum-match --limit 2"  # what `...` is
TWO = ["--methods", "composite,reinhard"]
SMOKE = ["--budget", "smoke", "--seeds", "1", "--limit", "1", "--references", "none"]

# README line (comment dropped) → the commands it stands for, as argv after `harness`
SCALED: dict[str, list[list[str]]] = {
    "harness run-benchmark --suite portraittest": [["--limit", "1", *TWO]],
    "harness run-benchmark --suite sample --methods composite,reinhard,lum-match --limit 6 --json":
        [["REPLACE", "--limit 6", "--limit 2"]],
    "harness run-benchmark --suite folder --data-root my_data --out preds/ --resolution 256": [TWO],
    "harness run-benchmark ... --resume": [["BASE"]],
    "harness run-benchmark ... --dry-run": [["BASE"]],
    "harness run-benchmark ... --ray-address auto": [["BASE"]],
    "harness run-efficiency --methods composite,iph --sizes 256,1024":
        [["REPLACE", "--sizes 256,1024", "--sizes 64 --repeat 1"]],
    "harness score --suite sample --pred-dir preds/composite": [["--limit", "2"]],
    "harness score --suite iharmony4 --data-root /data/iHarmony4 --pred-dir results/ --protocol idih":
        [["REPLACE", "/data/iHarmony4", "iHarmony4"]],
    "harness export-suite --suite sample --out my_suite/": [["--limit", "2"]],
    "harness build-intharmony --annotations A.json --images D --out OUT": [[]],
    "harness list suites | methods | metrics": [["ONE OF", "suites"], ["ONE OF", "methods"], ["ONE OF", "metrics"]],
    "harness ui": [["--port", "0"]],
    "harness collect-votes --run RUN_ID --out study/": [["--port", "0", "--images", "2", "--subjects", "2"]],
    "harness analyze-votes studies/ab.csv": [["--bootstrap", "200"]],
    "harness report --out report/": [[]],
    # one trial each: the experiments themselves are tested in tests/test_experiments.py
    "harness run-ablation --suite sample --budget cpu --seeds 3": [["REPLACE", "--budget cpu --seeds 3",
                                                                    " ".join(SMOKE + ["--variants", "style"])]],
    "harness sweep --grid alpha=0.05,0.1,0.2 --grid margin=0.1,0.3 --budget cpu":
        [["REPLACE", "alpha=0.05,0.1,0.2 --grid margin=0.1,0.3 --budget cpu",
          "alpha=0.05 --grid margin=0.1 " + " ".join(SMOKE)]],
}
SERVING = {"ui", "collect-votes"}  # run until Ctrl-C


def readme_lines() -> list[str]:
    """The `harness …` lines of the README's "Everyday commands" block, without their comments."""
    block = README.read_text().split("## Everyday commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip().startswith("harness ")]


def commands(line: str) -> list[list[str]]:
    """The argv lists (after `harness`) that README line `line` runs here, scaled as SCALED says."""
    out = []
    for how in SCALED[line]:
        text = line
        if how[:1] == ["REPLACE"]:
            assert how[1] in text, (line, how)
            text, how = text.replace(how[1], how[2]), []
        elif how[:1] == ["BASE"]:
            text, how = text.replace("harness run-benchmark ...", BASE), []
        elif how[:1] == ["ONE OF"]:
            text, how = "harness list " + how[1], []
        out.append(shlex.split(text)[1:] + how)
    return out


def _in_process(argv: list[str]) -> tuple[int, str, str]:
    """`harness ARGV` in this process: (exit code, stdout, stderr); a traceback, as a user would see it, is
    exit code 1 (the other lines still run)."""
    import traceback

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except Exception:
            traceback.print_exc()
            code = 1
    return code, out.getvalue(), err.getvalue()


def _serve(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """A serving command as a process of its own: wait for its URL on stdout, ask it once, Ctrl-C; (exit code,
    stdout, stderr)."""
    proc = start_harness(*argv, cwd=cwd, env=env)
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    try:
        wait_until(lambda: any("http://" in line for line in lines), 180, f"harness {argv[0]} printing its URL",
                   proc, lambda: "".join(errors))
        url = re.search(r"http://127\.0\.0\.1:\d+\S*", next(x for x in lines if "http://" in x)).group(0)
        with urllib.request.urlopen(url, timeout=30) as r:  # answered: the UI's page, the study's welcome page
            assert r.status == 200
    finally:
        code = stop_process(proc, signal.SIGINT, timeout=60)
    return code, "".join(lines), "".join(errors)


def _write_inputs(here: Path) -> None:
    """What the README's placeholders stand for, written in the working directory: my_data (a folder suite),
    an iHarmony4 tree with predictions in results/, A.json + D (COCO instances), studies/ab.csv."""
    from harness.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export-suite", "--suite", "sample", "--limit", "2", "--out", "my_data"]) == 0
    files = write_iharmony4_tree(Path("iHarmony4"))
    Path("results").mkdir()
    for f in files.values():  # the composites as the predictions, named as iDIH's predict_for_dir.py saves them
        shutil.copy(f["composite"], Path("results") / Path(f["composite"]).name)
    Path("D").mkdir()
    h, w = 48, 64
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)).save("D/img.png")
    boxes = [(2, 2, 30, 20), (34, 2, 62, 20), (2, 26, 62, 46)]
    import json

    Path("A.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "img.png", "height": h, "width": w}],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "cat"}],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1 + (i == 2), "iscrowd": 0,
                         "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]]}
                        for i, (x0, y0, x1, y1) in enumerate(boxes)]}))
    Path("studies").mkdir()
    shutil.copy(ROOT / "studies" / "ab.csv", "studies/ab.csv")


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, list[tuple[list[str], int, str, str]]]:
    """Every README line run once, in order: line → [(argv, exit code, stdout, stderr)]; "_dir": [the user's
    working directory, the one Ray's workers started in]."""
    import ray
    from ray.cluster_utils import Cluster

    here = tmp_path_factory.mktemp("readme")
    elsewhere = tmp_path_factory.mktemp("ray-cwd")
    ray_tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths live under it
    results: dict[str, list] = {"_dir": [here, elsewhere]}
    with pytest.MonkeyPatch.context() as mp:
        for var in ("HARNESS_CACHE", "HARNESS_DATA", "MLFLOW_TRACKING_URI", "RAY_ADDRESS"):
            mp.delenv(var, raising=False)  # the defaults: ./.harness-cache, ./mlflow.db, a local Ray
        mp.setenv("RAY_TMPDIR", ray_tmp)  # where `--ray-address auto` finds the cluster below
        mp.chdir(elsewhere)  # Ray's workers start here, not in the user's directory
        if ray.is_initialized():
            ray.shutdown()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            mp.chdir(here)
            _write_inputs(here)
            env = {k: v for k, v in os.environ.items()}
            run_id = None
            for line in readme_lines():
                results[line] = []
                for argv in commands(line):
                    argv = [(run_id or "no-such-run") if a == RUN_ID else a for a in argv]
                    if argv[0] in SERVING:
                        try:
                            record = _serve(argv, here, env)
                        except (Exception, pytest.fail.Exception) as err:  # recorded: the other lines still run
                            record = (1, "", str(err))
                    else:
                        record = _in_process(argv)
                    results[line].append((argv, *record))
                    found = re.search(r"MLflow run ([0-9a-f]{32})", record[1])
                    if "--out" in argv and "preds/" in argv and found:
                        run_id = found.group(1)
        finally:
            ray.shutdown()
            cluster.shutdown()
            shutil.rmtree(ray_tmp, ignore_errors=True)
    return results


def test_every_readme_line_has_a_scaled_form():
    assert readme_lines() and set(readme_lines()) == set(SCALED), \
        "a README line changed: say in SCALED how the test runs it"


@pytest.mark.parametrize("line", list(SCALED))
def test_readme_line_exits_0_from_a_fresh_directory(ran, line):
    for argv, code, out, err in ran[line]:
        assert code == 0, f"harness {' '.join(argv)} → exit {code}\n{err[-3000:]}"


def test_what_the_readme_lines_say_they_do(ran):
    """The lines' promises, beyond exit 0: --json is one document, --resume reuses the run before it, a
    `--limit` run's predictions score with the same --limit, the builds land in the user's directory."""
    import json

    here, elsewhere = ran["_dir"]
    json.loads(ran["harness run-benchmark --suite sample --methods composite,reinhard,lum-match --limit 6 "
                   "--json"][0][2])
    assert "(0 computed, 6 from cache)" in ran["harness run-benchmark ... --resume"][0][2]
    assert "6 results cached, 0 to compute" in ran["harness run-benchmark ... --dry-run"][0][2]
    assert len(list((here / "preds" / "composite").glob("*.png"))) == 2
    assert len(list((here / "my_suite" / "composite").glob("*.png"))) == 2
    assert (here / "OUT" / "manifest.jsonl").is_file() and any((here / "OUT" / "composite").iterdir())
    assert (here / "report" / "report.html").is_file() and (here / "mlflow.db").is_file()
    assert (here / "study" / "votes.db").is_file()
    assert not any(elsewhere.iterdir()), "a Ray worker read or wrote a relative path in its own directory"


def test_ui_keeps_the_server_chatter_in_the_log(ran):
    """`harness ui` says its URL on stdout and "stopped" on stderr; uvicorn's access lines, MLflow's warnings
    and its --host advice go to the log file (as every command's library chatter does; -v shows them)."""
    (argv, code, out, err), = ran["harness ui"]
    assert code == 0 and out.startswith("MLflow UI: http://127.0.0.1:")
    assert err.strip() == "stopped", err
    logs = list((ran["_dir"][0] / ".harness-cache" / "logs").glob("ui-*.log"))
    assert len(logs) == 1 and '"GET /' in logs[0].read_text()
