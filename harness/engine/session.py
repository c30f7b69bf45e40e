"""The skeleton every experiment command runs in (run-benchmark, run-robustness, run-ablation, sweep), written
once:

    with command_session(cfg) as session:
        session.track(lambda log_path: BenchmarkTracker(cfg, suite, methods, log_path))   # if cfg.mlflow
        with session.ray() as cluster:          # Ray up (local or a cluster), the parent run started on it
            ...                                 # the work
        result = ...                            # rows in pandas, statistics
        session.finish(result, ...)             # logged; result.mlflow_run_id / mlflow_url set

Any error or interruption inside the block marks the command's runs FAILED (KILLED after Ctrl-C for a
resumable experiment) before it goes on up: no run is ever left RUNNING. Progress notes go to `session.log`
(the console's stderr by default), the progress bar to `session.progress_stream`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from harness.cluster import SharedPath


class Session:
    def __init__(self, cfg, log: Callable[[str], None] | None = None) -> None:
        from harness.console import current

        console = current()
        self.cfg = cfg
        self.log: Callable[[str], None] = log or console.note
        self.log_path = console.log_path
        self.progress_stream = console.err
        self.tracker: Any = None

    def track(self, make: Callable[[Any], Any]) -> Any:
        """The command's tracker, made by `make(log_path)` when the config logs to MLflow (else None)."""
        if self.cfg.mlflow:
            self.tracker = make(self.log_path)
        return self.tracker

    @contextlib.contextmanager
    def ray(self, start: bool = True, shared: Sequence[SharedPath] | None = None) -> Iterator[dict]:
        """Ray for the length of the block ({address, nodes, cpus, gpus}); the tracker's parent run started on
        it unless `start` is False (a command that starts it itself, with more to say). On a cluster of several
        nodes, the folders the workers use (`shared`, else `shared_paths(cfg)`) are checked first."""
        from harness.cluster import ray_session

        if shared is None:
            shared = shared_paths(self.cfg)
        with ray_session(self.cfg.ray_address, self.cfg.num_cpus, shared) as cluster:
            if self.tracker is not None and start:
                self.tracker.start(cluster)
            yield cluster

    def finish(self, result: Any, *args: Any, **kwargs: Any) -> None:
        """Log `result` through the tracker (its extra arguments passed on) and note where it went."""
        if self.tracker is not None:
            result.mlflow_run_id = self.tracker.finish(result, *args, **kwargs)
            result.mlflow_url = self.tracker.url


ON_A_CLUSTER = "a folder on a filesystem that every node mounts at the same path (NFS)"


def _remote(location: str) -> bool:
    from harness.storage import is_local

    return not is_local(location)


def shared_paths(cfg, suite=None) -> list[SharedPath]:
    """The driver's folders that the command's Ray workers read or write — checked on a multi-node cluster
    (harness/cluster.py: check_shared):

    - the suite's folder, which workers read the samples from: a local `--data-root`, or the cache folder the
      bundled IntHarmony split is built into (`suite`, when given, says where it really is);
    - for training and experiments, the storage their workers write checkpoints to: `--storage` when it is a
      local path, else `--out`.

    Not `--out` or `--cache-dir` of run-benchmark / run-robustness: their workers return rows and PNG bytes,
    and the driver alone writes them. Nor weights: those travel as bytes (harness/methods/weights.py)."""
    from harness.cluster import SharedPath
    from harness.config import ExperimentConfig, TrainConfig

    out = []
    given = getattr(cfg, "data_root", None)
    root = getattr(suite, "data_root", None) or given
    if root and not _remote(root) and not (given and _remote(given)):
        flag = "--data-root" if given else f"--suite {getattr(suite, 'name', '')} (its folder)"
        out.append(SharedPath(root, flag, "read",
                              f"--data-root s3://… (or gs://…), or the data in {ON_A_CLUSTER}"))
    if isinstance(cfg, (ExperimentConfig, TrainConfig)):
        storage = getattr(cfg, "storage", None)  # the storage option (issue 23) may not be on this config yet
        if storage and storage.startswith("file://"):
            storage = storage[len("file://"):]
        path = storage or getattr(cfg, "out", None)
        if path and not _remote(path):
            out.append(SharedPath(path, "--storage" if storage else "--out", "write",
                                  f"--storage s3://… (or gs://…), or --storage {ON_A_CLUSTER}"))
    return out


@contextlib.contextmanager
def command_session(cfg, log: Callable[[str], None] | None = None) -> Iterator[Session]:
    session = Session(cfg, log)
    try:
        yield session
    except BaseException as err:
        if session.tracker is not None:
            session.tracker.fail(err)
        raise
