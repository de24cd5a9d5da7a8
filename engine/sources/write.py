"""The catalog half of importing a batch of a source's rows, after its vectors are on disk: the files
rows (path = the row's id), the embeddings rows (a vector or the reason there is none) and the model's
row count, in one transaction, as `Store.commit_batch` does for a folder. Written with plain SQL in
bulk: a million rows must import in seconds, and no FileRow is built per row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalog import ModelRow
from ..store import Store
from .several import combined_digests
from .validate import Checked


@dataclass
class Known:
    """What the store held of the source before this import, by id: (file id, content hash, tag), and
    the next free file id. Rows this import adds are not added here: ids are unique within a source."""

    rows: dict[str, tuple[int, str | None, int]]
    next_id: int

    @classmethod
    def read(cls, store: Store) -> Known:
        rows = {p: (i, h, m) for i, p, h, m in store.db.execute("SELECT id, path, hash, mtime_ns FROM files")}
        top = store.db.execute("SELECT COALESCE(MAX(id), 0) FROM files").fetchone()[0]
        return cls(rows, top + 1)


@dataclass
class Written:
    """What a batch changed: the files that got a vector (ids and unit vectors, for the index), those that
    failed, and how many rows were new or changed."""

    ids: np.ndarray
    vectors: np.ndarray
    failed: list[tuple[int, str, str]]  # (file id, id, reason)
    new: int
    changed: int


def commit_rows(
    store: Store, models: list[ModelRow], checks: list[Checked], known: Known
) -> tuple[list[Written], int, int]:
    """Append each model's vectors of the new and changed rows, fsync, then record them all in one
    transaction. checks[i] is the batch of models[i] (one per vector column, the same rows); the files
    rows come from the first, with a content hash over every column. Returns (per model, new, changed)."""
    c = checks[0]
    digests = combined_digests([k.digests for k in checks])
    n = len(c.ids)
    file_ids = np.zeros(n, np.int64)
    new_rows: list[int] = []
    changed_rows: list[int] = []
    relabelled: list[int] = []  # same vector, another label, text or path: the catalog rows only
    if not known.rows:  # a first import: every row is new
        file_ids[:] = np.arange(known.next_id, known.next_id + n)
        known.next_id += n
        new_rows = list(range(n))
    for i, key in enumerate(c.ids if known.rows else ()):
        old = known.rows.get(key)
        if old is None:
            file_ids[i] = known.next_id
            known.next_id += 1
            new_rows.append(i)
        else:
            file_ids[i] = old[0]
            if old[1] != digests[i]:
                changed_rows.append(i)
            elif old[2] != c.tags[i]:
                relabelled.append(i)
    todo = np.array(sorted(new_rows + changed_rows), np.int64)
    fids = file_ids.tolist()
    staged = [_stage(store, model, k, todo, fids) for model, k in zip(models, checks, strict=True)]

    def file_values(i: int) -> tuple:
        return (c.raws[i], c.modalities[i], 4 * models[0].dim, c.tags[i], digests[i], c.metas[i], c.texts[i])

    with store.db:
        store.db.executemany(
            "INSERT INTO files(path, raw, modality, size, mtime_ns, hash, meta, text, id) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [(c.ids[i], *file_values(i), fids[i]) for i in new_rows],
        )
        store.db.executemany(
            "UPDATE files SET raw=?, modality=?, size=?, mtime_ns=?, hash=?, meta=?, text=? WHERE id=?",
            [(*file_values(i), fids[i]) for i in changed_rows + relabelled],
        )
        for model, (embeddings, rows, _) in zip(models, staged, strict=True):
            store.db.executemany(
                "UPDATE embeddings SET mtime_ns=? WHERE model_id=? AND file_id=?",
                [(c.tags[i], model.id, fids[i]) for i in relabelled],
            )
            store.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?,?,?)", embeddings)
            store.db.execute("UPDATE models SET rows=?, generation=generation+1 WHERE id=?", (rows, model.id))
    touched = set(todo.tolist())
    written = []
    for k, (_, _, good) in zip(checks, staged, strict=True):
        failed = [(fids[i], k.ids[i], k.reasons[i]) for i in sorted(k.reasons) if i in touched]
        written.append(
            Written(file_ids[good], k.unit[good], failed, len(new_rows), len(changed_rows) + len(relabelled))
        )
    return written, len(new_rows), len(changed_rows) + len(relabelled)


def _stage(
    store: Store, model: ModelRow, c: Checked, todo: np.ndarray, fids: list[int]
) -> tuple[list, int, np.ndarray]:
    """Append one model's good vectors of the rows to write; its embeddings rows, its new row count and
    the rows that got a vector."""
    bad = np.zeros(len(c.ids), bool)
    bad[list(c.reasons)] = True
    good = todo[~bad[todo]] if len(todo) else todo
    current = store.catalog.current(model.name)
    if len(good):
        store.vector_file(current).append(c.unit[good], committed=current.rows)
    size = 4 * model.dim
    rows = np.full(len(c.ids), -1, np.int64)
    rows[good] = np.arange(current.rows, current.rows + len(good))
    row_of, norms = rows.tolist(), c.norms.tolist()
    embeddings = [
        (model.id, fids[i], None, 0, None, None, size, c.tags[i], c.reasons[i])
        if row_of[i] < 0
        else (model.id, fids[i], row_of[i], 1, norms[i], None, size, c.tags[i], None)
        for i in todo.tolist()
    ]
    return embeddings, current.rows + len(good), good


def remove_rows(store: Store, file_ids: list[int]) -> None:
    """Forget the rows gone from the source (their vector rows are left for compaction)."""
    with store.db:
        store.catalog.delete_files(file_ids)
