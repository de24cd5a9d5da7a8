"""Arrow record batches → `Batch`es, for every reader whose library speaks Arrow (Hugging Face datasets,
LanceDB, parquet in the HF cache).

The vector column may be a fixed-size list (one reshape, no copy of the values per row) or a list
column whose rows should all have one length; a null or odd-length row becomes a per-row problem, never
an error for the whole source. Record batches of any size come in; exactly `rows` rows go out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import Batch
from .fields import Parts

LIST_TYPES = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)


def is_vector_type(kind: pa.DataType) -> bool:
    """A list of numbers (ints or floats), of fixed or variable size."""
    if not any(test(kind) for test in LIST_TYPES):
        return False
    item = kind.value_type
    return pa.types.is_floating(item) or pa.types.is_integer(item)


def list_columns(schema: pa.Schema) -> list[str]:
    """Every column a user may name as the vectors: lists of numbers."""
    return [f.name for f in schema if is_vector_type(f.type)]


def vector_columns(schema: pa.Schema) -> list[str]:
    """The columns the vectors are looked for in when none is named: lists of floats; lists of ints
    only when there are none (token ids and attention masks sit beside many a dataset's embeddings)."""
    floats = [f.name for f in schema if is_vector_type(f.type) and pa.types.is_floating(f.type.value_type)]
    return floats or list_columns(schema)


def fixed_dim(schema: pa.Schema, column: str) -> int | None:
    """The dimension a fixed-size list column declares (a variable list says nothing without reading)."""
    kind = schema.field(column).type
    return kind.list_size if pa.types.is_fixed_size_list(kind) else None


def _floats(values: pa.Array) -> np.ndarray:
    out = values.to_numpy(zero_copy_only=False)  # nulls inside a vector become NaN: the importer's check
    return out if out.dtype.kind == "f" else out.astype(np.float32)


def vectors_of(column: pa.Array, dim: int | None) -> tuple[np.ndarray, dict[int, str]]:
    """(n, dim) floats and the rows that have no usable vector (null, or another length than `dim`;
    `dim` None: the most common length in these rows)."""
    n = len(column)
    if pa.types.is_fixed_size_list(column.type) and column.null_count == 0:
        size = column.type.list_size
        flat = _floats(column.flatten())
        if dim is None or dim == size:
            return flat.reshape(n, size), {}
        return np.full((n, dim), np.nan, np.float32), dict.fromkeys(
            range(n), f"vector has {size} values, not {dim}"
        )
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    missing = np.isnan(lengths) if lengths.dtype.kind == "f" else np.zeros(n, bool)
    lengths = np.where(missing, 0, lengths).astype(np.int64)
    if dim is None:
        counts = np.bincount(lengths[~missing]) if (~missing).any() else np.zeros(1, np.int64)
        dim = int(counts.argmax())
    flat = _floats(column.flatten())  # the values of non-null rows, in order
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    good = ~missing & (lengths == dim)
    if good.all():
        return flat.reshape(n, dim), {}
    out = np.full((n, dim), np.nan, dtype=flat.dtype if flat.size else np.float32)
    out[good] = flat[starts[good][:, None] + np.arange(dim)]
    problems = {int(i): "no vector" for i in np.flatnonzero(missing)}
    for i in np.flatnonzero(~missing & ~good):
        problems[int(i)] = f"vector has {int(lengths[i])} values, not {dim}"
    return out, problems


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _strings(column: pa.Array, decode: Callable[[Any], Any] | None = None) -> list[str | None]:
    values = column.to_pylist()
    if decode is not None:
        values = [None if v is None else decode(v) for v in values]
    return [_text(v) for v in values]


def to_batch(table: pa.Table, parts: Parts, first_row: int, dim: int | None, label_names=None) -> Batch:
    """One Batch from a table of the resolved columns; ids default to row numbers from `first_row`."""
    vectors, problems = vectors_of(table.column(parts.vector).combine_chunks(), dim)
    n = table.num_rows
    if parts.id is None:
        ids = [str(i) for i in range(first_row, first_row + n)]
    else:
        raw = _strings(table.column(parts.id))
        ids = [str(first_row + i) if v is None else v for i, v in enumerate(raw)]
        for i in (i for i, v in enumerate(raw) if v is None):
            problems.setdefault(i, "no id")

    def part(name: str | None, decode=None) -> list[str | None] | None:
        return None if name is None else _strings(table.column(name), decode)

    return Batch(
        ids=ids,
        vectors=vectors,
        labels=part(parts.label, label_names),
        texts=part(parts.text),
        paths=part(parts.path),
        problems=problems,
    )


def rebatch(
    chunks: Iterable[pa.RecordBatch | pa.Table],
    parts: Parts,
    rows: int,
    dim: int | None = None,
    label_names: Callable[[Any], Any] | None = None,
) -> Iterator[Batch]:
    """Batches of exactly `rows` rows (the last may be shorter) from Arrow chunks of any size.

    `dim` None: the first batch's most common length fixes it for the rest, so a later batch of other
    lengths is reported row by row instead of changing the width mid-source."""
    pending: list[pa.Table] = []
    held = first = 0
    for chunk in chunks:
        table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_batches([chunk])
        pending.append(table)
        held += table.num_rows
        while held >= rows:
            whole = pa.concat_tables(pending)
            batch = to_batch(whole.slice(0, rows), parts, first, dim, label_names)
            dim = batch.vectors.shape[1] if dim is None else dim
            yield batch
            first += rows
            rest = whole.slice(rows)
            pending, held = [rest], rest.num_rows
    if held:
        yield to_batch(pa.concat_tables(pending), parts, first, dim, label_names)
