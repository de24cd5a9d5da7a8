"""Toy family: deterministic embeddings computed with numpy alone, in the spirit of simonw/llm's
`embed-demo`. They exist so the CLI, store, crash and UI tests (the fast test tier) and a quick look at
the tool run without torch or weights; they are never chosen as a default.

Files still go through the real decoders, so everything but the network is the real path:
text: signed hashed words (texts sharing words lie near each other) or character trigrams; images and
video frames: per-channel colour histograms; audio: the share of power in log-spaced frequency bands."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..decode.image import THUMB_SIZE, read_image, thumbnail_bytes
from ..decode.text import read_text
from .base import Adapter, Decoded, DecodeError, Embedded, Location, ModelSpec

TEXT_DIM = 256  # wide enough that a few hundred distinct words rarely collide
HIST_BINS = 16  # per colour channel
IMAGE_DIM = 3 * HIST_BINS
AUDIO_BANDS = 32
WINDOW_WORDS = 200  # a longer text becomes several parts, pooled by the pipeline like a real model's
PIXELS = 32  # side of the square a picture is shrunk to before its histogram
VIDEO_FRAMES = 4
AUDIO_SECONDS = 30.0
FFT_SIZE = 512
_WORD = re.compile(r"\w+")
_BIN_BLUR = np.array([0.25, 0.5, 1.0, 0.5, 0.25])

SPECS = [
    ModelSpec(
        name="toy",
        family="toy",
        modalities=("text",),
        dim=TEXT_DIM,
        backend="numpy",
        ref="toy",
        text_queries=True,
        description="toy text model (hashed words, numpy only): for tests and trying the tool",
    ),
    ModelSpec(
        name="toy-chars",
        family="toy",
        modalities=("text",),
        dim=TEXT_DIM,
        backend="numpy",
        ref="toy-chars",
        text_queries=True,
        description="toy text model (hashed character trigrams, numpy only): a second space to compare",
    ),
    ModelSpec(
        name="toy-image",
        family="toy",
        modalities=("image", "video"),
        dim=IMAGE_DIM,
        backend="numpy",
        ref="toy-image",
        description="toy image/video model (colour histograms, numpy only): for tests",
    ),
    ModelSpec(
        name="toy-audio",
        family="toy",
        modalities=("audio",),
        dim=AUDIO_BANDS,
        backend="numpy",
        ref="toy-audio",
        description="toy audio model (spectral band shares, numpy only): for tests",
    ),
]
DEFAULT_PRIORITY: dict[str, dict[str, int]] = {}  # never a default: only ever chosen by name


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    return None  # only the aliases


def locate(spec: ModelSpec) -> Location:
    return Location("builtin", None, True)


def _hashed(features: set[str]) -> np.ndarray:
    """Signed feature hashing, each feature counted once (a repeated "the" must not outweigh shared content
    words); the last component is a constant so a text with no features still has a direction."""
    vec = np.zeros(TEXT_DIM, dtype=np.float32)
    for feature in features:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        vec[h % (TEXT_DIM - 1)] += 1.0 if (h >> 32) & 1 else -1.0
    vec[-1] = 0.1
    return vec


def text_vector(text: str) -> np.ndarray:
    """Hashed words: texts sharing words lie near each other."""
    return _hashed(set(_WORD.findall(text.lower())))


def trigram_vector(text: str) -> np.ndarray:
    """Hashed character trigrams of the words: a different, fuzzier space over the same texts."""
    return _hashed({f" {w} "[i : i + 3] for w in _WORD.findall(text.lower()) for i in range(len(w))})


def image_vector(pixels: np.ndarray) -> np.ndarray:
    """Square roots of per-channel histograms (Hellinger), blurred across neighbouring bins so that
    close colours on either side of a bin edge still look alike."""
    flat = pixels.reshape(-1, 3)
    hists = [
        np.convolve(np.bincount(flat[:, c] // (256 // HIST_BINS), minlength=HIST_BINS), _BIN_BLUR, "same")
        for c in range(3)
    ]
    return np.sqrt(np.concatenate(hists).astype(np.float32) / len(flat))


def audio_vector(samples: np.ndarray) -> np.ndarray:
    """Square roots of each log-spaced band's share of the power; silence spreads evenly."""
    frames = max(1, len(samples) // FFT_SIZE)
    padded = np.zeros(frames * FFT_SIZE, dtype=np.float32)
    padded[: min(len(samples), len(padded))] = samples[: len(padded)]
    power = (np.abs(np.fft.rfft(padded.reshape(frames, FFT_SIZE), axis=1)) ** 2).mean(axis=0)
    edges = np.unique(np.geomspace(1, len(power), AUDIO_BANDS + 1).astype(int))
    bands = np.add.reduceat(power, edges[:-1])
    bands = np.concatenate([bands, np.zeros(AUDIO_BANDS - len(bands))]) + 1e-12
    return np.sqrt(bands / bands.sum()).astype(np.float32)


def _shrink(img: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(img.convert("RGB").resize((PIXELS, PIXELS)), dtype=np.uint8))


class ToyAdapter(Adapter):
    """Decodes with the real decoders and embeds with numpy: no torch, nothing to load."""

    family = "toy"
    needs_torch: ClassVar[bool] = False

    def load(self, device: str) -> None:
        self.device = "cpu"

    def decode(self, path: Path, modality: str) -> Decoded:
        if modality == "text":
            text, meta = read_text(path)
            decoded = self.decode_text(text)
            decoded.meta.update(meta)
            return decoded
        if modality == "image":
            img, meta = read_image(path, THUMB_SIZE * 3 // 4)
            return Decoded(parts=[_shrink(img)], meta=meta, thumbnail=thumbnail_bytes(img))
        if modality == "video":
            from ..decode.video import sample_frames

            frames, meta, thumb = sample_frames(path, n=VIDEO_FRAMES)
            return Decoded(parts=[_shrink(f) for f in frames], meta=meta, thumbnail=thumb)
        if modality == "audio":
            from ..decode.audio import load_audio, windows

            samples, meta = load_audio(path)
            return Decoded(parts=windows(samples, seconds=AUDIO_SECONDS), meta=meta)
        raise DecodeError(f"the toy models do not read {modality} files")

    def decode_text(self, text: str) -> Decoded:
        if "text" not in self.modalities:
            return super().decode_text(text)
        words = text.split()
        parts = [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words), WINDOW_WORDS)]
        return Decoded(parts=parts or [text], meta={"windows": len(parts)}, text=text)

    def embed(self, parts: list[Any]) -> Embedded:
        featurise = FEATURES[self.name]
        return Embedded(np.stack([featurise(part) for part in parts]).astype(np.float32))

    def embed_text(self, queries: list[str]) -> np.ndarray:
        if not self.spec.text_queries:
            return super().embed_text(queries)
        return np.stack([FEATURES[self.name](q) for q in queries])


FEATURES: dict[str, Callable[[Any], np.ndarray]] = {
    "toy": text_vector,
    "toy-chars": trigram_vector,
    "toy-image": image_vector,
    "toy-audio": audio_vector,
}
ADAPTER = ToyAdapter
