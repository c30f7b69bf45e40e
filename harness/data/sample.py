"""The one data type that flows CLI → suite → Ray tasks → method → metrics → MLflow.

Convention, stated once for the whole project:
- images (`composite`, `real`) are float32 arrays H×W×3, RGB, values in [0, 1] (sRGB-encoded, as stored);
- masks (`fg_mask`, `ref_mask`) are float32 arrays H×W in [0, 1]; a pixel is *inside* when its value > 0.5;
- `real` (the ground truth) is optional: user data to be harmonized may have none;
- `references` (optional) are the suite's named candidate reference regions — run-robustness runs every
  method with each — each with the ground truth it implies when the suite knows it (e.g. a scene under
  spatially varying light: harmonized to region A, the foreground takes A's light). `ref_mask`/`real` are the
  default reference and its truth;
- `fg_mask_file` (optional) is the foreground mask *as stored*, before thresholding: uint8 H×W, or H×W×3 when
  the file's channels differ. The peers' evaluation protocols read the mask file their own way (bcmi: PIL
  mode '1' with dithering; iDIH: the soft values as weights), so they need it (harness/scoring/peers.py);
  None for generated samples (then the peers read `fg_mask` as 8 bits);
- `meta` holds provenance: `source` (e.g. "bundled-sample", "portraittest", "folder"), `original_size`
  (H, W), and suite-specific keys (subset, perturbation, file paths).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import InputError

INSIDE = 0.5  # mask values above this are inside the region


def _as_image(where: str, name: str, arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(where, f"{name} must be H×W×3 RGB, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
        raise InputError(where, f"{name} values must be finite and in [0, 1]")
    return arr


def _as_mask(where: str, name: str, arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise InputError(where, f"{name} must be H×W, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
        raise InputError(where, f"{name} values must be finite and in [0, 1]")
    return arr


@dataclass(frozen=True, eq=False)
class Reference:
    """A named candidate reference region (H×W mask, > 0.5 inside) and, when known, the truth it implies."""

    name: str
    mask: np.ndarray
    real: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Sample:
    """A composite to harmonize, its foreground and reference regions, and (optionally) the ground truth."""

    id: str
    composite: np.ndarray
    fg_mask: np.ndarray
    ref_mask: np.ndarray
    real: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    references: tuple[Reference, ...] = ()
    fg_mask_file: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = self.meta.get("path", self.id) if self.meta else self.id
        set_ = object.__setattr__  # frozen dataclass: normalise once, here
        set_(self, "composite", _as_image(where, "composite", self.composite))
        set_(self, "fg_mask", _as_mask(where, "foreground mask", self.fg_mask))
        set_(self, "ref_mask", _as_mask(where, "reference mask", self.ref_mask))
        if self.real is not None:
            set_(self, "real", _as_image(where, "real (ground truth)", self.real))
        h, w = self.composite.shape[:2]
        for name, arr in (("foreground mask", self.fg_mask), ("reference mask", self.ref_mask),
                          ("real (ground truth)", self.real)):
            if arr is not None and arr.shape[:2] != (h, w):
                raise InputError(where, f"{name} is {arr.shape[1]}×{arr.shape[0]} but the composite is {w}×{h}")
        raw = self.fg_mask_file
        if raw is not None and (not isinstance(raw, np.ndarray) or raw.dtype != np.uint8
                                or raw.shape[:2] != (h, w) or raw.ndim not in (2, 3)
                                or (raw.ndim == 3 and raw.shape[2] != 3)):
            raise InputError(where, f"fg_mask_file must be uint8 {h}×{w} or {h}×{w}×3, got "
                                    f"{getattr(raw, 'dtype', type(raw))} {getattr(raw, 'shape', '')}")
        fg = self.fg_mask > INSIDE
        if not fg.any():
            raise InputError(where, "foreground mask is empty (no pixel > 0.5)")
        if fg.all():
            raise InputError(where, "foreground mask covers the whole image (no background left)")
        if not (self.ref_mask > INSIDE).any():
            raise InputError(where, "reference mask is empty (no pixel > 0.5)")
        refs = []
        for r in self.references:
            m = _as_mask(where, f"reference '{r.name}'", r.mask)
            t = None if r.real is None else _as_image(where, f"truth of reference '{r.name}'", r.real)
            for arr in (m, t):
                if arr is not None and arr.shape[:2] != (h, w):
                    raise InputError(where, f"reference '{r.name}' is {arr.shape[1]}×{arr.shape[0]}, the composite "
                                            f"{w}×{h}")
            if not (m > INSIDE).any():
                raise InputError(where, f"reference '{r.name}' is empty (no pixel > 0.5)")
            refs.append(Reference(r.name, m, t))
        names = [r.name for r in refs]
        if len(set(names)) != len(names):
            raise InputError(where, f"reference names repeat: {', '.join(names)}")
        set_(self, "references", tuple(refs))
        meta = dict(self.meta)
        meta.setdefault("original_size", (h, w))
        set_(self, "meta", meta)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.composite.shape[0], self.composite.shape[1]

    @property
    def fg(self) -> np.ndarray:
        """Boolean foreground (mask > 0.5)."""
        return self.fg_mask > INSIDE

    @property
    def ref(self) -> np.ndarray:
        """Boolean reference region (mask > 0.5)."""
        return self.ref_mask > INSIDE

    @property
    def fg_ratio(self) -> float:
        """Fraction of the image inside the foreground."""
        return float(self.fg.mean())

    @property
    def fg_mask_8bit(self) -> np.ndarray:
        """The foreground mask as the file stored it (`fg_mask_file`), else `fg_mask` on 0–255."""
        if self.fg_mask_file is not None:
            return self.fg_mask_file
        return np.clip(np.rint(self.fg_mask.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)

    @property
    def source(self) -> str:
        return str(self.meta.get("source", "unknown"))

    def with_reference(self, name: str, mask: np.ndarray, real: np.ndarray | None = None) -> "Sample":
        """This sample harmonized towards another region: `ref_mask` replaced, and `real` too when the region
        implies its own truth (otherwise the sample's truth stands)."""
        import dataclasses

        return dataclasses.replace(self, ref_mask=mask, real=self.real if real is None else real,
                                   meta={**self.meta, "reference": name})
