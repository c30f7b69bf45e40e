"""How far apart the evaluation protocols are, and what each costs: the numbers quoted in README ("Protocols").

On the tests' hand-written iHarmony4 tree (tests/helpers.py: JPEG photos, soft-edged masks, one dark
Hday2night scene) with plausible predictions (halfway back to the truth inside the mask, plus noise), every
image is scored under harness (256²), bcmi and idih; printed: the relative differences of MSE and fMSE and the
PSNR difference in dB, per image; then what scoring a 256² prediction *after upsampling it* to full size
would have changed (the reason 256² files are scored as they are); then milliseconds per image per protocol.

    .venv/bin/python benchmarks/bench_protocols.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.data.suites import load_spec, open_suite  # noqa: E402
from harness.scoring.score import score_prediction  # noqa: E402
from tests.helpers import write_iharmony4_tree  # noqa: E402


def _predictions(files: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    out = {}
    for sid, f in files.items():
        comp = np.asarray(Image.open(f["composite"])).astype(float)
        real = np.asarray(Image.open(f["real"])).astype(float)
        soft = np.asarray(Image.open(f["mask"]))[..., :1] / 255.0
        pred = comp + soft * (0.5 * (real - comp) + rng.normal(0, 6, comp.shape))
        out[sid] = np.clip(np.rint(pred), 0, 255).astype(np.uint8)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_iharmony4_tree(Path(tmp) / "data")
        preds = _predictions(files)
        samples = {s.id: load_spec(s) for s in open_suite("iharmony4", str(Path(tmp) / "data")).specs}
        rows = {p: {sid: score_prediction(preds[sid], samples[sid], protocol=p, resolution="256")
                    for sid in files} for p in ("harness", "bcmi", "idih")}
        print("harness (256²) against each peer, same full-size predictions")
        print(f"{'image':20s} {'MSE vs bcmi':>12s} {'vs idih':>8s} {'fMSE vs bcmi':>13s} {'vs idih':>8s} "
              f"{'PSNR h/bcmi/idih (dB)':>24s}")
        for sid in files:
            h, b, i = (rows[p][sid] for p in ("harness", "bcmi", "idih"))
            rel = lambda k, o: 100 * (h[k] - o[k]) / o[k]  # noqa: E731
            print(f"{sid:20s} {rel('mse', b):+11.1f}% {rel('mse', i):+7.1f}% {rel('fmse', b):+12.1f}% "
                  f"{rel('fmse', i):+7.1f}% {h['psnr']:9.1f} / {b['psnr']:4.1f} / {i['psnr']:4.1f}")

        print("\n256² predictions: scored as they are vs upsampled to full size first (PIL bicubic), harness 256²")
        for sid in files:
            small = np.asarray(Image.fromarray(preds[sid]).resize((256, 256), Image.Resampling.BILINEAR))
            h, w = samples[sid].size
            big = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))
            a = score_prediction(small, samples[sid], "256")
            b = score_prediction(big, samples[sid], "256")
            print(f"{sid:20s} MSE {a['mse']:8.2f} → {b['mse']:8.2f} ({100 * (b['mse'] - a['mse']) / a['mse']:+.1f}%)"
                  f"   fMSE {a['fmse']:8.2f} → {b['fmse']:8.2f} ({100 * (b['fmse'] - a['fmse']) / a['fmse']:+.1f}%)")

        print("\nmilliseconds per image (median of 5 passes over the 4 images; all metrics)")
        for protocol, resolution in (("harness", "native"), ("harness", "256"), ("bcmi", "256"), ("idih", "256")):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                for sid in files:
                    score_prediction(preds[sid], samples[sid], resolution, protocol=protocol)
                times.append((time.perf_counter() - t0) / len(files) * 1000)
            print(f"{protocol}:{resolution:5s} {np.median(times):7.1f} ms")


if __name__ == "__main__":
    main()
