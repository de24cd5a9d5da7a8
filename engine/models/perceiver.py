"""DeepMind's multimodal Perceiver IO (`deepmind/multimodal-perceiver`): video and its sound in one vector.

The model takes 16 frames (224 px, values in [0, 1]) and the matching 0.64 s of 48 kHz audio, as in its
Kinetics auto-encoding training. Frames are spread uniformly over the video so the vector describes the
whole file; the audio is the same length of sound from the middle of the track (silence when there is
none). The embedding is the mean of the latent array (the encoder's last hidden state). With the
Kinetics label decoder the model also names the top-5 action classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np

from ..decode.audio import NEEDS as AUDIO_NEEDS
from ..decode.audio import load_audio
from ..decode.video import NEEDS as VIDEO_NEEDS
from ..precision import autocast
from .base import Adapter, Decoded, DecodeError, Embedded, Location, ModelSpec
from .resolve import locate_hf

VIDEO_FPS = 25  # the frame rate the model's audio alignment assumes (1920 samples a frame at 48 kHz)

SPECS = [
    ModelSpec(
        name="perceiver",
        family="perceiver",
        modalities=("video",),
        dim=512,
        backend="transformers",
        ref="deepmind/multimodal-perceiver",
        description=(
            "DeepMind multimodal Perceiver IO (Kinetics-700 auto-encoding): video + audio in one vector"
        ),
    ),
]
DEFAULT_PRIORITY: dict[str, dict[str, int]] = {}


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    if "PerceiverForMultimodalAutoencoding" in (config.get("architectures") or []) or (
        folder is None and "multimodal-perceiver" in name.lower()
    ):
        return ModelSpec(
            name=name,
            family="perceiver",
            modalities=("video",),
            dim=config.get("d_latents"),
            backend="transformers",
            ref=name,
            description="multimodal Perceiver IO",
        )
    return None


def locate(spec: ModelSpec) -> Location:
    return locate_hf(spec)


def square(img, size: int) -> np.ndarray:
    """Centre square crop resized to size×size, as float32 [3, size, size] in [0, 1]."""
    from PIL import Image

    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    arr = np.asarray(
        img.convert("RGB").resize((size, size), Image.Resampling.BICUBIC, box=box), dtype=np.float32
    )
    return arr.transpose(2, 0, 1) / 255.0


class PerceiverAdapter(Adapter):
    family = "perceiver"
    decode_in_workers = True
    decoders: ClassVar[dict[str, tuple[str, ...]]] = {"video": VIDEO_NEEDS + AUDIO_NEEDS}

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def load(self, device: str) -> None:
        source = self.hf_weights()
        from transformers import PerceiverForMultimodalAutoencoding

        try:
            model = PerceiverForMultimodalAutoencoding.from_pretrained(source)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear line
            raise self.load_failed(exc) from exc
        cfg = model.config
        # transformers types PreTrainedModel.to as a functools.wraps wrapper, which a type checker cannot
        # bind to the instance: the call is nn.Module.to's.
        self.model = cast(Any, model).to(device).eval()
        size = cfg.image_size  # an int for this model; configs may also give (height, width)
        self.frames, self.size = int(cfg.num_frames), int(size if isinstance(size, int) else size[0])
        self.audio_samples = int(cfg.num_frames * cfg.audio_samples_per_frame)
        self.sample_rate = int(cfg.audio_samples_per_frame * VIDEO_FPS)
        # Loaded configs key id2label by int; a config built from a dict may still have str keys.
        id2label = {int(k): str(v) for k, v in (cfg.id2label or {}).items()}
        self.num_labels = int(cfg.num_labels or len(id2label))
        names = [id2label.get(i, "") for i in range(self.num_labels)] if id2label else []
        self.label_names = names if names and not all(n.startswith("LABEL_") for n in names) else None
        self.device, self.dim = device, int(cfg.d_latents)

    def default_batch(self) -> int:
        return 8 if self.device.startswith("cuda") else 2

    def decode(self, path: Path, modality: str) -> Decoded:
        from ..decode.video import sample_frames

        frames, meta, thumb = sample_frames(path, n=self.frames, max_side=max(2 * self.size, 256))
        while len(frames) < self.frames:  # a video shorter than 16 frames: hold the last one
            frames.append(frames[-1])
        audio = np.zeros(self.audio_samples, np.float32)
        if meta.get("has_audio"):
            seconds = self.audio_samples / self.sample_rate
            start = max(0.0, (meta.get("duration") or 0.0) / 2 - seconds / 2)
            try:
                got, _ = load_audio(path, self.sample_rate, start=start, seconds=seconds)
                audio[: min(len(got), self.audio_samples)] = got[: self.audio_samples]
            except DecodeError:
                meta["audio_error"] = "audio track unreadable; embedded with silence"
        part = {"image": np.stack([square(f, self.size) for f in frames]), "audio": audio[:, None]}
        return Decoded(parts=[part], meta=meta, thumbnail=thumb)

    def embed(self, parts: list[Any]) -> Embedded:
        import torch

        vectors, labels = [], []
        for start in range(0, len(parts), self.batch_size()):
            batch = parts[start : start + self.batch_size()]
            inputs = {
                key: torch.from_numpy(np.stack([p[key] for p in batch])).to(self.device)
                for key in ("image", "audio")
            }
            inputs["label"] = torch.zeros((len(batch), self.num_labels), device=self.device)
            # Decode one image and one audio point only: the latents are what we want; labels are cheap.
            sub = {"image": torch.arange(1), "audio": torch.arange(1), "label": None}
            with torch.inference_mode(), autocast(self.device, self.precision):
                out = self.model.perceiver(inputs=inputs, subsampled_output_points=sub)
            vectors.append(out.last_hidden_state.mean(dim=1).float().cpu().numpy())
            if self.label_names:
                probs = out.logits["label"].float().softmax(-1).cpu().numpy()
                for row in probs:
                    top = np.argsort(-row)[:5]
                    labels.append([(self.label_names[i], float(row[i])) for i in top])
        return Embedded(np.concatenate(vectors).astype(np.float32), labels if self.label_names else None)


ADAPTER = PerceiverAdapter
