"""Pictures in the terminal through textual-image: kitty graphics or sixel where the terminal speaks them,
coloured half-block characters everywhere else (tmux included).

textual-image asks the terminal what it supports when it is imported, which only works before Textual
owns stdin, and costs up to ~0.2 s in a terminal that does not answer. So the app calls prepare() before
it starts, and only when the folder holds pictures at all."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vexplore.engine.extras import missing_message

if TYPE_CHECKING:  # (importing textual_image probes the terminal: only in prepare())
    from PIL.Image import Image as PILImage
    from textual_image.widget._base import Image as PictureWidget

_image_class: type[PictureWidget] | None = None
_reason = "pictures show when the folder has images or videos at start-up (restart vexplore)"


def prepare(wanted: bool) -> None:
    """Probe the terminal and pick the image widget class (call before App.run)."""
    global _image_class, _reason
    if not wanted or _image_class is not None:
        return
    if os.environ.get("VEXPLORE_IMAGES", "").lower() in ("0", "off", "none", "no"):
        _reason = "pictures are off (VEXPLORE_IMAGES)"
        return
    try:
        from textual_image import renderable, widget
    except ImportError:
        _reason = missing_message("textual_image", None, "showing pictures")
        return
    except Exception as exc:  # noqa: BLE001 - a terminal that answers oddly must not stop the app
        _reason = f"pictures are unavailable here ({type(exc).__name__})"
        return
    # Not a terminal at all (tests, pipes): half blocks still draw, and deterministically.
    auto_is_text = renderable.Image is renderable.UnicodeImage
    _image_class = widget.HalfcellImage if auto_is_text else widget.Image


def available() -> bool:
    return _image_class is not None


def unavailable_reason() -> str:
    return _reason


def picture(source: bytes | Path) -> PILImage:
    """A small RGB PIL image from PNG/JPEG bytes (a stored thumbnail) or a file (call off the UI thread)."""
    from PIL import Image

    opened = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    opened.draft("RGB", (640, 640))  # JPEG: decode at a fraction of the size, the terminal shows few pixels
    img = opened.convert("RGB")
    img.thumbnail((640, 640))
    return img


def image_widget(img: PILImage, classes: str | None = None) -> PictureWidget | None:
    """A widget that draws img (from picture()); None when pictures are off."""
    return None if _image_class is None else _image_class(img, classes=classes)
