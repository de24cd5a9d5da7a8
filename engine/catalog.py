"""The catalog: one SQLite database (WAL) of files, models and embeddings rows, and every query on it.

It knows row numbers but not vector files (vectorfile.py) and not the store folder (store.py composes
the two). Every public method turns a `sqlite3.DatabaseError` met mid-query (a damaged page) into the
one-line `StoreError` that names the catalog file, so no caller has to guess which file it was.
"""

from __future__ import annotations

import functools
import inspect
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .diskfull import DiskFull, is_disk_full
from .errors import StoreError
from .filesystems import journal_mode
from .migrations import check_version, columns, migrate
from .scan import Entry
from .table import FileTable, read_columns

FILE_COLUMNS = "f.id, f.path, f.raw, f.modality, f.size, f.mtime_ns, f.hash, f.meta"


@dataclass(frozen=True)
class ModelRow:
    id: int
    name: str
    family: str
    backend: str
    modalities: tuple[str, ...]
    dim: int
    rows: int
    generation: int
    text_queries: bool
    info: dict
    vectors: str | None = None  # the vector file's name; None: the legacy vectors.f32


@dataclass(frozen=True)
class FileRow:
    id: int
    path: str
    raw: bytes
    modality: str
    size: int
    mtime_ns: int
    hash: str | None
    meta: dict


def file_row(r: Sequence[Any]) -> FileRow:
    """A FileRow from the columns FILE_COLUMNS names, in that order."""
    return FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}"))


def damaged(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    """The one-line error for a catalog SQLite cannot read, naming the file (never a silent reset). A full
    disk is not damage: it gets its own error (diskfull.py), which never says to move the catalog aside."""
    if is_disk_full(exc, path.parent):
        return DiskFull(path.parent, what=f"writing {path.name}")
    return StoreError(f"catalog {path} is unreadable ({exc}); move it aside and re-index")


def _set_journal(db: sqlite3.Connection, mode: str) -> None:
    """WAL, or DELETE on a network file system. A WAL catalog another connection holds open stays WAL
    until it is free (SQLite cannot switch under it): that is safe on the host that made it."""
    try:
        db.execute(f"PRAGMA journal_mode={mode}")
    except sqlite3.OperationalError:
        if mode == "WAL":
            raise


C = TypeVar("C", bound=type)


def naming_the_file(cls: C) -> C:
    """Wrap every public method of a class that has `path` (the catalog file): a DatabaseError met
    mid-query becomes `damaged(self.path, ...)`."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.DatabaseError as exc:
                raise damaged(self.path, exc) from exc

        return guarded

    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and not name.startswith("_"):
            setattr(cls, name, wrap(member))
    return cls


@naming_the_file
class Catalog:
    """The catalog of one store. Open it with `Catalog.open`; a writer's is migrated to this schema."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db, self.path = db, path
        # A reader of an old catalog has no vectors column: its models use the legacy file name.
        self.vectors_column = "vectors" if "vectors" in columns(db, "models") else "NULL"

    @classmethod
    def open(cls, path: Path, root: Path, writer: bool, readonly: bool) -> Catalog:
        """Connect (read-only when asked), migrate unless read-only, check the schema version; a writer
        also reads every page once, so damage is found before anything is written."""
        db: sqlite3.Connection | None = None
        try:
            if readonly:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            else:
                db = sqlite3.connect(path, timeout=30)
                _set_journal(db, journal_mode(path.parent))
                db.execute("PRAGMA synchronous=FULL")
                migrate(db, root, path.parent)
                if writer:
                    problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
                    if problem != "ok":
                        raise sqlite3.DatabaseError(problem)
            check_version(db, path.parent)
            return cls(db, path)
        except BaseException as exc:
            if db is not None:
                db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise damaged(path, exc) from exc
            raise

    def close(self) -> None:
        self.db.close()

    # ---- files -------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        rows = self.db.execute(f"SELECT {FILE_COLUMNS} FROM files f")
        return {r[1]: file_row(r) for r in rows}

    def has_modality(self, *modalities: str) -> bool:
        marks = ",".join("?" * len(modalities))
        found = self.db.execute(f"SELECT 1 FROM files WHERE modality IN ({marks}) LIMIT 1", modalities)
        return found.fetchone() is not None

    def fingerprints(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every catalogued file by path: what planning an index run compares, without
        building a FileRow and parsing the meta JSON of every file as files() does."""
        return {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM files")}

    def file_by_path(self, path: str) -> FileRow | None:
        r = self.db.execute(f"SELECT {FILE_COLUMNS} FROM files f WHERE path=?", (path,)).fetchone()
        return file_row(r) if r else None

    def file_table(self, first: int | None = None) -> FileTable:
        """Every file as columns (id, path, modality, size, mtime_ns) in path order: what a file browser
        lists, about 100 MB at a million files. With first=N: only the first N paths, in a millisecond, so
        a browser can paint its top rows before the whole table is read."""
        return FileTable.read(self.db, first)

    def file_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    def file_states(self) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, marks): 1 when some model has the file's vector, -1 when models only failed on it;
        files no model has seen yet are left out. Arrays, not a dict: a million files cost 9 MB. (A plain
        scan of the embeddings reduced in numpy: half the time of SQLite's GROUP BY at a million rows.)"""
        ids, has = read_columns(
            self.db.execute("SELECT file_id, row IS NOT NULL FROM embeddings"),
            lambda c: np.array(c, np.int64),
            lambda c: np.array(c, np.int8),
        )
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.int8)
        all_ids, all_has = np.concatenate(ids), np.concatenate(has)
        if len(self.models()) == 1:  # one row per file already
            return all_ids, (2 * all_has - 1).astype(np.int8)
        unique, where = np.unique(all_ids, return_inverse=True)
        best = np.zeros(len(unique), np.int8)
        np.maximum.at(best, where, all_has)
        return unique, (2 * best - 1).astype(np.int8)

    def extras(self, file_id: int) -> tuple[bytes | None, str | None]:
        """The thumbnail and the stored text (a transcript, say) of a file: what a preview shows."""
        r = self.db.execute("SELECT thumb, text FROM files WHERE id=?", (file_id,)).fetchone()
        return (r[0], r[1]) if r else (None, None)

    def data_version(self) -> int:
        """Changes whenever another connection (the indexer) commits: a cheap poll for readers to refresh."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def paths_by_id(self, ids: Iterable[int]) -> dict[int, str]:
        ids = [int(i) for i in ids]
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, path FROM files WHERE id IN ({marks})", chunk).fetchall())
        return out

    def sync_files(
        self, entries: list[Entry], hashes: dict[str, str | None], keep: Iterable[str] = ()
    ) -> tuple[list[int], int, int]:
        """Make the catalog match a scan: insert new, update changed, delete gone files, except those at or
        under the paths in keep (folders the scan could not list this time). Returns (removed file ids, new
        count, changed count)."""
        keep = tuple(keep)
        if "." in keep:
            keep = ("",)
        known = {p: (i, s, m) for i, p, s, m in self.db.execute("SELECT id, path, size, mtime_ns FROM files")}
        seen = set()
        new = changed = 0
        with self.db:
            for e in entries:
                seen.add(e.path)
                old = known.get(e.path)
                if old is None:
                    new += 1
                    self.db.execute(
                        "INSERT INTO files(path, raw, modality, size, mtime_ns, hash) VALUES (?,?,?,?,?,?)",
                        (e.path, e.raw, e.modality, e.size, e.mtime_ns, hashes.get(e.path)),
                    )
                elif (old[1], old[2]) != (e.size, e.mtime_ns):
                    changed += 1
                    self.db.execute(
                        "UPDATE files SET size=?, mtime_ns=?, hash=?, modality=? WHERE id=?",
                        (e.size, e.mtime_ns, hashes.get(e.path), e.modality, old[0]),
                    )
            gone = [
                known[p][0]
                for p in known.keys() - seen
                if not any(k == "" or p == k or p.startswith(k + "/") for k in keep)
            ]
            self.delete_files(gone)
        return gone, new, changed

    def delete_files(self, ids: list[int]) -> None:
        """Forget files and their embeddings (their vector rows are left for compaction), in the caller's
        transaction; every model's generation moves on when any went."""
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM embeddings WHERE file_id IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM files WHERE id IN ({marks})", chunk)
        if ids:
            self.db.execute("UPDATE models SET generation = generation + 1")

    # ---- models ------------------------------------------------------------------------------
    def models(self) -> list[ModelRow]:
        rows = self.db.execute(
            "SELECT id, name, family, backend, modalities, dim, rows, generation, text_queries, info, "
            f"{self.vectors_column} FROM models ORDER BY id"
        ).fetchall()
        return [
            ModelRow(
                r[0],
                r[1],
                r[2],
                r[3],
                tuple(json.loads(r[4])),
                r[5],
                r[6],
                r[7],
                bool(r[8]),
                json.loads(r[9] or "{}"),
                r[10],
            )
            for r in rows
        ]

    def model(self, name: str) -> ModelRow | None:
        return next((m for m in self.models() if m.name == name), None)

    def vector_file_of(self, model: ModelRow) -> tuple[int, str | None]:
        """(valid rows, vector file name) as committed now, not as `model` was read: a reader that read
        its model row before an indexer's commit can be handed embeddings rows of that commit."""
        fresh = self.db.execute(
            f"SELECT rows, {self.vectors_column} FROM models WHERE id=?", (model.id,)
        ).fetchone()
        return (fresh[0], fresh[1]) if fresh else (model.rows, model.vectors)

    def add_model(
        self,
        name: str,
        family: str,
        backend: str,
        modalities: tuple[str, ...],
        dim: int,
        text_queries: bool,
        info: dict,
    ) -> ModelRow:
        """Record a model, or its new device facts and modalities; its dim never changes."""
        existing = self.model(name)
        if existing is not None:
            if existing.dim != dim:
                raise StoreError(f"model {name!r} is stored with dim {existing.dim} but now gives {dim}")
            with self.db:
                self.db.execute(
                    "UPDATE models SET info=?, modalities=? WHERE id=?",
                    (json.dumps(info), json.dumps(list(modalities)), existing.id),
                )
        else:
            with self.db:
                self.db.execute(
                    "INSERT INTO models(name, family, backend, modalities, dim, text_queries, info) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        name,
                        family,
                        backend,
                        json.dumps(list(modalities)),
                        dim,
                        int(text_queries),
                        json.dumps(info | {"created": time.time()}),
                    ),
                )
        return self.current(name)

    def current(self, name: str) -> ModelRow:
        """The model's row as committed now; a model the catalog does not hold is an error."""
        row = self.model(name)
        if row is None:
            raise StoreError(f"model {name!r} is not in catalog {self.path}")
        return row
