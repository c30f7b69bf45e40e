"""Everything MLflow, in one package: the store and experiments (`store`), run-benchmark's parent/child runs
(`benchmark`), run-robustness's (`robustness`), training runs and the model registry (`training`), user-study
runs (`votes`), reading a benchmark run back (`runs`).

Nothing outside this package imports mlflow, except reports/, which reads finished runs back to build the
report pages the trackers attach. Runs are written with `MlflowClient` and explicit run ids (the fluent API is
not thread-safe and keeps hidden global state); a run that does not finish is marked FAILED (KILLED after
Ctrl-C) — never left RUNNING.
"""
