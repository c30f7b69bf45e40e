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
from typing import Any, Callable, Iterator


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
    def ray(self, start: bool = True) -> Iterator[dict]:
        """Ray for the length of the block ({address, nodes, cpus, gpus}); the tracker's parent run started on
        it unless `start` is False (a command that starts it itself, with more to say)."""
        from harness.cluster import ray_session

        with ray_session(self.cfg.ray_address, self.cfg.num_cpus) as cluster:
            if self.tracker is not None and start:
                self.tracker.start(cluster)
            yield cluster

    def finish(self, result: Any, *args: Any, **kwargs: Any) -> None:
        """Log `result` through the tracker (its extra arguments passed on) and note where it went."""
        if self.tracker is not None:
            result.mlflow_run_id = self.tracker.finish(result, *args, **kwargs)
            result.mlflow_url = self.tracker.url


@contextlib.contextmanager
def command_session(cfg, log: Callable[[str], None] | None = None) -> Iterator[Session]:
    session = Session(cfg, log)
    try:
        yield session
    except BaseException as err:
        if session.tracker is not None:
            session.tracker.fail(err)
        raise
