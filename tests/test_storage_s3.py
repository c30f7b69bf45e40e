"""--storage and s3:// suites against S3 emulated on 127.0.0.1 (moto's server mode, in this process): locations
resolve as pyarrow's own `FileSystem.from_uri` does; `harness train` and a smoke `run-ablation` persist only
into the bucket (and resume from it); `run-benchmark --data-root s3://…` scores a suite read from the bucket
exactly as the same suite read from its folder; a bad location is one line and exit 2.

One Ray for the module (`ray_local`); its workers get dummy credentials and NOT the endpoint: every location
they read carries its store with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.processes import cli_json, free_port, one_line_error

BUCKET = "harness-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="module")
def ray_worker_env() -> dict[str, str]:
    return dict(CREDENTIALS)  # set in this process too while the module runs (tests/processes.py local_ray)


@pytest.fixture(scope="module")
def s3(ray_worker_env):
    """A moto S3 server on 127.0.0.1 (any free port) with one empty bucket; its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer
    from pyarrow import fs as pafs

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        endpoint = f"http://127.0.0.1:{port}"
        with pytest.MonkeyPatch.context() as mp:
            for k, v in CREDENTIALS.items():
                mp.setenv(k, v)
            mp.delenv("AWS_ENDPOINT_URL", raising=False)
            pafs.S3FileSystem(endpoint_override=endpoint, region="us-east-1",
                              allow_bucket_creation=True).create_dir(BUCKET)
            yield endpoint
    finally:
        server.stop()


def _objects(endpoint: str, prefix: str) -> dict[str, int]:
    """{key under the prefix: size} — read with boto3, independently of pyarrow."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix):]: o["Size"] for page in pages for o in page.get("Contents", [])}


def _object(endpoint: str, key: str) -> bytes:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").get_object(
        Bucket=BUCKET, Key=key)["Body"].read()


# --- locations ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("uri", [
    "s3://bucket/a/b?region=eu-west-1&endpoint_override=http://127.0.0.1:9",
    "s3://bucket?region=us-east-2&endpoint_override=127.0.0.1:9&scheme=http",
    "gs://bucket/prefix/x",
    "gs://bucket/prefix/x?scheme=http&endpoint_override=127.0.0.1:9",
    "file:///tmp/runs/x",
    "/tmp/runs/x",
])
def test_locations_resolve_as_pyarrow_does(uri):
    from pyarrow.fs import FileSystem

    from harness.storage import resolve

    fs, path = resolve(uri)
    want_fs, want_path = FileSystem.from_uri(uri)
    assert path == want_path and type(fs) is type(want_fs) and fs.equals(want_fs), (uri, path, want_path)


def test_endpoint_and_environment_go_into_the_location(monkeypatch):
    from pyarrow.fs import FileSystem

    from harness.storage import join, locate, resolve, run_location

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:7000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    # the flag wins over the environment; the store travels with every file of it
    loc = join(locate("s3://b/suite", "http://127.0.0.1:9000"), "composite", "x.png")
    fs, path = resolve(loc)
    want = FileSystem.from_uri("s3://b/suite/composite/x.png?endpoint_override=http://127.0.0.1:9000"
                               "&region=eu-west-3")
    assert (path, fs.equals(want[0])) == (want[1], True)
    assert resolve(locate("s3://b/p"))[0].equals(
        FileSystem.from_uri("s3://b/p?endpoint_override=http://127.0.0.1:7000&region=eu-west-3")[0])
    assert run_location(None, None, "runs/x") == str(Path("runs/x").resolve())  # by default: --out itself
    assert run_location("s3://b/p", None, "/tmp/runs/x").startswith("s3://b/p/x?")


def test_bad_locations_are_one_line_and_exit_2(s3, tmp_path, capsys):
    train = ["train", "--method", "iph", "--steps", "1", "--no-mlflow", "--out", str(tmp_path / "o")]
    one_line_error(capsys, [*train, "--storage", "ftp://host/x"], "--storage ftp://host/x: unknown scheme")
    one_line_error(capsys, [*train, "--storage", "s3://"], "no bucket named")
    one_line_error(capsys, [*train, "--storage", "s3://b/x", "--storage-endpoint", "127.0.0.1:9"],
                   "--storage-endpoint must be an http:// or https:// address")
    one_line_error(capsys, [*train, "--storage", "s3://no-such-bucket/x", "--storage-endpoint", s3],
                   "--storage s3://no-such-bucket/x: the bucket 'no-such-bucket' does not exist")
    dead = f"http://127.0.0.1:{free_port()}"
    one_line_error(capsys, [*train, "--storage", f"s3://{BUCKET}/x", "--storage-endpoint", dead],
                   f"--storage s3://{BUCKET}/x: cannot reach the store")
    one_line_error(capsys, ["run-ablation", "--suite", "sample", "--budget", "smoke", "--no-mlflow", "--out",
                            str(tmp_path / "e"), "--storage", f"s3://{BUCKET}/x", "--storage-endpoint", dead],
                   "cannot reach the store")
    one_line_error(capsys, ["run-benchmark", "--suite", "folder", "--data-root",
                            f"s3://no-such-bucket/suite?endpoint_override={s3}", "--no-mlflow"],
                   "s3://no-such-bucket/suite: the bucket 'no-such-bucket' does not exist")
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()  # caught before any work


def test_an_iharmony4_root_in_the_bucket_reads_as_its_folder(s3, tmp_path):
    """The official iHarmony4 layout uploaded as it is: the same samples, ids, subsets and pixels as the folder
    (the store read through boto3's upload, the folder through the file system)."""
    import boto3
    import numpy as np

    from harness.data.suites import load_spec, open_suite, spec_content_hash
    from harness.storage import locate
    from tests.helpers import write_iharmony4_tree

    write_iharmony4_tree(tmp_path / "ih4")
    client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1")
    for f in (tmp_path / "ih4").rglob("*"):
        if f.is_file():
            client.upload_file(str(f), BUCKET, f"ih4/{f.relative_to(tmp_path / 'ih4')}")
    local = open_suite("iharmony4", str(tmp_path / "ih4"))
    remote = open_suite("iharmony4", locate(f"s3://{BUCKET}/ih4", s3))
    assert remote.ids == local.ids and len(local.ids) >= 3 and remote.source == f"iharmony4:s3://{BUCKET}/ih4"
    for a, b in zip(local.specs, remote.specs):
        assert b.args["composite"].startswith(f"s3://{BUCKET}/ih4/") and "endpoint_override" in b.args["mask"]
        x, y = load_spec(a), load_spec(b)
        assert x.meta["subset"] == y.meta["subset"]
        for field in ("composite", "fg", "ref", "real"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
        assert spec_content_hash(a) == spec_content_hash(b)  # the same bytes: one cache for both
    client.delete_object(Bucket=BUCKET, Key=f"ih4/{local.ids[0].split('/')[0]}/masks/"
                         f"{'_'.join(local.ids[0].split('/')[1].split('_')[:2])}.png")
    with pytest.raises(Exception, match="file not found"):
        load_spec(remote.specs[0])


# --- end to end -----------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.cluster  # make test-cluster
def test_train_persists_only_into_the_bucket(ray_local, s3, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--method", "iph", "--steps", "2", "--checkpoint-every", "1", "--log-every", "1",
                 "--resolution", "64", "--batch-size", "2", "--workers", "1", "--no-mlflow", "--no-progress",
                 "--out", str(out), "--storage", f"s3://{BUCKET}/train", "--storage-endpoint", s3]) == 0
    stored = _objects(s3, "train/run/")
    steps = {k.split("/")[2] for k in stored if k.startswith("ray/") and "/step_" in k}
    assert steps == {"step_0000001", "step_0000002"}, sorted(stored)
    final = next(k for k in stored if k.endswith("/step_0000002/iph-stage1.safetensors"))
    assert _object(s3, "train/run/" + final) == (out / "iph-stage1.safetensors").read_bytes()  # downloaded
    assert "run.json" in stored and "step 2 " in (out / "train.log").read_text()
    # on this machine only what the user asked for: the final model, its log and run.json — no checkpoints
    assert sorted(p.name for p in out.iterdir()) == ["iph-stage1.json", "iph-stage1.safetensors", "run.json",
                                                      "train.log"]
    capsys.readouterr()


def _ablation(out: Path, cache: Path, *extra: str) -> list[str]:
    return ["run-ablation", "--suite", "sample", "--budget", "smoke", "--variants", "hnet", "--seeds", "1",
            "--limit", "1", "--references", "none", "--bootstrap", "100", "--no-mlflow", "--no-progress",
            "--out", str(out), "--cache-dir", str(cache), "--json", *extra]


@pytest.mark.slow
@pytest.mark.cluster  # make test-cluster
def test_ablation_on_s3_matches_local_and_resumes_from_the_bucket(ray_local, s3, tmp_path):
    storage = ["--storage", f"s3://{BUCKET}/exps", "--storage-endpoint", s3]
    remote = cli_json(*_ablation(tmp_path / "exp", tmp_path / "cache-s3", *storage))
    local = cli_json(*_ablation(tmp_path / "local", tmp_path / "cache-local"))
    stored = _objects(s3, "exps/exp/")
    assert any(k.startswith("tune/trials/00-hnet-s0/checkpoint_") and k.endswith("/done.json") for k in stored)
    assert not (tmp_path / "exp" / "tune").exists()  # Tune's state and the trials' checkpoints: the bucket only
    assert (tmp_path / "local" / "tune" / "trials" / "00-hnet-s0").is_dir()  # by default: --out
    # the same table: same variants, seeds, metrics — and the same numbers (seeded training, same data)
    for doc in (remote, local):
        assert doc["missing"] == [] and [v["name"] for v in doc["variants"]] == ["hnet"]
    r, l = remote["variants"][0], local["variants"][0]
    assert r["seeds"] == l["seeds"] == [0] and set(r["metrics"]) == set(l["metrics"]) >= {"psnr", "fmse"}
    for m in r["metrics"]:
        assert r["metrics"][m]["mean"] == pytest.approx(l["metrics"][m]["mean"], rel=1e-6), m
    # --resume with the bucket: the finished trial is restored from it, not retrained
    before = {k: v for k, v in stored.items() if "/checkpoint_" in k}
    again = cli_json(*_ablation(tmp_path / "exp", tmp_path / "cache-s3", *storage, "--resume"))
    assert again["variants"][0]["metrics"] == r["metrics"]
    assert {k: v for k, v in _objects(s3, "exps/exp/").items() if "/checkpoint_" in k} == before


@pytest.mark.slow
@pytest.mark.cluster  # make test-cluster
def test_benchmark_reads_a_suite_from_the_bucket(ray_local, s3, tmp_path, capsys, monkeypatch):
    from harness.storage import locate, upload_dir

    folder = tmp_path / "suite"
    assert main(["export-suite", "--suite", "sample", "--limit", "2", "--out", str(folder)]) == 0
    upload_dir(folder, locate(f"s3://{BUCKET}/suites/sample", s3))
    capsys.readouterr()
    args = ["run-benchmark", "--suite", "folder", "--methods", "composite,reinhard", "--no-mlflow", "--json",
            "--no-progress", "--bootstrap", "100"]
    local = cli_json(*args, "--data-root", str(folder), "--cache-dir", str(tmp_path / "c1"))
    # the endpoint from the environment — of this process only: the workers read it from the locations
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3)
    remote = cli_json(*args, "--data-root", f"s3://{BUCKET}/suites/sample", "--cache-dir", str(tmp_path / "c2"))
    rows = lambda doc: sorted((r["method"], r["id"], r["psnr"], r["fmse"], r["de2000"]) for r in doc["per_image"])
    assert len(rows(local)) == 4 and rows(remote) == rows(local)
    assert {m: v["mean"] for m, v in remote["methods"].items()} == {m: v["mean"] for m, v in local["methods"].items()}
    assert remote["source"] == f"folder:s3://{BUCKET}/suites/sample"  # the endpoint not shown
