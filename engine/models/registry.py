"""Model names → specs → adapters. Aliases come from the family modules; any HF id, local path or
`hub:` spec is accepted too. Importing this module never imports torch: families load lazily."""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import Adapter, Location, ModelError, ModelSpec
from .family import Family, as_family
from .resolve import hf_cached, read_config

# Family modules in vexplore.engine.models; each is a Family (models/family.py: SPECS, DEFAULT_PRIORITY,
# detect(), locate(), ADAPTER). Order matters only for detection of unknown local folders.
FAMILIES = ["hub", "clip", "effnet", "vision", "whisper", "ct2whisper", "perceiver", "text", "toy"]


def _family(name: str) -> Family:
    return as_family(importlib.import_module(f"vexplore.engine.models.{name}"))


def families() -> list[Family]:
    return [_family(name) for name in FAMILIES]


def aliases() -> list[ModelSpec]:
    return [spec for fam in families() for spec in fam.SPECS]


def _detect(name: str, folder: Path | None) -> ModelSpec | None:
    config = read_config(folder) if folder else {}
    for fam in families():
        spec = fam.detect(name, folder, config)
        if spec is not None:
            return spec
    return None


def resolve(name: str) -> ModelSpec:
    """The spec for a user-given model name: alias, hub spec, local path or HF id."""
    for alias in aliases():
        if alias.name == name:
            return alias
    spec: ModelSpec | None
    local = Path(name).expanduser()
    if local.exists():
        spec = _detect(str(local.resolve()), local)
        if spec is None:
            raise ModelError(f"{name}: a folder, but not a model vexplore knows how to load")
        return spec
    if "+" in name:  # a name with flags (e.g. whisper-tiny.en+video): its family resolves the base name
        spec = _detect(name, None)
    else:
        spec = _detect(name, hf_cached(name)) if "/" in name or name.startswith("hub:") else None
    if spec is None:
        known = ", ".join(s.name for s in aliases())
        raise ModelError(
            f"unknown model {name!r}; known aliases: {known} (or a Hugging Face id or local path)"
        )
    return spec


def locate(spec: ModelSpec) -> Location:
    return _family(spec.family).locate(spec)


def create(spec: ModelSpec) -> Adapter:
    """An adapter for spec, with its weights located (not loaded yet)."""
    return family_adapter(spec, locate(spec))


def family_adapter(spec: ModelSpec, location: Location) -> Adapter:
    """An adapter for spec whose weights were located already (an embedding worker of a --gpus run)."""
    return _family(spec.family).ADAPTER(spec, location)


def _download_rank(spec: ModelSpec, modality: str) -> float:
    """A family may rank downloads apart from local models (a small download first): DOWNLOAD_PRIORITY."""
    fam = _family(spec.family)
    ranks = getattr(fam, "DOWNLOAD_PRIORITY", fam.DEFAULT_PRIORITY)
    return ranks.get(spec.name, {}).get(modality, 1e9)


def default_for(modality: str) -> ModelSpec | None:
    """The best model for a modality that works offline now, else the first that could be downloaded."""
    ranked = sorted(
        (
            (fam.DEFAULT_PRIORITY.get(spec.name, {}).get(modality), spec)
            for fam in families()
            for spec in fam.SPECS
        ),
        key=lambda pair: pair[0] if pair[0] is not None else 1e9,
    )
    candidates = [spec for rank, spec in ranked if rank is not None]
    for spec in candidates:
        if locate(spec).available:
            return spec
    for spec in sorted(candidates, key=lambda spec: _download_rank(spec, modality)):
        if locate(spec).source == "download":
            return spec
    return None
