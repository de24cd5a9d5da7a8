"""The contract every vectors source meets: the reader of a parquet file, a numpy array, a Hugging Face
dataset, a LanceDB table, a Milvus collection or llm's embeddings database.

A reader says what it holds (`describe`) and streams it (`batches`); the importer (one module for every
source) validates the rows, brings them into a store of the usual format and keeps it up to date by id.
A reader never writes anything and never loads the whole source into memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Columns:
    """Which column plays which part; None: found by convention (see `conventions`)."""

    vector: str | None = None
    id: str | None = None
    label: str | None = None
    text: str | None = None
    path: str | None = None


#: The names each part is looked for under, in order, when the user names none.
CONVENTIONS: dict[str, tuple[str, ...]] = {
    "id": ("id", "path", "file", "filename"),
    "label": ("label",),
    "text": ("text", "content", "caption", "sentence"),
    "path": (),
}


@dataclass(frozen=True)
class SourceInfo:
    """What a source holds, before any row is read."""

    kind: str  # "parquet", "numpy", "hf", "lancedb", "milvus", "llm"
    location: str  # the path or URI as the user gave it, with the table/collection
    rows: int | None  # None when the source cannot say without reading it all
    dim: int | None
    columns: list[str]  # every column or field name, in the source's order
    model: str | None = None  # the model that made the vectors, when the source's metadata says
    fingerprint: str = ""  # changes whenever the content may have changed (mtime+size, a version, ...)


@dataclass
class Batch:
    """Consecutive rows of a source. `vectors` is float (any width, as read); ids are strings (a row
    number becomes its decimal string); a part the source lacks is None, a missing value in a row is None."""

    ids: list[str]
    vectors: np.ndarray  # (n, dim); validation (dimension, NaN/inf, all-zero) is the importer's
    labels: list[str | None] | None = None
    texts: list[str | None] | None = None
    paths: list[str | None] | None = None
    problems: dict[int, str] = field(default_factory=dict)  # row in this batch -> why it cannot be read


class VectorSource(ABC):
    """A reader of one kind of source: `Reader(location, columns, table=None)`, where `table` names the
    LanceDB table, Milvus collection, llm collection or dataset split when the location holds several.
    Raise `UserError` with one clear line for a missing file, an unknown column, an ambiguous table or a
    missing extra (`extras.require`)."""

    kind: str

    @classmethod
    @abstractmethod
    def sniff(cls, location: str) -> bool:
        """Whether the location looks like this kind of source (cheap: a suffix, a marker file, a header)."""

    @abstractmethod
    def describe(self) -> SourceInfo:
        """What the source holds, cheaply (metadata, not rows)."""

    @abstractmethod
    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        """Every row, in the source's order, `rows` at a time (the last batch may be shorter)."""

    def close(self) -> None:  # noqa: B027 - optional hook: a reader with a connection closes it
        """Release files or connections."""
