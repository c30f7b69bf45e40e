"""In-the-wild composites — a folder suite with masks and reference regions but no real/ — go through every
command: run-benchmark and run-robustness measure what needs no ground truth (the reference-consistency gaps,
responsiveness, cost), leave the metrics that need one empty (never 0) and say so once; the run is logged to
MLflow, collect-votes builds a study from it, analyze-votes and the report read it. The suite is the bundled
sample exported, its real/ removed, shrunk by hand with PIL (a JPEG composite, a non-square size); the gaps are
checked against colour-science on the files --out wrote."""

from __future__ import annotations

import html
import json
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import requests
from PIL import Image

from harness.cli import main
from harness.scoring.metrics import METRICS
from tests.collect_helpers import Served, csrf_of, trial_of
from tests.processes import one_line_error

pytestmark = pytest.mark.slow
SIZES = [(96, 64), (64, 64), (80, 112)]  # (width, height) per sample, in id order; the first one a JPEG
METHODS = ("composite", "reinhard", "lum-match")
PREFERENCE = ("lum-match", "reinhard", "composite")  # a scripted participant's taste, best first


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    """Three composites without ground truth: 96×64 (JPEG), 64×64, 80×112, masks resized nearest."""
    root = tmp_path_factory.mktemp("wild") / "suite"
    assert main(["export-suite", "--suite", "sample", "--limit", "3", "--out", str(root)]) == 0
    shutil.rmtree(root / "real")
    shutil.rmtree(root / "references_real", ignore_errors=True)
    for i, path in enumerate(sorted((root / "composite").iterdir())):
        size, stem = SIZES[i], path.stem
        masks = [root / "mask" / f"{stem}.png", root / "reference" / f"{stem}.png"]
        masks += sorted((root / "references" / stem).glob("*.png")) if (root / "references" / stem).is_dir() else []
        for m in masks:
            Image.open(m).resize(size, Image.Resampling.NEAREST).save(m)
        image = Image.open(path).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        if i == 0:
            path.unlink()
            image.save(path.with_suffix(".jpg"), quality=90)
        else:
            image.save(path)
    return root


def _gaps_oracle(image_file, fg_file, ref_file) -> dict[str, float]:
    """The consistency gaps with colour-science on the 8-bit files (masks > 127), written out here."""
    import colour

    rgb = np.asarray(Image.open(image_file).convert("RGB"), dtype=np.float64) / 255
    lab = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb))
    fg = lab[np.asarray(Image.open(fg_file).convert("L")) > 127]
    ref = lab[np.asarray(Image.open(ref_file).convert("L")) > 127]

    def stats(px):
        return [np.percentile(px[:, 0], 90), px[:, 0].mean(), np.percentile(px[:, 0], 10), px[:, 1].mean(),
                px[:, 2].mean()]

    names = ("gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b")
    return {k: abs(a - b) for k, a, b in zip(names, stats(fg), stats(ref))}


def _text(page: str) -> str:
    """What a reader sees of an HTML page (no scripts, styles, tags or embedded images)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_score_prediction_without_truth_leaves_metrics_empty():
    """No truth: every metric NaN (not 0); the gaps and fg_ratio are those of the same prediction scored with
    a truth; a 256² protocol still scores (its fg_ratio on the mask at 256²)."""
    import dataclasses

    from harness.data.suites import load_spec, open_suite
    from harness.scoring.score import score_prediction

    sample = load_spec(open_suite("sample", limit=1).specs[0])
    wild_sample = dataclasses.replace(sample, real=None)
    pred = sample.composite
    with_truth, without = score_prediction(pred, sample), score_prediction(pred, wild_sample)
    assert all(np.isnan(without[m]) for m in METRICS)
    assert without["fg_ratio"] == with_truth["fg_ratio"] == pytest.approx((sample.fg_mask > 0.5).mean())
    for k in ("gap_highlight", "gap_midtone", "gap_shadow", "gap_a", "gap_b"):
        assert without[k] == with_truth[k] and without[k] > 0
    for protocol, resolution in (("harness", "256"), ("bcmi", "256"), ("idih", "256")):
        row = score_prediction(pred, wild_sample, resolution, protocol=protocol)
        assert all(np.isnan(row[m]) for m in METRICS) and 0 < row["fg_ratio"] < 1


def test_statistics_of_all_nan_columns_are_empty_without_warnings():
    from harness.scoring.stats import bucket_means, paired_comparisons, summarize, summarize_per_value

    df = pd.DataFrame({"method": ["a", "a", "b", "b"], "id": ["x", "y", "x", "y"], "fg_ratio": [0.1, 0.3] * 2,
                       "subset": ["s", "t"] * 2, **{m: [np.nan] * 4 for m in METRICS}, "gap_midtone": [1., 2, 3, 5]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (mean of empty slice, …) fails the test
        s = summarize(df, [*METRICS, "gap_midtone"], n_boot=50)
        p = paired_comparisons(df, METRICS, n_boot=50)
        b = bucket_means(df, METRICS)
        v = summarize_per_value(df, METRICS, "subset", n_boot=50)
    metric_rows = s[s["metric"] != "gap_midtone"]
    assert (metric_rows["n"] == 0).all() and metric_rows[["mean", "ci_lo", "ci_hi"]].isna().all().all()
    assert s[s["metric"] == "gap_midtone"]["mean"].tolist() == [1.5, 4.0]
    assert (p["n"] == 0).all() and p[["diff", "ci_lo", "ci_hi", "p", "p_holm"]].isna().all().all()
    assert b[list(METRICS)].isna().all().all() and b["n"].sum() == 4
    assert (v["n"] == 0).all() and v["mean"].isna().all()


def test_a_suite_with_some_truths_says_how_many_lack_one():
    from harness.scoring.truth import BENCHMARK_WITHOUT_TRUTH, has_truth, samples_without_truth, truth_json, truth_notice

    rows = pd.DataFrame({"id": ["x", "y", "z"] * 2, "method": ["a"] * 3 + ["b"] * 3,
                         "mse": [1.0, np.nan, 2.0, 3.0, np.nan, 4.0]})
    assert samples_without_truth(rows) == (1, 3) and has_truth(rows)
    notice = truth_notice(rows, BENCHMARK_WITHOUT_TRUTH)
    assert "for 1 of 3 samples" in notice and "over the other 2" in notice
    assert truth_json(rows, BENCHMARK_WITHOUT_TRUTH)["no_ground_truth"] == {"samples": 1, "of": 3, "notice": notice}
    full = rows.assign(mse=1.0)
    assert truth_notice(full, "") is None and truth_json(full, "") == {} and has_truth(full)


def test_score_without_any_truth_is_one_line(wild, tmp_path, capsys):
    preds = tmp_path / "preds"
    preds.mkdir()
    for p in (wild / "composite").iterdir():
        Image.open(p).convert("RGB").save(preds / f"{p.stem}.png")
    one_line_error(capsys, ["score", "--suite", "folder", "--data-root", str(wild), "--pred-dir", str(preds)],
                   "no ground truth (real/)", "run-benchmark")


def test_benchmark_and_robustness_run_without_truth(ray_local, wild, tmp_path, capsys):
    """Both exited 2 ('no ground truth (real/) to score against'); now: the table says so once, prints no
    column of nan, shows the gaps with CIs and the cost; --out holds every prediction and per_image.csv."""
    common = ["--suite", "folder", "--data-root", str(wild), "--no-mlflow", "--no-progress", "--bootstrap", "50",
              "--cache-dir", str(tmp_path / "cache")]
    assert main(["run-benchmark", *common, "--methods", ",".join(METHODS), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.count("no ground truth (real/)") == 1 and "nan" not in out.lower()
    assert "reference consistency" in out and "cost of harmonize" in out
    assert "fmse" not in out.split("reference consistency")[0]  # no table of metrics needing a truth
    for m in METHODS:
        assert sorted(p.stem for p in (tmp_path / "out" / m).iterdir()) == sorted(
            p.stem for p in (wild / "composite").iterdir())
        assert Image.open(next((tmp_path / "out" / m).glob("*-brightness.png"))).size == SIZES[0]
    rows = pd.read_csv(tmp_path / "out" / "per_image.csv")
    assert len(rows) == 9 and rows[list(METRICS)].isna().all().all() and rows["gap_midtone"].notna().all()

    assert main(["run-robustness", *common, "--methods", "composite,reinhard", "--references",
                 "suite,background"]) == 0
    out = capsys.readouterr().out
    assert out.count("no ground truth (real/)") == 1 and "nan" not in out.lower() and "fΔE2000" not in out
    header = next(line for line in out.splitlines() if line.startswith("method ") and "responsiveness" in line)
    assert header.split() == ["method", "responsiveness", "gap", "midtone"]  # no columns of nothing
    lines = out.splitlines()
    body = lines[lines.index(header) + 2:][:2]  # the rows under the header (the cost table has the same names)
    table = {line.split()[0]: line.split() for line in body}
    assert table["composite"][1] == "0"  # the composite never moves
    assert 0.5 < float(table["reinhard"][1]) < 1.5  # Reinhard follows the region's mean


def test_benchmark_collect_analyze_report_without_truth(ray_local, wild, tmp_path, capsys, monkeypatch):
    """The whole path on a folder without real/: run-benchmark (MLflow) → collect-votes --run → participants
    answering over HTTP (the production server, as the other collect tests) → analyze-votes → harness report."""
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert main(["run-benchmark", "--suite", "folder", "--data-root", str(wild), "--methods", ",".join(METHODS),
                 "--out", str(tmp_path / "bench"), "--tracking-uri", uri, "--cache-dir", str(tmp_path / "cache"),
                 "--json", "--bootstrap", "50", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["no_ground_truth"]["samples"] == res["no_ground_truth"]["of"] == 3
    assert "no ground truth" in res["no_ground_truth"]["notice"] and res["pairs"] == []
    for m in METHODS:
        assert all(res["methods"][m]["mean"][k] is None for k in METRICS)  # empty, never 0
        assert res["methods"][m]["efficiency"]["latency_ms_median"] > 0
    for row in res["per_image"]:
        stem = row["id"]
        pred = tmp_path / "bench" / row["method"] / f"{stem}.png"
        expected = _gaps_oracle(pred, wild / "mask" / f"{stem}.png", wild / "reference" / f"{stem}.png")
        for k, v in expected.items():
            assert row[k] == pytest.approx(v, rel=1e-4, abs=1e-4), (row["method"], stem, k)
    means = res["methods"]["reinhard"]["mean"]
    assert means["gap_midtone"] < res["methods"]["composite"]["mean"]["gap_midtone"]

    # MLflow: the parent says so; no NaN logged as a number; the gaps and cost are there
    run_id, client = res["mlflow_run_id"], MlflowClient(uri)
    parent = client.get_run(run_id)
    assert "no ground truth" in parent.data.tags["no_ground_truth"] and parent.info.status == "FINISHED"
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert sorted(c.info.run_name for c in children) == sorted(METHODS)
    for run in [parent, *children]:
        assert all(v == v for v in run.data.metrics.values()) and "mse" not in run.data.metrics
    assert all("gap_midtone" in c.data.metrics and "latency_ms_median" in c.data.metrics for c in children)
    assert "gap_midtone/reinhard" in parent.data.metrics

    # collect-votes --run builds the study from the run's --out; participants answer through the real server
    study = tmp_path / "study"
    assert main(["collect-votes", "--run", run_id, "--tracking-uri", uri, "--images", "3", "--subjects", "1",
                 "--out", str(study), "--no-serve"]) == 0
    capsys.readouterr()
    known = {p.read_bytes(): p.parent.name for p in (tmp_path / "bench").glob("*/*.png")}
    srv = Served(study)
    try:
        for subject in ("ann",):
            s = requests.Session()
            csrf = csrf_of(s.get(srv.url).text)
            assert s.post(srv.url + "start", data={"csrf": csrf, "subject_id": subject}).status_code == 200
            while "data-done" not in (page := s.get(srv.url + "trial").text):
                shown = {side: known[s.get(srv.url.split("/s/")[0] + src).content]
                         for side, src in re.findall(r'data-output="(a|b)"><img src="([^"]+)"', page)}
                pick = min("ab", key=lambda side: PREFERENCE.index(shown[side]))
                r = s.post(srv.url + "answer", data={"csrf": csrf, "trial": trial_of(page), "choice": pick},
                           allow_redirects=False)
                assert r.status_code == 303
    finally:
        assert srv.stop() == 0
    assert main(["collect-votes", "--out", str(study), "--export"]) == 0
    capsys.readouterr()

    assert main(["analyze-votes", str(study / "votes.csv"), "--json", "--bootstrap", "20"]) == 0
    votes = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in votes["methods"]] == list(PREFERENCE)
    assert [m["win_rate"] for m in votes["methods"]] == [1.0, 0.5, 0.0]

    # run-robustness into the same store: its parent says so too, no NaN metric logged
    assert main(["run-robustness", "--suite", "folder", "--data-root", str(wild), "--methods", "composite,reinhard",
                 "--references", "suite,background", "--tracking-uri", uri, "--cache-dir", str(tmp_path / "cache"),
                 "--bootstrap", "50", "--no-progress"]) == 0
    capsys.readouterr()
    robust = client.get_experiment_by_name("folder-robustness").experiment_id
    runs = client.search_runs([robust])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert "responsiveness" in parent.data.tags["no_ground_truth"]
    assert all(v == v for r in runs for v in r.data.metrics.values())
    assert all("responsiveness" in r.data.metrics for r in runs if r is not parent)

    # the report: Table 1 shows the gaps and the notice, no metric needing a truth, no 'nan'; Table 2 the votes;
    # the robustness table its notice
    assert main(["report", "--tracking-uri", uri, "--out", str(tmp_path / "report"), "--no-mlflow"]) == 0
    capsys.readouterr()
    t1 = pd.read_csv(tmp_path / "report" / "table1.csv")
    assert set(t1["metric"]) == {"gap_highlight", "gap_midtone", "gap_shadow"} and t1["mean"].notna().all()
    assert (tmp_path / "report" / "table2.csv").is_file()
    text = _text((tmp_path / "report" / "report.html").read_text())
    section = text.split("Table 1 — benchmark. Mean")[1].split("Table 1 — cost")[0]
    assert section.count("no ground truth") == 1 and "gap mid-tone" in section
    robustness = text.split("Robustness to the reference region")[1]
    assert "NOTE — no ground truth" in robustness and (tmp_path / "report" / "robustness.csv").is_file()
    assert not re.search(r"\bnan\b", text, flags=re.I)
