"""Start-up stays light: `harness --help` imports no numerical library, and `harness list methods` builds no
model — it reads parameter counts from the registry (checked against built models in test_models.py) and the
checkpoints' JSON. Timings are measured in benchmarks/bench_startup.py, not asserted here."""

import json
import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, json, sys
from harness.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main({argv!r})
heavy = sorted(m for m in ("numpy", "torch", "ray", "mlflow", "pandas", "scipy", "skimage") if m in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy, "out": out.getvalue()}}))
"""


def _probe(argv):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_help_imports_no_numerical_library():
    res = _probe(["--help"])
    assert res["code"] == 0 and "run-benchmark" in res["out"] and res["heavy"] == []


@pytest.mark.parametrize("what", ["methods", "suites"])
def test_listing_imports_no_torch_ray_or_mlflow(what):
    res = _probe(["list", what, "--json"])
    assert res["code"] == 0 and not {"torch", "ray", "mlflow"} & set(res["heavy"]), res["heavy"]
    if what == "methods":
        rows = {r["name"]: r for r in json.loads(res["out"])["methods"]}
        assert rows["iph"]["params_full"] == 28_871_075 and rows["iph"]["available"]
        assert rows["iph"]["params"] == json.load(open(rows["iph"]["checkpoint"].replace(".safetensors", ".json")))[
            "parameters"]
