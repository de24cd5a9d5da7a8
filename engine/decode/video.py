"""Frames from video files for image models: N frames spread uniformly over the video, reached by
keyframe seeking so a long file is never decoded whole, plus the facts and thumbnail the UI shows.

Image adapters embed the frames and the pipeline mean-pools them, so a video lands in the same space
as the images of that model. Meta keys (UI previews read them): duration (s), fps, width, height,
frames (count, exact or estimated), has_audio, codec, audio_codec (when there is audio), sampled.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..models.base import DecodeError

NEEDS = ("av",)  # what reading frames imports (a core dependency: checked once per run, not per file)
FRAMES = 8
MAX_SIDE = 512  # frames are scaled down to this long side: models want ~224 px, pickling stays cheap
THUMB_SIDE = 320
FORWARD_SECONDS = 2.0  # closer than this to the last decoded frame: decode on instead of seeking
MAX_DECODE_PER_FRAME = 600  # frames decoded in search of one target before taking what we have
MAX_SCAN_FRAMES = 20000  # a stream with no known duration is decoded at most this far


def _open(path: Path):
    import av

    try:
        if Path(path).stat().st_size == 0:
            raise DecodeError("empty file (0 bytes)")
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = str(getattr(exc, "strerror", None) or exc).splitlines()[0][:160]
        raise DecodeError(f"not a readable video file ({reason})") from exc


def _video_stream(container):
    """The first real video stream (cover art attached to an audio file does not count)."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    kinds = "audio only" if container.streams.audio else "no audio or video streams"
    raise DecodeError(f"no video stream in this file ({kinds})")


def _facts(container, stream) -> dict[str, Any]:
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else None
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    frames = stream.frames or (round(duration * fps) if duration and fps else None)
    audio = container.streams.audio
    meta = {
        "duration": round(duration, 3) if duration else None,
        "fps": round(fps, 3) if fps else None,
        "width": ctx.width,
        "height": ctx.height,
        "frames": frames,
        "has_audio": bool(audio),
        "codec": ctx.name,
    }
    if audio:
        meta["audio_codec"] = audio[0].codec_context.name
    return meta


def probe(path: Path) -> dict[str, Any]:
    """Duration, fps, resolution, frame count, audio and codec, from the headers (nothing decoded)."""
    container = _open(path)
    try:
        return _facts(container, _video_stream(container))
    finally:
        container.close()


def _to_image(frame, max_side: int | None):
    """An RGB PIL image of a decoded frame, scaled so its long side is at most max_side."""
    w, h = frame.width, frame.height
    scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
    if scale < 1.0:
        w, h = max(2, round(w * scale)), max(2, round(h * scale))
    img = frame.reformat(width=w, height=h, format="rgb24").to_image()
    rotation = getattr(frame, "rotation", 0) or 0
    return img.rotate(rotation, expand=True) if rotation % 360 else img


def _decode_frames(container, stream):
    """Decoded frames, skipping the corrupt packets a damaged file has instead of giving up on it."""
    import av

    try:
        yield from container.decode(stream)
    except av.FFmpegError:
        return  # what was decoded so far stands; an empty result becomes a reason below


def _by_seeking(container, stream, n: int, start: float, duration: float, max_side: int | None) -> list:
    """The frame at or just after each of n uniform timestamps, seeking to the keyframe before each."""
    targets = [start + (i + 0.5) * duration / n for i in range(n)]
    picked = []
    frames = None
    last_time = picked_time = None
    for target in targets:
        if frames is None or last_time is None or not (0 <= target - last_time <= FORWARD_SECONDS):
            try:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            except Exception:  # noqa: BLE001 - an unseekable file falls back to decoding on
                if frames is None:
                    container.seek(0)
            frames = _decode_frames(container, stream)
        chosen = None
        for _, frame in zip(range(MAX_DECODE_PER_FRAME), frames, strict=False):
            chosen = frame
            last_time = frame.time
            if frame.time is None or frame.time >= target - 1e-3:
                break
        if chosen is None:  # ran off the end (a truncated file): settle for what came before
            break
        if chosen.time is not None and chosen.time == picked_time:
            continue  # fewer frames than samples: each frame once, so none weighs double in the mean
        picked_time = chosen.time
        picked.append(_to_image(chosen, max_side))
    return picked


def _by_scanning(container, stream, n: int, max_side: int | None) -> list:
    """For streams with no known duration: decode on, keeping every k-th frame (k doubling as needed)
    so memory stays at 2n frames, then take n of them evenly."""
    kept, stride = [], 1
    for i, frame in enumerate(_decode_frames(container, stream)):
        if i >= MAX_SCAN_FRAMES:
            break
        if i % stride:
            continue
        kept.append(_to_image(frame, max_side))
        if len(kept) >= 2 * n:
            kept, stride = kept[::2], stride * 2
    if len(kept) <= n:
        return kept
    return [kept[int((i + 0.5) * len(kept) / n)] for i in range(n)]


def thumbnail_jpeg(img, side: int = THUMB_SIDE) -> bytes:
    """Small JPEG bytes of a frame for the UI preview."""
    thumb = img.copy()
    thumb.thumbnail((side, side))
    buf = io.BytesIO()
    thumb.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def sample_frames(
    path: Path, n: int = FRAMES, max_side: int | None = MAX_SIDE
) -> tuple[list, dict, bytes | None]:
    """(n RGB PIL frames in time order, meta, JPEG thumbnail of the frame nearest the middle).

    Fewer than n frames come back only when the video has fewer (or is truncated); none at all is a
    DecodeError with the reason."""
    import av

    container = _open(path)
    try:
        stream = _video_stream(container)
        meta = _facts(container, stream)
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        duration = meta["duration"]
        try:
            if duration and duration > 0:
                frames = _by_seeking(container, stream, n, start, duration, max_side)
            else:
                frames = _by_scanning(container, stream, n, max_side)
        except av.FFmpegError as exc:
            raise DecodeError(f"cannot decode video: {str(exc).splitlines()[0][:160]}") from exc
    finally:
        container.close()
    if not frames:
        raise DecodeError("no decodable video frames (truncated or corrupt file)")
    meta["sampled"] = len(frames)
    return frames, meta, thumbnail_jpeg(frames[len(frames) // 2])
