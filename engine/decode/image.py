"""Reading images safely and cheaply with Pillow: decode only as much as the model needs.

JPEGs are opened in draft mode, so libjpeg scales them down by 1/2, 1/4 or 1/8 while decoding when the
model wants far fewer pixels than the file holds (several times faster than a full decode). Every mode
Pillow can produce ends up as 8-bit RGB: EXIF orientation applied, alpha composited on white, 16-bit and
float data rescaled rather than clipped, the first frame of animations and multi-page files.

`meta` keys (what previews read): width, height (as displayed, after EXIF rotation), format, mode
(the file's own pixel mode), frames (animations and multi-page files only), exif_rotated (when EXIF
orientation changed the picture)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..models.base import DecodeError

MAX_PIXELS = 180_000_000  # larger claims are refused before decoding: a decompression bomb, not a photo
THUMB_SIZE = 256  # longest side of the thumbnail stored for the UI
THUMB_QUALITY = 80
_ROTATES = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def _draft_size(size: tuple[int, int], short: int) -> tuple[int, int]:
    """The smallest size, with the file's aspect ratio, whose short side is still at least `short`."""
    w, h = size
    scale = short / max(1, min(w, h))
    return max(1, int(w * scale + 0.999)), max(1, int(h * scale + 0.999))


def _to_rgb(img: Any) -> Any:
    """8-bit RGB from any Pillow mode; transparency over white, high-bit-depth data rescaled."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        if mode == "F":
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr = (arr - lo) / (hi - lo or 1.0) * 255.0
        elif arr.max(initial=0) > 255:  # 16-bit samples (I;16 or I holding 0..65535)
            arr = arr / 257.0
        grey = Image.fromarray(np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8), "L")
        return grey.convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def read_image(path: Path | str, target: int | None = 224) -> tuple[Any, dict]:
    """The first frame of an image file as 8-bit RGB, decoded at no less than `target` px on its short
    side (None: full size), and facts about the file. Raises DecodeError with the per-file reason."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise DecodeError(
                    f"image too large ({w}x{h} = {w * h:,} pixels): refused as a decompression bomb"
                )
            meta: dict[str, Any] = {"width": w, "height": h, "format": img.format or "", "mode": img.mode}
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                meta["frames"] = frames
            orientation = img.getexif().get(0x0112, 1)
            if orientation in _ROTATES:
                meta["width"], meta["height"] = h, w
            if target and img.format == "JPEG":
                img.draft("RGB", _draft_size((w, h), target))
            img.seek(0)
            img.load()
            upright: Image.Image = img
            if orientation not in (None, 1):
                upright = ImageOps.exif_transpose(img)
                meta["exif_rotated"] = True
            rgb = _to_rgb(upright)
            rgb.load()
            return rgb, meta
    except DecodeError:
        raise
    except UnidentifiedImageError as exc:
        raise DecodeError("not an image Pillow can read (unknown or unsupported format)") from exc
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"image too large: refused as a decompression bomb ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise
        text = str(exc) or type(exc).__name__
        if "truncated" in text or isinstance(exc, EOFError):
            raise DecodeError(f"truncated image file ({text})") from exc
        raise DecodeError(f"corrupt or unreadable image: {text[:160]}") from exc


def load_image(path: Path | str, target: int | None = 224) -> Any:
    """The image as 8-bit RGB (see read_image), for callers that need no facts about the file."""
    return read_image(path, target)[0]


def thumbnail_bytes(img: Any, size: int = THUMB_SIZE) -> bytes:
    """A small JPEG of the picture for the UI, so browsing never decodes the full file again."""
    thumb = img.copy() if max(img.size) > size else img
    if thumb is not img:
        thumb.thumbnail((size, size), reducing_gap=2.0)
    out = io.BytesIO()
    thumb.convert("RGB").save(out, "JPEG", quality=THUMB_QUALITY, optimize=False)
    return out.getvalue()
