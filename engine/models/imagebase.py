"""What every image model shares: decoding files into model-sized pixels in the loader workers, and
running batches of them through a network on the chosen device.

A part is a uint8 array (height, width, 3) already resized and cropped to the model's input, so the
worker processes do all of Pillow's work and a quarter of the bytes cross between processes that float32
would; scaling to the model's mean/std happens on the device, in one tensor operation per batch.
Videos become several parts (frames sampled by `decode.video.sample_frames`), pooled by the pipeline."""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..decode.image import THUMB_SIZE, read_image, thumbnail_bytes
from ..decode.video import NEEDS as VIDEO_NEEDS
from ..precision import autocast
from .base import Adapter, Decoded, DecodeError, Embedded, Location, ModelSpec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VIDEO_FRAMES = 8
TOP_LABELS = 5


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1k class names in index order (the WordNet lemma names, public domain)."""
    return json.loads((Path(__file__).parent / "imagenet_classes.json").read_text())


@dataclass(frozen=True)
class Preprocess:
    """How a model wants its pixels: resize the short side (or squash to a fixed size), centre-crop,
    then scale by mean/std (in 0..1 units). Plain data, so it travels to worker processes."""

    short: int = 224  # resize the short side to this (ignored when squash is set)
    crop: tuple[int, int] | None = (224, 224)  # (width, height) centre crop after resizing
    squash: tuple[int, int] | None = None  # resize straight to (width, height), aspect ratio not kept
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resample: int = 3  # Pillow's BICUBIC

    @property
    def needed(self) -> int:
        """Pixels on the short side the source must still have for this preprocessing (draft mode)."""
        return min(self.squash) if self.squash else self.short

    def __call__(self, img: Any) -> np.ndarray:
        w, h = img.size
        if self.squash:
            img = img.resize(self.squash, self.resample, reducing_gap=3.0)
        else:
            scale = self.short / min(w, h)
            size = (max(self.short, round(w * scale)), max(self.short, round(h * scale)))
            if size != (w, h):
                img = img.resize(size, self.resample, reducing_gap=3.0)
            if self.crop:
                cw, ch = self.crop
                left, top = (img.width - cw) // 2, (img.height - ch) // 2
                img = img.crop((left, top, left + cw, top + ch))
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))

    @classmethod
    def from_hf(cls, cfg: dict) -> Preprocess:
        """From a Hugging Face preprocessor_config.json (CLIP, ConvNeXT/ResNet crop_pct, ViT squash, BiT)."""

        def pair(value: Any, default: int) -> tuple[int, int]:
            if isinstance(value, dict):
                if "shortest_edge" in value:
                    return value["shortest_edge"], value["shortest_edge"]
                return value.get("width", default), value.get("height", default)
            return (value, value) if isinstance(value, int) else (default, default)

        mean = tuple(cfg.get("image_mean") or IMAGENET_MEAN)
        std = tuple(cfg.get("image_std") or IMAGENET_STD)
        if not cfg.get("do_normalize", True):
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        resample = int(cfg.get("resample", 3))
        size = cfg.get("size", 224)
        if isinstance(size, dict) and "shortest_edge" not in size:  # ViT-style: a fixed height and width
            return cls(squash=pair(size, 224), crop=None, mean=mean, std=std, resample=resample)
        short = pair(size, 224)[0]
        if cfg.get("crop_pct") and short < 384:  # ConvNeXT/ResNet: resize to short/crop_pct, crop short
            return cls(
                short=int(short / cfg["crop_pct"]), crop=(short, short), mean=mean, std=std, resample=resample
            )
        crop = pair(cfg.get("crop_size", short), short) if cfg.get("do_center_crop", True) else None
        return cls(short=short, crop=crop, mean=mean, std=std, resample=resample)


def preprocess_from_hf(source: str) -> Preprocess:
    """The Preprocess of an HF model folder or id (its preprocessor_config.json; ImageNet defaults when
    it has none). We read the numbers rather than run HF's processor so that workers need no transformers
    and JPEG draft mode can know the size in advance."""
    from transformers.utils import cached_file

    try:
        found = cached_file(source, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False)
        cfg = json.loads(Path(found).read_text()) if found else {}
    except (OSError, ValueError):
        cfg = {}
    return Preprocess.from_hf(cfg)


def top_labels(logits: Any, names: list[str], k: int = TOP_LABELS) -> list[list[tuple[str, float]]]:
    """Top-k (class name, probability) for every row of a logits tensor."""
    import torch

    probs = torch.softmax(logits.float(), dim=-1)
    values, indices = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return [
        [
            (names[int(i)] if int(i) < len(names) else str(int(i)), round(float(v), 4))
            for v, i in zip(vals, idx, strict=False)
        ]
        for vals, idx in zip(values, indices, strict=False)
    ]


class ImageAdapter(Adapter):
    """Base for image families: subclasses load a network, set `prep` (and `class_names` when the model
    has a classification head) and implement `_forward(pixels) -> (features, logits or None)`."""

    decode_in_workers = True
    decoders: ClassVar[dict[str, tuple[str, ...]]] = {"video": VIDEO_NEEDS}
    # Convolutions run in NHWC ("channels last"): oneDNN's fast path on CPU (depthwise convolutions
    # especially) and tensor cores' on CUDA; the uint8 parts arrive as NHWC, so it is also one copy fewer.
    channels_last: ClassVar[bool] = True

    def __init__(self, spec: ModelSpec, location: Location):
        super().__init__(spec, location)
        self.prep = Preprocess()
        self.class_names: list[str] | None = None
        self.model: Any = None

    @property
    def decode_ahead(self) -> int:
        """Files the loader workers may decode ahead: one pipeline commit (4 batches), capped for video."""
        return min(256, self.batch_size() * 4)

    # ---- decoding (runs in loader workers: no model, no torch) --------------------------------
    def preprocess(self, img: Any) -> np.ndarray:
        """One RGB PIL image → one part (what video frame sampling calls too)."""
        return self.prep(img)

    def decode(self, path: Path, modality: str) -> Decoded:
        if modality == "video":
            return self.decode_video(path)
        img, meta = read_image(
            path, max(self.prep.needed, THUMB_SIZE * 3 // 4)
        )  # a 4:3 thumbnail's short side
        return Decoded(parts=[self.preprocess(img)], meta=meta, thumbnail=thumbnail_bytes(img))

    def decode_video(self, path: Path) -> Decoded:
        from ..decode.video import sample_frames  # looked up per call: tests stand a fake module in

        frames, meta, thumb = sample_frames(path, n=VIDEO_FRAMES)
        if not frames:
            raise DecodeError("no decodable frames in this video")
        return Decoded(parts=[self.preprocess(f.convert("RGB")) for f in frames], meta=meta, thumbnail=thumb)

    # ---- embedding (main process, on the device) ---------------------------------------------
    def _finish_load(self, device: str) -> None:
        """Shared tail of load(): eval mode, device placement, constants for normalising on the device."""
        import torch

        self.model.eval()
        self.model.to(device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.device = device
        mean = torch.tensor(self.prep.mean, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(self.prep.std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        self._mean, self._std = mean.to(device), std.to(device)

    def pixels(self, parts: list[np.ndarray]) -> Any:
        """A normalised float batch (n, 3, h, w) on the device from uint8 parts."""
        import torch

        batch = torch.from_numpy(np.stack(parts))
        if self.device.startswith("cuda"):
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2).float()  # NHWC memory seen as NCHW: channels-last strides
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        return ((batch - self._mean) / self._std).contiguous(memory_format=layout)

    @abstractmethod
    def _forward(self, pixels: Any) -> tuple[Any, Any | None]:
        """(features, class logits or None) for a normalised batch on the device."""

    def embed_images(self, parts: list[np.ndarray]) -> Embedded:
        """Vectors (and top-5 class labels when the model has a head) for image parts, in batches."""
        import torch

        vectors: list[np.ndarray] = []
        labels: list[list[tuple[str, float]]] = []
        step = self.batch_size()
        with torch.inference_mode(), autocast(self.device, self.precision):
            for start in range(0, len(parts), step):
                features, logits = self._forward(self.pixels(parts[start : start + step]))
                vectors.append(features.float().cpu().numpy())
                if self.class_names is not None and logits is not None:
                    labels.extend(top_labels(logits, self.class_names))
        out = np.concatenate(vectors) if vectors else np.zeros((0, self.dim), dtype=np.float32)
        return Embedded(out.astype(np.float32, copy=False), labels if labels else None)

    def embed(self, parts: list[Any]) -> Embedded:
        return self.embed_images(parts)

    def probe_dim(self) -> int:
        """The embedding width, by running one blank input (models that do not declare it)."""
        return int(self.embed_images([self.prep(_blank_image(self.prep))]).vectors.shape[1])


def _blank_image(prep: Preprocess) -> Any:
    from PIL import Image

    side = max(prep.needed, *(prep.crop or (0,)), *(prep.squash or (0,)))
    return Image.new("RGB", (side, side), (128, 128, 128))
