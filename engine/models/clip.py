"""CLIP: an image tower and a text tower trained into one space, so images are found by free text and
text files can sit next to pictures.

Images (and video frames) go through the vision tower and its projection. Text files go through the text
tower too (modalities include "text"): CLIP reads at most 77 tokens, so a longer file is cut into
75-token windows at token boundaries (up to MAX_WINDOWS of them, ~1,200 tokens) and the pipeline pools
the windows into the file vector, rather than keeping only the first sentence or two. Free-text queries
are single captions, truncated to 77 tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..decode.text import read_text
from ..precision import autocast
from .base import Decoded, Embedded, Location, ModelSpec
from .imagebase import ImageAdapter, preprocess_from_hf
from .resolve import locate_hf
from .windows import token_windows

MAX_WINDOWS = 16
CLIP_TYPES = {"clip"}

SPECS = [
    ModelSpec(
        name="clip-b32",
        family="clip",
        modalities=("image", "video", "text"),
        dim=512,
        backend="transformers",
        ref="openai/clip-vit-base-patch32",
        text_queries=True,
        description="CLIP ViT-B/32: images and text in one space, search images by text",
    ),
    ModelSpec(
        name="clip-l14",
        family="clip",
        modalities=("image", "video", "text"),
        dim=768,
        backend="transformers",
        ref="openai/clip-vit-large-patch14",
        text_queries=True,
        description="CLIP ViT-L/14: the stronger, slower CLIP (the seed's)",
    ),
]
# A cached CLIP is the best image default (it enables text search); never worth a surprise download.
DEFAULT_PRIORITY = {"clip-b32": {"image": 0, "video": 0}, "clip-l14": {"image": 1, "video": 1}}
DOWNLOAD_PRIORITY = {"clip-b32": {"image": 5, "video": 5}, "clip-l14": {"image": 6, "video": 6}}


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    if config.get("model_type") not in CLIP_TYPES and (
        config or folder is not None or "clip" not in name.lower()
    ):
        return None
    return ModelSpec(
        name=name,
        family="clip",
        modalities=("image", "video", "text"),
        dim=None,
        backend="transformers",
        ref=name,
        text_queries=True,
        description="CLIP model",
    )


def locate(spec: ModelSpec) -> Location:
    return locate_hf(spec)


class CLIPAdapter(ImageAdapter):
    family = "clip"
    channels_last = False  # a transformer: one patch convolution, then matrix products

    def load(self, device: str) -> None:
        source = self.hf_weights()
        from transformers import AutoTokenizer, CLIPModel

        try:
            self.model = CLIPModel.from_pretrained(source)
            self.tokenizer = AutoTokenizer.from_pretrained(source)
        except Exception as exc:
            raise self.load_failed(exc) from exc
        self.context = int(self.model.config.text_config.max_position_embeddings)
        self.prep = preprocess_from_hf(source)
        self._finish_load(device)
        self.dim = int(self.model.config.projection_dim)

    def load_for_queries(self, device: str) -> None:
        """Only the text tower and its projection (about a third of CLIP-L's weights): a search embeds
        captions, never pictures. embed_text works unchanged on it (same text_model/text_projection)."""
        source = self.hf_weights()
        from transformers import AutoTokenizer, CLIPConfig, CLIPTextConfig, CLIPTextModelWithProjection

        try:
            config = CLIPConfig.from_pretrained(source)
            text = config.text_config
            if not isinstance(text, CLIPTextConfig):  # CLIPConfig builds one from the dict it reads
                text = CLIPTextConfig(**(text or {}))
            text.projection_dim = config.projection_dim  # the checkpoint's, not the text config's default
            self.model = CLIPTextModelWithProjection.from_pretrained(source, config=text)
            self.tokenizer = AutoTokenizer.from_pretrained(source)
        except Exception as exc:
            raise self.load_failed(exc) from exc
        self.context = int(self.model.config.max_position_embeddings)
        self.model.eval()
        self.model.to(device)
        self.device = device
        self.dim = int(self.model.config.projection_dim)

    # ---- text files ---------------------------------------------------------------------------
    def windows(self, text: str) -> tuple[list[str], bool]:
        """Text cut at token boundaries into pieces that fit CLIP's context with its two special tokens,
        and whether pieces past MAX_WINDOWS were dropped."""
        return token_windows(self.tokenizer, text, self.context - 2, MAX_WINDOWS)

    def decode(self, path: Path, modality: str) -> Decoded:
        if modality != "text":
            return super().decode(path, modality)
        text, meta = read_text(path)
        decoded = self.decode_text(text)
        decoded.meta.update(meta, truncated=decoded.meta["truncated"] or meta.get("truncated", False))
        return decoded

    def decode_text(self, text: str) -> Decoded:
        parts, dropped = self.windows(text)
        return Decoded(parts=parts, meta={"windows": len(parts), "truncated": dropped}, text=text)

    # ---- embedding ----------------------------------------------------------------------------
    def _forward(self, pixels: Any) -> tuple[Any, None]:
        pooled = self.model.vision_model(pixel_values=pixels).pooler_output
        return self.model.visual_projection(pooled), None

    def embed_text(self, queries: list[str]) -> np.ndarray:
        import torch

        out = []
        step = self.batch_size()
        with torch.inference_mode(), autocast(self.device, self.precision):
            for start in range(0, len(queries), step):
                tokens = self.tokenizer(
                    queries[start : start + step],
                    padding=True,
                    truncation=True,
                    max_length=self.context,
                    return_tensors="pt",
                ).to(self.device)
                pooled = self.model.text_model(
                    input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
                ).pooler_output
                out.append(self.model.text_projection(pooled).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)

    def embed(self, parts: list[Any]) -> Embedded:
        """Images and text windows may share a batch (a folder of both): each goes to its own tower."""
        texts = [i for i, p in enumerate(parts) if isinstance(p, str)]
        if not texts:
            return self.embed_images(parts)
        images = [i for i, p in enumerate(parts) if not isinstance(p, str)]
        vectors = np.zeros((len(parts), self.dim), dtype=np.float32)
        vectors[texts] = self.embed_text([parts[i] for i in texts])
        if images:
            vectors[images] = self.embed_images([parts[i] for i in images]).vectors
        return Embedded(vectors)


ADAPTER = CLIPAdapter
