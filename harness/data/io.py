"""Reading and writing suite images with explicit checks.

Every problem is an `InputError` naming the file: the CLI prints it as one line and exits 2. Accepted:
8-bit RGB images (PNG/JPEG; palette PNGs without transparency are converted), 8-bit single-channel masks
(grayscale, bilevel, or an RGB PNG whose three channels are equal). Refused, with the reason: grayscale
composites, alpha channels, 16-bit files, unreadable or missing files. A file is a local path or a location
in an object store (`s3://…`, harness/storage.py): both are read as bytes, one way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _png_bit_depth(head: bytes) -> int | None:
    """Bit depth from the PNG header (Pillow silently narrows 16-bit RGB PNGs to 8 bits)."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return None


def _path(location: str | Path) -> str | Path:
    """A location as messages name it: a local Path, or a store's URI without its query."""
    from harness.storage import display, is_uri

    return display(str(location)) if is_uri(str(location)) else Path(location)


def _open(location: str | Path):
    import io

    from PIL import Image, UnidentifiedImageError

    from harness.storage import read_bytes

    path = _path(location)
    data = read_bytes(str(location))  # InputError "file not found" when missing
    if _png_bit_depth(data[:26]) == 16:
        raise InputError(path, "16-bit image; expected 8 bits per channel")
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise InputError(path, f"cannot be read as an image ({err.__class__.__name__})") from None
    return im


def read_rgb(path: str | Path) -> np.ndarray:
    """An 8-bit RGB image as float32 H×W×3 in [0, 1]."""
    im = _open(path)
    path = _path(path)
    mode = im.mode
    if mode == "P" and "transparency" not in im.info:
        im, mode = im.convert("RGB"), "RGB"
    if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La"):
        raise InputError(path, f"has an alpha channel (mode {mode}); expected RGB without alpha")
    if mode in ("L", "1"):
        raise InputError(path, f"grayscale image (mode {mode}); expected RGB")
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise InputError(path, f"16-bit or float image (mode {mode}); expected 8-bit RGB")
    if mode != "RGB":
        raise InputError(path, f"unsupported image mode {mode}; expected 8-bit RGB")
    return np.asarray(im, dtype=np.uint8).astype(np.float32) / 255.0


def read_mask_channels(path: str | Path) -> np.ndarray:
    """A mask file as uint8: H×W for single-channel masks, H×W×3 for RGB ones. Alpha/16-bit refused."""
    im = _open(path)
    path = _path(path)
    mode = im.mode
    if mode == "1":
        im, mode = im.convert("L"), "L"
    if mode == "P" and "transparency" not in im.info:
        im, mode = im.convert("RGB"), "RGB"
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise InputError(path, f"16-bit or float mask (mode {mode}); expected 8-bit")
    if mode not in ("L", "RGB"):
        raise InputError(path, f"unsupported mask mode {mode}; expected 8-bit grayscale (or RGB)")
    arr = np.asarray(im, dtype=np.uint8)
    if arr.ndim == 3 and (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all():
        arr = arr[..., 0]  # a plain mask saved as RGB
    return arr


def read_mask_8bit(path: str | Path) -> np.ndarray:
    """A single-region mask file's own values, uint8 H×W (RGB with differing channels refused)."""
    arr = read_mask_channels(path)
    if arr.ndim == 3:
        raise InputError(path, "RGB mask with differing channels where a single-region mask was expected")
    return arr


def read_mask(path: str | Path) -> np.ndarray:
    """A single-region mask as float32 H×W: 1 where the 8-bit value is > 127, else 0."""
    return (read_mask_8bit(path) > 127).astype(np.float32)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] float → uint8 with rounding (not truncation)."""
    return np.clip(np.rint(np.asarray(img, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write a file via a temporary + rename, so an interruption never leaves it half-written under its
    final name (results, predictions and the cache must stay resumable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)


def png_bytes(img: np.ndarray) -> bytes:
    """An RGB image or a mask (float in [0, 1] or uint8) encoded as an 8-bit PNG."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img if img.dtype == np.uint8 else to_uint8(img)).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | Path, img: np.ndarray) -> None:
    """Write an RGB image or a mask (float in [0, 1] or uint8) as an 8-bit PNG, atomically."""
    atomic_write(path, png_bytes(img))


def id_to_stem(sample_id: str) -> str:
    """File stem for a sample id: iHarmony4 ids carry their subset ("HCOCO/c1_2_3" → "HCOCO__c1_2_3")."""
    return sample_id.replace("/", "__")


def find_image(directory: Path, stem: str) -> Path | None:
    """`directory/stem.png|jpg|jpeg` (first that exists), else None."""
    for ext in IMAGE_EXTENSIONS:
        p = directory / f"{stem}{ext}"
        if p.is_file():
            return p
    return None
