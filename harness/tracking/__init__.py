"""Everything MLflow, in one package: the store and experiments (`store`), run-benchmark's parent/child runs
(`benchmark`), training runs and the model registry (`training`), user-study runs (`votes`).

Nothing outside this package imports mlflow. Runs are written with `MlflowClient` and explicit run ids (the
fluent API is not thread-safe and keeps hidden global state); a run that does not finish is marked FAILED
(KILLED after Ctrl-C) — never left RUNNING.
"""
