"""One MLflow store with every kind of run a report reads, made once per test session (tests/conftest.py) for
tests/test_reports.py and tests/test_reports_browser.py: two real run-benchmarks of one suite — first 2 images ×
8 methods, then 3 images × 3 methods, so the default report must leave the first out and say so (issue 22) —
and a run-robustness (on one local Ray, shut down before the tests run), analyze-votes of the bundled A/B and
ranking studies, and a run-ablation parent logged here by hand in the shape the report reads (issue 12 builds
the command)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import ROOT, cli, local_ray

# The ablation logged by hand: variant → {seed: metrics}; "no-triplet" has one seed with its own CI.
ABLATION = {
    "full": {0: {"psnr": 31.2, "ssim": 0.91, "de2000": 3.1, "fmse": 410.0},
             1: {"psnr": 31.6, "ssim": 0.92, "de2000": 3.0, "fmse": 395.0},
             2: {"psnr": 31.0, "ssim": 0.90, "de2000": 3.3, "fmse": 430.0}},
    "no L_consis": {0: {"psnr": 30.1, "ssim": 0.89, "de2000": 3.6, "fmse": 480.0},
                    1: {"psnr": 30.5, "ssim": 0.88, "de2000": 3.5, "fmse": 470.0},
                    2: {"psnr": 29.9, "ssim": 0.89, "de2000": 3.8, "fmse": 500.0}},
    "no triplets": {0: {"psnr": 30.8, "ssim": 0.90, "de2000": 3.2, "fmse": 440.0,
                        "psnr_ci95_lo": 30.1, "psnr_ci95_hi": 31.4}},
}
# The older, smaller benchmark: 8 methods (classical, so it costs little), the most Table 1 must fit in 1400 px
EIGHT = ("composite,reinhard,lum-match,lum-match:chroma=0,lum-match:chroma=0.25,lum-match:chroma=0.5,"
         "lum-match:chroma=0.75,lum-match:mean_iters=1")


@dataclass
class Store:
    uri: str
    root: Path
    small: dict  # run-benchmark's --json: the older run, 2 images × 8 methods
    bench: dict  # run-benchmark's --json: the newer run, 3 images × 3 methods
    sweep: dict  # run-robustness's --json
    efficiency: dict  # run-efficiency's --json
    ab_run: str
    rank_run: str
    ablation_run: str


def log_ablation(uri: str) -> str:
    """A run-ablation parent in the assumed shape: tag harness.command=run-ablation (and suite), one child per
    variant × seed with params `variant` and `seed` and metrics named as run-benchmark's children's."""
    from harness.tracking.store import client, get_or_create_experiment

    c = client(uri)
    exp = get_or_create_experiment("sample-ablation", uri)
    parent = c.create_run(exp, run_name="ablation sample", tags={"harness.command": "run-ablation",
                                                                 "suite": "sample"}).info.run_id
    for variant, seeds in ABLATION.items():
        for seed, metrics in seeds.items():
            child = c.create_run(exp, run_name=f"{variant} seed {seed}", tags={"mlflow.parentRunId": parent})
            cid = child.info.run_id
            c.log_param(cid, "variant", variant)
            c.log_param(cid, "seed", seed)
            for k, v in metrics.items():
                c.log_metric(cid, k, v)
            c.set_terminated(cid, "FINISHED")
    c.set_terminated(parent, "FINISHED")
    return parent


def make_store(root: Path) -> Store:
    uri = f"sqlite:///{root}/mlflow.db"
    common = ("--tracking-uri", uri, "--cache-dir", str(root / "cache"), "--bootstrap", "200", "--json")
    with local_ray(num_cpus=2):
        small = json.loads(cli("run-benchmark", "--suite", "sample", "--limit", "2", "--methods", EIGHT, *common))
        bench = json.loads(cli("run-benchmark", "--suite", "sample", "--limit", "3", "--methods",
                                "composite,reinhard,lum-match", *common))
        sweep = json.loads(cli("run-robustness", "--suite", "relit", "--limit", "1", "--methods",
                                "composite,reinhard", *common))
        efficiency = json.loads(cli("run-efficiency", "--methods", "composite,reinhard", "--sizes", "64,96",
                                    "--repeat", "2", "--tracking-uri", uri, "--json"))
    runs = {}
    for kind in ("ab", "rank"):
        cli("analyze-votes", str(ROOT / "studies" / f"{kind}.csv"), "--tracking-uri", uri, "--bootstrap", "100",
             "--json")
        from harness.tracking.store import client

        c = client(uri)
        exp = c.get_experiment_by_name("user-studies")
        runs[kind] = c.search_runs([exp.experiment_id], filter_string=f"params.kind = '{kind}'")[0].info.run_id
    return Store(uri, root, small, bench, sweep, efficiency, runs["ab"], runs["rank"], log_ablation(uri))


@pytest.fixture(scope="session")
def report_store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory.mktemp("report-store"))


@pytest.fixture(scope="session")
def report_built(report_store: Store) -> dict:
    """`harness report --json` over the whole store (logged to MLflow, experiment `reports`)."""
    out = report_store.root / "report"
    return json.loads(cli("report", "--tracking-uri", report_store.uri, "--out", str(out), "--json"))


@pytest.fixture(scope="session")
def report_all(report_store: Store) -> dict:
    """`harness report --all --json` over the whole store, not logged: every finished run, one column each."""
    out = report_store.root / "report-all"
    return json.loads(cli("report", "--tracking-uri", report_store.uri, "--all", "--out", str(out), "--no-mlflow",
                          "--json"))
