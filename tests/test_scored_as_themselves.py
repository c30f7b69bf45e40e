"""Every method scored as itself, at its cost: the network's own output at its working resolution, the
protocols' own 256² input under bcmi and idih, an explicit way up to native resolution, and what each call
costs — checked against the networks themselves, the peers' script ports, PIL and hand counts."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from harness.data.sample import Sample
from harness.data.suites import load_spec, open_suite
from harness.methods import registry
from harness.methods.spec import MethodSpec
from tests.helpers import write_iharmony4_tree
from tests.peer_oracles import bcmi_evaluation, idih_evaluation

LEARNED = registry.list_models()


def _t(a: np.ndarray) -> torch.Tensor:
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


def _sample_at(side: int) -> Sample:
    """A bundled photo's sample resized with PIL to side² (8-bit image, binary masks): any 256² input."""
    s = load_spec(open_suite("sample").specs[0])

    def img(a):
        return np.asarray(Image.fromarray((a * 255).round().astype(np.uint8)).resize((side, side),
                                                                                    Image.Resampling.BICUBIC))

    def mask(m):
        return np.asarray(Image.fromarray(((m > 0.5) * 255).astype(np.uint8)).resize((side, side),
                                                                                    Image.Resampling.NEAREST))
    return Sample("s", img(s.composite), mask(s.fg_mask), mask(s.ref_mask), img(s.real))


@pytest.mark.parametrize("name", LEARNED)
def test_at_its_working_resolution_a_network_is_scored_as_its_script_writes_it(name):
    """256² in, the shipped network's output out: composited over the input only where the authors' test script
    composites (IPH, Rain-Net), the whole image where it does not (Dove-Net's and Bargain-Net's test.py)."""
    method = MethodSpec(name).build()
    sample = _sample_at(256)
    with torch.no_grad():
        net = method.model.generate if registry.get(name).output == "raw" else getattr(method.model, "predict",
                                                                                            method.model)
        expected = net(_t(sample.composite), _t(sample.fg_mask), _t(sample.ref_mask))[0].permute(1, 2, 0).numpy()
    out = method.harmonize(sample)
    np.testing.assert_array_equal(out, expected)
    assert method.way_up(sample) == "none"
    outside = ~(sample.fg_mask > 0)
    composited = np.array_equal(out[outside], sample.composite[outside])
    assert composited == (registry.get(name).output == "composited")


class Spy:
    """A 256² method that returns what it was given and remembers it."""

    uses_reference = True
    resolution = 256
    seen: list = []

    def harmonize(self, sample):
        Spy.seen.append(sample)
        return sample.composite


@pytest.mark.parametrize("protocol, oracle", [("bcmi", bcmi_evaluation), ("idih", idih_evaluation)])
def test_a_256_protocol_gives_a_256_method_its_own_input_and_scores_the_raw_output(tmp_path, protocol, oracle):
    from harness.engine.worker import run_unit

    files = write_iharmony4_tree(tmp_path / "data")
    suite = open_suite("iharmony4", str(tmp_path / "data"))
    spy = MethodSpec.parse("tests.test_scored_as_themselves:Spy")
    for spec in suite.specs:
        Spy.seen.clear()
        [res] = run_unit(spec, [(spy, "k", True)], {"protocol": f"{protocol}:256", "reference": "given"},
                         lambda s: Spy())
        given = Spy.seen[-1]
        f = files[spec.id]
        comp8 = np.asarray(Image.open(f["composite"]).convert("RGB"))
        if protocol == "bcmi":  # what evaluation.py's Pillow calls make of the files
            want = np.asarray(Image.fromarray(comp8).resize((256, 256), Image.Resampling.BICUBIC))
            want_fg = np.asarray(Image.open(f["mask"]).convert("1").resize((256, 256), Image.Resampling.NEAREST))
            np.testing.assert_array_equal(given.fg_mask, want_fg.astype(np.float32))
        else:
            import cv2

            want = cv2.resize(comp8, (256, 256), interpolation=cv2.INTER_LINEAR)
        assert given.composite.shape == (256, 256, 3)
        np.testing.assert_array_equal(np.rint(given.composite * 255).astype(np.uint8), want)
        pred = tmp_path / f"{spec.id.replace('/', '__')}.png"
        pred.write_bytes(res["png"])
        assert Image.open(pred).size == (256, 256)  # the raw 256² output, as the peers' scripts save it
        expected = oracle(pred, f["real"], f["mask"])
        for k in ("mse", "fmse", "psnr"):
            assert res["row"][k] == pytest.approx(expected[k], rel=2e-6), (spec.id, k)
        assert res["row"]["upsample"] == "none"


def test_the_ways_up_against_pil_by_hand():
    from harness.methods.highres import upsample

    rng = np.random.default_rng(0)
    full = rng.random((90, 70, 3)).astype(np.float32)
    fg = np.zeros((90, 70), np.float32)
    fg[20:60, 15:50] = 1.0
    fg[19, 15:50] = 0.5  # a soft edge
    low = rng.random((32, 32, 3)).astype(np.float32)
    out_low = np.clip(low * 0.8 + 0.1, 0, 1).astype(np.float32)

    def pil(a):  # float planes, bicubic, PIL's (width, height)
        return np.stack([np.asarray(Image.fromarray(a[..., c], mode="F").resize((70, 90), Image.Resampling.BICUBIC))
                         for c in range(3)], -1)

    m = fg[..., None]
    bicubic = np.clip(pil(out_low), 0, 1)
    np.testing.assert_allclose(upsample("bicubic", full, fg, low, out_low, np.ones((32, 32), np.float32)),
                               np.clip(m * bicubic + (1 - m) * full, 0, 1), atol=1e-6)
    residual = np.clip(full + pil(out_low - low), 0, 1)
    np.testing.assert_allclose(upsample("residual", full, fg, low, out_low, np.ones((32, 32), np.float32),
                                        composited=False), residual, atol=1e-6)
    got = upsample("residual", full, fg, low, out_low, np.ones((32, 32), np.float32))
    np.testing.assert_array_equal(got[fg == 0], full[fg == 0])  # composited: the outside untouched, bit for bit


def test_each_learned_method_takes_its_own_way_up_unless_told(tmp_path):
    sample = load_spec(open_suite("sample").specs[0])
    assert MethodSpec("iph").build().way_up(sample) == "mapping"  # the paper's colour mapping is part of IPH
    assert MethodSpec("dovenet").build().way_up(sample) == registry.DEFAULT_UPSAMPLE
    assert MethodSpec.parse("dovenet:upsample=bicubic").build().way_up(sample) == "bicubic"


class Slow:
    """Slow on its first call only (what a warm-up hides), then quick; allocates 64 MB per call."""

    resolution = None
    uses_reference = False
    parameters = 7
    calls = 0

    def harmonize(self, sample):
        Slow.calls += 1
        time.sleep(0.5 if Slow.calls == 1 else 0.01)
        block = np.ones(64 * 2**20 // 8)  # 64 MB, touched
        block[::512] += 1
        return sample.composite


class Conv:
    """A method with a torch network: one 1×1 convolution, 3 → 5 → (first 3) channels."""

    resolution = None
    uses_reference = False

    def __init__(self):
        self.model = torch.nn.Conv2d(3, 5, 1)

    def harmonize(self, sample):
        with torch.no_grad():
            self.model(_t(sample.composite))
        return sample.composite


def test_cost_warm_up_excluded_flops_and_parameters_counted_memory_seen():
    from harness.methods.cost import measure

    sample = _sample_at(64)
    Slow.calls = 0
    _, first = measure(Slow(), "slow-test", sample)
    assert Slow.calls == 2 and first["seconds"] < 0.3  # the 0.5 s first call was the untimed warm-up
    assert first["params"] == 7 and first["gflop"] is None
    assert first["peak_mb"] >= 60  # the 64 MB the call touched
    _, cost = measure(Conv(), "conv-test", sample)
    assert cost["params"] == 3 * 5 + 5  # weights and biases
    assert cost["gflop"] == pytest.approx(2 * 3 * 5 * 64 * 64 / 1e9)  # a multiply and an add per weight, pixel
    assert cost["device"].startswith("cpu: ") and "torch" in cost["device"]


def test_cost_summary_is_the_median_and_p90_of_the_calls():
    from harness.methods.cost import cost_summary

    rng = np.random.default_rng(1)
    secs = rng.random(23)
    rows = pd.DataFrame({"method": ["a"] * 23, "seconds": secs, "peak_mb": rng.random(23) * 10, "params": 5,
                         "gflop": 0.25, "device": "cpu: x"})
    r = cost_summary(rows).iloc[0]
    assert r["n"] == 23 and r["latency_ms_median"] == pytest.approx(np.median(secs) * 1e3)
    assert r["latency_ms_p90"] == pytest.approx(np.quantile(secs, 0.9) * 1e3)
    assert r["peak_mb"] == pytest.approx(rows["peak_mb"].max()) and r["params"] == 5 and r["gflop"] == 0.25


def test_cost_and_the_way_up_everywhere_a_result_goes(ray_local, tmp_path):
    """--json, the terminal table and the MLflow child runs carry each method's cost and way up."""
    from mlflow.tracking import MlflowClient

    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import run_benchmark

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_benchmark(BenchmarkConfig(suite="sample", limit=2, methods=["composite", "dovenet"],
                                           tracking_uri=store, progress=False, bootstrap=100,
                                           cache_dir=str(tmp_path / "cache")))
    doc = result.to_json()
    eff = doc["methods"]["dovenet"]["efficiency"]
    from harness.methods.checkpoint import read_meta

    assert eff["n"] == 2 and eff["params"] == read_meta(MethodSpec("dovenet").checkpoint())["parameters"]
    assert doc["methods"]["dovenet"]["upsample"] == registry.DEFAULT_UPSAMPLE
    assert doc["methods"]["composite"]["upsample"] == "none"
    secs = [r["seconds"] for r in doc["per_image"] if r["method"] == "dovenet"]
    assert eff["latency_ms_median"] == pytest.approx(np.median(secs) * 1e3)
    text = result.to_text()
    assert "ms median" in text and "way up" in text
    c = MlflowClient(store)
    run = next(r for r in c.search_runs([c.get_experiment_by_name("sample").experiment_id])
               if r.info.run_name == "dovenet")
    assert run.data.metrics["latency_ms_median"] == pytest.approx(eff["latency_ms_median"])
    assert run.data.metrics["params"] == eff["params"] and run.data.tags["upsample"] == registry.DEFAULT_UPSAMPLE
    assert run.data.tags["device"] == eff["device"]


def test_the_run_wide_way_up_is_named_in_every_label_it_changes(ray_local, tmp_path):
    from harness.config import BenchmarkConfig
    from harness.engine.benchmark import plan_benchmark

    plan = plan_benchmark(BenchmarkConfig(suite="sample", limit=1, methods=["composite", "iph", "dovenet"],
                                          upsample="bicubic", mlflow=False, cache_dir=str(tmp_path)))
    assert list(plan["methods"]) == ["composite", "iph:upsample=bicubic", "dovenet:upsample=bicubic"]


def test_run_efficiency_times_each_method_at_each_size(ray_local, tmp_path):
    from mlflow.tracking import MlflowClient

    from harness.config import EfficiencyConfig
    from harness.engine.efficiency import run_efficiency
    from harness.methods.checkpoint import read_meta

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    from harness.formatting import jsonable

    result = run_efficiency(EfficiencyConfig(methods=["composite", "dovenet"], sizes=[64, 96], repeat=3,
                                             tracking_uri=store, progress=False))
    doc = jsonable(result.to_json())  # what --json prints
    assert set(doc["methods"]) == {"composite", "dovenet"} and doc["sizes"] == [64, 96]
    for m in ("composite", "dovenet"):
        for z in (64, 96):
            calls = [r["seconds"] for r in doc["per_call"] if r["method"] == m and r["size"] == z]
            cell = doc["methods"][m]["sizes"][str(z)]
            assert len(calls) == 3 and cell["latency_ms_median"] == pytest.approx(np.median(calls) * 1e3)
            assert cell["latency_ms_p90"] == pytest.approx(np.quantile(calls, 0.9) * 1e3)
    assert doc["methods"]["dovenet"]["params"] == read_meta(MethodSpec("dovenet").checkpoint())["parameters"]
    assert doc["methods"]["composite"]["params"] == 0 and doc["methods"]["composite"]["sizes"]["64"]["gflop"] is None
    assert "ms @64" in result.to_text() and "ms @96" in result.to_text()
    c = MlflowClient(store)
    child = next(r for r in c.search_runs([c.get_experiment_by_name("efficiency").experiment_id])
                 if r.info.run_name == "dovenet")
    assert child.data.metrics["latency_ms_median/96"] == pytest.approx(
        doc["methods"]["dovenet"]["sizes"]["96"]["latency_ms_median"])
    assert child.data.metrics["gflop/64"] > 0 and child.data.tags["device"].startswith("cpu: ")


def test_the_pareto_front_by_hand():
    from reports.cost import pareto_front

    points = {"a": (1.0, 9.0), "b": (2.0, 5.0), "c": (3.0, 6.0), "d": (4.0, 1.0), "e": (4.0, 1.0),
              "f": (0.5, 9.5), "g": (10.0, float("nan"))}
    # c is beaten by b on both; d and e tie (neither beats the other); g has no error value
    assert pareto_front(points) == ["f", "a", "b", "d", "e"]
