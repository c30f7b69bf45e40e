"""`harness train` end to end on Ray Train (2 CPU workers over gloo), MLflow in tmp_path: checkpoints, an
interrupted run resumed to the same weights, the model registry alias, relative paths and the progress bar; and
its one-line user errors.

Ray Train has ~27 s of fixed overhead per fit, so this file runs exactly two fits (marked slow)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from harness.cli import main


def _tensors(path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_two_worker_run_checkpoints_resumes_and_registers(ray_local, tmp_path, capsys, monkeypatch):
    from mlflow.tracking import MlflowClient

    from harness.config import TrainConfig
    from harness.methods.checkpoint import load_checkpoint
    from harness.tracking.training import download_registered_checkpoint
    from harness.train.driver import train

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "run"
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))  # registry downloads land here
    # relative paths, from this directory: Ray Train's workers run in folders of their own (and `ray_local`'s
    # were started from the test session's working directory), so every path must be made absolute first
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--method", "iph", "--stage", "1", "--steps", "4", "--checkpoint-every", "2",
            "--log-every", "2", "--resolution", "64", "--batch-size", "2", "--workers", "2",
            "--out", "run", "--tracking-uri", "sqlite:///mlflow.db"]
    assert main(argv) == 0
    printed, err = capsys.readouterr()
    final = out / "iph-stage1.safetensors"
    assert f"checkpoint: {final}" in printed
    # the progress bar on stderr: steps of the total, rank 0's loss, the time left (tqdm's [elapsed<left])
    assert "4/4" in err and "step" in err and "loss=" in err and "<" in err, err
    run_id = json.loads((out / "run.json").read_text())["mlflow_run_id"]
    assert f"mlflow run: {run_id}" in printed
    uninterrupted = _tensors(final)
    model, meta = load_checkpoint(final)
    assert (meta["model"], meta["stage"], meta["step"]) == ("iph", 1, 4)
    assert meta["data"]["kind"] == "relit"  # the default generator
    assert meta["overrides"]["channels"] == [8, 16, 16, 32]  # the whole tiny IPHConfig is recorded
    # every checkpoint persisted as a Ray Train checkpoint in the run's storage (by default --out itself)
    stored = out / "ray"
    step2 = next(stored.glob("*/step_0000002"))
    assert {p.name for p in step2.iterdir()} >= {"step_0000002.safetensors", "step_0000002.json",
                                                 "step_0000002.state.safetensors", "step_0000002.state.json",
                                                 "train.log"}
    assert not (out / "checkpoints").exists()  # the workers wrote nothing in --out

    # Interrupt after step 2: everything written later disappears, then --resume finishes the run.
    for p in stored.glob("*/step_0000004"):
        shutil.rmtree(p)
    for p in [final, final.with_suffix(".json")]:
        p.unlink()
    init_weights = _tensors(step2 / "step_0000002.safetensors")
    assert any(not torch.equal(init_weights[k], v) for k, v in uninterrupted.items())
    cfg = TrainConfig(method="iph", stage=1, steps=4, checkpoint_every=2, log_every=2, resolution=64,
                      batch_size=2, workers=2, out=str(out), tracking_uri=uri, resume=True)
    result = train(cfg)
    assert result.run_id == run_id  # the same MLflow run continues
    resumed = _tensors(result.checkpoint)
    assert "resumed at step 2" in (out / "train.log").read_text()
    assert set(resumed) == set(uninterrupted)
    for k, v in uninterrupted.items():  # same data order, same per-step seeds: the same weights
        torch.testing.assert_close(resumed[k], v, rtol=0, atol=1e-6, msg=k)

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params["method"] == "iph"
    steps = sorted({m.step for m in client.get_metric_history(run_id, "train/harmonization")})
    assert steps == [2, 4]
    assert str(client.get_model_version_by_alias("iph", "stage1").version) == result.model_version == "2"
    registered = download_registered_checkpoint("models:/iph@stage1", uri)
    reg_model, reg_meta = load_checkpoint(registered)
    assert reg_meta["step"] == 4
    for k, v in reg_model.state_dict().items():
        assert torch.equal(v, resumed[k])


@pytest.mark.parametrize("argv, needle", [
    (["--method", "ipj"], "Did you mean: iph"),
    (["--method", "iph", "--stage", "4"], "--stage must be 1, 2 or 3"),
    (["--method", "iph", "--size", "smal"], "unknown IPH size 'smal'. Did you mean: small?"),
    (["--method", "rainnet", "--size", "huge"], "unknown size 'huge'"),  # each family's SIZES, named
    (["--method", "composite"], "classical method, not a trainable network"),
    (["--method", "dovenet", "--resolution", "96"], "multiple of 64"),
    (["--method", "iph", "--resume"], "no complete checkpoint"),
    (["--method", "iph", "--init", "nowhere/x.safetensors"], "not found"),
    (["--method", "iph", "--loss-option", "alpah=0"], "Did you mean: alpha"),
    (["--method", "iph", "--loss-option", "alpha=much"], "expected a float"),
    (["--method", "dovenet", "--loss", "style"], "'dovenet' has none"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, tmp_path, capsys):
    code = main(["train", *argv, "--out", str(tmp_path / "o"), "--no-mlflow"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and len(err.splitlines()) == 1, err


def test_a_workers_bad_input_is_the_one_line_error_not_rays_wrapper():
    """A sample that cannot be read fails inside a training worker; Ray Train hands the driver a WorkerGroupError
    holding rank 0's exception wrapped with its traceback — built here with Ray's own classes."""
    from ray.train import WorkerGroupError
    from ray.train.v2._internal.exceptions import UserExceptionWithTraceback

    from harness.errors import InputError
    from harness.train.driver import worker_input_error

    bad = InputError("d/composite/a.png", "cannot be read as an image (UnidentifiedImageError)")
    wrapped = WorkerGroupError("[Rank 0 Error Snippet]: …", {0: UserExceptionWithTraceback(bad, "Traceback …")})
    assert worker_input_error(wrapped) is bad
    assert str(worker_input_error(wrapped)) == "d/composite/a.png: cannot be read as an image (UnidentifiedImageError)"
    other = WorkerGroupError("…", {0: UserExceptionWithTraceback(RuntimeError("CUDA out of memory"), "…")})
    assert worker_input_error(other) is None  # not the user's input: Ray's error (and traceback) stays
