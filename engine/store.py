"""The store: a SQLite catalog (WAL) plus, per model, a row-addressable float32 vector file and an
hnswlib index. Layout and format are documented in the README; nothing is pickled.

Crash safety: vectors are appended and fsynced *before* the catalog transaction that references them
commits, and the catalog records how many rows are valid; rows past that count (a crash between the
two) are truncated the next time a writer opens the store. Compaction (compaction.py) writes a vector
file under a new name and switches to it in one transaction; a writer removes the file left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .lock import ReadersLock
from .scan import Entry
from .table import FileTable, read_columns

SCHEMA_VERSION = 2  # the newest this code reads: 2 = a vector file may be named by models.vectors
FIRST_SCHEMA_VERSION = 1  # what a new store records; its first compaction raises it to 2
LEGACY_VECTORS = "vectors.f32"  # the vector file of a model whose models.vectors is NULL
STORE_DIRNAME = ".vexplore"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,      -- relative to the root, '/'-separated, printable
    raw BLOB NOT NULL,              -- the same path as the file system spells it (bytes)
    modality TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,                      -- blake2b-128 of the content
    meta TEXT,                      -- JSON facts for previews (duration, resolution, windows, ...)
    thumb BLOB,                     -- small PNG/JPEG thumbnail for the UI
    text TEXT                       -- transcript or extracted text, when a model produced one
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    backend TEXT NOT NULL,
    modalities TEXT NOT NULL,       -- JSON list
    dim INTEGER NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,        -- valid rows in the vector file
    generation INTEGER NOT NULL DEFAULT 0,  -- bumped by every commit; the index records the one it saw
    text_queries INTEGER NOT NULL DEFAULT 0,
    info TEXT,                      -- JSON: device, source, created
    vectors TEXT                    -- the vector file's name in the model folder (NULL: vectors.f32)
);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    row INTEGER,                    -- the file vector's row; window vectors follow it (row+1 .. row+parts)
    parts INTEGER NOT NULL DEFAULT 1,
    norm REAL,                      -- norm of the pooled vector before normalisation
    labels TEXT,                    -- JSON [[class, prob], ...] for classifier models
    size INTEGER NOT NULL,          -- the file's fingerprint when it was embedded
    mtime_ns INTEGER NOT NULL,
    error TEXT,                     -- why this file could not be embedded (row is NULL then)
    PRIMARY KEY (model_id, file_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS embeddings_file ON embeddings(file_id);
"""


class StoreError(UserError):
    """A store that is missing, unreadable or from a newer vexplore; the message is one line."""


def _slug(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-48:].strip("._") or "model"
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _fallback_dir(root: Path) -> Path:
    from platformdirs import user_cache_dir

    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(user_cache_dir("vexplore")) / "stores" / f"{root.resolve().name}-{key}"


def find_store_dir(root: Path, store: str | Path | None = None, create: bool = False) -> Path:
    """Where the store of root lives: --store, else root/.vexplore, else the user cache dir when root
    is read-only. With create=False an absent store is an error that tells the user what to run."""
    if store is not None:
        return Path(store).expanduser().resolve()
    inside = root / STORE_DIRNAME
    fallback = _fallback_dir(root)
    if (inside / "catalog.sqlite").exists():
        return inside
    if (fallback / "catalog.sqlite").exists():
        return fallback
    if not create:
        raise StoreError(f"no index for {root} yet: run `vexplore index {root}` first")
    return inside if os.access(root, os.W_OK) else fallback


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


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in folder durable (the entry lives in the folder, not the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def damaged(exc: sqlite3.DatabaseError) -> StoreError:
    """The one-line error for a catalog SQLite cannot read, naming the file (never a silent reset)."""
    return StoreError(f"catalog {Store.last_catalog} is unreadable ({exc}); move it aside and re-index")


class Store:
    """One folder's store. Many readers, one writer (the writer holds the lock in lock.py)."""

    last_catalog: Path | None = None  # the catalog this process opened last: what `damaged` names

    def __init__(self, root: Path, directory: Path, create: bool = False, readonly: bool = False):
        """create=True opens the store as its writer (under WriterLock); every other Store is a reader and
        holds the readers lock while open, so compaction never moves rows under it."""
        self.root = root
        self.dir = directory
        self.readonly = readonly
        path = directory / "catalog.sqlite"
        Store.last_catalog = path
        if not path.exists() and not create:
            raise StoreError(f"no index for {root} yet: run `vexplore index {root}` first")
        if path.exists() and path.stat().st_size == 0:  # SQLite would take it for a new, empty catalog
            if (directory / "models").exists():
                raise StoreError(
                    f"catalog {path} is empty but the store holds vectors; move the store aside and re-index"
                )
            if not create:  # a writer was stopped before it wrote anything
                raise StoreError(f"no index for {root} yet: run `vexplore index {root}` first")
        if create:
            directory.mkdir(
                parents=True, exist_ok=True, mode=0o700
            )  # user-only; an existing one is left as is
        self._readers = None if create else ReadersLock(directory)
        if self._readers is not None:
            self._readers.share()  # before the first catalog read: no compaction can fall between
        try:
            if readonly:
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            else:
                self.db = sqlite3.connect(path, timeout=30)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.executescript(SCHEMA)
                if "vectors" not in self._model_columns():  # a catalog from before compaction
                    self.db.execute("ALTER TABLE models ADD COLUMN vectors TEXT")
                self._check_version(write=True)
                if create:  # the writer reads every page once, so damage is found before anything is written
                    problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
                    if problem != "ok":
                        raise sqlite3.DatabaseError(problem)
            self._check_version()
            # A reader of an old catalog has no vectors column: its models use the legacy file name.
            self._vectors_column = "vectors" if "vectors" in self._model_columns() else "NULL"
        except sqlite3.DatabaseError as exc:
            self.release_readers()
            raise damaged(exc) from exc
        except BaseException:
            self.release_readers()
            raise
        self._memmaps: dict[int, tuple[str, int, np.ndarray]] = {}  # model id -> (file name, rows, map)

    def _model_columns(self) -> set[str]:
        return {r[1] for r in self.db.execute("PRAGMA table_info(models)")}

    def release_readers(self) -> None:
        if self._readers is not None:
            self._readers.release()

    def _check_version(self, write: bool = False) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None and write:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(FIRST_SCHEMA_VERSION),))
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('root', ?)", (str(self.root.resolve()),))
        elif row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"store {self.dir} was written by a newer vexplore (schema {row[0]})")

    def close(self) -> None:
        self._memmaps.clear()
        self.db.close()
        self.release_readers()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- files -------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        rows = self.db.execute("SELECT id, path, raw, modality, size, mtime_ns, hash, meta FROM files")
        return {
            r[1]: FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}")) for r in rows
        }

    def has_modality(self, *modalities: str) -> bool:
        marks = ",".join("?" * len(modalities))
        return (
            self.db.execute(f"SELECT 1 FROM files WHERE modality IN ({marks}) LIMIT 1", modalities).fetchone()
            is not None
        )

    def fingerprints(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of every catalogued file by path: what planning an index run compares, without
        building a FileRow and parsing the meta JSON of every file as files() does."""
        return {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM files")}

    def file_by_path(self, path: str) -> FileRow | None:
        r = self.db.execute(
            "SELECT id, path, raw, modality, size, mtime_ns, hash, meta FROM files WHERE path=?", (path,)
        ).fetchone()
        return FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}")) if r else None

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
        self, entries: list[Entry], hashes: dict[str, str], keep: Iterable[str] = ()
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
            for start in range(0, len(gone), 900):
                chunk = gone[start : start + 900]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM embeddings WHERE file_id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM files WHERE id IN ({marks})", chunk)
            if gone:
                self.db.execute("UPDATE models SET generation = generation + 1")
        return gone, new, changed

    # ---- models ------------------------------------------------------------------------------
    def models(self) -> list[ModelRow]:
        rows = self.db.execute(
            "SELECT id, name, family, backend, modalities, dim, rows, generation, text_queries, info, "
            f"{self._vectors_column} FROM models ORDER BY id"
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

    def ensure_model(
        self,
        name: str,
        family: str,
        backend: str,
        modalities: tuple[str, ...],
        dim: int,
        text_queries: bool,
        info: dict,
    ) -> ModelRow:
        existing = self.model(name)
        if existing is not None:
            if existing.dim != dim:
                raise StoreError(f"model {name!r} is stored with dim {existing.dim} but now gives {dim}")
            with self.db:
                self.db.execute(
                    "UPDATE models SET info=?, modalities=? WHERE id=?",
                    (json.dumps(info), json.dumps(list(modalities)), existing.id),
                )
            return self.model(name)  # type: ignore[return-value]
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
        self.model_dir(self.model(name)).mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
        return self.model(name)  # type: ignore[return-value]

    def model_dir(self, model: ModelRow) -> Path:
        return self.dir / "models" / _slug(model.name)

    def vector_path(self, model: ModelRow) -> Path:
        return self.model_dir(model) / (model.vectors or LEGACY_VECTORS)

    def remove_stray_vectors(self, model: ModelRow) -> list[Path]:
        """Delete vector files of the model folder that the catalog does not name: what a compaction
        killed before its commit (the new file) or after it (the old one) left. Writer only: a reader
        holds the readers lock, so no compaction happened while any reader that is open now was."""
        keep = self.vector_path(model).name
        stray = [p for p in self.model_dir(model).glob("vectors*.f32") if p.name != keep]
        for path in stray:
            path.unlink(missing_ok=True)
        return stray

    # ---- embeddings --------------------------------------------------------------------------
    def stale(self, model: ModelRow) -> list[FileRow]:
        """Files of the model's modalities with no embedding for their current fingerprint."""
        marks = ",".join("?" * len(model.modalities))
        rows = self.db.execute(
            f"SELECT f.id, f.path, f.raw, f.modality, f.size, f.mtime_ns, f.hash, f.meta FROM files f "
            f"LEFT JOIN embeddings e ON e.file_id = f.id AND e.model_id = ? "
            f"WHERE f.modality IN ({marks}) AND (e.file_id IS NULL OR e.size != f.size OR e.mtime_ns != f.mtime_ns) "
            f"ORDER BY f.path",
            (model.id, *model.modalities),
        )
        return [FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}")) for r in rows]

    def repair_vectors(self, model: ModelRow) -> str | None:
        """Drop rows past the committed count (left by a crash between append and commit). A file shorter
        than the catalog says was damaged outside vexplore: the files whose vectors it lost are forgotten, so
        this run embeds them again, and the returned notice says so. Writer only."""
        self.remove_stray_vectors(model)
        path = self.vector_path(model)
        valid = model.rows * model.dim * 4
        size = path.stat().st_size if path.exists() else 0
        if size == valid:
            return None
        keep = min(size, valid) // (model.dim * 4)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.truncate(keep * model.dim * 4)
            os.fsync(fh.fileno())
        if size > valid:
            return None
        with self.db:
            lost = self.db.execute(
                "DELETE FROM embeddings WHERE model_id=? AND row IS NOT NULL "
                "AND row + 1 + (CASE WHEN parts > 1 THEN parts ELSE 0 END) > ?",
                (model.id, keep),
            ).rowcount
            self.db.execute("UPDATE models SET rows=?, generation=generation+1 WHERE id=?", (keep, model.id))
        self._memmaps.pop(model.id, None)
        return f"vector file {path} was shorter than the catalog says: {lost} files will be embedded again"

    def commit_batch(self, model: ModelRow, results: list[dict]) -> ModelRow:
        """Append the vectors of a batch, fsync, then record them in one catalog transaction.

        Each result: file (FileRow), and either vector (+ windows, norm, labels, meta, thumb, text) or error.
        """
        current = self.model(model.name)
        assert current is not None
        row = current.rows
        blocks: list[np.ndarray] = []
        records = []
        for res in results:
            f: FileRow = res["file"]
            if "error" in res:
                records.append((current.id, f.id, None, 0, None, None, f.size, f.mtime_ns, res["error"]))
                continue
            windows = res.get("windows")
            block = [res["vector"][None, :]] + ([windows] if windows is not None and len(windows) > 1 else [])
            stacked = np.concatenate(block).astype("<f4", copy=False)
            blocks.append(stacked)
            labels = json.dumps(res["labels"]) if res.get("labels") else None
            records.append(
                (current.id, f.id, row, len(stacked) - 1 or 1, res["norm"], labels, f.size, f.mtime_ns, None)
            )
            row += len(stacked)
        if blocks:
            path = self.vector_path(current)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                if fh.tell() != current.rows * current.dim * 4:  # never trust a longer file
                    fh.truncate(current.rows * current.dim * 4)
                    fh.seek(0, os.SEEK_END)
                fh.write(np.concatenate(blocks).tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?,?,?)", records)
            for res in results:
                if res.get("meta") or res.get("thumb") is not None or res.get("text") is not None:
                    f = res["file"]
                    self.db.execute(
                        "UPDATE files SET meta=?, thumb=COALESCE(?, thumb), text=COALESCE(?, text) WHERE id=?",
                        (json.dumps(f.meta | res.get("meta", {})), res.get("thumb"), res.get("text"), f.id),
                    )
            self.db.execute("UPDATE models SET rows=?, generation=generation+1 WHERE id=?", (row, current.id))
        self._memmaps.pop(current.id, None)
        return self.model(model.name)  # type: ignore[return-value]

    def live_rows(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(file ids, first rows, row counts) of every stored file's vectors, in row order: the file vector
        and, after it, its window vectors when it has more than one part."""
        got = self.db.execute(
            "SELECT file_id, row, CASE WHEN parts > 1 THEN 1 + parts ELSE 1 END FROM embeddings "
            "WHERE model_id=? AND row IS NOT NULL ORDER BY row",
            (model.id,),
        ).fetchall()
        arr = np.array(got, dtype=np.int64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1], arr[:, 2]

    def live_count(self, model: ModelRow) -> int:
        """How many rows of the vector file the catalog still references."""
        return self.db.execute(
            "SELECT COALESCE(SUM(CASE WHEN parts > 1 THEN 1 + parts ELSE 1 END), 0) FROM embeddings "
            "WHERE model_id=? AND row IS NOT NULL",
            (model.id,),
        ).fetchone()[0]

    def switch_vectors(
        self, model: ModelRow, name: str, file_ids: np.ndarray, rows: np.ndarray, total: int
    ) -> ModelRow:
        """Point the model at a new vector file (already written and fsynced) in one transaction: each
        file's new first row, the row count, the file name, and schema 2 so that a vexplore that knows
        only vectors.f32 refuses the store. Writer only, with the readers lock held exclusive."""
        with self.db:
            self.db.executemany(
                "UPDATE embeddings SET row=? WHERE model_id=? AND file_id=?",
                zip(rows.tolist(), [model.id] * len(rows), file_ids.tolist(), strict=False),
            )
            self.db.execute("UPDATE models SET rows=?, vectors=? WHERE id=?", (total, name, model.id))
            self.db.execute(
                "UPDATE meta SET value=? WHERE key='schema_version' AND CAST(value AS INTEGER) < ?",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )
        self._memmaps.pop(model.id, None)
        return self.model(model.name)  # type: ignore[return-value]

    def vectors(self, model: ModelRow) -> np.ndarray:
        """All valid rows of the model's vector file, memory-mapped read-only.

        The row count is read afresh, not taken from `model`: a reader that read its model row before an
        indexer's commit can be handed embeddings rows of that commit, and every committed row is on disk."""
        fresh = self.db.execute(
            f"SELECT rows, {self._vectors_column} FROM models WHERE id=?", (model.id,)
        ).fetchone()
        rows, name = fresh if fresh else (model.rows, model.vectors)
        name = name or LEGACY_VECTORS
        cached = self._memmaps.get(model.id)
        if cached is not None and cached[:2] == (name, rows):
            return cached[2]
        path = self.model_dir(model) / name
        if rows == 0:
            arr = np.zeros((0, model.dim), dtype=np.float32)
        else:
            if not path.exists() or path.stat().st_size < rows * model.dim * 4:
                raise StoreError(
                    f"vector file {path} is shorter than the catalog says; "
                    "run `vexplore index` again to repair the store"
                )
            arr = np.memmap(path, dtype="<f4", mode="r", shape=(rows, model.dim))
        self._memmaps[model.id] = (name, rows, arr)
        return arr

    def forget_vectors(self) -> None:
        """Drop the memory maps of the vector files: their pages stop counting as this process's memory
        (a long-lived reader after a statistics report over a million vectors)."""
        self._memmaps.clear()

    def embedded(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, rows) of every file that has a vector for this model, ordered by file id."""
        got = self.db.execute(
            "SELECT file_id, row FROM embeddings WHERE model_id=? AND row IS NOT NULL ORDER BY file_id",
            (model.id,),
        ).fetchall()
        arr = np.array(got, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    def raw_norms(self, model: ModelRow, file_ids: np.ndarray) -> np.ndarray:
        """Norm of each file's pooled vector before normalisation, aligned with file_ids (NaN if unknown)."""
        got = np.array(
            self.db.execute(
                "SELECT file_id, norm FROM embeddings WHERE model_id=? AND row IS NOT NULL ORDER BY file_id",
                (model.id,),
            ).fetchall(),
            dtype=np.float64,
        ).reshape(-1, 2)
        out = np.full(len(file_ids), np.nan)
        if len(got):
            at = np.clip(np.searchsorted(got[:, 0], file_ids), 0, len(got) - 1)
            hit = got[at, 0] == file_ids
            out[hit] = got[at[hit], 1]
        return out

    def count_embedded(self, model: ModelRow) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model_id=? AND row IS NOT NULL", (model.id,)
        ).fetchone()[0]

    def _row_of(self, model: ModelRow, file_id: int) -> tuple[int, int, str] | None:
        """(row, parts, vector file name) of a file's vectors, read in one statement: the row number and
        the file it indexes always come from the same layout."""
        r = self.db.execute(
            f"SELECT row, parts, (SELECT {self._vectors_column} FROM models WHERE id=e.model_id) "
            "FROM embeddings e WHERE model_id=? AND file_id=?",
            (model.id, file_id),
        ).fetchone()
        return None if r is None or r[0] is None else (r[0], r[1], r[2] or LEGACY_VECTORS)

    def file_vector(self, model: ModelRow, file_id: int) -> np.ndarray | None:
        at = self._row_of(model, file_id)
        return None if at is None else self._read_rows(model, at[2], at[0], 1)[0]

    def window_vectors(self, model: ModelRow, file_id: int) -> np.ndarray | None:
        """The per-window (or per-frame) vectors of a file, when it had more than one part."""
        at = self._row_of(model, file_id)
        if at is None:
            return None
        row, parts, name = at
        if parts > 1:
            return self._read_rows(model, name, row + 1, parts)
        return self._read_rows(model, name, row, 1)

    def _read_rows(self, model: ModelRow, name: str, start: int, count: int) -> np.ndarray:
        """Rows [start, start + count) of the vector file, by one pread. A browser looks up one file at a
        time, and through the memory map each look-up would leave about 1 MB resident (the kernel reads
        around a faulted page), growing toward the whole file over a session; here nothing stays."""
        path = self.model_dir(model) / name
        size = count * model.dim * 4
        try:
            with open(path, "rb") as fh:
                data = os.pread(fh.fileno(), size, start * model.dim * 4)
        except OSError as exc:
            raise StoreError(f"cannot read vector file {path}: {exc.strerror}") from exc
        if len(data) < size:
            raise StoreError(
                f"vector file {path} is shorter than the catalog says; "
                "run `vexplore index` again to repair the store"
            )
        return np.frombuffer(data, dtype="<f4").reshape(count, model.dim).copy()

    def hits_of(self, model: ModelRow, file_ids: list[int]) -> dict[int, tuple[str, list | None]]:
        """file id -> (path, the model's labels or None) in one query: what a list of neighbors shows."""
        if not file_ids:
            return {}
        marks = ",".join("?" * len(file_ids))
        rows = self.db.execute(
            f"SELECT f.id, f.path, e.labels FROM files f LEFT JOIN embeddings e ON e.file_id=f.id AND e.model_id=? "
            f"WHERE f.id IN ({marks})",
            (model.id, *file_ids),
        )
        return {fid: (path, json.loads(labels) if labels else None) for fid, path, labels in rows}

    def labels(self, model: ModelRow, file_ids: Iterable[int]) -> dict[int, list]:
        ids = list(file_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT file_id, labels FROM embeddings WHERE model_id=? AND labels IS NOT NULL AND file_id IN ({marks})",
            (model.id, *ids),
        )
        return {fid: json.loads(lab) for fid, lab in rows}

    def embeddings_of(self, file_id: int) -> list[tuple[str, bool, str | None, list | None]]:
        """(model name, has a vector, error, labels) for every model that has seen the file."""
        rows = self.db.execute(
            "SELECT m.name, e.row IS NOT NULL, e.error, e.labels FROM embeddings e JOIN models m ON m.id=e.model_id "
            "WHERE e.file_id=? ORDER BY m.id",
            (file_id,),
        )
        return [
            (name, bool(has), error, json.loads(labels) if labels else None)
            for name, has, error, labels in rows
        ]

    def errors(self, model: ModelRow | None = None) -> Iterator[tuple[str, str, str]]:
        """(path, model name, reason) of every file that failed to embed."""
        sql = (
            "SELECT f.path, m.name, e.error FROM embeddings e JOIN files f ON f.id=e.file_id "
            "JOIN models m ON m.id=e.model_id WHERE e.error IS NOT NULL"
        )
        args: tuple = ()
        if model is not None:
            sql += " AND e.model_id=?"
            args = (model.id,)
        yield from self.db.execute(sql + " ORDER BY f.path", args)
