"""The image grid logged with each method's MLflow run: per sample, composite | regions | output | truth."""

from __future__ import annotations

import io

import numpy as np


def grid_image(suite, pngs: dict[str, bytes], height: int = 192) -> np.ndarray:
    """Rows of composite | reference overlay (red = foreground, blue = reference) | output | ground truth,
    each `height` px high, for the samples in `pngs` (sample id → the method's output as PNG bytes)."""
    from PIL import Image

    from harness.data.io import to_uint8
    from harness.data.suites import load_spec

    by_id = {s.id: s for s in suite.specs}
    rows = []
    for sid, data in pngs.items():
        s = load_spec(by_id[sid])
        comp = to_uint8(s.composite)
        overlay = comp.astype(np.float32)
        overlay[s.fg] = 0.5 * overlay[s.fg] + 0.5 * np.array([255, 0, 0])
        overlay[s.ref] = 0.5 * overlay[s.ref] + 0.5 * np.array([0, 0, 255])
        out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        real = to_uint8(s.real) if s.real is not None else np.zeros_like(comp)
        tiles = [Image.fromarray(a.astype(np.uint8)) for a in (comp, overlay, out, real)]
        tiles = [t.resize((max(1, round(t.width * height / t.height)), height), Image.Resampling.BILINEAR)
                 for t in tiles]
        rows.append(np.concatenate([np.asarray(t) for t in tiles], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)
