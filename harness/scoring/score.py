"""Scoring one prediction against its sample under an evaluation protocol (harness/scoring/protocols.py).

- `harness`, `--resolution native` (default): the metrics of harness/scoring/metrics.py at the sample's own size.
- `harness`, `--resolution 256`: prediction, ground truth and mask resized to 256×256 first, the harness's
  way (harness/data/resize.py: float bicubic for images; the mask area-averaged, then thresholded at 0.5).
  This is *not* either published protocol; it is the harness's metrics at the common working size.
- `bcmi`, `idih`: the peers' scripts reproduced exactly (harness/scoring/peers.py) for `mse`, `fmse` and
  `psnr`. The other columns (ssim, ΔE, …) are the harness's definitions evaluated on the same 8-bit arrays
  the script compares (256×256; 512×512 or the ≤ 1024 size under idih:512 and idih:longest1024; its mask >
  0.5 as the foreground) — no published table has them; `fpsnr` is 10·log10(255² / fmse) with the
  protocol's fmse, and `fg_ratio` the share of that foreground.

Prediction sizes: the sample's own size, always; the protocol's working size too under every protocol but
`harness:native` (protocols.working_size: 256×256, 512×512, or the sample's size with the longest side
brought to 1024), used as it is (no up- or down-sampling): what a model working there and the official test
scripts save.

A sample without ground truth (an in-the-wild composite: a folder suite without `real/`) is scored all the
same: every metric of `METRICS` is NaN (missing — never 0), the reference-consistency gaps and `fg_ratio` (of
the foreground mask at the size scored) are measured. harness/scoring/truth.py says so, once, for a whole run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.scoring.protocols import NATIVE, PEER_SIZE, check_protocol, protocol_key, working_size
from harness.data.sample import Sample
from harness.errors import InputError

BREAKDOWNS = ("subset", "augmentation")  # sample meta copied into every row (iHarmony4 subsets, IntHarmony)


def _size(hw: tuple[int, ...]) -> str:
    return f"{hw[1]}×{hw[0]}"


def check_prediction_size(pred_hw: tuple[int, int], sample: Sample, protocol: str, resolution: str,
                          where: str) -> None:
    """A prediction must be at the sample's size, or at the protocol's working size (protocols.working_size)."""
    full = sample.size
    work = working_size(resolution, full) or (PEER_SIZE, PEER_SIZE)
    allowed = [full] if resolution == NATIVE else [full, work]
    if tuple(pred_hw) in allowed:
        return
    label = protocol_key(protocol, resolution)
    if resolution == NATIVE and tuple(pred_hw) == work:
        raise InputError(where, f"prediction is {_size(pred_hw)} but the sample is {_size(full)}: protocol {label} "
                                f"scores at the sample's own size; a {PEER_SIZE}×{PEER_SIZE} prediction is scored with "
                                "--resolution 256, --protocol bcmi or --protocol idih")
    sizes = " or ".join(dict.fromkeys(_size(s) for s in allowed))
    raise InputError(where, f"prediction is {_size(pred_hw)} but the sample is {_size(full)} (protocol {label} "
                            f"takes {sizes})")


def score_prediction(pred: np.ndarray, sample: Sample, resolution: str | None = None,
                     where: str | None = None, protocol: str = "harness") -> dict[str, Any]:
    """One row: id, the metrics of harness.scoring.metrics under `protocol`, fg_ratio, the reference-consistency
    gaps (harness/scoring/consistency.py), `source`, and the BREAKDOWNS the sample has. `pred` is H×W×3, float
    in [0, 1] or uint8; the peer protocols need its 8-bit values (float predictions are rounded to 8 bits, as a
    saved file would be)."""
    from harness.data.io import to_uint8

    resolution = check_protocol(protocol, resolution)
    where = where or sample.id
    pred = np.asarray(pred)
    if pred.ndim != 3 or pred.shape[2] != 3:
        raise InputError(where, f"prediction must be H×W×3 RGB, got shape {pred.shape}")
    check_prediction_size(pred.shape[:2], sample, protocol, resolution, where)
    if sample.real is None:
        row = _without_truth(sample, resolution)
    elif protocol == "harness":
        row = _score_harness(pred, sample, resolution)
    else:
        row = _score_peer(protocol, to_uint8(pred) if pred.dtype != np.uint8 else pred, sample, resolution)
    row = {"id": sample.id, **row}
    row.update(_gaps(pred, sample))
    row["source"] = sample.source  # every record says where its data came from (bundled vs real)
    for key in BREAKDOWNS:  # what results can be broken down by, when the suite says
        if key in sample.meta:
            row[key] = sample.meta[key]
    return row


def _gaps(pred: np.ndarray, sample: Sample) -> dict[str, float]:
    """The reference-consistency gaps (harness/scoring/consistency.py) of the prediction as given: at the
    sample's size, or — a 256² file — with the regions resized to it. No ground truth needed."""
    from harness.data.resize import resize_mask
    from harness.scoring.consistency import reference_gaps

    img = pred.astype(np.float32) / 255.0 if pred.dtype == np.uint8 else pred
    fg, ref = sample.fg_mask, sample.ref_mask
    if img.shape[:2] != fg.shape:
        fg, ref = resize_mask(fg, img.shape[:2]), resize_mask(ref, img.shape[:2])
        if not (fg > 0.5).any() or not (ref > 0.5).any():
            return {}
    return reference_gaps(img, fg, ref)


def _without_truth(sample: Sample, resolution: str) -> dict[str, float]:
    """A row with nothing to compare against: every metric NaN; `fg_ratio` of the foreground mask (at the
    protocol's working size, the mask resized the harness's way — the peers' own resizing needs their inputs,
    truth included — so fg-ratio buckets still sort the image)."""
    from harness.data.resize import resize_mask
    from harness.data.sample import INSIDE
    from harness.scoring.metrics import METRICS

    size = working_size(resolution, sample.fg_mask.shape)
    mask = sample.fg_mask if size is None else resize_mask(sample.fg_mask, size)
    return {**{m: float("nan") for m in METRICS}, "fg_ratio": float((mask > INSIDE).mean())}


def _score_harness(pred: np.ndarray, sample: Sample, resolution: str) -> dict[str, float]:
    from harness.data.resize import resize_image, resize_mask
    from harness.scoring.metrics import score_image

    pred = pred.astype(np.float32) / 255.0 if pred.dtype == np.uint8 else pred
    real, mask = sample.real, sample.fg_mask
    if resolution == "256":
        work = (PEER_SIZE, PEER_SIZE)
        # a 256² prediction is used as it is: resizing it up and down again would change the numbers
        pred = pred if pred.shape[:2] == work else resize_image(pred, PEER_SIZE)
        real, mask = resize_image(real, PEER_SIZE), resize_mask(mask, PEER_SIZE)
    return score_image(pred, real, mask)


def _score_peer(protocol: str, pred8: np.ndarray, sample: Sample, resolution: str) -> dict[str, float]:
    from harness.data.io import to_uint8
    from harness.scoring.metrics import PEAK, score_image
    from harness.scoring.peers import INPUTS, SCORES

    p, q, m = INPUTS[protocol](pred8, to_uint8(sample.real), sample.fg_mask_8bit, resolution)
    row = score_image(p / np.float32(255.0), q / np.float32(255.0), m.astype(np.float32))
    peer = SCORES[protocol](p, q, m)
    row.update(peer)
    with np.errstate(divide="ignore", invalid="ignore"):  # fmse 0 → inf, NaN stays NaN (as metrics._psnr)
        row["fpsnr"] = float(10.0 * np.log10(PEAK**2 / np.float64(peer["fmse"])))
    return row


def protocol_input(protocol: str, resolution: str, sample: Sample) -> Sample | None:
    """The sample as a method is given it under a protocol with a working size (protocols.
    takes_protocol_input says which methods) — resized the protocol's way, as the peers' scripts feed their
    models (bcmi: Pillow bicubic on the 8-bit images, the mask file dithered to 1 bit and resized nearest;
    idih: OpenCV bilinear on the 8-bit images, the mask file's blue channel soft, to 256², 512² or the ≤ 1024
    size; harness: float bicubic, area-averaged masks) — so its raw output is scored as those scripts score
    it. None at native resolution. The reference mask is resized like a mask of the protocol; one that vanishes
    keeps its strongest pixels (a model needs a region)."""
    from harness.data.io import to_uint8
    from harness.data.resize import resize_image, resize_mask

    hw = working_size(resolution, sample.size)
    if hw is None:
        return None
    size = (hw[1], hw[0])  # PIL and cv2 take (width, height)
    m8 = sample.fg_mask_8bit
    if protocol == "bcmi":
        from PIL import Image

        def image(a: np.ndarray) -> np.ndarray:
            return np.asarray(Image.fromarray(to_uint8(a)).resize(size, Image.Resampling.BICUBIC), np.float32) / 255

        def binary(mask8: np.ndarray) -> np.ndarray:  # Pillow: '1' dithers; resizing a '1' image is NEAREST
            return np.asarray(Image.fromarray(mask8).convert("1").resize(size, Image.Resampling.NEAREST), np.float32)

        fg, ref = binary(m8), binary(to_uint8(np.repeat(sample.ref_mask[..., None], 3, axis=2))[..., 0])
    elif protocol == "idih":
        import cv2

        def cv2_resize(a: np.ndarray) -> np.ndarray:  # albumentations: the identity at the size already
            return a if a.shape[:2] == hw else cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)

        def image(a: np.ndarray) -> np.ndarray:
            return cv2_resize(to_uint8(a)).astype(np.float32) / 255

        def soft(m: np.ndarray) -> np.ndarray:
            return np.clip(cv2_resize(m.astype(np.float32)), 0.0, 1.0)

        fg, ref = soft((m8[..., 2] if m8.ndim == 3 else m8).astype(np.float32) / 255), soft(sample.ref_mask)
    else:
        def image(a: np.ndarray) -> np.ndarray:
            return resize_image(a, hw)

        fg, ref = resize_mask(sample.fg_mask, hw), resize_mask(sample.ref_mask, hw)
    if not (ref > 0.5).any():
        trace = resize_mask(sample.ref_mask, hw)
        ref = (trace >= trace.max()).astype(np.float32)
    if not (fg > 0.5).any():
        raise InputError(sample.meta.get("path", sample.id),
                         f"the foreground vanishes at {hw[1]}×{hw[0]} under --protocol {protocol}")
    return Sample(sample.id, image(sample.composite), fg, ref, None if sample.real is None else image(sample.real),
                  {**sample.meta, "protocol_input": protocol})
