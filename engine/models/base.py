"""The adapter protocol every model family implements, and the records the registry passes around.

An adapter turns files into parts (text windows, an image, audio windows, video frames) and parts into
vectors. The pipeline pools the parts of one file into the file vector (normalised mean), so adapters
never need to know about files beyond decoding them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import UserError


class DecodeError(Exception):
    """A file that cannot be turned into parts; the message is the per-file reason shown to the user."""


class ModelError(UserError):
    """A model that cannot be found or loaded; the message is one line telling the user what to do."""


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model before any weights are touched."""

    name: str  # the name the store and the CLI use: an alias, an HF id, a local path or a hub spec
    family: str  # the module in vexplore.engine.models that builds its adapter
    modalities: tuple[str, ...]
    dim: int | None  # None when only the loaded model can tell
    backend: str
    ref: str  # where the weights come from: HF id, local path, hub spec, package name
    package: str | None = None  # a pip package that ships the weights (offline-first)
    text_queries: bool = False  # can embed free-text queries into this space
    description: str = ""
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class Location:
    """Where the weights of a spec would be loaded from, without loading them."""

    source: str  # "path" | "hf-cache" | "package" | "download" | "missing"
    path: str | None
    available: bool  # usable with no network

    def describe(self) -> str:
        return f"{self.source}: {self.path}" if self.path else self.source


@dataclass
class Decoded:
    """One file decoded: the parts to embed plus whatever the UI will want to show without re-decoding."""

    parts: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)
    thumbnail: bytes | None = None  # PNG/JPEG bytes, small
    text: str | None = None  # preview text or transcript


@dataclass
class Embedded:
    """Vectors for a list of parts (one row per part, raw: not yet normalised) and optional class labels."""

    vectors: np.ndarray
    labels: list[list[tuple[str, float]]] | None = None


class Adapter:
    """Base class: subclasses set the class attributes and implement load/decode/embed."""

    family: ClassVar[str] = ""
    # Whether decode() is heavy enough to deserve loader worker processes (images, audio, video).
    decode_in_workers: ClassVar[bool] = False
    # Whether to embed files in size order (text: similar lengths batch together with less padding).
    order_by_size: ClassVar[bool] = False
    # Whether the model runs on torch; a numpy-only model (the toy family) never makes a run import it.
    needs_torch: ClassVar[bool] = True

    def __init__(self, spec: ModelSpec, location: Location):
        self.spec = spec
        self.location = location
        self.device = "cpu"
        self.dim: int = spec.dim or 0
        self.requested_batch: int | None = None
        self.trust_remote_code = False  # only ever True when the user passed --trust-remote-code

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.spec.modalities

    def load(self, device: str) -> None:
        raise NotImplementedError

    def decode(self, path: Path, modality: str) -> Decoded:
        raise NotImplementedError

    def embed(self, parts: list[Any]) -> Embedded:
        raise NotImplementedError

    def load_for_queries(self, device: str) -> None:
        """Load what embed_text needs, for a process that only embeds queries (a search): by default the
        whole model; a model with separate towers loads only its text tower."""
        self.load(device)

    def embed_text(self, queries: list[str]) -> np.ndarray:
        """Embed free-text queries into this model's space (models with a text tower only)."""
        raise ModelError(f"model {self.name!r} has no text tower, so it cannot embed a text query")

    def batch_size(self) -> int:
        """Parts per model call: what the user asked for, else a size that suits the device."""
        return self.requested_batch or (128 if self.device == "cuda" else 32)

    def info(self) -> dict[str, Any]:
        return {"device": self.device, "dim": self.dim, "source": self.location.describe()}
