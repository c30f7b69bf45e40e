"""The method registry and the learned-method path of the engine (resize → network → the way up)."""

import hashlib

import numpy as np
import pytest
import torch

from harness.data.resize import resize_image, resize_mask
from harness.data.sample import Sample
from harness.data.suites import load_spec, open_suite
from harness.errors import HarnessError, UnknownNameError
from harness.methods.spec import MethodSpec, resolve_methods


def test_unknown_method_and_option_are_clear_errors():
    with pytest.raises(UnknownNameError, match="Did you mean: reinhard"):
        resolve_methods("reinhart")
    with pytest.raises(HarnessError, match="no option 'gamma'"):
        resolve_methods("lum-match:gamma=2")
    with pytest.raises(HarnessError, match="not key=value"):
        resolve_methods("lum-match:chroma")
    with pytest.raises(HarnessError, match="no checkpoint"):
        resolve_methods("iph:checkpoint=/nonexistent/iph.safetensors")


def test_options_are_the_registry_entry_s():
    """Which method takes which option is its registry entry's: every learned method has checkpoint and terms,
    a classical method's options are its function's keyword-only arguments, and a key the entry lacks is one
    line naming the method's options."""
    import inspect

    from harness.methods import registry
    from harness.methods.learned import VALUES

    for info in registry.BUILTIN.values():
        if info.kind == "learned":
            native = info.upsample == registry.NATIVE  # no way up, so no way-up options
            assert list(info.options)[:2] == (["checkpoint"] if native else ["checkpoint", "terms"]), info.name
            assert set(info.options) - {"checkpoint"} <= set(VALUES), info.name
        else:
            fn = registry.load(info.target)
            assert set(info.options) == {n for n, p in inspect.signature(fn).parameters.items()
                                         if p.kind == p.KEYWORD_ONLY}, info.name
    declared = {o for info in registry.BUILTIN.values() if info.kind == "learned" for o in info.options}
    assert set(VALUES) <= declared  # no option is read that no method has
    for text, line in [
        ("lum-match:gamma=2", "method 'lum-match' has no option 'gamma' (its options: chroma, mean_iters)"),
        ("reinhard:chroma=1", "method 'reinhard' has no option 'chroma' (its options: none)"),
        ("dovenet:r1=0.5", "method 'dovenet' has no option 'r1' (its options: checkpoint, terms, upsample)"),
        ("rainnet:term=4,blend=x", "method 'rainnet' has no options 'term', 'blend' (its options: checkpoint, "
                                   "terms, upsample, guide). Did you mean: terms?"),
    ]:
        with pytest.raises(HarnessError) as err:
            resolve_methods(text)
        assert str(err.value) == line
    with pytest.raises(HarnessError, match="terms must be one of"):
        resolve_methods("iph:terms=5")
    with pytest.raises(HarnessError, match="r2 must be a number"):
        resolve_methods("iph:r2=half")


def test_method_lists_split_options_from_methods():
    specs = resolve_methods("composite,lum-match:chroma=0.5,mean_iters=2,reinhard")
    assert [s.label for s in specs] == ["composite", "lum-match:chroma=0.5,mean_iters=2", "reinhard"]


@pytest.fixture(scope="module")
def tiny_iph(tmp_path_factory):
    from harness.methods.checkpoint import save_checkpoint
    from harness.methods.registry import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "iph_tiny"
    save_checkpoint(create_model("iph", "tiny"), path, stage=1, step=0, data={}, metrics={}, model_name="iph",
                    size="tiny")
    return path.with_suffix(".safetensors")


def test_learned_method_changes_only_the_foreground_at_full_resolution(tiny_iph):
    method = MethodSpec.parse(f"iph:checkpoint={tiny_iph}").build()
    sample = load_spec(open_suite("sample").specs[0])  # 512×512, run at 256² inside
    out = method.harmonize(sample)
    assert out.shape == sample.composite.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[~sample.fg], sample.composite[~sample.fg])
    assert np.abs(out[sample.fg] - sample.composite[sample.fg]).mean() > 1e-4


def test_blend_options_reach_the_model(tiny_iph):
    sample = load_spec(open_suite("sample").specs[0])
    plain = MethodSpec.parse(f"iph:checkpoint={tiny_iph}").build().harmonize(sample)
    same = MethodSpec.parse(f"iph:checkpoint={tiny_iph},r1=1,r2=0").build().harmonize(sample)
    blended = MethodSpec.parse(f"iph:checkpoint={tiny_iph},r1=0.5,r2=0.5").build().harmonize(sample)
    np.testing.assert_array_equal(plain, same)
    assert np.abs(blended - plain).max() > 0
    with pytest.raises(HarnessError, match="no option"):
        MethodSpec.parse(f"iph:checkpoint={tiny_iph},strength=2").build()


def test_a_relative_checkpoint_is_read_from_the_working_directory(tiny_iph, tmp_path, monkeypatch, capsys):
    """`iph:checkpoint=NAME` names a file where the user is (not inside the install folder), also when a Ray
    worker in another directory builds it; a missing one is named where it was looked for."""
    import os
    import shutil

    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    for suffix in (".safetensors", ".json"):
        shutil.copy(tiny_iph.with_suffix(suffix), tmp_path / f"mine{suffix}")
    spec = MethodSpec.parse("iph:checkpoint=mine.safetensors")
    assert spec.label == "iph:checkpoint=mine.safetensors"  # as typed: tables, --out folders, cache keys
    assert spec.checkpoint() == tmp_path / "mine.safetensors"
    monkeypatch.chdir(tmp_path.parent)  # where a worker might run: the spec still names the same file
    assert spec.checkpoint() == tmp_path / "mine.safetensors" and spec.available()
    monkeypatch.chdir(tmp_path)
    assert main(["run-benchmark", "--suite", "sample", "--limit", "1", "--methods", "iph:checkpoint=nope.safetensors",
                 "--no-mlflow"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"method 'iph:checkpoint=nope.safetensors': no checkpoint at {os.getcwd()}/nope.safetensors "
                        "(a relative path is read from the working directory)"), err


def test_fingerprint_follows_the_checkpoint_bytes(tiny_iph, tmp_path):
    """The cache key of a learned method changes with one flipped bit of its weights, and only then."""
    import shutil

    from harness.engine.cache import method_fingerprint

    copy = tmp_path / "copy.safetensors"
    shutil.copy(tiny_iph, copy)
    shutil.copy(tiny_iph.with_suffix(".json"), copy.with_suffix(".json"))
    spec = MethodSpec.parse(f"iph:checkpoint={copy}")
    a = method_fingerprint(spec)
    assert method_fingerprint(spec) == a
    data = bytearray(copy.read_bytes())
    data[-1] ^= 1
    copy.write_bytes(bytes(data))
    assert method_fingerprint(spec) != a
    data[-1] ^= 1
    copy.write_bytes(bytes(data))
    assert method_fingerprint(spec) == a


def test_official_dovenet_weights_load_through_the_method(tmp_path):
    """A full-size state dict in the official key layout, saved like the official code (torch.save), runs."""
    from harness.methods.registry import create_model

    torch.manual_seed(0)
    official = create_model("dovenet", "full").generator.state_dict()
    torch.save(official, tmp_path / "latest_net_G.pth")
    method = MethodSpec.parse(f"dovenet:checkpoint={tmp_path}").build()
    loaded = method.model.generator.state_dict()
    assert all(torch.equal(loaded[k], official[k]) for k in official)
    sample = load_spec(open_suite("sample").specs[-1])
    out = method.harmonize(sample)
    assert out.shape == sample.composite.shape and np.isfinite(out).all()
    # Dove-Net's test.py writes the generator's whole output (raw): at 256² that is what the method returns
    small = Sample("s", resize_image(sample.composite, 256), resize_mask(sample.fg_mask, 256),
                   resize_mask(sample.ref_mask, 256))
    t = lambda a: torch.from_numpy(np.ascontiguousarray((a[..., None] if a.ndim == 2 else a).transpose(2, 0, 1)))[None]
    with torch.no_grad():
        expected = method.model.generate(t(small.composite), t(small.fg_mask), t(small.ref_mask))
    np.testing.assert_array_equal(method.harmonize(small), expected[0].permute(1, 2, 0).numpy())
    assert not np.array_equal(method.harmonize(small)[~small.fg], small.composite[~small.fg])  # not composited


def test_checkpoint_from_the_mlflow_model_registry(tiny_iph, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from harness.tracking.store import get_or_create_experiment
    from harness.tracking.training import download_registered_checkpoint, register_checkpoint

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    store = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=store)
    run = client.create_run(get_or_create_experiment("training", store))
    for suffix in (".safetensors", ".json"):
        client.log_artifact(run.info.run_id, str(tiny_iph.with_suffix(suffix)), "checkpoint")
    register_checkpoint(client, run.info.run_id, "iph", 2, "checkpoint")
    spec = MethodSpec.parse("iph:checkpoint=models:/iph@stage2",
                            resolve=lambda ref: download_registered_checkpoint(ref, store))
    downloaded = spec.checkpoint()
    assert downloaded != tiny_iph and downloaded.is_relative_to(tmp_path / "cache" / "models" / "iph")
    assert hashlib.sha256(downloaded.read_bytes()).digest() == hashlib.sha256(tiny_iph.read_bytes()).digest()
    sample = load_spec(open_suite("sample").specs[0])
    np.testing.assert_array_equal(spec.build().harmonize(sample),
                                  MethodSpec.parse(f"iph:checkpoint={tiny_iph}").build().harmonize(sample))
    with pytest.raises(HarnessError, match="not in the model registry"):
        MethodSpec.parse("iph:checkpoint=models:/iph@stage9",
                         resolve=lambda ref: download_registered_checkpoint(ref, store))
    with pytest.raises(HarnessError, match="needs the model registry"):  # methods/ does not reach MLflow itself
        MethodSpec.parse("iph:checkpoint=models:/iph@stage2")
