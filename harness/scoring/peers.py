"""The peers' evaluation protocols, reproduced step for step, so that numbers can stand beside published ones.

Published iHarmony4 numbers come from two scripts. Each protocol below turns a saved 8-bit prediction, the
8-bit ground truth and the mask *file's* values into exactly the arrays that script compares, then applies
its formulas. Where a library's own arithmetic decides the values (8-bit resampling, dithering), that same
library is called — a re-implementation would differ by rounding.

`bcmi` — bcmi/Image-Harmonization-Dataset-iHarmony4, `evaluation.py` (Dove-Net, BargainNet and the bcmi
leaderboard):
- images opened with PIL and resized to 256×256 with `Image.BICUBIC` *on the 8-bit image*: Pillow's uint8
  resampler (fixed-point weights, rounding and clipping after each pass) — so PIL itself is used here;
- the mask file goes through `convert('1')` (its luma, Floyd–Steinberg dithered to one bit: soft edges
  become a dot pattern) and is then "resized with BICUBIC", which Pillow does with NEAREST for mode '1';
  its values are 0/1;
- mse = mean over 256·256·3 of diff² (skimage `compare_mse`);
- psnr = 10·log10(range² / mse) with range = max − min of the resized *prediction* (skimage `compare_psnr`
  with that `data_range`): a peak ≤ 255, so PSNR is *lower* than with 255 on images that do not span the
  full range (e.g. 35.2 vs 43.7 dB on a dark image);
- fmse = mse(pred·m, real·m)·256·256 / Σm = Σ_fg diff² / (3·Σm), binary m.

`idih` — saic-vul/image_harmonization (iDIH, iSSAM and the many papers built on that code): images and mask
read by `HDataset` (iharm/data/hdataset.py), resized by `evaluate_model.py`'s `--resize-strategy` (Fixed256,
the default; Fixed512; LimitLongest1024), scored by iharm/inference/metrics.py at the resized size — the
model's output is never brought back to the file's size:
- images read with cv2.imread, BGR → RGB; mask = channel 0 of cv2.imread's BGR array (the *blue* channel)
  / 255 as float32, its soft values kept;
- albumentations `Resize(256, 256)` (`Resize(512, 512)`) = `cv2.resize(..., INTER_LINEAR)` (bilinear, no
  antialiasing) on the uint8 images, and — `HCompose` maps the mask to an *image* target — on the float mask
  as well (soft values, not nearest). OpenCV's 8-bit INTER_LINEAR uses 11-bit fixed-point weights: cv2
  itself is used. LimitLongest1024 (iharm/data/transforms.py, LongestMaxSizeIfLarger(1024)) leaves an array
  whose longest side is below 1024 as it is and otherwise calls albumentations' `longest_max_size`: both
  sides × 1024 / longest, rounded half to even, the same cv2.resize INTER_LINEAR (protocols.working_size);
- mse = mean diff²; fmse = Σ m·diff² / (3·Σm + 1e-6) with the soft m as weights;
- psnr = 10·log10(gt.max()² / (mse + 1e-6)): the resized *ground truth's* maximum as the peak.
  iDIH computes these in float32 torch on its float prediction; here they are computed in float64 on the
  saved 8-bit prediction (the float32 sums agree to ~1e-6 relative).

JPEG: PIL and OpenCV wheels both decode with libjpeg-turbo (default islow IDCT, fancy upsampling), and give
identical pixels; the tests check this on the files they write, against cv2.imread itself.

Predictions as users have them: a prediction at the sample's size is resized exactly as the script resizes
the images it reads (bcmi: the script resizes any file it is given; iDIH: as its dataset resizes the
composite it feeds the model); a prediction already at the working size (256×256 — what both official test
scripts save —, 512×512, or the ≤ 1024 size) is used as it is (every resize is the identity there).
"""

from __future__ import annotations

import numpy as np

from harness.scoring.protocols import PEER_SIZE, working_size

EPS = 1e-6  # iharm/inference/metrics.py: fMSE's denominator and PSNR's mse both get + 1e-6


def _u8(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (8-bit values, as the scripts read them), got {arr.dtype}")
    return np.ascontiguousarray(arr)


# ------------------------------------------------------------------------------------------------- bcmi
def bcmi_inputs(pred8: np.ndarray, real8: np.ndarray, mask8: np.ndarray, resolution: str = str(PEER_SIZE)
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, real) float32 256×256×3 on 0–255 and the mask, uint8 256×256 of 0/1, as evaluation.py makes
    them from the files' values. `mask8` is the mask file's uint8 H×W (or H×W×3) array. The script knows no
    other size than 256 (protocols.check_protocol refuses any other `resolution`)."""
    from PIL import Image

    if resolution != str(PEER_SIZE):
        raise ValueError(f"bcmi's evaluation.py scores at {PEER_SIZE}² only, not at {resolution}")

    size = (PEER_SIZE, PEER_SIZE)

    def image(a: np.ndarray) -> np.ndarray:  # Pillow returns a copy when the size is already 256²
        return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BICUBIC), dtype=np.float32)

    # Pillow converts RGB → '1' through its luma and dithers; the resize of a '1' image is NEAREST whatever
    # filter is asked for. Both are Pillow's behaviour, reproduced by calling Pillow.
    mask = Image.fromarray(_u8(mask8, "mask")).convert("1").resize(size, Image.Resampling.BICUBIC)
    return image(_u8(pred8, "prediction")), image(_u8(real8, "ground truth")), np.asarray(mask, dtype=np.uint8)


def bcmi_scores(pred: np.ndarray, real: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """mse, fmse, psnr of evaluation.py on its arrays (`bcmi_inputs`). Exact: the squared differences of
    8-bit values are integers, summed in float64. A zero-area mask gives fmse NaN and a prediction equal
    to the truth psnr inf, as numpy gives them in the script."""
    d2 = (pred.astype(np.float64) - real.astype(np.float64)) ** 2
    mse = float(d2.mean())
    peak = float(pred.max()) - float(pred.min())
    area = float(mask.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        psnr = float(10.0 * np.log10(np.float64(peak) ** 2 / np.float64(mse)))
        fmse = float(np.float64(d2[mask.astype(bool)].sum()) / np.float64(3.0 * area))
    return {"mse": mse, "fmse": fmse, "psnr": psnr}


# ------------------------------------------------------------------------------------------------- iDIH
def idih_inputs(pred8: np.ndarray, real8: np.ndarray, mask8: np.ndarray, resolution: str = str(PEER_SIZE)
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, real) float32 H×W×3 on 0–255 and the soft mask, float32 H×W in [0, 1], as iDIH's dataset and
    the resize strategy of `resolution` ("256" Fixed256, "512" Fixed512, "longest1024" LimitLongest1024) make
    them from the files' values; H×W = protocols.working_size."""
    import cv2

    def resize(a: np.ndarray) -> np.ndarray:
        # each array is resized from its own size, as albumentations does per target; it returns the array
        # untouched when it already has the size (cv2 would copy it)
        h, w = working_size(resolution, a.shape[:2])
        return a if a.shape[:2] == (h, w) else cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)

    mask8 = _u8(mask8, "mask")
    # cv2.imread gives BGR: iDIH's channel 0 is the blue one (all channels are equal in iHarmony4's masks)
    channel = mask8[..., 2] if mask8.ndim == 3 else mask8
    mask = np.ascontiguousarray(channel).astype(np.float32) / np.float32(255.0)
    pred = resize(_u8(pred8, "prediction")).astype(np.float32)
    real = resize(_u8(real8, "ground truth")).astype(np.float32)
    return pred, real, resize(mask)


def idih_scores(pred: np.ndarray, real: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """mse, fmse, psnr of iharm/inference/metrics.py (MSE, fMSE, PSNR) on its arrays (`idih_inputs`)."""
    d2 = (pred.astype(np.float64) - real.astype(np.float64)) ** 2
    mse = float(d2.mean())
    m = mask.astype(np.float64)
    fmse = float((m[..., None] * d2).sum() / (d2.shape[2] * m.sum() + EPS))
    psnr = float(10.0 * np.log10(float(real.max()) ** 2 / (mse + EPS)))
    return {"mse": mse, "fmse": fmse, "psnr": psnr}


INPUTS = {"bcmi": bcmi_inputs, "idih": idih_inputs}
SCORES = {"bcmi": bcmi_scores, "idih": idih_scores}
