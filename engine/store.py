"""The store: a SQLite catalog (catalog.py, embeddings.py) plus, per model, a row-addressable float32
vector file (vectorfile.py) and an hnswlib index (index.py). Layout and format are documented in the
README; nothing is pickled.

Crash safety: vectors are appended and fsynced *before* the catalog transaction that references them
commits, and the catalog records how many rows are valid; rows past that count (a crash between the
two) are truncated the next time a writer opens the store. Compaction (compaction.py) writes a vector
file under a new name and switches to it in one transaction; a writer removes the file left behind.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .catalog import Catalog, FileRow, ModelRow
from .diskfull import DiskFull, estimate_needed
from .embeddings import Embeddings
from .errors import StoreError
from .filesystems import kind_of, shared, store_warning
from .lock import ReadersLock
from .results import EmbeddedFile, FileResult
from .scan import Entry
from .table import FileTable
from .vectorfile import VectorFile, VectorMaps

__all__ = ["FileRow", "ModelRow", "Store", "StoreError", "find_store_dir"]

STORE_DIRNAME = ".vexplore"


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
    # A folder on a network or FUSE file system keeps its store on this machine (placement_notice says so).
    return inside if os.access(root, os.W_OK) and not shared(root) else fallback


def placement_notice(root: Path, store_dir: Path) -> str | None:
    """What a writer should say about where its store is: kept in the local cache because root is on a
    network file system (said once, when the store is made), or a warning for a store on one (--store)."""
    fstype = shared(root)
    if fstype and store_dir == _fallback_dir(root):
        if (store_dir / "catalog.sqlite").exists():
            return None
        return (
            f"{root} is on a {kind_of(fstype)} file system ({fstype}): its store is kept on this machine, "
            f"in {store_dir} (SQLite's WAL does not work over a network); --store puts it elsewhere"
        )
    return store_warning(store_dir)


class Store:
    """One folder's store. Many readers, one writer (the writer holds the lock in lock.py).

    The catalog and the vector files are kept consistent here: every write that touches both goes through
    this class (commit_batch, repair_vectors, switch_vectors); the catalog's queries are passed through."""

    def __init__(self, root: Path, directory: Path, create: bool = False, readonly: bool = False):
        """create=True opens the store as its writer (under WriterLock); every other Store is a reader and
        holds the readers lock while open, so compaction never moves rows under it."""
        self.root = root
        self.dir = directory
        self.readonly = readonly
        path = directory / "catalog.sqlite"
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
            self.catalog = Catalog.open(path, root, writer=create, readonly=readonly)
        except BaseException:
            self.release_readers()
            raise
        self.embeddings = Embeddings(self.catalog)
        self._maps = VectorMaps()

    @property
    def db(self) -> sqlite3.Connection:
        """The catalog's connection, for tests and tools that read it with their own SQL."""
        return self.catalog.db

    def release_readers(self) -> None:
        if self._readers is not None:
            self._readers.release()

    def close(self) -> None:
        self._maps.forget()
        self.catalog.close()
        self.release_readers()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the catalog's files and models ------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        return self.catalog.files()

    def has_modality(self, *modalities: str) -> bool:
        return self.catalog.has_modality(*modalities)

    def fingerprints(self) -> dict[str, tuple[int, int]]:
        return self.catalog.fingerprints()

    def file_by_path(self, path: str) -> FileRow | None:
        return self.catalog.file_by_path(path)

    def file_table(self, first: int | None = None) -> FileTable:
        return self.catalog.file_table(first)

    def file_count(self) -> int:
        return self.catalog.file_count()

    def file_states(self) -> tuple[np.ndarray, np.ndarray]:
        return self.catalog.file_states()

    def extras(self, file_id: int) -> tuple[bytes | None, str | None]:
        return self.catalog.extras(file_id)

    def data_version(self) -> int:
        return self.catalog.data_version()

    def paths_by_id(self, ids: Iterable[int]) -> dict[int, str]:
        return self.catalog.paths_by_id(ids)

    def sync_files(
        self, entries: list[Entry], hashes: dict[str, str | None], keep: Iterable[str] = ()
    ) -> tuple[list[int], int, int]:
        return self.catalog.sync_files(entries, hashes, keep)

    def models(self) -> list[ModelRow]:
        return self.catalog.models()

    def model(self, name: str) -> ModelRow | None:
        return self.catalog.model(name)

    # ---- the catalog's embeddings rows -------------------------------------------------------
    def stale(self, model: ModelRow) -> list[FileRow]:
        return self.embeddings.stale(model)

    def transcripts_due(self, model: ModelRow) -> list[tuple[FileRow, str]]:
        return self.embeddings.transcripts_due(model)

    def live_rows(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.embeddings.live_rows(model)

    def live_count(self, model: ModelRow) -> int:
        return self.embeddings.live_count(model)

    def embedded(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray]:
        return self.embeddings.embedded(model)

    def raw_norms(self, model: ModelRow, file_ids: np.ndarray) -> np.ndarray:
        return self.embeddings.raw_norms(model, file_ids)

    def count_embedded(self, model: ModelRow) -> int:
        return self.embeddings.count_embedded(model)

    def hits_of(self, model: ModelRow, file_ids: list[int]) -> dict[int, tuple[str, list | None]]:
        return self.embeddings.hits_of(model, file_ids)

    def labels(self, model: ModelRow, file_ids: Iterable[int]) -> dict[int, list]:
        return self.embeddings.labels(model, file_ids)

    def embeddings_of(self, file_id: int) -> list[tuple[str, bool, str | None, list | None]]:
        return self.embeddings.embeddings_of(file_id)

    def errors(self, model: ModelRow | None = None) -> list[tuple[str, str, str]]:
        return self.embeddings.errors(model)

    # ---- vector files ------------------------------------------------------------------------
    def model_dir(self, model: ModelRow) -> Path:
        return self.dir / "models" / _slug(model.name)

    def vector_file(self, model: ModelRow) -> VectorFile:
        """The model's vector file as `model` names it."""
        return self._vector_file_named(model, model.vectors)

    def vector_path(self, model: ModelRow) -> Path:
        return self.vector_file(model).path

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
        """The model's row, recorded (with its folder) if the store does not have it yet."""
        new = self.catalog.model(name) is None
        row = self.catalog.add_model(name, family, backend, modalities, dim, text_queries, info)
        if new:
            self.model_dir(row).mkdir(parents=True, exist_ok=True)
        return row

    def remove_stray_vectors(self, model: ModelRow) -> list[Path]:
        """Delete vector files of the model folder that the catalog does not name. Writer only: a reader
        holds the readers lock, so no compaction happened while any reader that is open now was."""
        return self.vector_file(model).remove_strays()

    def repair_vectors(self, model: ModelRow) -> str | None:
        """Drop rows past the committed count (left by a crash between append and commit). A file shorter
        than the catalog says was damaged outside vexplore: the files whose vectors it lost are forgotten, so
        this run embeds them again, and the returned notice says so. Writer only."""
        self.remove_stray_vectors(model)
        file = self.vector_file(model)
        kept = file.cut_to(model.rows)
        if kept is None:
            return None
        lost = self.embeddings.forget_lost(model, kept)
        self._maps.forget(model.id)
        return (
            f"vector file {file.path} was shorter than the catalog says: {lost} files will be embedded again"
        )

    def commit_batch(self, model: ModelRow, results: Sequence[FileResult[FileRow]]) -> ModelRow:
        """Append the vectors of a batch, fsync, then record them in one catalog transaction; returns the
        model's row after the commit."""
        current = self.catalog.current(model.name)
        blocks = [res.rows() for res in results if isinstance(res, EmbeddedFile)]
        if blocks:
            self.vector_file(current).append(np.concatenate(blocks), committed=current.rows)
        self.embeddings.record_batch(current, results, current.rows)
        self._maps.forget(current.id)
        return self.catalog.current(model.name)

    def settle_disk_full(self, files: int, what: str = "") -> DiskFull:
        """After a write failed on a full disk: roll back the open transaction, cut every vector file back
        to its committed rows and remove uncommitted successors, so the next run finds a store exactly as
        the last commit left it. Returns the error to report: committed files and room needed for `files`."""
        if self.db.in_transaction:
            self.db.rollback()
        models = self.catalog.models()
        for model in models:
            self.remove_stray_vectors(model)
            self.vector_file(model).cut_to(model.rows)
        self._maps.forget()
        ids, marks = self.catalog.file_states()
        committed = int(np.count_nonzero(marks == 1))
        needed = estimate_needed(files - committed, [m.dim for m in models], self.dir)
        return DiskFull(self.dir, committed, needed, what)

    def switch_vectors(
        self, model: ModelRow, name: str, file_ids: np.ndarray, rows: np.ndarray, total: int
    ) -> ModelRow:
        """Point the model at a new vector file (already written and fsynced) in one transaction: each
        file's new first row, the row count, the file name, and schema 2 so that a vexplore that knows
        only vectors.f32 refuses the store. Writer only, with the readers lock held exclusive."""
        self.embeddings.switch(model, name, file_ids, rows, total)
        self._maps.forget(model.id)
        return self.catalog.current(model.name)

    def vectors(self, model: ModelRow) -> np.ndarray:
        """All valid rows of the model's vector file, memory-mapped read-only.

        The row count is read afresh, not taken from `model`: a reader that read its model row before an
        indexer's commit can be handed embeddings rows of that commit, and every committed row is on disk."""
        rows, name = self.catalog.vector_file_of(model)
        return self._maps.get(model.id, self._vector_file_named(model, name), rows)

    def forget_vectors(self) -> None:
        """Drop the memory maps of the vector files: their pages stop counting as this process's memory
        (a long-lived reader after a statistics report over a million vectors)."""
        self._maps.forget()

    def file_vector(self, model: ModelRow, file_id: int) -> np.ndarray | None:
        at = self.embeddings.row_of(model, file_id)
        return None if at is None else self._vector_file_named(model, at[2]).read(at[0], 1)[0]

    def window_vectors(self, model: ModelRow, file_id: int) -> np.ndarray | None:
        """The per-window (or per-frame) vectors of a file, when it had more than one part."""
        at = self.embeddings.row_of(model, file_id)
        if at is None:
            return None
        row, parts, name = at
        file = self._vector_file_named(model, name)
        return file.read(row + 1, parts) if parts > 1 else file.read(row, 1)

    def _vector_file_named(self, model: ModelRow, name: str | None) -> VectorFile:
        """The vector file a catalog row names (None: the legacy vectors.f32), whatever `model` says."""
        return VectorFile(self.model_dir(model), name, model.dim)
