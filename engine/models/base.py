"""The adapter protocol every model family implements, and the records the registry passes around.

An adapter turns files into parts (text windows, an image, audio windows, video frames) and parts into
vectors. The pipeline pools the parts of one file into the file vector (normalised mean), so adapters
never need to know about files beyond decoding them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..extras import require
from .failures import ModelError, load_failure, missing_weights

if TYPE_CHECKING:
    from ..batching import BatchSizer

__all__ = ["Adapter", "Decoded", "DecodeError", "Embedded", "Location", "ModelError", "ModelSpec"]


class DecodeError(Exception):
    """A file that cannot be turned into parts; the message is the per-file reason shown to the user."""


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


class Adapter(ABC):
    """What the pipeline, the query process and Ray workers rely on: subclasses set the class attributes
    and implement load, decode and embed; the rest has defaults that suit most models."""

    family: ClassVar[str] = ""
    # Whether decode() is heavy enough to deserve loader worker processes (images, audio, video). An
    # instance may turn it off (a transcribing Whisper decodes with the model, in this process).
    decode_in_workers: bool = False
    # Whether to embed files in size order (text: similar lengths batch together with less padding).
    order_by_size: ClassVar[bool] = False
    # Modules decode() imports per modality beyond Pillow and pypdf (e.g. the audio reader's).
    decoders: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Whether the model runs on torch; a numpy-only model (the toy family) never makes a run import it.
    needs_torch: ClassVar[bool] = True

    def __init__(self, spec: ModelSpec, location: Location):
        self.spec = spec
        self.location = location
        self.device = "cpu"
        self.dim: int = spec.dim or 0
        self.requested_batch: int | None = None
        self.sizer: BatchSizer | None = None  # set once loaded for indexing (batching.attach)
        self.precision = "auto"  # autocast: bf16/fp16 on a GPU (precision.py); fp32 or bf16 to force
        self.trust_remote_code = False  # only ever True when the user passed --trust-remote-code

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.spec.modalities

    @abstractmethod
    def load(self, device: str) -> None:
        """Load the weights onto device and set dim; a model that cannot load raises one ModelError."""

    @abstractmethod
    def decode(self, path: Path, modality: str) -> Decoded:
        """A file into parts (runs in loader workers when decode_in_workers): no model needed unless
        decode_in_workers is off. A file that cannot be used raises DecodeError with the reason."""

    @abstractmethod
    def embed(self, parts: list[Any]) -> Embedded:
        """One raw vector per part (parts of several files may share a call)."""

    def check_decoders(self, modalities: Iterable[str]) -> None:
        """Fail once, before any file is read, when a decoder these files need is not installed: every
        file of the modality would otherwise be recorded as failed with the same import error."""
        for modality in modalities:
            for module in self.decoders.get(modality, ()):
                require(module, None, f"decoding {modality} files")

    def weights(self) -> str:
        """Where the weights load from, once we know they are there (else one line saying what to do)."""
        if self.location.source == "missing":
            raise self.weights_missing()
        return self.location.path or self.spec.ref

    def hf_weights(self) -> str:
        """weights() for a Hugging Face model, with the HF libraries' own progress bars silenced."""
        from .resolve import quiet_hf  # resolve imports this module

        source = self.weights()
        quiet_hf()
        return source

    def weights_missing(self) -> ModelError:
        """The line for weights that are nowhere offline; families with their own sources override it."""
        return missing_weights(self.spec)

    def load_failed(self, exc: BaseException) -> ModelError:
        """Any loading failure as one line (with the --trust-remote-code hint where that is the cause)."""
        return load_failure(self.spec, exc, self.trust_remote_code)

    def load_for_queries(self, device: str) -> None:
        """Load what embed_text needs, for a process that only embeds queries (a search): by default the
        whole model; a model with separate towers loads only its text tower."""
        self.load(device)

    def decode_text(self, text: str) -> Decoded:
        """Text that is no file's own (an audio file's transcript) cut into parts as this model cuts a text
        file; a model that does not embed text refuses."""
        raise DecodeError(f"model {self.name!r} does not embed text")

    def embed_text(self, queries: list[str]) -> np.ndarray:
        """Embed free-text queries into this model's space (models with a text tower only)."""
        raise ModelError(f"model {self.name!r} has no text tower, so it cannot embed a text query")

    def default_batch(self) -> int:
        """Parts per model call when nothing else is known: a size that suits the device."""
        return 128 if self.device.startswith("cuda") else 32

    def batch_size(self) -> int:
        """Parts per model call: the sizer's (which learns what fits), else what the user asked for,
        else the default."""
        if self.sizer is not None:
            return self.sizer.size
        return self.requested_batch or self.default_batch()

    def info(self) -> dict[str, Any]:
        return {"device": self.device, "dim": self.dim, "source": self.location.describe()}
