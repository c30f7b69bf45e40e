"""A learned method's weights as bytes (harness/methods/weights.py) and the code Ray uploads (harness/cluster.py):
what the engine sends to workers on other machines, checked without a cluster (tests/test_engine_remote.py
runs them on one)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from harness.errors import HarnessError
from harness.methods.spec import MethodSpec
from harness.methods.weights import read_weights
from tests.processes import ROOT


def _tensors(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _official_issam(folder: Path) -> dict[str, torch.Tensor]:
    """An iSSAM state dict saved the authors' way (torch.save of the full-size network), as `folder`/issam256.pth."""
    from harness.methods.registry import create_model

    torch.manual_seed(1)
    state = create_model("issam", "full").state_dict()
    folder.mkdir(parents=True)
    torch.save(state, folder / "issam256.pth")
    return state


@pytest.mark.parametrize("layout", ["safetensors", "official folder", "official file"])
def test_weights_read_on_the_driver_load_where_the_files_are_not(tmp_path, layout):
    """Read, then the files moved away (as on a node that never had them): built from the bytes, the network
    holds exactly the tensors that were saved."""
    if layout == "safetensors":
        for part in ("safetensors", "json"):
            shutil.copy(ROOT / f"baselines/checkpoints/issam.{part}", tmp_path / f"mine.{part}")
        given = tmp_path / "mine.safetensors"
        from safetensors.torch import load_file

        saved = load_file(str(given))
    else:
        saved = _official_issam(tmp_path / "released")
        given = tmp_path / "released" if layout == "official folder" else tmp_path / "released" / "issam256.pth"
    spec = MethodSpec.parse(f"issam:checkpoint={given}")
    weights = spec.weights()
    assert {name for name, _ in weights.files} == (
        {"mine.safetensors", "mine.json"} if layout == "safetensors" else
        {"released/issam256.pth"} if layout == "official folder" else {"issam256.pth"})
    gone = tmp_path.with_name(tmp_path.name + "-gone")
    tmp_path.rename(gone)
    try:
        model = spec.build(weights).model
    finally:
        gone.rename(tmp_path)
    loaded = _tensors(model)
    assert set(loaded) == set(saved) and all(torch.equal(loaded[k], saved[k].to(loaded[k].dtype)) for k in saved)


def test_a_bad_checkpoint_sent_as_bytes_is_named_by_the_drivers_path(tmp_path):
    for part in ("safetensors", "json"):
        shutil.copy(ROOT / f"baselines/checkpoints/issam.{part}", tmp_path / f"mine.{part}")
    data = bytearray((tmp_path / "mine.safetensors").read_bytes())
    data[-1] ^= 0xFF  # one weight changed: its sha256 no longer matches the .json
    (tmp_path / "mine.safetensors").write_bytes(bytes(data))
    spec = MethodSpec.parse(f"issam:checkpoint={tmp_path / 'mine.safetensors'}")
    with pytest.raises(HarnessError) as err:
        spec.build(read_weights(tmp_path / "mine.safetensors"))
    assert str(err.value).startswith(f"{tmp_path / 'mine.safetensors'}: weights file does not match"), err.value
    assert "harness-weights-" not in str(err.value)


def test_a_missing_checkpoint_is_refused_on_the_driver(tmp_path):
    with pytest.raises(HarnessError, match="no checkpoint at"):
        MethodSpec.parse(f"issam:checkpoint={tmp_path / 'none.safetensors'}").weights()


def test_the_code_uploaded_to_a_cluster_is_the_projects_packages_without_weights_or_caches(tmp_path):
    """Zipped by Ray's own packaging, as `ray.init(runtime_env=…)` uploads it: every project package, its
    sources and assets, no checkpoint, no cache — a few MB, not the checkout."""
    from ray._private.runtime_env.packaging import create_package

    from harness.cluster import project_runtime_env

    env = project_runtime_env()
    assert [Path(p).name for p in env["py_modules"]] == ["harness", "iph", "baselines", "studies", "reports"]
    assert all(Path(p).parent == ROOT for p in env["py_modules"])  # this checkout's, what PYTHONPATH imports
    names, size = [], 0
    for i, folder in enumerate(env["py_modules"]):
        target = tmp_path / f"{i}.zip"
        create_package(folder, target, include_gitignore=True, include_parent_dir=True, excludes=env["excludes"])
        with zipfile.ZipFile(target) as z:
            names += z.namelist()
        size += target.stat().st_size
    assert "harness/cluster.py" in names and "iph/model.py" in names and "baselines/dovenet.py" in names
    assert "harness/data/assets/manifest.json" in names  # the bundled suite's masks travel with the code
    assert not [n for n in names if n.endswith((".safetensors", ".pth", ".pyc")) or "__pycache__" in n
                or "checkpoints" in n]
    assert size < 4 * 2**20, f"{size / 2**20:.1f} MB uploaded"
    # a package with bytecode and weights of its own (a checkout that ran): they stay behind, the code goes
    pkg = shutil.copytree(ROOT / "reports", tmp_path / "copy" / "reports")
    for junk in ("__pycache__/x.cpython-311.pyc", "checkpoints/x.safetensors", "sub/__pycache__/y.pyc"):
        (pkg / junk).parent.mkdir(parents=True, exist_ok=True)
        (pkg / junk).write_bytes(b"x")
    create_package(str(pkg), tmp_path / "copy.zip", include_gitignore=True, include_parent_dir=True,
                   excludes=env["excludes"])
    with zipfile.ZipFile(tmp_path / "copy.zip") as z:
        kept = z.namelist()
    assert "reports/__init__.py" in kept and not [n for n in kept if "pycache" in n or "checkpoints" in n], kept
