"""Parquet files of vectors, as pyarrow and pandas write them: a fixed-size-list or list<float> column,
read one record batch at a time (never the whole file). The vector column and its rows are judged by
the same rules as every Arrow source (fields.py, arrow_rows.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UserError
from ..extras import require
from .base import Batch, Columns, SourceInfo, VectorSource
from .columns import as_strings, parts

SUFFIXES = (".parquet", ".pq")
PREFERRED = ("vector", "embedding", "embeddings", "emb")  # the vector column among several, by name


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
        """fields.pick_vector over the float-list columns (int lists when there are none), the
        conventional names first when there are several."""
        from .arrow_rows import list_columns, vector_columns
        from .fields import pick_vector

        candidates = vector_columns(schema)
        preferred = [n for n in candidates if n.lower() in PREFERRED]
        if len(candidates) > 1 and len(preferred) == 1:
            candidates = preferred
        return pick_vector(named, self.names, candidates, str(self.path), list_columns(schema))

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
        from .arrow_rows import vectors_of

        wanted = [self.vector, *dict.fromkeys(self.parts.values())]
        first = 0
        try:
            for record in self.file.iter_batches(batch_size=rows, columns=wanted):
                n = record.num_rows
                vectors, problems = vectors_of(record.column(self.vector), self.dim)
                got = {part: self._strings(record.column(col)) for part, col in self.parts.items()}
                named = got.get("id") or [str(i) for i in range(first, first + n)]
                ids = [str(first + i) if v is None else v for i, v in enumerate(named)]
                yield Batch(ids, vectors, got.get("label"), got.get("text"), got.get("path"), problems)
                first += n
        except (self.pa.ArrowException, OSError) as exc:
            raise UserError(
                f"{self.path}: cannot read row {first} on ({exc}); is the file truncated?"
            ) from exc
