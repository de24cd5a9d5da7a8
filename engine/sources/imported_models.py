"""The models an import stores a source's vectors under: one per vector column, named after the source's
metadata, the column, or the user's --model; recorded when new, checked against the store when not."""

from __future__ import annotations

from ..errors import UserError
from ..index import VectorIndex
from ..modality import MODALITIES
from ..store import ModelRow, Store
from .base import SourceInfo
from .several import Member

DEFAULT_MODEL = "imported"


def model_name(info: SourceInfo, model: str | None) -> str:
    return model or info.model or DEFAULT_MODEL


def model_names(store: Store, members: list[Member], infos: list[SourceInfo], opts) -> list[str]:
    """A name per vector column: --model's (comma-separated, in order), else for one column the
    source's model (or the one the store holds), for several the column names. Every model the store
    holds must be among them: a store keeps one source's vectors."""
    held = [m.name for m in store.models()]
    if len(members) == 1:
        names = [opts.model or (held[0] if len(held) == 1 else model_name(infos[0], None))]
    elif opts.model:
        names = [n.strip() for n in opts.model.split(",") if n.strip()]
        if len(names) != len(members):
            columns = ", ".join(str(m.column) for m in members)
            raise UserError(
                f"--model names {len(names)} models for {len(members)} vector columns ({columns})"
            )
    else:
        names = [str(m.column) for m in members]
    if len(set(names)) != len(names):
        raise UserError(f"two vector columns would be stored under one model name ({', '.join(names)})")
    stray = [h for h in held if h not in names]
    if stray and len(held) > 1:
        raise UserError(
            f"store {store.dir} holds the vector columns {', '.join(held)}: name them all with "
            "--vector-column, or use another --store"
        )
    if stray:
        raise UserError(f"store {store.dir} holds the vectors of {stray[0]!r}: use another --store")
    return names


def model_row(store: Store, name: str, info: SourceInfo) -> tuple[ModelRow, bool]:
    """The model the vectors are stored under (recorded when new) and whether the store had it."""
    if info.dim is None or info.dim < 1:
        raise UserError(f"{info.location}: holds no vectors")
    existing = store.model(name)
    if existing is not None and existing.dim != info.dim:
        raise UserError(
            f"{info.location}: vectors of dimension {info.dim}, the store's {name!r} has {existing.dim}"
        )
    row = store.ensure_model(
        name,
        "imported",
        "source",
        existing.modalities if existing is not None else ("vector",),
        info.dim,
        existing.text_queries if existing is not None else _text_queries(name, info.dim),
        {"device": "import", "source": info.location, "kind": info.kind},
    )
    return row, existing is not None


def _text_queries(name: str, dim: int) -> bool:
    """Whether a model vexplore knows by this name (an alias, a local path, a cached HF id; never the
    network) embeds text queries into a space of this width: then search, in the explorer too, needs
    no --model."""
    if name == DEFAULT_MODEL:
        return False
    from ..models import registry

    try:
        spec = registry.resolve(name)
    except (UserError, OSError, ValueError):
        return False
    return bool(spec.text_queries) and spec.dim in (None, dim)


def record_modalities(store: Store, row: ModelRow, kinds: set[str]) -> None:
    """The model answers for every kind of row the source holds (files of --path-column included)."""
    order = ("vector", *MODALITIES)
    wanted = tuple(k for k in order if k in kinds | set(row.modalities)) or ("vector",)
    if wanted != row.modalities:
        store.catalog.add_model(
            row.name, row.family, row.backend, wanted, row.dim, row.text_queries, row.info
        )


def save_index(store: Store, name: str, index: VectorIndex | None) -> None:
    """A first import builds the index from the stored vectors (tuned); an update saves the one it kept
    up to date, tuned again when enough of it is new."""
    row = store.catalog.current(name)
    if index is None:
        VectorIndex(store, row).open(persist=True)
        return
    if index.hnsw is not None:
        if index.tuning_stale():
            index.tune()
        index.save()
