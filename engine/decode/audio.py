"""Reading audio as models want it: mono float32 at one sample rate, streamed so a long file is never
held at its source rate, with one clear reason when a file cannot be read.

soundfile (libsndfile) reads wav/flac/ogg/mp3/aiff directly; everything else (m4a/aac/opus/wma, the
audio track of a video) goes through PyAV. Resampling is soxr's, applied block by block.

`load_audio` meta keys (UI previews read them): duration (s, of the whole source when known),
sample_rate (the source's), channels, codec, decoded_seconds, truncated (longer than max_seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..models.base import DecodeError

# What load_audio imports: libsndfile's reader, FFmpeg's for everything else, soxr to resample (core
# dependencies: an adapter checks them once per run, so a broken install is not one error per file).
NEEDS = ("soundfile", "soxr", "av")
SAMPLE_RATE = 16000
MAX_SECONDS = 2 * 3600.0  # a longer recording is embedded from its first two hours
_BLOCK = 1 << 16  # frames per soundfile read


class _Collector:
    """Mono blocks in, resampled blocks kept; stops asking for more once `seconds` are covered."""

    def __init__(self, in_rate: int, out_rate: int, start: float, seconds: float):
        import soxr

        self.in_rate, self.out_rate = in_rate, out_rate
        self.skip = round(start * in_rate)  # source frames still to drop before the window
        self.want = round(seconds * in_rate)  # source frames still to keep
        self.stream = (
            soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32") if in_rate != out_rate else None
        )
        self.chunks: list[np.ndarray] = []
        self.seen = 0  # source frames passed in, skipped ones included

    @property
    def full(self) -> bool:
        return self.want <= 0

    def add(self, mono: np.ndarray) -> None:
        self.seen += len(mono)
        if self.skip:
            drop = min(self.skip, len(mono))
            mono, self.skip = mono[drop:], self.skip - drop
        if self.full or not len(mono):
            return
        mono = mono[: self.want]
        self.want -= len(mono)
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        self.chunks.append(self.stream.resample_chunk(mono) if self.stream else mono)

    def samples(self) -> np.ndarray:
        if self.stream is not None:
            self.chunks.append(self.stream.resample_chunk(np.zeros(0, np.float32), last=True))
        return (
            np.concatenate(self.chunks).astype(np.float32, copy=False)
            if self.chunks
            else np.zeros(0, np.float32)
        )


def _soundfile_blocks(path: Path) -> tuple[dict, Iterator[np.ndarray]] | None:
    """(facts, mono blocks) when libsndfile can read the file, else None (PyAV gets a try)."""
    import soundfile as sf

    try:
        fh = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    facts = {
        "sample_rate": fh.samplerate,
        "channels": fh.channels,
        "codec": fh.subtype or fh.format,
        "duration": round(fh.frames / fh.samplerate, 3) if fh.frames and fh.samplerate else None,
    }

    def blocks() -> Iterator[np.ndarray]:
        with fh:
            while True:
                try:
                    block = fh.read(_BLOCK, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise DecodeError(f"corrupt audio data: {exc}") from exc
                if not len(block):
                    return
                yield block.mean(axis=1)

    return facts, blocks()


def _av_blocks(path: Path) -> tuple[dict, Iterator[np.ndarray]]:
    """(facts, mono blocks) of the first audio stream, through FFmpeg."""
    import av
    from av.codec.context import ThreadType

    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"not a readable audio file ({_av_reason(exc)})") from exc
    if not container.streams.audio:
        kinds = "video only" if container.streams.video else "no streams"
        container.close()
        raise DecodeError(f"no audio stream in this file ({kinds})")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    ctx.thread_type = ThreadType.AUTO
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = round(float(stream.duration * stream.time_base), 3)
    elif container.duration is not None:
        duration = round(container.duration / 1_000_000, 3)
    facts = {
        "sample_rate": ctx.sample_rate,
        "channels": ctx.channels,
        "codec": ctx.name,
        "duration": duration,
    }
    if not ctx.sample_rate:
        container.close()
        raise DecodeError("audio stream has no sample rate")

    def blocks() -> Iterator[np.ndarray]:
        # libswresample only downmixes and converts to float here; the rate change is soxr's.
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=ctx.sample_rate)
        try:
            for frame in container.decode(stream):
                for out in to_mono.resample(frame):
                    yield out.to_ndarray().reshape(-1)
        except av.FFmpegError as exc:
            raise DecodeError(f"corrupt audio data ({_av_reason(exc)})") from exc
        finally:
            container.close()

    return facts, blocks()


def _av_reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc).splitlines()[0][:160]


def load_audio(
    path: Path,
    sr: int = SAMPLE_RATE,
    start: float = 0.0,
    seconds: float | None = None,
    max_seconds: float = MAX_SECONDS,
) -> tuple[np.ndarray, dict]:
    """Mono float32 samples at `sr` from `start` for `seconds` (default: to the end, capped at
    max_seconds), and facts about the source. Raises DecodeError with the reason a file is unusable."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DecodeError("empty file (0 bytes)")
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    opened = _soundfile_blocks(path) or _av_blocks(path)
    facts, blocks = opened
    want = max_seconds if seconds is None else min(seconds, max_seconds)
    collector = _Collector(int(facts["sample_rate"]), sr, max(0.0, start), want)
    try:
        for block in blocks:
            collector.add(block)
            if collector.full:
                break
    finally:
        close = getattr(blocks, "close", None)
        if close:
            close()
    samples = collector.samples()
    if not len(samples) and start <= 0:
        raise DecodeError("no audio samples in this file (truncated or empty stream)")
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    meta = {
        "duration": facts["duration"] if facts["duration"] else round(collector.seen / collector.in_rate, 3),
        "sample_rate": int(facts["sample_rate"]),
        "channels": int(facts["channels"] or 1),
        "codec": facts["codec"],
        "decoded_seconds": round(len(samples) / sr, 3),
        "truncated": seconds is None and collector.full,
    }
    return samples, meta


def windows(samples: np.ndarray, sr: int = SAMPLE_RATE, seconds: float = 30.0) -> list[np.ndarray]:
    """Consecutive windows of at most `seconds`; a short tail joins as its own window unless it is
    under a second and there is a window before it (too little sound to say anything on its own)."""
    size = int(sr * seconds)
    if len(samples) <= size:
        return [samples]
    out = [samples[i : i + size] for i in range(0, len(samples), size)]
    if len(out) > 1 and len(out[-1]) < sr:
        out.pop()
    return out
