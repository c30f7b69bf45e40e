"""run-benchmark on a real two-node Ray cluster whose worker node cannot see the driver's folders.

Both nodes run on 127.0.0.1, started with `ray start` (tests/processes.py: hidden_folder_cluster): the head has
no CPUs, so every task runs on the other node, whose processes live in a mount namespace of their own with an
empty tmpfs over the driver's folder (the data, the user's weights, --out, the cache) and over the checkout and
wherever the environment has the project installed (an editable install's checkout) — only the virtual
environment's dependencies stay. So the worker imports the project only from the job's runtime environment,
gets the user's weights only as bytes, and a path of the driver's given to it fails — as on a second machine.

- a `checkpoint=FILE` method whose file only the driver sees runs on a `--data-root` both nodes see, and its
  numbers equal a local run's;
- a `--data-root` only the driver sees is refused with one line naming it and what to use instead, exit 2,
  before any work (nothing written to --out);
- a smoke `run-ablation` whose `--storage` both nodes see trains its trials on the worker node and evaluates
  them; without `--storage` (the default: under the driver's --out) it is refused with the same kind of line;
- `harness train --init FILE` with a file only the driver sees starts from exactly that file's weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.processes import ROOT, TIMEOUT, cli, harness_json, hidden_folder_cluster, run_harness, start_harness

pytestmark = [pytest.mark.slow, pytest.mark.cluster]  # make test-cluster

VENV = Path(sys.prefix)
METRICS = ["mse", "fmse", "psnr", "fpsnr", "ssim", "fssim", "de2000", "de76"]


def _namespaces_allowed() -> str | None:
    """Why a private mount namespace with a tmpfs cannot be made here (None when it can)."""
    if shutil.which("unshare") is None:
        return "no `unshare` on this machine"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --make-rprivate / && mount -t tmpfs tmpfs /mnt"],
                           capture_output=True, text=True)
    return None if probe.returncode == 0 else f"unshare -m / mount not permitted: {probe.stderr.strip()}"


INSTALLED = """
import importlib.util, json
found = [importlib.util.find_spec(n) for n in ("harness", "iph", "baselines", "studies", "reports")]
print(json.dumps([list(s.submodule_search_locations)[0] for s in found if s and s.submodule_search_locations]))
"""


def _code_folders() -> list[Path]:
    """Every folder a worker could import the project from without the job's runtime environment: this
    checkout, and where this environment has the packages installed (an editable install points at some
    checkout) — asked of a Python without PYTHONPATH, started elsewhere."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = subprocess.run([sys.executable, "-c", INSTALLED], env=env, cwd="/", capture_output=True, text=True,
                           check=True).stdout
    folders = [ROOT] + [Path(p) for p in json.loads(found) if not Path(p).is_relative_to(ROOT)]
    return list(dict.fromkeys(folders))


@pytest.fixture(scope="module")
def remote():
    why = _namespaces_allowed()
    if why:
        pytest.skip(why)
    code = _code_folders()
    base = Path(tempfile.mkdtemp(prefix="hr-", dir="/tmp"))  # short: Ray's socket paths are limited
    driver = base / "d"  # the driver's folder: data, weights, outputs, cache
    (driver / "weights").mkdir(parents=True)
    for part in ("safetensors", "json"):
        shutil.copy(ROOT / f"baselines/checkpoints/dovenet.{part}", driver / "weights" / f"dovenet.{part}")
    cli("export-suite", "--suite", "sample", "--limit", "2", "--out", str(base / "shared"))  # both nodes see it
    shutil.copytree(base / "shared", driver / "data")  # only the driver sees it
    try:
        keep = [VENV] if any(VENV.is_relative_to(c) for c in code) else []  # the dependencies stay
        with hidden_folder_cluster(base, hide=[driver, *code], keep=keep) as (address, nodes), \
                pytest.MonkeyPatch.context() as mp:
            # the drivers (harness subprocesses, which copy this environment) join a cluster without token
            # authentication: an earlier ray.init in this process leaves RAY_AUTH_MODE=token in os.environ, and a
            # driver with it had its TrainController cancelled before it ran
            mp.setenv("RAY_AUTH_MODE", "disabled")
            yield address, nodes, driver
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run(driver: Path, name: str, data: Path, *extra: str) -> list[str]:
    return ["run-benchmark", "--suite", "folder", "--data-root", str(data), "--no-mlflow", "--json",
            "--bootstrap", "50", "--methods", f"dovenet:checkpoint={driver / 'weights' / 'dovenet.safetensors'}",
            "--cache-dir", str(driver / f"cache-{name}"), "--out", str(driver / f"out-{name}"), *extra]


def test_user_weights_and_code_reach_a_node_without_the_drivers_files(remote):
    address, nodes, driver = remote
    assert len(nodes) == 2 and all(n["ip"] == "127.0.0.1" and n["alive"] for n in nodes), nodes
    assert sorted(n["cpus"] for n in nodes) == [0, 2], nodes  # every task runs on the worker node

    shared = driver.parent / "shared"  # a data root both nodes see passes the check
    local_run = start_harness(*_run(driver, "local", shared, "--num-cpus", "1"))  # meanwhile, the same run locally
    res = harness_json(*_run(driver, "remote", shared, "--ray-address", address))
    assert res["ray"]["nodes"] == 2 and res["ray"]["cpus"] == 2, res["ray"]
    out, err = local_run.communicate(timeout=TIMEOUT)
    assert local_run.returncode == 0, err
    local = json.loads(out)
    assert local["ray"]["nodes"] == 1
    remote_rows = {r["id"]: r for r in res["per_image"]}
    local_rows = {r["id"]: r for r in local["per_image"]}
    assert sorted(remote_rows) == sorted(local_rows) and len(remote_rows) == 2
    for sid, row in local_rows.items():
        assert {m: remote_rows[sid][m] for m in METRICS} == {m: row[m] for m in METRICS}, sid
    # the driver wrote the predictions (the worker could not have: the folder is not on its node)
    assert len(list((driver / "out-remote").rglob("*.png"))) == 2


def test_a_data_root_only_the_driver_sees_is_refused_before_any_work(remote):
    address, _, driver = remote
    proc = run_harness(*_run(driver, "refused", driver / "data", "--ray-address", address))
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"error: --data-root {driver / 'data'}: Ray node 127.0.0.1 (" in err, err
    assert "does not see the same folder" in err and "--data-root s3://" in err and "NFS" in err, err
    assert proc.stdout == "" and not (driver / "out-refused").exists(), "work started before the refusal"


def _ablation(driver: Path, name: str, *extra: str) -> list[str]:
    return ["run-ablation", "--suite", "folder", "--data-root", str(driver.parent / "shared"), "--budget", "smoke",
            "--seeds", "1", "--variants", "hnet,all", "--references", "none", "--bootstrap", "50", "--no-mlflow",
            "--no-progress", "--json", "--cache-dir", str(driver / f"cache-{name}"), "--out", str(driver / name),
            *extra]


def test_an_ablation_persists_through_storage_both_nodes_see(remote):
    address, _, driver = remote
    storage = driver.parent / "shared" / "storage"  # like an NFS mount: the same folder on both nodes
    doc = harness_json(*_ablation(driver, "abl", "--storage", str(storage), "--ray-address", address))
    assert [v["name"] for v in doc["variants"]] == ["hnet", "all"] and doc["missing"] == [], doc
    assert all(v["seeds"] == [0] and {"fmse", "psnr"} <= set(v["metrics"]) for v in doc["variants"]), doc
    trials = storage / "abl" / "tune" / "trials"  # the trials' Tune checkpoints, written by the worker node
    done = sorted(p.parent.parent.name for p in trials.glob("*/checkpoint_*/done.json"))
    assert done == ["00-hnet-s0", "01-all-s0"], done
    for trial in done:  # the driver downloaded each final model from the storage into its --out
        assert (driver / "abl" / "trials" / trial / "stage2" / "iph-stage2.safetensors").is_file()

    proc = run_harness(*_ablation(driver, "abl-refused", "--ray-address", address))
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"error: --out {driver / 'abl-refused'}: Ray node 127.0.0.1 (" in err, err
    assert "--storage s3://" in err and "NFS" in err, err
    assert proc.stdout == "" and not any((driver / "abl-refused").rglob("*.safetensors")), "trained before refusing"


def test_train_init_reaches_a_node_without_the_drivers_file(remote):
    """--init names a file only the driver has; the worker starts from its weights exactly (a learning rate of
    1e-30 leaves every weight where it started: an Adam step moves a weight by about the learning rate)."""
    import torch
    from safetensors.torch import load_file

    address, _, driver = remote
    init = driver / "weights" / "iph-init.safetensors"
    for part in ("safetensors", "json"):  # the shipped IPH (size small, stage 2)
        shutil.copy(ROOT / f"iph/checkpoints/iph.{part}", init.with_suffix(f".{part}"))
    out = driver / "train"
    proc = run_harness("train", "--method", "iph", "--size", "small", "--stage", "2", "--init", str(init),
                       "--lr", "1e-30", "--steps", "2", "--batch-size", "1", "--resolution", "64", "--workers", "1",
                       "--cpus-per-worker", "1", "--no-mlflow", "--no-progress", "--out", str(out),
                       "--storage", str(driver.parent / "shared" / "storage"), "--ray-address", address)
    assert proc.returncode == 0, proc.stderr
    trained, start = load_file(str(out / "iph-stage2.safetensors")), load_file(str(init))
    assert trained.keys() == start.keys()
    for k, v in start.items():
        torch.testing.assert_close(trained[k], v, rtol=0, atol=1e-20, msg=k)
