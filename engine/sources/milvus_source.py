"""A Milvus collection any program made: a Milvus Lite file (`*.db`) or a server (`http(s)://…`, token
from MILVUS_TOKEN); `table` names the collection when there are several.

The schema says everything: the float-vector field is the vector (a choice when there are several),
the primary key the id, and the scalar fields are the columns labels and texts are found in. Rows
stream with `query_iterator` (primary-key order). This is the reading side; `engine/milvus.py` is
vexplore's own Milvus backend, whose connection helper it shares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .base import Batch, Columns, SourceInfo, VectorSource
from .regroup import regroup

PAGE = 4096  # rows per query page: a page arrives as Python floats, each many times a float32
SERVER_SCHEMES = ("http://", "https://")


def _lite_folder(path: Path) -> bool:
    return path.is_dir() and (path / "collections").is_dir()


def _lite_file(path: Path) -> bool:
    """An older Milvus Lite file: not the SQLite database llm writes under the same suffix."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return not f.read(16).startswith(b"SQLite format 3")


def _error(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc).splitlines()[0][:300]


class MilvusSource(VectorSource):
    """One collection of a Milvus Lite file or server."""

    kind = "milvus"

    def __init__(self, location: str, columns: Columns, table: str | None = None):
        from ..milvus import connect

        self.location = location
        self._client: Any = connect(location)
        try:
            self.table = self._choose(table)
            self._open(columns)
        except Exception:
            self.close()
            raise

    @classmethod
    def sniff(cls, location: str) -> bool:
        if location.startswith(SERVER_SCHEMES):
            return True
        path = Path(location).expanduser()
        return path.suffix == ".db" and (_lite_folder(path) or _lite_file(path))

    def _choose(self, table: str | None) -> str:
        try:
            names = sorted(self._client.list_collections())
        except Exception as exc:
            raise UserError(f"cannot list the collections of {self.location}: {_error(exc)}") from exc
        if table is not None:
            if table not in names:
                raise UserError(
                    f"{self.location} has no Milvus collection {table!r}; "
                    f"its collections: {', '.join(names) or 'none'}"
                )
            return table
        if len(names) == 1:
            return names[0]
        if not names:
            raise UserError(f"{self.location} holds no Milvus collection")
        raise UserError(
            f"{self.location} holds several Milvus collections ({', '.join(names)}): pick one with --table"
        )

    def _open(self, columns: Columns) -> None:
        from pymilvus import DataType

        from .fields import resolve

        try:
            desc = self._client.describe_collection(self.table)
        except Exception as exc:
            raise UserError(f"cannot describe Milvus collection {self.table!r}: {_error(exc)}") from exc
        fields = desc["fields"]
        self._desc = desc
        self._names = [f["name"] for f in fields]
        primary = next((f["name"] for f in fields if f.get("is_primary")), None)
        if primary is None:
            raise UserError(f"Milvus collection {self.table!r} has no primary key")
        dims = {f["name"]: int(f["params"]["dim"]) for f in fields if f["type"] == DataType.FLOAT_VECTOR}
        names = list(self._names)
        if desc.get("enable_dynamic_field"):  # a field named by the user may live in the dynamic part
            named = (columns.label, columns.text, columns.path, columns.id)
            names += [n for n in named if n and n not in names]
        where = f"Milvus collection {self.table!r}"
        self.parts = resolve(replace(columns, id=columns.id or primary), names, list(dims), where)
        self._primary: str = self.parts.id or primary
        self._dim = dims[self.parts.vector]
        try:
            self._client.load_collection(self.table)  # queries need a loaded collection
        except Exception as exc:
            raise UserError(f"cannot load Milvus collection {self.table!r}: {_error(exc)}") from exc

    def _count(self) -> int:
        rows = self._client.query(
            self.table, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
        return int(rows[0]["count(*)"])

    def _fingerprint(self, rows: int) -> str:
        """Row count, schema and what says the data changed: a Lite collection's manifest (its write
        sequence), a server's stats and timestamps."""
        parts: list[Any] = [rows, self._names]
        manifest = Path(self.location).expanduser() / "collections" / self.table / "manifest.json"
        if manifest.is_file():
            parts.append(manifest.read_text())
        else:
            parts.append(self._client.get_collection_stats(self.table))
            parts += [self._desc.get(k) for k in ("created_timestamp", "update_timestamp")]
        return hashlib.blake2b(json.dumps(parts, default=str).encode(), digest_size=12).hexdigest()

    def describe(self) -> SourceInfo:
        try:
            rows = self._count()
            fingerprint = self._fingerprint(rows)
        except Exception as exc:
            raise UserError(f"cannot count Milvus collection {self.table!r}: {_error(exc)}") from exc
        return SourceInfo(
            kind=self.kind,
            location=f"{self.location}#{self.table}",
            rows=rows,
            dim=self._dim,
            columns=list(self._names),
            model=(self._desc.get("properties") or {}).get("vexplore.model"),  # one vexplore exported
            fingerprint=fingerprint,
        )

    def _batch(self, entities: list[dict[str, Any]]) -> Batch:
        parts, n = self.parts, len(entities)
        problems: dict[int, str] = {}
        values = [e.get(parts.vector) for e in entities]
        if all(v is not None and len(v) == self._dim for v in values):
            vectors = np.asarray(values, dtype=np.float32).reshape(n, self._dim)
        else:  # a schema fixes the width, so this is a server's oddity, reported row by row
            vectors = np.full((n, self._dim), np.nan, np.float32)
            for i, value in enumerate(values):
                if value is None or len(value) != self._dim:
                    problems[i] = "no vector" if value is None else f"vector has {len(value)} values"
                else:
                    vectors[i] = value

        def strings(name: str | None) -> list[str | None] | None:
            if name is None:
                return None
            return [None if (v := e.get(name)) is None else str(v) for e in entities]

        return Batch(
            ids=[str(e[self._primary]) for e in entities],
            vectors=vectors,
            labels=strings(parts.label),
            texts=strings(parts.text),
            paths=strings(parts.path),
            problems=problems,
        )

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        try:
            it = self._client.query_iterator(
                self.table, batch_size=min(rows, PAGE), filter="", output_fields=self.parts.names()
            )
        except Exception as exc:
            raise UserError(f"cannot read Milvus collection {self.table!r}: {_error(exc)}") from exc
        try:
            yield from regroup(self._pages(it), rows)
        finally:
            it.close()

    def _pages(self, it: Any) -> Iterator[Batch]:
        while True:
            try:
                page = it.next()
            except Exception as exc:  # a server gone mid-read is one line too
                raise UserError(f"cannot read Milvus collection {self.table!r}: {_error(exc)}") from exc
            if not page:
                return
            yield self._batch(page)

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close()
