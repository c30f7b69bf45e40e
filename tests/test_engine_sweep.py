"""run-robustness end to end on Ray with MLflow: responsiveness and reference accuracy per method, a row per
(method, sample, region), figures logged; and the shipped networks that declare they use the reference do
respond to it on the relit suite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    store = f"sqlite:///{tmp}/mlflow.db"
    argv = ["run-robustness", "--suite", "relit", "--limit", "2", "--methods",
            "composite,reinhard,bargainnet,bargainnet:guide=reference,bargainnet-r,iph",
            "--references", "suite,background,boxes:2", "--json", "--num-cpus", "2", "--bootstrap", "200",
            "--tracking-uri", store, "--cache-dir", str(tmp / "cache"), "--no-progress"]
    return argv, store, tmp


def test_sweep_statistics_rows_and_mlflow(sweep, capsys):
    from mlflow.tracking import MlflowClient

    argv, store, tmp = sweep
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    m = res["methods"]
    assert m["composite"]["responsiveness"] == 0 and m["composite"]["reference_accuracy"] == 0.5
    assert m["bargainnet"]["responsiveness"] == 0  # trained with the background: ignores the reference
    assert m["bargainnet:guide=reference"]["responsiveness"] > 0  # the guide-mask protocol makes it look
    assert m["reinhard"]["responsiveness"] > 0.8  # copies the region's mean colour
    for name, v in m.items():
        assert v["pairs"] > 0 and 0 <= v["reference_accuracy"] <= 1, name
    per_image = res["per_image"]
    regions = {(r["id"], r["reference"]) for r in per_image}
    assert len(per_image) == len(regions) * len(m)  # every method under every region of every sample
    assert {"gap_midtone", "fde2000", "fg_lab"} <= set(per_image[0])
    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name("relit-robustness")
    runs = client.search_runs([exp.experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 1 + len(m)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    figures = {f.path for f in client.list_artifacts(parent.info.run_id, "figures")}
    assert figures == {f"figures/{sid}.png" for sid in {r["id"] for r in per_image}}
    child = next(r for r in runs if r.data.tags.get("mlflow.runName") == "composite")
    assert child.data.metrics["responsiveness"] == 0
    assert "paired_comparisons.csv" in {f.path for f in client.list_artifacts(parent.info.run_id)}
    # paired differences per sample (the mean over its regions), against scipy on the rows themselves
    from scipy.stats import wilcoxon

    per_sample = {}
    for r in per_image:
        per_sample.setdefault((r["method"], r["id"]), []).append(r["fde2000"])
    ids = sorted({r["id"] for r in per_image})
    d = np.array([np.mean(per_sample[("iph", i)]) - np.mean(per_sample[("composite", i)]) for i in ids])
    hit = next(p for p in res["pairs"] if p["metric"] == "fde2000" and {p["a"], p["b"]} == {"composite", "iph"})
    sign = 1 if hit["a"] == "iph" else -1
    assert hit["n"] == len(ids) and sign * hit["diff"] == pytest.approx(d.mean(), rel=1e-9)
    assert hit["p"] == pytest.approx(wilcoxon(d).pvalue, rel=1e-6)


def test_a_resumed_sweep_computes_nothing(sweep, capsys):
    argv, _, _ = sweep
    assert main([*argv, "--resume", "--no-mlflow"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["computed"] == 0 and res["cached"] == 2 * len(res["methods"])
    assert res["ray"]["nodes"] == 0  # everything cached: answered without Ray


def test_shipped_networks_that_use_the_reference_respond_to_it(sweep, capsys):
    """The shipped IPH and Bargain-Net (R) declare they read the reference region: on the relit suite their
    foreground must move with it — at least RESPONSIVE of the regions' own colour difference (the first
    shipped IPH moved by 0.006/255)."""
    argv, _, _ = sweep
    assert main([*argv, "--resume", "--no-mlflow"]) == 0
    out = json.loads(capsys.readouterr().out)
    res = out["methods"]
    RESPONSIVE = 0.05
    for name in ("iph", "bargainnet-r"):
        assert res[name]["responsiveness"] >= RESPONSIVE, (name, res[name]["responsiveness"])
    # ... and the shipped IPH moves it the right way: towards the truth each region implies more often than
    # not, and closer to the truths than the composite (foreground ΔE2000, recomputed here from the rows)
    assert res["iph"]["reference_accuracy"] > 0.5
    fde = {m: [r["fde2000"] for r in out["per_image"] if r["method"] == m and r.get("fde2000") is not None]
           for m in ("composite", "iph")}
    assert len(fde["iph"]) == len(fde["composite"]) > 0
    assert sum(fde["iph"]) < sum(fde["composite"])
