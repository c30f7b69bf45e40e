"""Which of the driver's folders a command's Ray workers use (harness/engine/session.py: shared_paths), and how a
node decides it sees one (harness/cluster.py) — without a cluster; tests/test_engine_remote.py runs the check on
a real one."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.cluster import _leave_marker, _listing, sees
from harness.config import BenchmarkConfig, EfficiencyConfig, ExperimentConfig
from harness.engine.session import shared_paths


def test_the_engine_shares_only_the_suites_folder(tmp_path):
    cfg = BenchmarkConfig(suite="folder", data_root=str(tmp_path / "data"), out=str(tmp_path / "out"),
                          cache_dir=str(tmp_path / "cache"))
    [data] = shared_paths(cfg)  # not --out, not the cache: the driver alone writes those
    assert (data.path, data.flag, data.use) == (str(tmp_path / "data"), "--data-root", "read")
    assert "--data-root s3://" in data.instead
    assert shared_paths(BenchmarkConfig(suite="folder", data_root="s3://bucket/data")) == []
    assert shared_paths(BenchmarkConfig(suite="sample")) == [] and shared_paths(EfficiencyConfig()) == []


def test_a_suite_built_into_the_cache_is_named_by_its_suite(tmp_path):
    class Built:  # what open_suite returns for `--suite intharmony` without --data-root
        name, data_root = "intharmony", str(tmp_path / "cache" / "intharmony-bundled-test")

    [folder] = shared_paths(BenchmarkConfig(suite="intharmony"), Built())
    assert folder.path == Built.data_root and folder.flag == "--suite intharmony (its folder)"


def test_trials_write_to_storage_else_out(tmp_path):
    cfg = ExperimentConfig(out=str(tmp_path / "exp"))
    [out] = shared_paths(cfg)
    assert (out.path, out.flag, out.use) == (str(tmp_path / "exp"), "--out", "write")
    cfg.storage = "s3://bucket/runs"  # the storage option (issue 23), read where the config has it
    assert shared_paths(cfg) == []
    cfg.storage = f"file://{tmp_path / 'nfs'}"
    [storage] = shared_paths(cfg)
    assert (storage.path, storage.flag) == (str(tmp_path / "nfs"), "--storage")


def test_a_node_sees_the_folder_by_its_marker_or_by_the_same_files(tmp_path):
    folder = tmp_path / "here"
    (folder / "composite").mkdir(parents=True)
    (folder / "list.txt").write_text("a\n")
    marker, content = _leave_marker(folder)
    assert sees(str(folder), marker, content)
    other = tmp_path / "elsewhere"
    shutil.copytree(folder, other)
    (other / marker).write_text("another run's marker")
    assert not sees(str(other), marker, content) and not sees(str(tmp_path / "absent"), marker, content)
    # a folder the workers only read: the same names and sizes, wherever they came from
    listing = _listing(str(folder))
    assert listing == "composite/\nlist.txt\t2" and sees(str(other), None, listing)
    (other / "list.txt").write_text("ab\n")
    assert not sees(str(other), None, listing) and not sees(str(tmp_path / "absent"), None, listing)
    Path(folder / marker).unlink()
