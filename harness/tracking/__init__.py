"""Everything MLflow, in one package, at the end of the pipeline: the store and experiments (`store`), links
into the MLflow UI (`links`), a command's parent run and its children (`parent`), run-benchmark's runs
(`benchmark`), run-robustness's (`robustness`), run-ablation's and sweep's (`experiments`), training runs and
the model registry (`training`), user-study runs (`votes`), reading a benchmark run back (`runs`).

Nothing below this package knows where runs are stored: a `models:/NAME@ALIAS` checkpoint reaches the methods
as a resolver passed in by the engine. Nothing outside it imports mlflow, except reports/, which reads finished
runs back to build the report pages the commands attach. Runs are written with `MlflowClient` and explicit run
ids (the fluent API is not thread-safe and keeps hidden global state); a run that does not finish is marked
FAILED (KILLED after Ctrl-C) — never left RUNNING.
"""
