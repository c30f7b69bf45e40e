"""Which MLflow runs a report is built from, and what they hold — read with MlflowClient only.

Runs are found by what made them, the parent run's tag `harness.command`:

    run-benchmark   experiment <suite>; children per method: metrics (mean, `<m>_ci95_lo/hi`, `fmse/fg_0_5`, …),
                    `samples/<stem>.png`, `grid.png`; parent: `paired_comparisons.csv`, `samples/index.json`,
                    `samples/<stem>/{composite,regions,truth}.png`
    run-robustness  experiment <suite>-robustness; children per method: responsiveness(_lo/_hi),
                    reference_accuracy(_lo/_hi); parent: `figures/<sample id>.png`
    analyze-votes   experiment user-studies or a benchmark's; no children; `analysis.json`, param `kind`
    run-ablation    children per variant × seed: params `variant`, `seed` (a tag of the same name, or the run
                    name, when the param is absent), metrics as run-benchmark's children (mean, optional CIs);
                    parent (when run-ablation made it): `<metric>/<variant key>` with `_ci95_lo/hi`, bootstrapped
                    over seeds and images together (harness/tracking/experiments.py)
    sweep           as run-ablation, one variant per grid point (its own section: "Training grid")

By experiment (or the whole store), each kind keeps its latest FINISHED parent run per suite (per study kind for
analyze-votes); older ones are listed as skipped, so `--run` can pick them instead. Named runs are used as they
are; a child run's id stands for its parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, did_you_mean

KINDS = {"run-benchmark": "benchmark", "run-robustness": "robustness", "run-ablation": "ablation",
         "sweep": "sweep", "analyze-votes": "votes"}


@dataclass
class Child:
    name: str  # the run name: the method (or the ablation variant)
    run_id: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass
class Source:
    kind: str  # benchmark | robustness | ablation | sweep | votes
    run_id: str
    name: str
    experiment: str
    status: str
    start_time: int
    tags: dict[str, str]
    params: dict[str, str]
    children: list[Child] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # the parent's own (run-ablation: per variant)

    @property
    def suite(self) -> str:
        return self.tags.get("suite") or self.params.get("suite") or self.experiment

    def group_key(self) -> tuple:
        """Runs with the same key answer the same question; only the latest is kept."""
        if self.kind == "benchmark":
            return (self.kind, self.experiment, self.suite, self.tags.get("protocol"), self.tags.get("reference"))
        if self.kind == "votes":
            return (self.kind, self.experiment, self.params.get("kind"))
        return (self.kind, self.experiment, self.suite)


@dataclass
class Selection:
    sources: list[Source]
    skipped: list[tuple[Source, str]]  # (run, why it was left out)
    uri: str

    def of(self, kind: str) -> list[Source]:
        return [s for s in self.sources if s.kind == kind]


class Reader:
    """Artifacts of runs, read through MLflow (any store: local files, a server, object storage). Each top-level
    entry of a run (a file, or a folder such as samples/) is downloaded once, whole, into a temporary folder
    (removed by `close`): one call per folder, not per file — each call costs ~0.1 s even on a local store."""

    def __init__(self, client) -> None:
        self.client = client
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-report-")
        self._lists: dict[tuple[str, str], list[str]] = {}
        self._fetched: set[tuple[str, str]] = set()

    def list(self, run_id: str, folder: str = "") -> list[str]:
        """Paths of the artifacts directly in `folder` (directories end in '/')."""
        key = (run_id, folder)
        if key not in self._lists:
            infos = self.client.list_artifacts(run_id, folder or None)
            self._lists[key] = sorted(f.path + ("/" if f.is_dir else "") for f in infos)
        return self._lists[key]

    def read(self, run_id: str, path: str) -> bytes | None:
        """The artifact's bytes, None when the run has no such artifact."""
        top, _, rest = path.partition("/")
        if (top + "/" if rest else top) not in self.list(run_id):
            return None
        local = Path(self._tmp.name) / run_id
        if (run_id, top) not in self._fetched:
            self._fetched.add((run_id, top))
            with _quiet_downloads():
                self.client.download_artifacts(run_id, top, str(local))
        target = local / path
        return target.read_bytes() if target.is_file() else None

    def json(self, run_id: str, path: str) -> Any:
        data = self.read(run_id, path)
        return None if data is None else json.loads(data)

    def csv(self, run_id: str, path: str):
        import io

        import pandas as pd

        data = self.read(run_id, path)
        return None if data is None else pd.read_csv(io.BytesIO(data))

    def close(self) -> None:
        self._tmp.cleanup()


@contextlib.contextmanager
def _quiet_downloads():
    """No MLflow progress bar on stderr for each download (restored afterwards: the caller's setting stays)."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    old = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _source(client, run, experiments: dict[str, str]) -> Source:
    exp_id = run.info.experiment_id
    if exp_id not in experiments:
        experiments[exp_id] = client.get_experiment(exp_id).name
    return Source(kind=KINDS[run.data.tags["harness.command"]], run_id=run.info.run_id,
                  name=run.info.run_name or run.info.run_id, experiment=experiments[exp_id], status=run.info.status,
                  start_time=run.info.start_time or 0, tags=dict(run.data.tags), params=dict(run.data.params),
                  metrics=dict(run.data.metrics))


def _children(client, src: Source, exp_id: str) -> list[Child]:
    runs = client.search_runs([exp_id], filter_string=f"tags.mlflow.parentRunId = '{src.run_id}'",
                              order_by=["attributes.start_time ASC"], max_results=5000)
    return [Child(name=r.info.run_name or r.info.run_id, run_id=r.info.run_id, metrics=dict(r.data.metrics),
                  params=dict(r.data.params), tags=dict(r.data.tags)) for r in runs]


def _named_run(client, run_id: str, uri: str, notes: list[str]):
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise HarnessError(f"--run {run_id}: no such MLflow run in {uri}") from None
    tags = run.data.tags
    if "harness.command" not in tags and tags.get("mlflow.parentRunId"):
        parent = tags["mlflow.parentRunId"]
        notes.append(f"--run {run_id} is the child run '{run.info.run_name}'; its parent {parent} is used")
        return _named_run(client, parent, uri, notes)
    if tags.get("harness.command") not in KINDS:
        made_by = tags.get("harness.command", "something other than the harness")
        raise HarnessError(f"--run {run_id}: a report reads run-benchmark, run-robustness, run-ablation, sweep "
                           f"and analyze-votes runs; this one was made by {made_by}")
    return run


def _experiment_ids(client, names: list[str] | None) -> list[str]:
    from mlflow.entities import ViewType

    every = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=50000)
    if names is None:
        return [e.experiment_id for e in every]
    by_name = {e.name: e.experiment_id for e in every}
    ids = []
    for name in names:
        if name not in by_name:
            raise HarnessError(f"--experiment {name}: no such experiment.{did_you_mean(name, by_name)} Known: "
                               f"{', '.join(sorted(by_name)) or 'none'}")
        ids.append(by_name[name])
    return ids


def collect(client, uri: str, experiments: list[str] | None = None, run_ids: list[str] | None = None,
            notes: list[str] | None = None) -> Selection:
    """The runs a report is built from: the named runs, else the latest of each kind per suite in the named
    experiments (every experiment when none is named). HarnessError for an unknown run or experiment, or a
    run the report cannot read; `notes` receives what was decided on the user's behalf."""
    notes = notes if notes is not None else []
    names: dict[str, str] = {}
    if run_ids:
        runs, seen = [], set()
        for rid in run_ids:
            run = _named_run(client, rid, uri, notes)
            if run.info.run_id not in seen:
                seen.add(run.info.run_id)
                runs.append(run)
        chosen, skipped = [_source(client, r, names) for r in runs], []
        exp_of = {r.info.run_id: r.info.experiment_id for r in runs}
    else:
        ids = _experiment_ids(client, experiments)
        runs = client.search_runs(ids, filter_string="attributes.status = 'FINISHED'",
                                  order_by=["attributes.start_time DESC"], max_results=50000) if ids else []
        runs = [r for r in runs if r.data.tags.get("harness.command") in KINDS
                and not r.data.tags.get("mlflow.parentRunId")]
        latest: dict[tuple, Source] = {}
        chosen, skipped = [], []
        for r in runs:  # newest first
            src = _source(client, r, names)
            key = src.group_key()
            if key in latest:
                skipped.append((src, f"an older {r.data.tags['harness.command']} run of the same "
                                     f"{'study kind' if src.kind == 'votes' else 'suite'}; the report uses "
                                     f"{latest[key].run_id}"))
            else:
                latest[key] = src
                chosen.append(src)
        chosen.sort(key=lambda s: s.start_time)
        exp_of = {r.info.run_id: r.info.experiment_id for r in runs}
    for src in chosen:
        if src.kind != "votes":
            src.children = _children(client, src, exp_of[src.run_id])
    return Selection(chosen, skipped, uri)
