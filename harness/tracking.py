"""Everything MLflow: where the store is, experiments, runs.

Default store: a sqlite database `mlflow.db` in the working directory, artifacts beside it in
`mlartifacts/` (MLflow 3 refuses the old ./mlruns file store, and with sqlite it would otherwise put
artifacts in ./mlruns relative to wherever the process runs). `--tracking-uri` or `MLFLOW_TRACKING_URI`
override it, e.g. an HTTP `mlflow server` shared by a cluster.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db."""
    if uri:
        return uri
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _local_artifact_root(tracking_uri: str) -> str | None:
    """For a local sqlite store, artifacts go in mlartifacts/ beside the database file."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None  # a server decides (its --default-artifact-root / --artifacts-destination)


def setup(tracking_uri: str | None = None) -> str:
    """Point mlflow at the store and return the URI used. Imports mlflow lazily (slow import)."""
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    return uri


def get_or_create_experiment(name: str, tracking_uri: str | None = None) -> str:
    """Experiment id for `name`, created with an explicit artifact location for local stores."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = setup(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        mlflow.set_experiment(experiment_id=exp.experiment_id)
        return exp.experiment_id
    root = _local_artifact_root(uri)
    location = f"{root}/{name}" if root else None
    exp_id = client.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def git_sha() -> str:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harness")
    except PackageNotFoundError:
        return "unknown"


def _metric_key(name: str) -> str:
    """MLflow metric names allow [A-Za-z0-9_-. /] only."""
    return name.replace("%", "").replace("-", "_")


class BenchmarkTracker:
    """One parent run per `run-benchmark` invocation, one nested run per method. Uses MlflowClient with
    explicit run ids (the fluent API is not thread-safe and keeps hidden global state). A run that does not
    finish is marked FAILED — never left RUNNING."""

    def __init__(self, cfg, suite, methods) -> None:
        from mlflow.tracking import MlflowClient

        self.cfg, self.suite, self.methods = cfg, suite, methods
        self.uri = resolve_tracking_uri(cfg.tracking_uri)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_ids: list[str] = []
        self.parent: str | None = None

    def start(self, cluster: dict) -> str:
        import time

        exp_id = get_or_create_experiment(self.suite.name, self.uri)
        tags = {"harness.command": "run-benchmark", "git_sha": git_sha(), "harness_version": _version(),
                "suite": self.suite.name, "suite_source": self.suite.source, "n_samples": str(len(self.suite)),
                "resolution": self.cfg.resolution, "reference": self.cfg.reference, "ray_address": str(cluster.get("address")),
                "ray_nodes": str(cluster.get("nodes")), "ray_cpus": str(cluster.get("cpus")),
                "ray_gpus": str(cluster.get("gpus"))}
        if self.suite.notice:
            tags["data_notice"] = self.suite.notice
        name = f"{self.suite.name} [{self.suite.source}] {time.strftime('%Y-%m-%d %H:%M:%S')}"
        run = self.client.create_run(exp_id, run_name=name, tags=tags)
        self.parent = run.info.run_id
        self.exp_id = exp_id
        self.run_ids.append(self.parent)
        params = {k: ("" if v is None else str(v))[:500] for k, v in self.cfg.to_dict().items()}
        params["methods_resolved"] = ",".join(m.label for m in self.methods)[:500]
        for k, v in params.items():
            self.client.log_param(self.parent, k, v)
        return self.parent

    def finish(self, result) -> str:
        import json

        from harness.metrics import METRICS
        from harness.report import jsonable

        c = self.client
        for m in self.methods:
            rows = result.rows[result.rows["method"] == m.label]
            if rows.empty:
                continue
            child = c.create_run(self.exp_id, run_name=m.label, tags={
                "mlflow.parentRunId": self.parent, "method": m.name, "suite": self.suite.name,
                "suite_source": self.suite.source, "resolution": self.cfg.resolution})
            cid = child.info.run_id
            self.run_ids.append(cid)
            c.log_param(cid, "method", m.label)
            c.log_param(cid, "method_version", m.version()[:500])
            c.log_param(cid, "n_images", len(rows))
            summ = result.summary[result.summary["method"] == m.label]
            for r in summ.itertuples():
                c.log_metric(cid, _metric_key(r.metric), float(r.mean))
                c.log_metric(cid, _metric_key(f"{r.metric}_ci95_lo"), float(r.ci_lo))
                c.log_metric(cid, _metric_key(f"{r.metric}_ci95_hi"), float(r.ci_hi))
            for r in result.buckets[result.buckets["method"] == m.label].to_dict(orient="records"):
                for metric in ("fmse", "fpsnr", "fde2000"):
                    if metric in r:
                        c.log_metric(cid, _metric_key(f"{metric}/fg_{r['bucket']}"), float(r[metric]))
            cols = ["id", *METRICS, "fg_ratio", "source", "seconds"] + (["subset"] if "subset" in rows else [])
            table = rows[[k for k in cols if k in rows]].reset_index(drop=True)
            c.log_table(cid, data=table.replace([float("inf")], 1e308), artifact_file="per_image.json")
            c.log_text(cid, table.to_csv(index=False), "per_image.csv")
            grid = result.grids.get(m.label)
            if grid:
                c.log_image(cid, _grid_image(self.suite, grid), artifact_file="grid.png")
            c.set_terminated(cid, "FINISHED")
        c.log_text(self.parent, result.summary.to_csv(index=False), "summary.csv")
        c.log_text(self.parent, result.pairs.to_csv(index=False), "paired_comparisons.csv")
        c.log_table(self.parent, data=result.summary.replace([float("inf")], 1e308), artifact_file="summary.json")
        c.log_text(self.parent, json.dumps(jsonable({**result.to_json(), "mlflow_run_id": self.parent})),
                   "result.json")
        c.set_tag(self.parent, "computed", str(result.computed))
        c.set_tag(self.parent, "cached", str(result.cached))
        c.set_terminated(self.parent, "FINISHED")
        return self.parent

    def fail(self, err: BaseException) -> None:
        for rid in self.run_ids:
            try:
                run = self.client.get_run(rid)
                if run.info.status == "RUNNING":
                    self.client.set_tag(rid, "error", f"{type(err).__name__}: {err}"[:5000])
                    self.client.set_terminated(rid, "FAILED")
            except Exception:  # noqa: BLE001 — never mask the original error while cleaning up
                pass


def _grid_image(suite, pngs: dict[str, bytes]):
    """Rows of composite | reference overlay | output | ground truth, each 192 px high."""
    import io

    import numpy as np
    from PIL import Image

    from harness.data.io import to_uint8
    from harness.data.suites import load_spec

    by_id = {s.id: s for s in suite.specs}
    rows = []
    for sid, data in pngs.items():
        s = load_spec(by_id[sid])
        comp = to_uint8(s.composite)
        overlay = comp.astype(np.float32)
        overlay[s.fg] = 0.5 * overlay[s.fg] + 0.5 * np.array([255, 0, 0])  # red = foreground
        overlay[s.ref] = 0.5 * overlay[s.ref] + 0.5 * np.array([0, 0, 255])  # blue = reference
        out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        real = to_uint8(s.real) if s.real is not None else np.zeros_like(comp)
        tiles = [Image.fromarray(a.astype(np.uint8)) for a in (comp, overlay, out, real)]
        h = 192
        tiles = [t.resize((max(1, round(t.width * h / t.height)), h), Image.Resampling.BILINEAR) for t in tiles]
        rows.append(np.concatenate([np.asarray(t) for t in tiles], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)
