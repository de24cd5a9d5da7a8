"""The catalog's schema and its named migrations, applied in order by every writer that opens a store
(the idea of simonw/llm's `embeddings_migrations.py`).

No bookkeeping table: each step reads the schema or `meta` to see whether its change is there, so a
catalog written by any vexplore is read as it is and upgraded in place. `meta.schema_version` is what an
older vexplore checks before it reads: a new store records 1; the first compaction raises it to 2 (a
vector file may then be named by `models.vectors`, which a vexplore that knows only `vectors.f32`
must refuse).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from .errors import StoreError

SCHEMA_VERSION = 2  # the newest this code reads: 2 = a vector file may be named by models.vectors
FIRST_SCHEMA_VERSION = 1  # what a new store records; its first compaction raises it to 2

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

Migration = Callable[[sqlite3.Connection, Path], None]


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def m001_tables(db: sqlite3.Connection, root: Path) -> None:
    """The tables as this vexplore writes them; a table that exists is left as it is."""
    db.executescript(SCHEMA)


def m002_models_vectors(db: sqlite3.Connection, root: Path) -> None:
    """models.vectors, the vector file's name: a catalog from before compaction lacks it."""
    if "vectors" not in columns(db, "models"):
        db.execute("ALTER TABLE models ADD COLUMN vectors TEXT")


def m003_schema_version(db: sqlite3.Connection, root: Path) -> None:
    """A new catalog records its schema version and the folder it describes; one that has a version
    keeps it (the first compaction raises it, see `record_named_vectors`)."""
    if db.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is None:
        with db:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(FIRST_SCHEMA_VERSION),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('root', ?)", (str(root.resolve()),))


KEYWORD_INDEX = """
CREATE VIRTUAL TABLE files_fts USING fts5(path, text, content='files', content_rowid='id');
CREATE TRIGGER files_fts_insert AFTER INSERT ON files BEGIN
    INSERT INTO files_fts(rowid, path, text) VALUES (new.id, new.path, new.text);
END;
CREATE TRIGGER files_fts_delete AFTER DELETE ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, path, text) VALUES ('delete', old.id, old.path, old.text);
END;
CREATE TRIGGER files_fts_update AFTER UPDATE OF path, text ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, path, text) VALUES ('delete', old.id, old.path, old.text);
    INSERT INTO files_fts(rowid, path, text) VALUES (new.id, new.path, new.text);
END;
"""


def m004_keyword_index(db: sqlite3.Connection, root: Path) -> None:
    """files_fts, an FTS5 index over files.path and files.text kept in step by triggers on files (so every
    commit that stores a file's text indexes it); built once from what the catalog holds. A SQLite built
    without FTS5 leaves it out: keyword search then says so."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='files_fts'").fetchone() is not None:
        return
    try:
        db.executescript(
            "BEGIN;" + KEYWORD_INDEX + "INSERT INTO files_fts(files_fts) VALUES ('rebuild'); COMMIT;"
        )
    except sqlite3.OperationalError as exc:
        if db.in_transaction:
            db.rollback()
        if "fts5" not in str(exc):
            raise


MIGRATIONS: tuple[Migration, ...] = (
    m001_tables,
    m002_models_vectors,
    m003_schema_version,
    m004_keyword_index,
)


def migrate(db: sqlite3.Connection, root: Path, directory: Path) -> None:
    """Bring a writer's catalog up to date, step by step in order; then refuse it if a newer vexplore
    wrote it (the steps only add what is missing, as the writer always did before checking)."""
    for step in MIGRATIONS:
        step(db, root)
    check_version(db, directory)


def check_version(db: sqlite3.Connection, directory: Path) -> None:
    """Refuse a catalog written by a newer vexplore than this one."""
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise StoreError(f"store {directory} was written by a newer vexplore (schema {row[0]})")


def record_named_vectors(db: sqlite3.Connection) -> None:
    """Raise the schema version to 2 when a model's vector file gets a name other than vectors.f32
    (inside the caller's transaction), so that a vexplore that knows only vectors.f32 refuses the store."""
    db.execute(
        "UPDATE meta SET value=? WHERE key='schema_version' AND CAST(value AS INTEGER) < ?",
        (str(SCHEMA_VERSION), SCHEMA_VERSION),
    )
