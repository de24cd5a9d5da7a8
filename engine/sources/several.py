"""A source with several vector columns (a table with `minilm` and `clip` columns, an npz with two
arrays, a Milvus collection with two vector fields): each chosen column is imported as its own model of
the one store, so `compare` works on the source as it does on a folder indexed with two models.

Each column is read by its own reader of the same kind (one reader per column keeps every reader's
contract unchanged); their batches are regrouped to one size and walked side by side, and the rows must
line up by id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..errors import UserError
from .base import Batch, Columns, VectorSource
from .detect import open_source
from .fields import SeveralVectorColumns
from .regroup import regroup


@dataclass
class Member:
    """One vector column and its reader; column None: the source's only vector column."""

    column: str | None
    reader: VectorSource


def open_members(
    location: str,
    columns: Columns,
    vectors: tuple[str, ...] = (),
    table: str | None = None,
    kind: str | None = None,
    meta: str | None = None,
) -> list[Member]:
    """A reader per vector column: the named ones, else every vector column when there are several."""
    if len(set(vectors)) != len(vectors):
        raise UserError(f"--vector-column names a column twice ({', '.join(vectors)})")
    if not vectors:
        try:
            return [Member(None, open_source(location, columns, table, kind, meta))]
        except SeveralVectorColumns as several:
            vectors = tuple(several.candidates)
    members: list[Member] = []
    try:
        for name in vectors:
            members.append(
                Member(name, open_source(location, replace(columns, vector=name), table, kind, meta))
            )
    except BaseException:
        for member in members:
            member.reader.close()
        raise
    return members


def grouped(members: list[Member], rows: int) -> Iterator[list[Batch]]:
    """The members' batches side by side, `rows` rows each (one member: its batches as they come)."""
    if len(members) == 1:
        for batch in members[0].reader.batches(rows):
            yield [batch]
        return
    streams = [regroup(m.reader.batches(rows), rows) for m in members]
    first = 0
    while True:
        group = [next(stream, None) for stream in streams]
        if all(batch is None for batch in group):
            return
        if any(batch is None or batch.ids != group[0].ids for batch in group):  # type: ignore[union-attr]
            names = ", ".join(str(m.column) for m in members)
            raise UserError(
                f"the vector columns {names} do not list the same rows in the same order (row {first}~)"
            )
        first += len(group[0].ids)  # type: ignore[union-attr]
        yield group  # type: ignore[misc]


def combined_digests(digests: list[list[str]]) -> list[str]:
    """One content hash per row over every column's vector: a row changes when any of its vectors does.
    With one column it is that column's hash, so a store imported before keeps matching."""
    if len(digests) == 1:
        return digests[0]
    return [
        hashlib.blake2b("".join(row).encode(), digest_size=16).hexdigest()
        for row in zip(*digests, strict=True)
    ]
