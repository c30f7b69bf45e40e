"""Independent ports of the peers' evaluation scripts, written from their public source for the tests. They
share no code with harness/: they read the *files* the way each script does and apply each script's formulas
with the libraries each script calls.

bcmi — bcmi/Image-Harmonization-Dataset-iHarmony4, evaluation.py:
    PIL Image.open; .resize(256×256, BICUBIC) on the composite (here: the prediction) and the real image,
    np.array(float32); mask: Image.open(...).convert('1').resize(256×256, BICUBIC), np.array(uint8);
    fore_area = Σ mask; MSE = skimage compare_mse(pred, real);
    PSNR = skimage compare_psnr(real, pred, data_range = pred.max() − pred.min());
    fMSE = compare_mse(pred·mask, real·mask) · 256 · 256 / fore_area.
    (skimage ≥ 0.16 renamed compare_mse / compare_psnr to skimage.metrics.mean_squared_error /
    peak_signal_noise_ratio, same formulas.)

iDIH — saic-vul/image_harmonization (GitHub mirror SamsungLabs/image_harmonization):
    iharm/data/hdataset.py (HDataset.get_sample): cv2.imread + cv2.cvtColor(BGR2RGB) for the images;
        object_mask = cv2.imread(mask)[:, :, 0].astype(float32) / 255.
    scripts/evaluate_model.py: --resize-strategy Fixed256 (default) = albumentations Resize(256, 256), whose
        default interpolation is cv2.INTER_LINEAR and which calls cv2.resize; iharm/data/transforms.py
        (HCompose, no_nearest_for_masks=True) makes the mask an 'image' target, so it is resized the same way.
        Fixed512 = Resize(512, 512). LimitLongest1024 = iharm/data/transforms.py LongestMaxSizeIfLarger(1024):
        its apply() returns the array when max(H, W) < 1024, else albumentations' longest_max_size(img, 1024,
        INTER_LINEAR): scale = 1024 / max(W, H); if scale != 1, resize (albumentations' resize: cv2.resize,
        the array itself when the size is unchanged) to (py3round(H·scale), py3round(W·scale)).
        Metrics are computed on the resized arrays: the prediction is never brought back to the file's size.
    iharm/inference/evaluation.py: target_image and mask as torch float32; the prediction is the model's.
    iharm/inference/metrics.py: MSE = ((pred − target)²).mean(); fMSE = Σ(mask·(pred − target)²) /
        (C·Σmask + 1e-6); PSNR = 10·log10(target.max()² / (MSE + 1e-6)).
    The script never reads a prediction file (it runs the model); a saved prediction stands in for the
    model's output: at 256² as is, otherwise resized like the composite the model would have been given.
"""

from __future__ import annotations

import math

import numpy as np

SIZE = (256, 256)


def bcmi_evaluation(pred_path, real_path, mask_path) -> dict[str, float]:
    from PIL import Image
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio

    comp = np.array(Image.open(pred_path).resize(SIZE, Image.BICUBIC), dtype=np.float32)
    real = np.array(Image.open(real_path).resize(SIZE, Image.BICUBIC), dtype=np.float32)
    mask = Image.open(mask_path).convert("1").resize(SIZE, Image.BICUBIC)
    mask = np.array(mask, dtype=np.uint8)
    fore_area = np.sum(np.sum(mask, axis=0), axis=0)
    mask = mask[..., np.newaxis]
    mse = mean_squared_error(comp, real)
    psnr = peak_signal_noise_ratio(real, comp, data_range=comp.max() - comp.min())
    fmse = mean_squared_error(comp * mask, real * mask) * 256 * 256 / fore_area
    return {"mse": float(mse), "psnr": float(psnr), "fmse": float(fmse)}


def _cv2_rgb(path):
    import cv2

    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _albumentations_resize(img, size=SIZE):
    import cv2

    if img.shape[:2] == tuple(size):  # albumentations' resize returns the input when it already has the size
        return img
    return cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def _py3round(number):
    """albumentations' py3round: Python 3's rounding (half to even) in every Python."""
    if abs(round(number) - number) == 0.5:
        return int(2.0 * round(number / 2.0))
    return int(round(number))


def _limit_longest(img, max_size=1024):
    """LongestMaxSizeIfLarger(1024).apply → albumentations' longest_max_size."""
    if max(img.shape[:2]) < max_size:
        return img
    height, width = img.shape[:2]
    scale = max_size / float(max(width, height))
    if scale != 1.0:
        img = _albumentations_resize(img, (_py3round(height * scale), _py3round(width * scale)))
    return img


def resize_strategy(img, strategy="Fixed256"):
    """evaluate_model.py's RESIZE_STRATEGIES[strategy] applied to one array (image or soft mask)."""
    if strategy == "LimitLongest1024":
        return _limit_longest(img)
    side = {"Fixed256": 256, "Fixed512": 512}[strategy]
    return _albumentations_resize(img, (side, side))


def idih_evaluation(pred_path, real_path, mask_path, strategy="Fixed256") -> dict[str, float]:
    import cv2
    import torch

    target = resize_strategy(_cv2_rgb(real_path), strategy)
    object_mask = cv2.imread(str(mask_path))[:, :, 0].astype(np.float32) / 255.
    object_mask = resize_strategy(object_mask, strategy)
    pred = torch.as_tensor(resize_strategy(_cv2_rgb(pred_path), strategy), dtype=torch.float32)
    target = torch.as_tensor(target, dtype=torch.float32)
    mask = torch.as_tensor(object_mask, dtype=torch.float32)

    mse = ((pred - target) ** 2).mean().item()
    diff = mask.unsqueeze(2) * ((pred - target) ** 2)
    fmse = (diff.sum() / (diff.size(2) * mask.sum() + 1e-6)).item()
    psnr = 10 * math.log10(target.max().item() ** 2 / (mse + 1e-6))
    return {"mse": mse, "fmse": fmse, "psnr": psnr}


def idih_arrays(real_path, mask_path, strategy="Fixed256") -> tuple[np.ndarray, np.ndarray]:
    """The target (uint8) and soft mask (float32) iDIH's dataset produces under `strategy`: for hand-checks."""
    import cv2

    target = resize_strategy(_cv2_rgb(real_path), strategy)
    mask = resize_strategy(cv2.imread(str(mask_path))[:, :, 0].astype(np.float32) / 255., strategy)
    return target, mask
