"""Every command's config object, shared by the CLI and the Python API (lm-evaluation-harness style):

    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark
    result = run_benchmark(BenchmarkConfig(suite="sample", methods=["composite", "reinhard"], limit=4))

A config is a dataclass built from option groups (harness/options.py: suite, compute, bootstrap, tracking,
cache; harness/scoring/protocols.py: protocol) plus the command's own fields. Each field describes its flag,
so `harness COMMAND --help`, the defaults and the checks come from here, once: the same one-line errors
whether a value came from a flag or from Python. Domain names (protocols, reference modes, study designs,
loss presets) are defined in their own packages and only read here.

    evaluation.py   run-benchmark, run-robustness, score, export-suite, run-efficiency
    training.py     train, run-ablation / sweep (the experiments)
    studies.py      collect-votes, analyze-votes
    reporting.py    report, ui
    (build-intharmony's IntHarmonyConfig lives with its builder, harness/data/intharmony.py: the intharmony
    suite builds its bundled split with it)
"""

from harness.config.evaluation import (BenchmarkConfig, EfficiencyConfig, ExportConfig, RobustnessConfig,
                                       ScoreConfig)
from harness.config.reporting import ReportConfig, UIConfig
from harness.config.studies import CollectConfig, VotesConfig
from harness.config.training import STAGE_LR, ExperimentConfig, TrainConfig
from harness.data.intharmony_config import IntHarmonyConfig
from harness.options import add_arguments, default_of, from_args

__all__ = ["STAGE_LR", "BenchmarkConfig", "CollectConfig", "EfficiencyConfig", "ExperimentConfig", "ExportConfig", "IntHarmonyConfig",
           "ReportConfig", "RobustnessConfig", "ScoreConfig", "TrainConfig", "UIConfig", "VotesConfig",
           "add_arguments", "default_of", "from_args"]
