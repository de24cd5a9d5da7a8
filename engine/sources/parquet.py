"""Parquet files of vectors, as pyarrow and pandas write them: a fixed-size-list or list<float> column,
read one record batch at a time (never the whole file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..extras import require
from .base import Batch, Columns, SourceInfo, VectorSource
from .columns import as_strings, parts

SUFFIXES = (".parquet", ".pq")


def list_column_vectors(column, dim: int | None) -> tuple[np.ndarray, dict[int, str]]:
    """An arrow list column as an (n, dim) float array and the rows it could not hold (null, ragged);
    those rows are zero in the array. dim None: the first row's length."""
    pa = require("pyarrow", "parquet", "parquet sources")
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        flat = column.flatten() if column.null_count == 0 else column.fill_null([0.0] * width).flatten()
        vectors = np.asarray(flat.to_numpy(zero_copy_only=False), np.float32).reshape(n, width)
        lengths = np.full(n, width)
    else:
        offsets = np.asarray(column.offsets.to_numpy(), np.int64)
        lengths = np.diff(offsets)
        values = np.asarray(column.values.to_numpy(zero_copy_only=False), np.float32)
        width = dim if dim is not None else int(lengths[0]) if n else 0
        if np.all(lengths == width):
            vectors = values[offsets[0] : offsets[0] + n * width].reshape(n, width)
        else:
            vectors = np.zeros((n, width), np.float32)
            good = np.flatnonzero(lengths == width)
            starts = offsets[good]
            vectors[good] = values[starts[:, None] - offsets[0] + np.arange(width)]
    problems: dict[int, str] = {}
    nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)
    for row in np.flatnonzero(nulls):
        problems[int(row)] = "no vector (null)"
    want = dim if dim is not None else width
    for row in np.flatnonzero((lengths != want) & ~nulls):
        problems[int(row)] = f"vector has {int(lengths[row])} values, the others {want}"
    return vectors, problems


def is_vector_type(pa, t) -> bool:
    listy = pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
    return bool(listy and (pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)))


class ParquetSource(VectorSource):
    """One parquet file (or a file of a dataset's parquet shards)."""

    kind = "parquet"

    def __init__(self, location: str, columns: Columns, table: str | None = None):
        pq = require("pyarrow.parquet", "parquet", "parquet sources")
        self.pa = require("pyarrow", "parquet", "parquet sources")
        self.path = Path(location)
        if not self.path.is_file():
            raise UserError(f"{location}: no such file")
        try:
            # pre_buffer off: with it, iter_batches keeps every row group it read (memory grows with the file)
            self.file = pq.ParquetFile(self.path, pre_buffer=False)
        except (self.pa.ArrowException, OSError) as exc:
            raise UserError(f"{location}: not a readable parquet file ({exc})") from exc
        schema = self.file.schema_arrow
        self.names = list(schema.names)
        self.vector = self._vector_column(schema, columns.vector)
        self.parts = parts(columns, self.names, location, self.vector)
        self.dim = self._dim(schema)
        meta = schema.metadata or {}
        model = meta.get(b"model") or meta.get(b"embedding_model")
        self.model = model.decode("utf-8", "replace") if model else None

    @classmethod
    def sniff(cls, location: str) -> bool:
        path = Path(location)
        if not path.is_file():
            return False
        if path.suffix.lower() in SUFFIXES:
            return True
        try:
            with open(path, "rb") as fh:
                return fh.read(4) == b"PAR1"
        except OSError:
            return False

    def _vector_column(self, schema, named: str | None) -> str:
        pa = self.pa
        if named is not None:
            if named not in self.names:
                raise UserError(f"{self.path}: no column {named!r} (columns: {', '.join(self.names[:20])})")
            if not is_vector_type(pa, schema.field(named).type):
                raise UserError(
                    f"{self.path}: column {named!r} holds {schema.field(named).type}, not vectors "
                    "(a list of numbers per row)"
                )
            return named
        found = [f.name for f in schema if is_vector_type(pa, f.type)]
        if not found:
            raise UserError(
                f"{self.path}: no column of vectors (a list of numbers per row); columns: "
                + ", ".join(f"{f.name} ({f.type})" for f in schema)
            )
        preferred = [n for n in found if n.lower() in ("vector", "embedding", "embeddings", "emb")]
        if len(found) > 1 and not preferred:
            raise UserError(f"{self.path}: several vector columns ({', '.join(found)}): add --vector-column")
        return (preferred or found)[0]

    def _dim(self, schema) -> int | None:
        t = schema.field(self.vector).type
        if self.pa.types.is_fixed_size_list(t):
            return int(t.list_size)
        for batch in self.file.iter_batches(batch_size=64, columns=[self.vector]):
            lengths = batch.column(0).value_lengths().drop_null()
            if len(lengths):
                return int(lengths[0].as_py())
        return None

    def _strings(self, column) -> list[str | None]:
        """A column as Python strings (None kept): cast in arrow, converted in one call."""
        pa = self.pa
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            try:
                column = column.cast(pa.string())
            except pa.ArrowException:
                return as_strings(column.to_pylist())
        return column.to_numpy(zero_copy_only=False).tolist()

    def describe(self) -> SourceInfo:
        st = os.stat(self.path)
        return SourceInfo(
            self.kind,
            str(self.path),
            self.file.metadata.num_rows,
            self.dim,
            self.names,
            self.model,
            f"{st.st_size}:{st.st_mtime_ns}",
        )

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        wanted = [self.vector, *dict.fromkeys(self.parts.values())]
        first = 0
        try:
            for record in self.file.iter_batches(batch_size=rows, columns=wanted):
                n = record.num_rows
                vectors, problems = list_column_vectors(record.column(self.vector), self.dim)
                got = {part: self._strings(record.column(col)) for part, col in self.parts.items()}
                named = got.get("id") or [str(i) for i in range(first, first + n)]
                ids = [str(first + i) if v is None else v for i, v in enumerate(named)]
                yield Batch(ids, vectors, got.get("label"), got.get("text"), got.get("path"), problems)
                first += n
        except (self.pa.ArrowException, OSError) as exc:
            raise UserError(
                f"{self.path}: cannot read row {first} on ({exc}); is the file truncated?"
            ) from exc
