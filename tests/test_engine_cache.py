"""Cached rows cannot go stale: in a temporary copy of the project, editing a module on a method's code path
(baselines/unet.py, iph/layers.py) or the metric code makes --resume recompute exactly the rows it affects;
editing modules off that path (studies/, the MLflow code) recomputes nothing."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, harness_env, harness_json

pytestmark = pytest.mark.slow

ARGS = ["run-benchmark", "--suite", "sample", "--limit", "2", "--methods", "composite,bargainnet", "--no-mlflow",
        "--json", "--bootstrap", "50", "--num-cpus", "2"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for pkg in ("harness", "iph", "baselines", "studies", "reports"):
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _run_copy(project: Path, *argv: str) -> dict:
    """The project copy's `harness ARGV` (its code first on the path, run from inside it), with its own cache."""
    return harness_json(*argv, "--cache-dir", str(project / "cache"), path=[project], cwd=project)


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def _todo(plan: dict) -> dict[str, int]:
    return {m: v["to_compute"] for m, v in plan["methods"].items()}


def test_edits_recompute_what_they_affect_and_nothing_else(project):
    import harness

    first = _run_copy(project, *ARGS)
    assert first["computed"] == 4
    probe = subprocess.run([sys.executable, "-c", "import harness; print(harness.__file__)"], cwd=project,
                           env=harness_env(path=[project]), capture_output=True, text=True)
    assert probe.stdout.strip() == str(project / "harness" / "__init__.py") != harness.__file__

    def plan() -> dict[str, int]:
        return _todo(_run_copy(project, *ARGS, "--dry-run"))

    assert plan() == {"composite": 0, "bargainnet": 0}
    _edit(project / "studies" / "votes.py")
    _edit(project / "harness" / "tracking" / "benchmark.py")
    _edit(project / "harness" / "scoring" / "stats.py")  # summaries are recomputed every run, never cached
    assert plan() == {"composite": 0, "bargainnet": 0}
    _edit(project / "baselines" / "unet.py")  # Bargain-Net's generator
    assert plan() == {"composite": 0, "bargainnet": 2}
    resumed = _run_copy(project, *ARGS, "--resume")  # the real run does what the plan says
    assert (resumed["cached"], resumed["computed"]) == (2, 2)
    _edit(project / "iph" / "layers.py")  # PartialConv2d, in Bargain-Net's domain-code extractor
    assert plan() == {"composite": 0, "bargainnet": 2}
    _edit(project / "harness" / "scoring" / "metrics.py")
    assert plan() == {"composite": 2, "bargainnet": 2}


def test_the_code_paths_that_key_the_cache():
    """What the keys hash, read from the imports: the worker, loader, metrics and model code — not the
    statistics, MLflow code or the user-study package."""
    from harness.engine.cache import WORKER_MODULE, source_closure

    scoring = set(source_closure([WORKER_MODULE, "harness.data.loaders.bundled"]))
    assert {"harness.scoring.metrics", "harness.scoring.score", "harness.data.loaders.bundled",
            "harness.data.perturb", "harness.data.references", "harness.data.resize"} <= scoring
    learned = set(source_closure(["harness.methods.learned", "baselines.bargainnet"]))
    assert {"baselines.unet", "iph.layers", "harness.methods.highres", "harness.methods.checkpoint"} <= learned
    for names in (scoring, learned):
        assert not {n for n in names if n.startswith(("studies", "harness.tracking", "harness.scoring.stats",
                                                      "harness.engine.benchmark", "harness.commands"))}
