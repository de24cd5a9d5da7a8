"""Reading what a preview shows from the file itself (on a worker thread): the head of a text file, an
image, an audio file's loudness over time, a video's facts and a frame. The store's meta and thumbnail
win when indexing already produced them, so a preview of an indexed file decodes nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image as PILImage

HEAD_BYTES = 64 << 10
HEAD_LINES = 200
WAVE_BUCKETS = 64
EXTRACTED = {".pdf", ".ipynb"}  # shown as the text vexplore extracted, not as raw bytes


@dataclass
class Preview:
    kind: str  # text | image | audio | video
    facts: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    lexer: str | None = None  # a pygments lexer name when the text is code
    image: bytes | Path | None = None
    picture: PILImage | None = None  # the image decoded small, ready to draw
    waveform: list[float] | None = None
    problem: str | None = None  # why part of the preview is missing


def stored_preview(meta: dict, text: str | None) -> Preview:
    """A row imported from a vectors source (modality "vector") has no file: its preview is the text the
    source's text column gave, and its label."""
    facts = {"label": meta["label"]} if meta.get("label") is not None else {}
    preview = Preview("vector", facts=facts)
    if text:
        lines = text.replace("\r\n", "\n").splitlines()
        preview.text = "\n".join(lines[:HEAD_LINES])
    else:
        preview.problem = "no text stored for this row (name one with --text-column)"
    return preview


def load_preview(path: Path, modality: str, meta: dict, thumb: bytes | None) -> Preview:
    """Everything the preview pane needs for one file; never raises for a bad file."""
    loader = {"text": _text, "image": _image, "audio": _audio, "video": _video}.get(modality)
    preview = Preview(modality, facts=dict(meta))
    if loader is None:
        preview.problem = "no preview for this kind of file"
        return preview
    try:
        loader(path, preview, thumb)
        if preview.image is not None:
            from .graphics import picture

            preview.picture = picture(preview.image)
    except FileNotFoundError:
        preview.problem = "the file is gone (re-index to drop it)"
    except PermissionError:
        preview.problem = "permission denied"
    except Exception as exc:  # noqa: BLE001 - a broken file gets a reason, never a crash
        preview.problem = f"cannot preview: {type(exc).__name__}: {str(exc)[:160]}"
    return preview


def _text(path: Path, preview: Preview, thumb: bytes | None) -> None:
    from vexplore.engine.decode.text import decode_bytes, read_text
    from vexplore.engine.models.base import DecodeError

    try:
        if path.suffix.lower() in EXTRACTED:
            text = read_text(path)[0]
        else:
            with open(path, "rb") as fh:
                text = decode_bytes(fh.read(HEAD_BYTES))
    except DecodeError as exc:
        preview.problem = str(exc)
        return
    lines = text.replace("\r\n", "\n").splitlines()
    preview.text = "\n".join(lines[:HEAD_LINES])
    preview.facts.setdefault("lines", f"{len(lines)}+" if len(lines) > HEAD_LINES else len(lines))
    preview.lexer = _lexer(path, preview.text)


def _lexer(path: Path, text: str) -> str | None:
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(path.name, text[:2000])
    except ClassNotFound:
        return None
    return None if lexer.name == "Text only" else lexer.aliases[0] if lexer.aliases else None


def _image(path: Path, preview: Preview, thumb: bytes | None) -> None:
    from PIL import Image

    if "width" not in preview.facts:
        with Image.open(path) as img:
            preview.facts.update(width=img.width, height=img.height, format=img.format or "", mode=img.mode)
    preview.image = thumb if thumb else path


def _audio(path: Path, preview: Preview, thumb: bytes | None) -> None:
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        try:
            with soundfile.SoundFile(str(path)) as snd:
                preview.facts.setdefault("duration", snd.frames / snd.samplerate)
                preview.facts.setdefault("sample_rate", snd.samplerate)
                preview.facts.setdefault("channels", snd.channels)
                preview.waveform = _loudness_sf(snd)
                return
        except soundfile.LibsndfileError:
            pass  # a format libsndfile does not read (m4a, aac): PyAV below
    preview.waveform = _loudness_av(path, preview.facts)


def _loudness_sf(snd) -> list[float]:
    """RMS of a short stretch at the start of each bucket: the shape of a long file without reading it all."""
    import numpy as np

    total = snd.frames
    if total == 0:
        return []
    buckets = min(WAVE_BUCKETS, total)
    step = total / buckets
    span = max(1, min(int(step), snd.samplerate // 2))
    out = []
    for i in range(buckets):
        snd.seek(int(i * step))
        block = snd.read(span, dtype="float32", always_2d=True)
        out.append(float(np.sqrt(np.mean(np.square(block)))) if block.size else 0.0)
    return out


def _loudness_av(path: Path, facts: dict) -> list[float]:
    import av
    import numpy as np

    rate = 8000
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        facts.setdefault("sample_rate", stream.rate)
        facts.setdefault("channels", stream.channels)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(stream):
            chunks.extend(f.to_ndarray().ravel() for f in resampler.resample(frame))
            if sum(len(c) for c in chunks) > rate * 600:  # ten minutes is shape enough
                break
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    facts.setdefault("duration", len(samples) / rate)
    if not len(samples):
        return []
    parts = np.array_split(samples, min(WAVE_BUCKETS, len(samples)))
    return [float(np.sqrt(np.mean(np.square(p)))) for p in parts]


def _video(path: Path, preview: Preview, thumb: bytes | None) -> None:
    if thumb is not None and "duration" in preview.facts:
        preview.image = thumb
        return
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        duration = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else (container.duration / 1_000_000 if container.duration else None)
        )
        rate = stream.average_rate or stream.guessed_rate
        facts = {
            "duration": duration,
            "fps": round(float(rate), 3) if rate else None,
            "width": ctx.width,
            "height": ctx.height,
            "codec": ctx.name,
            "has_audio": bool(container.streams.audio),
        }
        for key, value in facts.items():
            preview.facts.setdefault(key, value)
        if thumb is None:
            if duration and stream.time_base:  # a frame a little in says more than the (often black) first
                container.seek(int(duration * 0.1 / stream.time_base), stream=stream, backward=True)
            frame = next(container.decode(stream), None)
            if frame is not None:
                img = frame.to_image()
                img.thumbnail((320, 320))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                thumb = buf.getvalue()
    preview.image = thumb
