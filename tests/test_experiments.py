"""run-ablation and sweep: budgets, variants and grids (and their one-line errors), the statistics against
scipy and hand computations, and one smoke experiment end to end on Ray Tune (2 CPUs, MLflow sqlite): a failed
trial marked FAILED and reported missing, a kill mid-trial, and a resume that retrains nothing that finished.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from harness.errors import HarnessError
from tests.processes import cli_json, start_harness, wait_until


# --- budgets, variants, grids ----------------------------------------------------------------------------------
def test_budgets_are_named_and_overridable():
    from harness.experiments.budgets import BUDGETS, resolve_budget

    assert set(BUDGETS) == {"smoke", "cpu", "gpu"}
    gpu = BUDGETS["gpu"]  # the paper's setting
    assert (gpu.size, gpu.resolution, gpu.batch_size, gpu.lr) == ("full", 256, 48, (1e-4, 1e-5, 1e-6))
    assert BUDGETS["cpu"].size == "small"
    b = resolve_budget("cpu", {"steps": "40,20", "lr": "3e-4", "size": "tiny", "validate": "false"})
    assert (b.steps, b.lr, b.size, b.validate) == ((40, 20), (3e-4, 3e-4), "tiny", False)  # one lr: every stage
    with pytest.raises(HarnessError, match="Did you mean: batch_size"):
        resolve_budget("cpu", {"batch_sise": "4"})
    with pytest.raises(HarnessError, match="Did you mean: smoke"):
        resolve_budget("smok")
    with pytest.raises(HarnessError, match="one entry per stage"):
        resolve_budget("cpu", {"steps": "1,2,3"})


def test_table3_variants_in_order_and_faithful():
    from harness.experiments.arms import VARIANTS, ablation_arms
    from iph.losses import LOSS_PRESETS

    assert [a.label for a in VARIANTS] == ["H-Net", "+ SE", "+ L_highlight", "+ L_mid-tone", "+ L_shadow"]
    terms = [(LOSS_PRESETS[a.loss].highlight, LOSS_PRESETS[a.loss].midtone, LOSS_PRESETS[a.loss].shadow,
              LOSS_PRESETS[a.loss].alpha > 0) for a in VARIANTS]
    assert [t for t in terms if t[3]] == [(True, False, False, True), (True, True, False, True),
                                          (True, True, True, True)]
    for a in VARIANTS:  # every row keeps L_harm, L_consis and the triplets
        c = LOSS_PRESETS[a.loss]
        assert c.harmonization and c.lam > 0 and c.consistency and c.beta > 0 and c.triplet_reference and c.triplet_real
    assert VARIANTS[0].overrides == {"use_style_encoder": False} and not VARIANTS[1].overrides
    assert [a.name for a in ablation_arms(["all", "hnet"])] == ["hnet", "all"]  # always the table's order
    with pytest.raises(HarnessError, match="Did you mean: style"):
        ablation_arms(["stlye"])


def test_grid_is_a_product_routed_to_budget_loss_and_model():
    from harness.config.training import parse_grid
    from harness.experiments.arms import grid_arms

    arms = grid_arms("iph", "all", parse_grid(["alpha=0.05,0.2", "margin=0.1,0.3", "lr=1e-3"]), "tiny")
    assert [a.name for a in arms] == ["alpha=0.05,margin=0.1,lr=1e-3", "alpha=0.05,margin=0.3,lr=1e-3",
                                      "alpha=0.2,margin=0.1,lr=1e-3", "alpha=0.2,margin=0.3,lr=1e-3"]
    assert arms[1].loss_options == {"alpha": 0.05, "margin": 0.3} and arms[1].budget == {"lr": "1e-3"}
    assert grid_arms("iph", "all", parse_grid(["style_dim=8"]), "tiny")[0].overrides == {"style_dim": 8}
    with pytest.raises(HarnessError, match="expected a float"):
        grid_arms("iph", "all", parse_grid(["alpha=much"]), "tiny")
    with pytest.raises(HarnessError, match="not KEY=V1,V2"):
        parse_grid(["alpha"])


def test_bad_grid_key_is_one_line_did_you_mean_exit_2(tmp_path, capsys):
    rc = main(["sweep", "--grid", "alpah=0.1,0.2", "--suite", "sample", "--budget", "smoke", "--no-mlflow",
               "--out", str(tmp_path / "exp")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "unknown grid key for iph 'alpah'" in err and "Did you mean: alpha" in err
    assert not (tmp_path / "exp").exists()  # nothing half-written
    rc = main(["run-ablation", "--variants", "hnet,stlye", "--suite", "sample", "--budget", "smoke",
               "--no-mlflow", "--out", str(tmp_path / "exp")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "Did you mean: style" in err, err


def test_trials_ask_for_gpus_when_the_cluster_has_them():
    from harness.experiments.budgets import resolve_budget
    from harness.experiments.tune import trial_resources

    cpu = resolve_budget("smoke")
    assert trial_resources(cpu, {"cpus": 2, "gpus": 0}) == ({"cpu": 1.0, "gpu": 0.0}, 0.0)
    assert trial_resources(cpu, {"cpus": 16, "gpus": 2}) == ({"cpu": 1.0, "gpu": 1.0}, 1.0)
    with pytest.raises(HarnessError, match="asks 1 GPU per trial and the cluster has 0"):
        trial_resources(resolve_budget("gpu"), {"cpus": 2, "gpus": 0})
    with pytest.raises(HarnessError, match="asks 4 CPUs per trial"):
        trial_resources(resolve_budget("gpu", {"gpus_per_trial": "0"}), {"cpus": 2, "gpus": 0})


# --- statistics ------------------------------------------------------------------------------------------------
def test_crossed_bootstrap_with_one_seed_is_the_image_bootstrap():
    from scipy.stats import bootstrap

    from harness.scoring.stats import crossed_bootstrap_ci

    x = np.random.default_rng(3).gamma(2.0, 3.0, size=40)
    lo, hi = crossed_bootstrap_ci(x[None, :], n_boot=4000, seed=1)
    ref = bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=2).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.25) and hi == pytest.approx(ref.high, abs=0.25)


def test_crossed_bootstrap_widens_when_seeds_disagree():
    from scipy.stats import bootstrap

    from harness.scoring.stats import crossed_bootstrap_ci

    images = np.random.default_rng(0).normal(0, 1, size=30)
    agree = np.stack([images, images, images])
    disagree = agree + np.array([[-3.0], [0.0], [3.0]])  # seed effects ±3, images the same
    lo_a, hi_a = crossed_bootstrap_ci(agree, n_boot=2000)
    lo_d, hi_d = crossed_bootstrap_ci(disagree, n_boot=2000)
    # identical seeds: the images' interval (scipy's percentile bootstrap); seeds 3 apart: the seeds' spread
    ref = bootstrap((images,), np.mean, n_resamples=2000, method="percentile", random_state=1).confidence_interval
    assert hi_a - lo_a == pytest.approx(ref.high - ref.low, rel=0.15)
    assert hi_d - lo_d > 3 * (hi_a - lo_a)
    assert np.isnan(crossed_bootstrap_ci(np.full((2, 3), np.nan))).all()  # nothing left: (nan, nan)


def test_consecutive_comparisons_against_scipy_and_hand_holm():
    from scipy.stats import wilcoxon

    from harness.scoring.stats import consecutive_comparisons

    rng = np.random.default_rng(5)
    n, seeds = 12, 2
    base = rng.normal(20, 2, size=n)
    effect = {"a": 0.0, "b": 1.5, "c": 1.6}
    rows = [{"arm": arm, "seed": s, "id": f"i{i}", "psnr": base[i] + eff + rng.normal(0, 0.5)}
            for arm, eff in effect.items() for s in range(seeds) for i in range(n)]
    rows = [r for r in rows if not (r["arm"] == "c" and r["seed"] == 1)]  # a failed trial: seed 1 of c missing
    df = pd.DataFrame(rows)
    out = consecutive_comparisons(df, ["psnr"], ["a", "b", "c"], n_boot=500)
    assert list(zip(out["a"], out["b"])) == [("a", "b"), ("b", "c")]
    wide = {g: df[df["arm"] == g].pivot(index="seed", columns="id", values="psnr") for g in "abc"}
    d_ab = (wide["b"] - wide["a"]).to_numpy()
    d_bc = (wide["c"].loc[[0]] - wide["b"].loc[[0]]).to_numpy()  # only the seed both have
    p = [wilcoxon(d_ab.mean(axis=0)).pvalue, wilcoxon(d_bc.mean(axis=0)).pvalue]
    holm = sorted(p)
    holm = {holm[0]: min(1, 2 * holm[0]), holm[1]: min(1, max(2 * holm[0], holm[1]))}
    assert out["diff"].tolist() == pytest.approx([d_ab.mean(), d_bc.mean()])
    assert out["n_seeds"].tolist() == [2, 1] and out["n"].tolist() == [n, n]
    assert out["p"].tolist() == pytest.approx(p)
    assert out["p_holm"].tolist() == pytest.approx([holm[p[0]], holm[p[1]]])
    assert out.iloc[0]["ci_lo"] < d_ab.mean() < out.iloc[0]["ci_hi"]


# --- end to end ------------------------------------------------------------------------------------------------
def _argv(out: Path, uri: str, cache: Path) -> list[str]:
    return ["run-ablation", "--suite", "sample", "--budget", "smoke", "--variants", "hnet,style", "--seeds", "1",
            "--limit", "2", "--references", "suite,background", "--bootstrap", "200", "--out", str(out),
            "--tracking-uri", uri, "--cache-dir", str(cache), "--json"]


def _runs(uri: str):
    from mlflow.tracking import MlflowClient

    c = MlflowClient(uri)
    exp = c.get_experiment_by_name("sample-ablation")
    runs = c.search_runs([exp.experiment_id], max_results=100)
    parent = [r for r in runs if r.data.tags.get("harness.command") == "run-ablation"]
    children = {r.data.tags["harness.trial"]: r for r in runs if "harness.trial" in r.data.tags}
    return c, parent, children


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """The smoke ablation (H-Net, + SE; one seed) with the + SE trial failing on purpose."""
    tmp = tmp_path_factory.mktemp("ablation")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    out, cache = tmp / "exp", tmp / "cache"
    err = io.StringIO()  # what the user saw on stderr
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err):
        mp.setenv("HARNESS_FAIL_TRIALS", "style/s0")
        mp.setenv("HARNESS_CACHE", str(cache))
        doc = cli_json(*_argv(out, uri, cache))  # exits 0; stdout is exactly one JSON document
    return {"doc": doc, "uri": uri, "out": out, "cache": cache, "err": err.getvalue()}


@pytest.mark.slow
def test_smoke_ablation_end_to_end_with_a_failed_trial(failed_run):
    doc = failed_run["doc"]
    assert [v["name"] for v in doc["variants"]] == ["hnet", "style"]
    assert doc["missing"] == ["style/s0"]
    hnet, style = doc["variants"]
    assert hnet["seeds"] == [0] and style["seeds"] == [] and style["missing_seeds"] == [0]
    assert set(hnet["metrics"]) >= {"psnr", "ssim", "de2000", "fmse"} and style["metrics"] == {}
    assert hnet["robustness"]["responsiveness"]["mean"] == pytest.approx(0.0, abs=1e-9)  # ignores the reference

    c, parent, children = _runs(failed_run["uri"])
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    assert parent[0].data.tags["variants"] == "hnet,style" and parent[0].data.tags["missing"] == "style/s0"
    assert set(children) == {"hnet/s0", "style/s0"}
    ok, bad = children["hnet/s0"], children["style/s0"]
    assert ok.info.status == "FINISHED" and bad.info.status == "FAILED"
    assert "failed on purpose" in bad.data.tags["error"]
    assert (ok.data.params["variant"], ok.data.params["seed"]) == ("hnet", "0")
    assert ok.data.tags["mlflow.parentRunId"] == parent[0].info.run_id
    # the evaluation is the mean of the per-image rows the child carries (read back independently)
    per_image = pd.read_csv(c.download_artifacts(ok.info.run_id, "per_image.csv"))
    for m in ("psnr", "ssim", "de2000", "fmse"):
        assert ok.data.metrics[m] == pytest.approx(per_image[m].mean())
        assert hnet["metrics"][m]["mean"] == pytest.approx(per_image[m].mean())
    curve = c.get_metric_history(ok.info.run_id, "train/total")
    assert [m.step for m in curve] == [2, 4, 6, 8, 10]  # steps 6 + 4 over both stages, logged every 2
    result = json.loads(Path(c.download_artifacts(parent[0].info.run_id, "result.json")).read_text())
    assert [v["name"] for v in result["variants"]] == ["hnet", "style"]
    assert "resume:" not in failed_run["err"], failed_run["err"]  # not resuming: nothing said of a cache


@pytest.mark.slow
def test_killed_experiment_resumes_without_recomputing(failed_run):
    """--resume retries the failed trial; killed (SIGINT) mid-training it resumes again from its checkpoint;
    the trial that finished first is never retrained, and MLflow keeps one run per trial."""
    out, uri, cache = failed_run["out"], failed_run["uri"], failed_run["cache"]
    hnet_dir = out / "trials" / "00-hnet-s0"  # the finished trial's final model, downloaded by the driver
    stored = out / "tune" / "trials"  # the trials' Tune checkpoints, in the experiment's storage (here: --out)
    files = lambda d: [p for p in d.rglob("*") if p.is_file() and (d == hnet_dir or "checkpoint_" in str(p))]
    stamps = {p: p.stat().st_mtime_ns for d in (hnet_dir, stored / "00-hnet-s0") for p in files(d)}
    assert (hnet_dir / "stage2" / "iph-stage2.safetensors").is_file()
    proc = start_harness(*_argv(out, uri, cache), "--resume",
                         env={"HARNESS_TRIAL_LOG_DELAY": "1.0", "HARNESS_CACHE": str(cache)})
    style = "01-style-s0*/checkpoint_*"  # Tune gives a failed trial it restarts a new folder: <name>_<suffix>
    wait_until(lambda: any(stored.glob(f"{style}/stage1/checkpoints/step_*.state.json")), 240,
               "the retried trial's first checkpoint", proc, proc.communicate)
    proc.send_signal(signal.SIGINT)  # Ctrl-C to the driver alone, mid-training
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert not any(stored.glob(f"{style}/done.json"))
    _, parent, children = _runs(uri)
    assert parent[0].info.status == "KILLED"

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        doc = cli_json(*_argv(out, uri, cache), "--resume")
    assert doc["missing"] == [] and [v["seeds"] for v in doc["variants"]] == [[0], [0]]
    assert "resume: 2 results cached, 2 to compute" in err.getvalue(), err.getvalue()  # hnet's, style's
    latest = next(stored.glob(f"{style}/done.json")).parent
    log = (latest / "stage1" / "train.log").read_text()
    assert "resumed at step 3" in log and log.count("step 2 ") == 1  # resumed after the checkpoint, not restarted
    # a finished stage keeps its final model and log only: no periodic checkpoint is carried along again
    assert (latest / "stage1" / "iph-stage1.safetensors").is_file() and not any(latest.rglob("checkpoints"))
    now = {p: p.stat().st_mtime_ns for d in (hnet_dir, stored / "00-hnet-s0") for p in files(d)}
    assert now == stamps  # not retrained, not downloaded again
    _, parent, children = _runs(uri)
    assert len(parent) == 1 and parent[0].info.status == "FINISHED" and parent[0].data.tags["missing"] == ""
    assert set(children) == {"hnet/s0", "style/s0"}
    assert all(r.info.status == "FINISHED" for r in children.values())
    assert "error" not in children["style/s0"].data.tags
    _tables_are_the_trials_images(uri, parent[0].info.run_id, doc, children)


def _images(c, run) -> pd.DataFrame:
    """A trial's per-image rows as its own MLflow run logged them, by image id: the oracle for every mean, CI
    and paired difference the command and its report compute from them."""
    return pd.read_csv(c.download_artifacts(run.info.run_id, "per_image.csv")).set_index("id")


def _is_two_images(row: dict, images: pd.Series) -> None:
    """A variant's mean and 95 % CI over one seed and two images, against the two values: every bootstrap
    resample of two images averages a, b or (a + b) / 2, and with 200 resamples each extreme is drawn about 50
    times, so the 2.5th and 97.5th percentiles are the two values themselves."""
    assert len(images) == 2
    assert (row["mean"], row["ci_lo"], row["ci_hi"]) == pytest.approx((images.mean(), images.min(), images.max()),
                                                                        rel=1e-9)


def _tables_are_the_trials_images(uri: str, run_id: str, doc: dict, children: dict) -> None:
    """Table 3 as the command printed it and as the report run-ablation attaches shows it, both against the
    trials' own per-image rows: each variant's mean and CI over seeds and images, and the consecutive paired
    difference under the table (+ SE minus H-Net, image by image)."""
    import html
    import re

    from mlflow.tracking import MlflowClient

    c = MlflowClient(uri)
    images = {v: _images(c, children[f"{v}/s0"]) for v in ("hnet", "style")}
    t3 = pd.read_csv(c.download_artifacts(run_id, "report/table3.csv"))
    for v in doc["variants"]:
        for m in ("psnr", "ssim", "de2000", "fmse"):
            want = v["metrics"][m]
            _is_two_images({"mean": want["mean"], "ci_lo": want["ci95"][0], "ci_hi": want["ci95"][1]},
                           images[v["name"]][m])
            _is_two_images(t3[(t3["variant"] == v["name"]) & (t3["metric"] == m)].iloc[0], images[v["name"]][m])
    diff = (images["style"]["fmse"] - images["hnet"]["fmse"]).mean()  # aligned by image id
    comp = next(x for x in doc["comparisons"] if x["metric"] == "fmse" and (x["a"], x["b"]) == ("hnet", "style"))
    assert comp["diff"] == pytest.approx(diff, rel=1e-9)
    page = Path(c.download_artifacts(run_id, "report/report.html")).read_text()
    attr = html.escape('metric=fmse&a=hnet&b=style/diff')
    shown = re.search(rf'data-artifact="comparisons.csv" data-path="{re.escape(attr)}">([^<]+)<', page)
    assert shown and float(shown.group(1)) == pytest.approx(diff, rel=1e-3)


@pytest.mark.slow
def test_smoke_sweep_end_to_end_with_its_report(tmp_path, capsys):
    """A two-point grid through Tune, the engine and MLflow; the command's table and its report's grid table
    both hold the trials' own per-image rows' means and CIs."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rc = main(["sweep", "--method", "iph", "--loss", "style", "--grid", "lam=0,0.1", "--suite", "sample",
               "--budget", "smoke", "--seeds", "1", "--limit", "2", "--references", "none", "--bootstrap", "200",
               "--out", str(tmp_path / "exp"), "--tracking-uri", uri, "--cache-dir", str(tmp_path / "cache"),
               "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["missing"] == [] and len(doc["variants"]) == 2
    assert [v["grid"] for v in doc["variants"]] == [{"lam": "0"}, {"lam": "0.1"}]

    from mlflow.tracking import MlflowClient

    c = MlflowClient(uri)
    exp = c.get_experiment_by_name("sample-sweep")
    runs = c.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("harness.command") == "sweep")
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 3
    images = {r.data.tags["variant"]: _images(c, r)["fmse"] for r in runs if "harness.trial" in r.data.tags}
    grid = pd.read_csv(c.download_artifacts(parent.info.run_id, "report/grid.csv"))
    for v in doc["variants"]:
        want = v["metrics"]["fmse"]
        _is_two_images({"mean": want["mean"], "ci_lo": want["ci95"][0], "ci_hi": want["ci95"][1]}, images[v["name"]])
        _is_two_images(grid[(grid["variant"] == v["name"]) & (grid["metric"] == "fmse")].iloc[0], images[v["name"]])
