"""Which MLflow runs a report is built from, and what they hold — read with MlflowClient only.

Runs are found by what made them, the parent run's tag `harness.command`:

    run-benchmark   experiment <suite>; children per method: metrics (mean, `<m>_ci95_lo/hi`, `fmse/fg_0_5`, …),
                    `samples/<stem>.png`, `grid.png`; parent: `paired_comparisons.csv`, `samples/index.json`,
                    `samples/<stem>/{composite,regions,truth}.png` (and, in runs made since issue 22, the
                    summary as `<metric>/<method>` metrics: the report reads the children, so older runs read
                    the same)
    run-robustness  experiment <suite>-robustness; children per method: responsiveness(_lo/_hi),
                    reference_accuracy(_lo/_hi); parent: `figures/<sample id>.png` (and, since issue 22, the same
                    per method as `responsiveness/<method>` with `_ci95_lo/hi`: not read here)
    analyze-votes   experiment user-studies or a benchmark's; no children; `analysis.json`, param `kind`
    run-ablation    children per variant × seed: params `variant`, `seed` (a tag of the same name, or the run
                    name, when the param is absent), metrics as run-benchmark's children (mean, optional CIs);
                    parent (when run-ablation made it): `<metric>/<variant key>` with `_ci95_lo/hi`, bootstrapped
                    over seeds and images together (harness/tracking/experiments.py)
    sweep           as run-ablation, one variant per grid point (its own section: "Training grid")

Which runs (`Selection.rule`, said on the page above Table 1 with each run's `why`):
- "latest": by experiment (or the whole store), each kind keeps its latest FINISHED parent run per suite (per
  protocol and reference region for run-benchmark, per study kind for analyze-votes); the older ones are kept
  as `left_out` of the run that replaced them, so `--run` or `--all` can pick them instead;
- "all" (`--all`): every FINISHED parent run;
- "named" (`--run`): the runs as named, in any state; a child run's id stands for its parent;
- "own": the one run whose own report this is (`attach_run_report`).
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
         "sweep": "sweep", "analyze-votes": "votes", "run-efficiency": "efficiency"}


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
    why: str = ""  # why the selection holds this run (shown beside it on the page)
    left_out: list[Source] = field(default_factory=list)  # "latest": the older runs it stands in for, newest first

    @property
    def command(self) -> str:
        return self.tags.get("harness.command", self.kind)

    @property
    def n_samples(self) -> int | None:
        text = self.tags.get("n_samples", "")
        return int(text) if text.isdigit() else None

    @property
    def suite(self) -> str:
        return self.tags.get("suite") or self.params.get("suite") or self.experiment

    def group_key(self) -> tuple:
        """Runs with the same key answer the same question; by default only the latest is kept."""
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
    rule: str = "named"  # latest | all | named | own: how `sources` were chosen (module docstring)
    experiments: list[str] | None = None  # the experiments searched ("latest", "all"); None: every one

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
        raise HarnessError(f"--run {run_id}: a report reads {', '.join(KINDS)} runs; this one was made by "
                           f"{made_by}")
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
            notes: list[str] | None = None, all_runs: bool = False) -> Selection:
    """The runs a report is built from: the named runs; else every finished run (`all_runs`) or the latest of
    each kind per suite, in the named experiments (every experiment when none is named). HarnessError for an
    unknown run or experiment, or a run the report cannot read; `notes` receives what was decided on the
    user's behalf."""
    notes = notes if notes is not None else []
    names: dict[str, str] = {}
    if run_ids:
        runs, asked = [], {}  # run → the id it was named by (a child's id names its parent)
        for rid in run_ids:
            run = _named_run(client, rid, uri, notes)
            if run.info.run_id not in asked:
                asked[run.info.run_id] = rid
                runs.append(run)
        chosen, skipped = [_source(client, r, names) for r in runs], []
        for src in chosen:
            by = asked[src.run_id]
            src.why = "named with --run" + (f" (as the parent of child run {by})" if by != src.run_id else "")
        rule = "named"
    else:
        ids = _experiment_ids(client, experiments)
        runs = client.search_runs(ids, filter_string="attributes.status = 'FINISHED'",
                                  order_by=["attributes.start_time DESC"], max_results=50000) if ids else []
        runs = [r for r in runs if r.data.tags.get("harness.command") in KINDS
                and not r.data.tags.get("mlflow.parentRunId")]
        chosen, skipped = _every(client, runs, names) if all_runs else _latest(client, runs, names, notes)
        chosen.sort(key=lambda s: s.start_time)
        rule = "all" if all_runs else "latest"
    exp_of = {r.info.run_id: r.info.experiment_id for r in runs}
    for src in chosen:
        if src.kind != "votes":
            src.children = _children(client, src, exp_of[src.run_id])
    return Selection(chosen, skipped, uri, rule, experiments)


def _every(client, runs, names: dict[str, str]) -> tuple[list[Source], list]:
    chosen = [_source(client, r, names) for r in runs]
    for src in chosen:
        src.why = "--all: every finished run"
    return chosen, []


def _latest(client, runs, names: dict[str, str], notes: list[str]) -> tuple[list[Source], list]:
    """Of `runs` (newest first), the latest of each group; each keeps the older ones as `left_out`."""
    latest: dict[tuple, Source] = {}
    chosen, skipped = [], []
    for r in runs:
        src = _source(client, r, names)
        key = src.group_key()
        if key in latest:
            kept = latest[key]
            kept.left_out.append(src)
            skipped.append((src, f"an older {src.command} run of the same "
                                 f"{'study kind' if src.kind == 'votes' else 'suite'}; the report uses {kept.run_id}"))
        else:
            latest[key] = src
            chosen.append(src)
    for src in chosen:
        count = f"the latest of {1 + len(src.left_out)} finished runs" if src.left_out else "the only finished run"
        src.why = f"{count} of its {'study kind' if src.kind == 'votes' else 'suite'}"
        bigger = [o for o in src.left_out if (o.n_samples or 0) > (src.n_samples or 0)]
        if src.kind == "benchmark" and bigger:  # the case: a quick --limit run hides the full one
            notes.append(f"Table 1, {src.suite}: the latest run {src.run_id} has {src.n_samples} images; the older "
                         f"run {bigger[0].run_id} has {bigger[0].n_samples} — pass --run to choose, or --all")
    return chosen, skipped
