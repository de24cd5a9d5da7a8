"""The contract of a model family module (models/text.py, models/clip.py, ...), which the registry loads
by name: what it must define so that names resolve, defaults rank and adapters build.

A family module needs nothing beyond numpy to satisfy it; torch and the model libraries load inside its
adapter's load(). A family may also define DOWNLOAD_PRIORITY (same shape as DEFAULT_PRIORITY) to rank its
downloads apart from models that are already here; the registry reads it when present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .base import Adapter, Location, ModelSpec

# The members of Family, for the one-line error about a module that lacks some.
MEMBERS = ("SPECS", "DEFAULT_PRIORITY", "detect", "locate", "ADAPTER")


@runtime_checkable
class Family(Protocol):
    """What registry.py relies on in every family module (read-only, so a module's list of its own
    specs or its own adapter subclass fits)."""

    @property
    def SPECS(self) -> Sequence[ModelSpec]:
        """The aliases the family offers, each with its `family` set to the module's name."""
        ...

    @property
    def DEFAULT_PRIORITY(self) -> Mapping[str, Mapping[str, int]]:
        """alias → modality → rank among defaults that work offline (lower first; absent: never)."""
        ...

    @property
    def ADAPTER(self) -> type[Adapter]:
        """The adapter class create() builds for this family's specs."""
        ...

    def detect(self, name: str, folder: Path | None, config: dict[str, Any]) -> ModelSpec | None:
        """The spec for a name (and its local or cached folder with its config.json), or None: not ours."""
        ...

    def locate(self, spec: ModelSpec) -> Location:
        """Where the weights of spec would load from, without loading them (no torch)."""
        ...


def as_family(module: ModuleType) -> Family:
    """module, checked to be a family (a module that is not says which members it lacks)."""
    if not isinstance(module, Family):
        missing = [name for name in MEMBERS if not hasattr(module, name)]
        raise TypeError(f"{module.__name__} is not a model family: it lacks {', '.join(missing)}")
    return module


# The type checker holds each family module to the contract; tests check registry.FAMILIES at run time.
if TYPE_CHECKING:
    from . import clip, ct2whisper, effnet, hub, perceiver, text, toy, vision, whisper

    _CHECKED: tuple[Family, ...] = (clip, ct2whisper, effnet, hub, perceiver, text, toy, vision, whisper)
