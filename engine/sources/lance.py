"""LanceDB: a database folder (one `NAME.lance` folder per table; `table` picks one) or one table's folder.

Rows stream as Arrow record batches from an unfiltered scan of the columns we need; the table's
version is the fingerprint, since every write to a Lance table makes a new version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..extras import require
from .base import Batch, Columns, SourceInfo, VectorSource

SUFFIX = ".lance"


def _is_table(path: Path) -> bool:
    return path.name.endswith(SUFFIX) and (path / "_versions").is_dir()


STRAYS = 16  # entries that are not tables a database folder may hold (a README, a notes file)


def _is_database(folder: Path) -> bool:
    """A LanceDB database folder: table folders, and little else. The listing is read only until it
    shows a table or more than STRAYS other entries, so that every command on a folder of a million
    files (which asks this first) does not list it all."""
    strays = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(SUFFIX) and _is_table(Path(entry.path)):
                return True
            strays += 1
            if strays > STRAYS:
                return False
    return False


def tables_in(folder: Path) -> list[str]:
    """The tables of a database folder, by their folder names (no connection needed)."""
    return sorted(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.is_dir() and _is_table(p))


def embedding_function(schema: Any, vector: str) -> tuple[str | None, str | None]:
    """(model, source column) of the vector column, from the `embedding_functions` metadata LanceDB's
    embedding API writes: [{"name": registry name, "model": its arguments, "source_column",
    "vector_column"}]. A sentence-transformers model named without an owner is a hub id under
    `sentence-transformers/`, and its default is the one LanceDB uses."""
    raw = (schema.metadata or {}).get(b"embedding_functions")
    try:
        entries = json.loads(raw) if raw else []
        entry = next((e for e in entries if e.get("vector_column") == vector), None)
    except (ValueError, AttributeError, TypeError):
        return None, None
    if not isinstance(entry, dict):
        return None, None
    function, args = str(entry.get("name") or ""), entry.get("model") or {}
    model = args.get("name") if isinstance(args, dict) else None
    if function == "sentence-transformers":
        model = model or "all-MiniLM-L6-v2"
        model = model if "/" in model else f"sentence-transformers/{model}"
    return (str(model) if model else function or None), entry.get("source_column")


def _message(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


class LanceSource(VectorSource):
    """One table of a local LanceDB database."""

    kind = "lancedb"

    def __init__(self, location: str, columns: Columns, table: str | None = None):
        self.location, self.columns = location, columns
        lancedb = require("lancedb", "lancedb", "A LanceDB table")
        folder, self.table = self._locate(Path(location).expanduser(), table)
        try:
            self._db = lancedb.connect(str(folder))
            self._table: Any = self._db.open_table(self.table)
            self._schema = self._table.schema
        except Exception as exc:  # lancedb raises plain ValueError/RuntimeError/OSError from Rust
            raise UserError(f"cannot open LanceDB table {self.table!r} in {folder}: {_message(exc)}") from exc
        from .arrow_rows import fixed_dim, list_columns, vector_columns
        from .fields import resolve

        where = f"LanceDB table {self.table!r}"
        candidates, allowed = vector_columns(self._schema), list_columns(self._schema)
        self.parts = resolve(columns, list(self._schema.names), candidates, where, allowed)
        self._dim = fixed_dim(self._schema, self.parts.vector)
        self.model, source_column = embedding_function(self._schema, self.parts.vector)
        if columns.text is None and source_column in self._schema.names:
            self.parts = replace(self.parts, text=source_column)  # the text the vectors were made from

    @classmethod
    def sniff(cls, location: str) -> bool:
        path = Path(location).expanduser()
        if not path.is_dir():
            return False
        return _is_table(path) or _is_database(path)

    def _locate(self, path: Path, table: str | None) -> tuple[Path, str]:
        """(database folder, table name) from a database folder or a table folder."""
        if not path.is_dir():
            raise UserError(f"{self.location}: no such LanceDB folder")
        if _is_table(path):
            name = path.name[: -len(SUFFIX)]
            if table is not None and table != name:
                raise UserError(f"{self.location} is the LanceDB table {name!r}, not {table!r}: drop --table")
            return path.parent, name
        names = tables_in(path)
        if not names:
            raise UserError(f"{self.location} holds no LanceDB table (no NAME.lance folder)")
        if table is not None:
            if table not in names:
                raise UserError(
                    f"{self.location} has no LanceDB table {table!r}; its tables: {', '.join(names)}"
                )
            return path, table
        if len(names) > 1:
            raise UserError(
                f"{self.location} holds several LanceDB tables ({', '.join(names)}): pick one with --table"
            )
        return path, names[0]

    def _first_dim(self) -> int | None:
        if self._dim is not None:
            return self._dim
        first = self._table.search().select([self.parts.vector]).limit(1).to_arrow()
        value = first.column(0)[0].as_py() if first.num_rows else None
        return None if value is None else len(value)

    def describe(self) -> SourceInfo:
        self._dim = self._first_dim()
        return SourceInfo(
            kind=self.kind,
            location=f"{self.location}#{self.table}",
            rows=int(self._table.count_rows()),
            dim=self._dim,
            columns=list(self._schema.names),
            model=self.model,
            fingerprint=f"{self.table}@v{self._table.version}",
        )

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        from .arrow_rows import rebatch

        self._dim = self._first_dim()  # the first row's width holds for all, whether or not describe ran
        try:
            reader = self._table.search().select(self.parts.names()).to_batches(rows)
        except Exception as exc:
            raise UserError(f"cannot read LanceDB table {self.table!r}: {_message(exc)}") from exc
        try:
            yield from rebatch(reader, self.parts, rows, self._dim)
        except (OSError, ValueError, RuntimeError) as exc:  # a damaged data file, found mid-scan
            raise UserError(f"cannot read LanceDB table {self.table!r}: {_message(exc)}") from exc

    def close(self) -> None:
        self._table = None
        self._db = None
