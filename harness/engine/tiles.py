"""The images logged with a benchmark: per method a grid (per sample, composite | regions | output | truth), and
the same tiles one by one for the report's qualitative figure (reports/); run-robustness's figure per sample
(the outputs side by side per region)."""

from __future__ import annotations

import io

import numpy as np


def _fit(arr: np.ndarray, height: int) -> np.ndarray:
    """`arr` (H×W×3 uint8) scaled to `height` px high, aspect kept."""
    from PIL import Image

    im = Image.fromarray(arr.astype(np.uint8))
    return np.asarray(im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.BILINEAR))


def input_tiles(suite, ids, height: int = 192) -> dict[str, dict[str, np.ndarray | None]]:
    """Per sample id: the composite, the regions overlay (red = foreground, blue = reference) and the ground
    truth (None when the suite has none), each `height` px high — what every method's output is shown beside."""
    from harness.data.io import to_uint8
    from harness.data.suites import load_spec

    by_id = {s.id: s for s in suite.specs}
    out = {}
    for sid in ids:
        s = load_spec(by_id[sid])
        comp = to_uint8(s.composite)
        overlay = comp.astype(np.float32)
        overlay[s.fg] = 0.5 * overlay[s.fg] + 0.5 * np.array([255, 0, 0])
        overlay[s.ref] = 0.5 * overlay[s.ref] + 0.5 * np.array([0, 0, 255])
        out[sid] = {"composite": _fit(comp, height), "regions": _fit(overlay, height),
                    "truth": _fit(to_uint8(s.real), height) if s.real is not None else None}
    return out


def output_tile(png: bytes, height: int = 192) -> np.ndarray:
    """A method's output (PNG bytes) as a tile `height` px high."""
    from PIL import Image

    return _fit(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), height)


def grid_image(suite, pngs: dict[str, bytes], height: int = 192,
               inputs: dict[str, dict[str, np.ndarray | None]] | None = None) -> np.ndarray:
    """Rows of composite | reference overlay (red = foreground, blue = reference) | output | ground truth,
    each `height` px high, for the samples in `pngs` (sample id → the method's output as PNG bytes);
    `inputs`: `input_tiles` of those samples, when already made."""
    inputs = inputs or input_tiles(suite, list(pngs), height)
    rows = []
    for sid, data in pngs.items():
        t = inputs[sid]
        truth = t["truth"] if t["truth"] is not None else np.zeros_like(t["composite"])
        rows.append(np.concatenate([t["composite"], t["regions"], output_tile(data, height), truth], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)


def region_figure(sample, pngs: dict[str, bytes], methods: list[str], regions: list[str],
                 height: int = 144) -> np.ndarray:
    """The paper's Fig. 5 for one sample: a top row with the composite and each candidate region (blue, the
    foreground red), then one row per method with its output under each region, labelled. `pngs` maps
    "method|region" to the output."""
    from PIL import Image, ImageDraw

    from harness.data.io import to_uint8
    from harness.data.references import candidates

    comp = to_uint8(sample.composite)
    masks = {name: m for name, m, _ in candidates(sample, ["suite", "background", "auto", "boxes:64"])}

    def tile(arr: np.ndarray, label: str) -> Image.Image:
        im = Image.fromarray(arr)
        im = im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (im.width, height + 16), "white")
        canvas.paste(im, (0, 16))
        ImageDraw.Draw(canvas).text((2, 2), label[:32], fill="black")
        return canvas

    def overlay(region: str) -> np.ndarray:
        out = comp.astype(np.float32)
        out[sample.fg] = 0.5 * out[sample.fg] + 0.5 * np.array([255, 0, 0])
        if region in masks:
            m = masks[region] > 0.5
            out[m] = 0.5 * out[m] + 0.5 * np.array([0, 0, 255])
        return out.astype(np.uint8)

    grid = [[tile(comp, "composite")] + [tile(overlay(r), f"region: {r}") for r in regions]]
    for method in methods:
        row = [tile(comp, method)]
        for r in regions:
            data = pngs.get(f"{method}|{r}")
            arr = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) if data else np.full_like(comp, 255)
            row.append(tile(arr, f"{method} -> {r}"))  # ASCII: PIL's default font has no arrow glyph
        grid.append(row)
    widths = [sum(t.width for t in row) for row in grid]
    sheet = Image.new("RGB", (max(widths), sum(row[0].height for row in grid)), "white")
    y = 0
    for row in grid:
        x = 0
        for t in row:
            sheet.paste(t, (x, y))
            x += t.width
        y += row[0].height
    return np.asarray(sheet)
