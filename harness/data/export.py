"""Write any suite in the harness folder layout (composite/, mask/, reference/, real/, and references/ +
references_real/ when the suite has named candidate regions), so users can run their own models on it and
score the results with `harness score --suite folder`."""

from __future__ import annotations

from pathlib import Path

from harness.data.io import id_to_stem, write_png
from harness.data.specs import Suite
from harness.data.suites import load_spec


def export_suite(suite: Suite, out: str | Path, progress=None) -> int:
    """Write every sample; returns how many. Each PNG is written atomically (never half-written)."""
    out = Path(out)
    n = 0
    for spec in suite.specs:
        s = load_spec(spec)
        stem = id_to_stem(s.id)
        write_png(out / "composite" / f"{stem}.png", s.composite)
        write_png(out / "mask" / f"{stem}.png", s.fg_mask)
        write_png(out / "reference" / f"{stem}.png", s.ref_mask)
        if s.real is not None:
            write_png(out / "real" / f"{stem}.png", s.real)
        for r in s.references:  # named candidate regions (and their truths), for run-robustness
            write_png(out / "references" / stem / f"{r.name}.png", r.mask)
            if r.real is not None:
                write_png(out / "references_real" / stem / f"{r.name}.png", r.real)
        n += 1
        if progress:
            progress(n)
    return n
