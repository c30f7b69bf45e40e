"""A command's parent run and its children: the MLflow shape every experiment command logs (run-benchmark,
run-robustness, run-ablation, sweep), written once.

    tracker.start(cluster)      the parent run: what was run (tags, the config as params), RUNNING
    tracker.child(name, tags)   one child run per method (or trial), under the parent
    tracker.finish(result, …)   the command's results logged (its own code), then `close()`: the log file
                                attached, FINISHED, the UI link kept in `url`
    tracker.fail(err)           any error: every run of it still RUNNING → FAILED (KILLED after Ctrl-C where the
                                command resumes), the log attached — never left RUNNING

The report page is not built here: the command builds it from the finished runs (reports/), after `finish`.
Runs are written with `MlflowClient` and explicit run ids (the fluent API is not thread-safe and keeps hidden
global state).
"""

from __future__ import annotations

import time
from harness.tracking.links import ui_link
from harness.tracking.store import (client, fail_runs, get_or_create_experiment, git_sha, harness_version,
                                    log_file, log_metrics, resolve_tracking_uri)


class ParentTracker:
    command = ""  # the parent's `harness.command` tag (what reports/ finds runs by)
    interrupted = "FAILED"  # the runs' status after Ctrl-C

    def __init__(self, cfg, suite, log_path=None) -> None:
        self.cfg, self.suite, self.log_path = cfg, suite, log_path
        self.uri = resolve_tracking_uri(cfg.tracking_uri)
        self.client = client(self.uri)
        self.run_ids: list[str] = []
        self.parent: str | None = None
        self.exp_id: str | None = None
        self.url: str | None = None  # the parent run in the MLflow UI (runs view), once closed

    def experiment_name(self) -> str:
        return self.suite.name

    def open_parent(self, cluster: dict, name: str, tags: dict[str, str], params: dict[str, str]) -> str:
        """Create the parent run: the tags every command's parent carries, then `tags` and `params` (text; an
        MLflow param holds at most 500 characters)."""
        self.exp_id = get_or_create_experiment(self.experiment_name(), self.uri)
        common = {"harness.command": self.command, "git_sha": git_sha(), "harness_version": harness_version(),
                  "ray_address": str(cluster.get("address")), "ray_nodes": str(cluster.get("nodes")),
                  "ray_cpus": str(cluster.get("cpus")), "ray_gpus": str(cluster.get("gpus"))}
        if self.suite is not None:  # run-efficiency times methods on no suite
            common.update(suite=self.suite.name, suite_source=self.suite.source, n_samples=str(len(self.suite)))
            if self.suite.notice:
                common["data_notice"] = self.suite.notice
        run = self.client.create_run(self.exp_id, run_name=f"{name} {time.strftime('%Y-%m-%d %H:%M:%S')}",
                                     tags={**common, **tags})
        self.parent = run.info.run_id
        self.run_ids.append(self.parent)
        for k, v in params.items():
            self.client.log_param(self.parent, k, v[:500])
        return self.parent

    def child(self, name: str, tags: dict[str, str]) -> str:
        """A child run of the parent (RUNNING until its results are logged and it is terminated)."""
        run = self.client.create_run(self.exp_id, run_name=name, tags={"mlflow.parentRunId": self.parent, **tags})
        self.run_ids.append(run.info.run_id)
        return run.info.run_id

    def close(self) -> str:
        """The parent, done: its log attached, FINISHED; returns its id."""
        log_file(self.client, self.parent, self.log_path)
        self.client.set_terminated(self.parent, "FINISHED")
        self.url = ui_link(self.uri, self.exp_id, self.parent)
        return self.parent  # type: ignore[return-value]

    def fail(self, err: BaseException) -> None:
        fail_runs(self.client, self.parent, self.run_ids, err, self.log_path, interrupted=self.interrupted)


COST_METRICS = ("latency_ms_median", "latency_ms_p90", "peak_mb", "params", "gflop")


def log_cost(client, run_id: str, result, label: str) -> None:
    """A method's cost (harness/methods/cost.py) on its child run: the metrics `latency_ms_median`,
    `latency_ms_p90`, `peak_mb`, `params`, `gflop`; the tags `device` and `upsample` (its way up)."""
    eff = getattr(result, "efficiency", None)
    if eff is None or not len(eff) or not (eff["method"] == label).any():
        return
    r = eff[eff["method"] == label].iloc[0]
    log_metrics(client, run_id, [(k, float(r[k])) for k in COST_METRICS if r[k] is not None and r[k] == r[k]])
    client.set_tag(run_id, "device", str(r["device"])[:5000])
    if "upsample" in result.rows:
        ways = result.rows.loc[result.rows["method"] == label, "upsample"].dropna()
        client.set_tag(run_id, "upsample", ", ".join(dict.fromkeys(ways)))


NO_TRUTH_TAG = "no_ground_truth"  # the run's notice when samples had no ground truth (reports/ shows it)


def tag_missing_truth(client, run_id: str, rows, measured: str) -> None:
    """The parent's `no_ground_truth` tag: the one-line notice (harness/scoring/truth.py) of a run whose samples,
    some or all, had no ground truth — `rows` its per-image rows, `measured` what it measured without; nothing
    for a run with every truth."""
    from harness.scoring.truth import truth_notice

    notice = truth_notice(rows, measured)
    if notice:
        client.set_tag(run_id, NO_TRUTH_TAG, notice[:5000])
