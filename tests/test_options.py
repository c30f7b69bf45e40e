"""Config fields are the flags: every command's flags come from its config's fields (harness/options.py), so
defaults, checks and names cannot drift apart between the CLI and the Python API."""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass

import pytest

from harness.cli import COMMANDS, build_parser, main
from harness.config import (BenchmarkConfig, CollectConfig, EfficiencyConfig, ExperimentConfig, ExportConfig,
                            IntHarmonyConfig, ReportConfig, RobustnessConfig, ScoreConfig, TrainConfig, UIConfig,
                            VotesConfig)
from harness.errors import HarnessError
from harness.options import KEY, RUN, Options, add_arguments, flag_of, from_args, option, positive

# command → its config and the fields it needs on the command line
CONFIGS = {"run-benchmark": BenchmarkConfig, "run-robustness": RobustnessConfig, "score": ScoreConfig,
           "export-suite": ExportConfig, "train": TrainConfig, "run-ablation": ExperimentConfig,
           "sweep": ExperimentConfig, "analyze-votes": VotesConfig, "collect-votes": CollectConfig,
           "build-intharmony": IntHarmonyConfig, "report": ReportConfig, "ui": UIConfig,
           "run-efficiency": EfficiencyConfig}
SKIPPED = {"run-ablation": {"method", "loss", "grid"}, "sweep": {"variants"}}


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _flags(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    out = {}
    for a in p._actions:
        for s in a.option_strings or [a.dest]:
            out[s] = a
    return out


def test_every_config_has_a_command():
    assert set(CONFIGS) <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(CONFIGS))
def test_every_cli_field_is_exactly_one_flag_with_the_config_default(command):
    cls, parser = CONFIGS[command], _subparser(command)
    flags = _flags(parser)
    for f in dataclasses.fields(cls):
        opt = f.metadata.get(KEY)
        if opt is None or not opt.cli or f.name in SKIPPED.get(command, ()):
            continue
        flag = f.name if opt.positional else flag_of(f)
        assert flag in flags, f"{command}: {f.name} has no flag {flag}"
        action = flags[flag]
        assert action.dest == f.name
        if f.default is not dataclasses.MISSING and not opt.repeat:
            assert action.default == f.default, (command, f.name)
    # and nothing else is a flag but the command's own switches
    own = {"-h", "--help", "-v", "--verbose", "--json", "--dry-run", "--no-serve", "--export"}
    fields_flags = {f.name if (o := f.metadata.get(KEY)).positional else flag_of(f)
                    for f in dataclasses.fields(cls) if f.metadata.get(KEY) and f.metadata[KEY].cli}
    assert set(flags) - fields_flags - own == set(), command


def test_from_args_with_no_flags_is_the_python_default():
    args = _subparser("run-benchmark").parse_args([])
    assert from_args(BenchmarkConfig, args) == BenchmarkConfig()
    args = _subparser("train").parse_args(["--method", "iph"])
    assert from_args(TrainConfig, args) == TrainConfig(method="iph")


@pytest.mark.parametrize("argv, python, needle", [
    (["run-benchmark", "--limit", "0"], lambda: BenchmarkConfig(limit=0), "--limit must be a positive count"),
    (["run-benchmark", "--bootstrap", "0"], lambda: BenchmarkConfig(bootstrap=0), "--bootstrap must be an integer ≥ 1"),
    (["run-robustness", "--references", "sky"], lambda: RobustnessConfig(references="sky"), "reference candidate"),
    (["score", "--suite", "sample", "--pred-dir", ".", "--resolution", "full"],
     lambda: ScoreConfig(suite="sample", pred_dir=".", resolution="full"), "now called --resolution native"),
    (["train", "--method", "iph", "--stage", "4"], lambda: TrainConfig(method="iph", stage=4), "--stage must be 1, 2 or 3"),
    (["train", "--method", "iph", "--resolution", "16"], lambda: TrainConfig(method="iph", resolution=16),
     "--resolution must be at least 32 px"),
    (["ui", "--port", "70000"], lambda: UIConfig(port=70000), "--port must be 0"),
])
def test_the_same_one_line_error_from_a_flag_and_from_python(capsys, argv, python, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    with pytest.raises(HarnessError, match=needle.replace("(", r"\(")):
        python()


def test_run_robustness_takes_the_protocol_options_of_run_benchmark():
    """One definition of --protocol/--resolution: run-robustness parses what run-benchmark does."""
    args = _subparser("run-robustness").parse_args(["--protocol", "harness", "--resolution", "256"])
    cfg = from_args(RobustnessConfig, args, mlflow=False)
    assert (cfg.protocol, cfg.resolution, cfg.protocol_key) == ("harness", "256", "harness:256")
    assert from_args(RobustnessConfig, _subparser("run-robustness").parse_args(["--protocol", "idih"])
                     ).protocol_key == "idih:256"


def test_a_toy_config_generates_its_flags_and_checks():
    """The machinery on a config written here: names, negated switches, repeatable readers, checks."""
    @dataclass(kw_only=True)
    class Toy(Options):
        count: int = option(3, group=RUN, check=positive, help="how many")
        name: str | None = option(None, help="a name")
        ratio: float | None = option(None, help="a ratio")
        colour: str = option("red", choices=("red", "blue"), help="a colour")
        fancy: bool = option(True, help="plain output")
        pairs: dict = option(factory=dict, repeat=True, flag="--pair",
                             parse=lambda items: dict(i.split("=") for i in items), help="K=V")

    p = argparse.ArgumentParser()
    groups = add_arguments(p, Toy)
    assert list(groups) == [RUN]
    args = p.parse_args(["--count", "5", "--ratio", "0.5", "--no-fancy", "--pair", "a=1", "--pair", "b=2"])
    toy = from_args(Toy, args)
    assert toy == Toy(count=5, ratio=0.5, fancy=False, pairs={"a": "1", "b": "2"})
    assert isinstance(toy.ratio, float) and toy.name is None and toy.colour == "red"
    with pytest.raises(HarnessError, match="--count must be an integer ≥ 1, not 0"):
        Toy(count=0)
    with pytest.raises(HarnessError, match="--colour must be red or blue, not 'green'"):
        Toy(colour="green")
    with pytest.raises(SystemExit):
        p.parse_args(["--colour", "green"])


def test_user_paths_are_made_absolute_against_the_working_directory(tmp_path, monkeypatch):
    """What a config carries to Ray workers (they run in other directories: Ray Train's and Tune's in folders
    of their own) and into MLflow: the caller's relative paths made absolute, from flags as from Python —
    defaults such as train's runs/<method>-stage<K> and ./.harness-cache included; URIs left alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_CACHE", raising=False)
    here = os.getcwd()
    bench = from_args(BenchmarkConfig, _subparser("run-benchmark").parse_args(
        ["--suite", "folder", "--data-root", "my_data", "--out", "preds/"]))
    assert (bench.data_root, bench.out, bench.cache_dir) == (f"{here}/my_data", f"{here}/preds",
                                                             f"{here}/.harness-cache")
    train = TrainConfig(method="iph", init="runs/a/iph-stage1.json", export="~/x", suite="folder",
                        data_root="../pairs", tracking_uri="sqlite:///mlflow.db")
    assert train.out == f"{here}/runs/iph-stage1"  # the default, relative in the help
    assert train.init == f"{here}/runs/a/iph-stage1.json" and train.export == os.path.expanduser("~/x")
    assert train.data_root == os.path.join(os.path.dirname(here), "pairs")
    assert train.tracking_uri == f"sqlite:///{here}/mlflow.db"  # sqlite:////abs/mlflow.db: four slashes
    kept = TrainConfig(method="iph", init="models:/iph@stage1", tracking_uri="http://mlflow:5000")
    assert (kept.init, kept.tracking_uri) == ("models:/iph@stage1", "http://mlflow:5000")
    assert TrainConfig(**train.to_dict()) == train  # rebuilt in a worker, elsewhere: the same paths
    assert ExperimentConfig(suite="sample").out == f"{here}/runs/run-ablation-sample-cpu"
    ih = IntHarmonyConfig(annotations="A.json", images="D", out="OUT", luts="luts")
    assert (ih.annotations, ih.images, ih.out, ih.luts) == tuple(f"{here}/{p}" for p in ("A.json", "D", "OUT",
                                                                                           "luts"))
    assert RobustnessConfig(data_root="r").data_root == f"{here}/r"


def test_resolution_help_and_the_peer_protocols_agree():
    """--resolution 256 with bcmi or idih is what those protocols do anyway: accepted, and the help says so;
    native is refused with them."""
    shown = " ".join(_subparser("score").format_help().split())
    assert "`256` is accepted with them and changes nothing, `native` is refused" in shown
    for protocol in ("bcmi", "idih"):
        cfg = ScoreConfig(suite="sample", pred_dir=".", protocol=protocol, resolution="256")
        assert cfg.protocol_key == f"{protocol}:256" == ScoreConfig(suite="sample", pred_dir=".",
                                                                    protocol=protocol).protocol_key
        with pytest.raises(HarnessError, match="applies to --protocol harness only"):
            ScoreConfig(suite="sample", pred_dir=".", protocol=protocol, resolution="native")
