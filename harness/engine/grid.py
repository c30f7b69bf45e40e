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


def sweep_figure(sample, pngs: dict[str, bytes], methods: list[str], regions: list[str],
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
            row.append(tile(arr, f"{method} → {r}"))
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
