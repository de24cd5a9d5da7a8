"""Whisper family (Hugging Face transformers): audio embeddings from the encoder.

A file is cut into 30 s windows; each window is padded to 30 s as Whisper was trained, encoded, and its
vector is the encoder's last hidden state averaged over the frames that hold audio (50 per second), not
over the padding; the pipeline pools the windows into the file vector. The decoder plays no part.
Several windows go through the encoder per call.

Model names take flags after `+`, for this family and the CTranslate2 one (models/ct2whisper.py):
  `+video`       also embed the audio track of video files (a second vector beside the image model's)
  `+transcript`  store Whisper's transcript as the file's text (CTranslate2 models only; slower)
  `+full`        CTranslate2 models: encode each window padded to 30 s as Whisper was trained, not just
                 the audio (their default; slower on short clips). Transformers models always do this.
e.g. `whisper-tiny.en+transcript`, `openai/whisper-small+video`.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..decode import audio
from ..decode.audio import SAMPLE_RATE, load_audio, windows
from ..precision import autocast
from .base import Adapter, Decoded, Embedded, Location, ModelError, ModelSpec
from .resolve import locate_hf

WINDOW_SECONDS = 30
FRAMES_PER_SECOND = 50  # encoder output frames per second of audio (1500 per 30 s window)
MAX_WINDOWS = 240  # two hours; load_audio stops there too
FLAGS = ("video", "transcript", "full")
CT2_ONLY = ("transcript",)

SPECS = [
    ModelSpec(
        name="whisper-base",
        family="whisper",
        modalities=("audio",),
        dim=512,
        backend="transformers",
        ref="openai/whisper-base",
        description="OpenAI Whisper base encoder (transformers): speech and sound embeddings",
    ),
]
DEFAULT_PRIORITY = {"whisper-base": {"audio": 1}}


@dataclass
class Window:
    """One window of audio as the encoder takes it: log-mel features padded to 30 s, and how many
    encoder frames of it hold audio (the rest is padding and is left out of the mean)."""

    features: np.ndarray  # float32 [n_mels, 3000]
    frames: int


def audio_frames(n_samples: int, sr: int = SAMPLE_RATE) -> int:
    """Encoder frames that hold audio for a window of n_samples."""
    return max(1, min(WINDOW_SECONDS * FRAMES_PER_SECOND, math.ceil(n_samples / sr * FRAMES_PER_SECOND)))


def pool_frames(hidden: np.ndarray, frames: list[int]) -> np.ndarray:
    """Per window, the mean of the encoder states over its frames that hold audio."""
    return np.stack([hidden[i, :n].mean(axis=0) for i, n in enumerate(frames)]).astype(np.float32)


def split_flags(name: str) -> tuple[str, tuple[str, ...]]:
    """`base+flag+flag` → (base, flags), when every suffix is a known flag; else (name, ())."""
    base, *flags = name.split("+")
    if flags and all(f in FLAGS for f in flags):
        return base, tuple(dict.fromkeys(flags))
    return name, ()


def with_flags(spec: ModelSpec, name: str, flags: tuple[str, ...]) -> ModelSpec:
    """A copy of a Whisper spec under the flagged name, with the flags as options."""
    if spec.family not in ("whisper", "ct2whisper"):
        raise ModelError(f"{name}: flags {'+'.join(flags)} apply to Whisper models only")
    if spec.family == "whisper" and set(flags) & set(CT2_ONLY):
        raise ModelError(f"{name}: +transcript needs a CTranslate2 Whisper model (e.g. whisper-tiny.en)")
    modalities = spec.modalities + (("video",) if "video" in flags and "video" not in spec.modalities else ())
    options = spec.options + tuple((flag, True) for flag in flags)
    return dataclasses.replace(spec, name=name, modalities=modalities, options=options)


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    """Flagged Whisper names, HF Whisper folders (model_type whisper) and HF ids that name Whisper."""
    base, flags = split_flags(name)
    if flags:
        from .registry import resolve

        return with_flags(resolve(base), name, flags)
    if config.get("model_type") == "whisper" or (
        folder is None
        and "whisper" in name.lower()
        and "/" in name
        and "faster-whisper" not in name.lower()
        and "ct2" not in name.lower()
    ):
        return ModelSpec(
            name=name,
            family="whisper",
            modalities=("audio",),
            dim=config.get("d_model"),
            backend="transformers",
            ref=name,
            description="Whisper encoder (transformers)",
        )
    return None


def locate(spec: ModelSpec) -> Location:
    return locate_hf(spec)


class WhisperBase(Adapter):
    """What every Whisper backend shares: windows, features in loader workers, batched encoding, pooling."""

    decode_in_workers = True
    decoders: ClassVar[dict[str, tuple[str, ...]]] = {"audio": audio.NEEDS, "video": audio.NEEDS}
    _heavy = ("model", "encoder", "whisper")  # left out when the adapter is pickled to a worker
    transcribe = False  # store a transcript as the file's text (needs the model: decodes inline)

    @abstractmethod
    def features(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel features of one window, padded to 30 s: [n_mels, 3000] float32."""

    @abstractmethod
    def encode(self, features: np.ndarray) -> np.ndarray:
        """Encoder last hidden states [batch, frames, dim] for features [batch, n_mels, length]."""

    def transcript(self, samples: np.ndarray) -> str:
        raise ModelError(f"model {self.name!r} cannot transcribe")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._heavy}

    def default_batch(self) -> int:
        return 32 if self.device.startswith("cuda") else 8

    def decode(self, path: Path, modality: str) -> Decoded:
        samples, meta = load_audio(path, SAMPLE_RATE, max_seconds=MAX_WINDOWS * WINDOW_SECONDS)
        if modality == "video":  # the image model owns the video's duration/codec keys
            meta = {"audio_" + k: v for k, v in meta.items() if k in ("sample_rate", "channels", "truncated")}
        chunks = windows(samples, SAMPLE_RATE, WINDOW_SECONDS)
        parts = [Window(self.features(chunk), audio_frames(len(chunk))) for chunk in chunks]
        meta["windows"] = len(parts)
        return Decoded(parts=parts, meta=meta, text=self.transcript(samples) if self.transcribe else None)

    def embed(self, parts: list[Any]) -> Embedded:
        out = np.zeros((len(parts), self.dim), dtype=np.float32)
        size = self.batch_size()
        for start in range(0, len(parts), size):
            batch = parts[start : start + size]
            hidden = self.encode(np.stack([w.features for w in batch]))
            out[start : start + len(batch)] = pool_frames(hidden, [w.frames for w in batch])
        return Embedded(out)


class HFWhisperAdapter(WhisperBase):
    family = "whisper"

    def load(self, device: str) -> None:
        source = self.hf_weights()
        import torch
        from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

        try:
            config = WhisperConfig.from_pretrained(source)
            model = WhisperModel.from_pretrained(source, dtype=torch.float32)
            self.encoder = model.get_encoder().to(device).eval()
            try:
                self.extractor = WhisperFeatureExtractor.from_pretrained(source)
            except OSError:  # a folder with weights but no preprocessor_config.json
                self.extractor = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear line
            raise self.load_failed(exc) from exc
        self.device, self.dim = device, int(config.d_model)

    def features(self, samples: np.ndarray) -> np.ndarray:
        got = self.extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="np")
        return got["input_features"][0].astype(np.float32)

    def encode(self, features: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(features)
        if self.device.startswith("cuda"):
            x = x.pin_memory()
        with torch.inference_mode(), autocast(self.device, self.precision):
            x = x.to(self.device, non_blocking=True)
            return self.encoder(x).last_hidden_state.float().cpu().numpy()


ADAPTER = HFWhisperAdapter
