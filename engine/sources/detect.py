"""Which reader opens a location: each reader's `sniff`, in a fixed order, or the kind the user names
(`--source-kind`). The readers of heavy libraries are imported only when asked; a reader module that
this installation does not have yet is skipped."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import UserError
from .base import Columns, VectorSource

#: (kind, module, class), tried in this order.
READERS: tuple[tuple[str, str, str], ...] = (
    ("parquet", "vexplore.engine.sources.parquet", "ParquetSource"),
    ("numpy", "vexplore.engine.sources.numpy_source", "NumpySource"),
    ("llm", "vexplore.engine.sources.llm", "LlmSource"),
    ("hf", "vexplore.engine.sources.hf", "HFSource"),
    ("lancedb", "vexplore.engine.sources.lance", "LanceSource"),
    ("milvus", "vexplore.engine.sources.milvus_source", "MilvusSource"),
)
KINDS = tuple(kind for kind, _, _ in READERS)


def reader_class(kind: str) -> type[VectorSource] | None:
    """The reader of a kind, or None when its module is not part of this installation."""
    module_name, class_name = next((m, c) for k, m, c in READERS if k == kind)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, class_name)


def sniffed_kind(location: str) -> str | None:
    """The first kind whose reader recognises the location, or None."""
    for kind in KINDS:
        cls = reader_class(kind)
        try:
            if cls is not None and cls.sniff(location):
                return kind
        except OSError:
            continue
    return None


def is_source(path: str | Path) -> bool:
    """Whether PATH is a vectors source rather than a folder of files to embed: any file a reader
    recognises, a folder only when a reader claims it (a saved HF dataset, a LanceDB directory), a URI,
    or a name a reader knows (hf:owner/name)."""
    location = str(path)
    if "://" in location:
        return True
    return sniffed_kind(location) is not None  # hf:owner/name is a source and no path


def open_source(
    location: str,
    columns: Columns,
    table: str | None = None,
    kind: str | None = None,
    meta: str | None = None,
) -> VectorSource:
    """The reader for a location (kind: the user's --source-kind, else sniffed)."""
    if kind is not None and kind not in KINDS:
        raise UserError(f"unknown source kind {kind!r}: use one of {', '.join(KINDS)}")
    chosen = kind or sniffed_kind(location)
    if chosen is None:
        if "://" not in location and not Path(location).exists():
            raise UserError(f"{location}: no such file or folder")
        raise UserError(
            f"{location}: not a vectors source vexplore can read (parquet, .npy/.npz, an llm embeddings.db, "
            "a Hugging Face dataset, a LanceDB table or a Milvus collection); name it with --source-kind"
        )
    cls = reader_class(chosen)
    if cls is None:
        raise UserError(f"{chosen} sources are not supported by this vexplore installation")
    if meta is not None and chosen != "numpy":
        raise UserError("--meta goes with a .npy or .npz source")
    if chosen == "numpy":
        return cls(location, columns, table, meta=meta)  # type: ignore[call-arg]
    return cls(location, columns, table)  # type: ignore[call-arg]
