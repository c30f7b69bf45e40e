"""The unit of work (one sample, every method it still needs), without Ray: the sample is decoded once and the
automatic reference picked once, however many methods use them; the driver plans one unit per sample."""

from __future__ import annotations

import numpy as np

import harness.data.references
import harness.data.suites
from harness.config import BenchmarkConfig
from harness.data.suites import open_suite
from harness.engine.benchmark import _plan
from harness.engine.worker import run_unit
from harness.methods.spec import resolve_methods


def test_one_decode_and_one_auto_reference_per_unit(monkeypatch):
    calls = {"load": 0, "auto": 0}
    load, auto = harness.data.suites.load_spec, harness.data.references.auto_reference

    def counting_load(spec):
        calls["load"] += 1
        return load(spec)

    def counting_auto(*args, **kwargs):
        calls["auto"] += 1
        return auto(*args, **kwargs)

    monkeypatch.setattr(harness.data.suites, "load_spec", counting_load)
    monkeypatch.setattr(harness.data.references, "auto_reference", counting_auto)
    spec = open_suite("sample").specs[0]
    methods = resolve_methods("composite,reinhard,lum-match")
    items = [(m, f"key{i}", i == 0) for i, m in enumerate(methods)]
    auto_rows = run_unit(spec, items, {"protocol": "harness:native", "reference": "auto"}, lambda m: m.build())
    assert calls == {"load": 1, "auto": 1}
    given_rows = run_unit(spec, items, {"protocol": "harness:native", "reference": "given"}, lambda m: m.build())
    assert calls == {"load": 2, "auto": 1}
    assert [r["key"] for r in auto_rows] == ["key0", "key1", "key2"]
    assert auto_rows[0]["png"] is not None and auto_rows[1]["png"] is None
    by = {r["row"]["method"]: r["row"] for r in auto_rows}
    given = {r["row"]["method"]: r["row"] for r in given_rows}
    assert by["composite"]["fmse"] == given["composite"]["fmse"]  # ignores the reference
    assert not np.isclose(by["reinhard"]["fmse"], given["reinhard"]["fmse"])  # the auto reference was used


def test_the_driver_plans_one_unit_per_sample(tmp_path):
    cfg = BenchmarkConfig(suite="sample", limit=4, methods=["composite", "reinhard", "iph"], mlflow=False,
                          cache_dir=str(tmp_path))
    suite = open_suite("sample", limit=4)
    methods = resolve_methods(cfg.methods)
    plan = _plan(cfg, suite, methods, [f"h{i}" for i in range(4)])
    rows, units, fingerprints = plan.rows, plan.units, plan.fingerprints
    assert rows == [] and set(fingerprints) == {"composite", "reinhard", "iph"}
    assert [spec.id for spec, _ in units] == suite.ids
    assert all([m.label for m, *_ in items] == ["composite", "reinhard", "iph"] for _, items in units)
    keys = [key for _, items in units for _, key, _, _ in items]
    assert len(set(keys)) == 12  # every (sample, method) has its own key
