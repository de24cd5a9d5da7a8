"""The catalog's embeddings rows: which rows of a model's vector file hold which file's vectors, and why
a file could not be embedded. The writes here are the catalog half of the store's two-step commit (the
vectors are on disk first) and of compaction's switch to a new vector file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from .catalog import FILE_COLUMNS, Catalog, FileRow, ModelRow, file_row, naming_the_file
from .migrations import record_named_vectors
from .results import EmbeddedFile, FailedFile, FileResult

ROWS = "CASE WHEN parts > 1 THEN 1 + parts ELSE 1 END"  # the rows a file's vectors take


@naming_the_file
class Embeddings:
    """Queries and writes on the embeddings table of one catalog (its connection, its file name)."""

    def __init__(self, catalog: Catalog):
        self.db, self.path, self.vectors_column = catalog.db, catalog.path, catalog.vectors_column

    def stale(self, model: ModelRow) -> list[FileRow]:
        """Files of the model's modalities with no embedding for their current fingerprint."""
        marks = ",".join("?" * len(model.modalities))
        rows = self.db.execute(
            f"SELECT {FILE_COLUMNS} FROM files f "
            f"LEFT JOIN embeddings e ON e.file_id = f.id AND e.model_id = ? WHERE f.modality IN ({marks}) "
            f"AND (e.file_id IS NULL OR e.size != f.size OR e.mtime_ns != f.mtime_ns) ORDER BY f.path",
            (model.id, *model.modalities),
        )
        return [file_row(r) for r in rows]

    def transcripts_due(self, model: ModelRow) -> list[tuple[FileRow, str]]:
        """Files of other kinds whose stored text (a transcript) this text model has not embedded for their
        current fingerprint, with that text."""
        marks = ",".join("?" * len(model.modalities))
        rows = self.db.execute(
            f"SELECT {FILE_COLUMNS}, f.text FROM files f "
            f"LEFT JOIN embeddings e ON e.file_id = f.id AND e.model_id = ? WHERE f.text IS NOT NULL "
            f"AND f.modality NOT IN ({marks}) "
            f"AND (e.file_id IS NULL OR e.size != f.size OR e.mtime_ns != f.mtime_ns) ORDER BY f.path",
            (model.id, *model.modalities),
        )
        return [(file_row(r), r[-1]) for r in rows]

    def live_rows(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(file ids, first rows, row counts) of every stored file's vectors, in row order: the file vector
        and, after it, its window vectors when it has more than one part."""
        got = self.db.execute(
            f"SELECT file_id, row, {ROWS} FROM embeddings WHERE model_id=? AND row IS NOT NULL ORDER BY row",
            (model.id,),
        ).fetchall()
        arr = np.array(got, dtype=np.int64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1], arr[:, 2]

    def live_count(self, model: ModelRow) -> int:
        """How many rows of the vector file the catalog still references."""
        return self.db.execute(
            f"SELECT COALESCE(SUM({ROWS}), 0) FROM embeddings WHERE model_id=? AND row IS NOT NULL",
            (model.id,),
        ).fetchone()[0]

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

    def row_of(self, model: ModelRow, file_id: int) -> tuple[int, int, str | None] | None:
        """(row, parts, vector file name) of a file's vectors, read in one statement: the row number and
        the file it indexes always come from the same layout."""
        r = self.db.execute(
            f"SELECT row, parts, (SELECT {self.vectors_column} FROM models WHERE id=e.model_id) "
            "FROM embeddings e WHERE model_id=? AND file_id=?",
            (model.id, file_id),
        ).fetchone()
        return None if r is None or r[0] is None else (r[0], r[1], r[2])

    def hits_of(self, model: ModelRow, file_ids: list[int]) -> dict[int, tuple[str, list | None]]:
        """file id -> (path, the model's labels or None) in one query: what a list of neighbors shows."""
        if not file_ids:
            return {}
        marks = ",".join("?" * len(file_ids))
        rows = self.db.execute(
            "SELECT f.id, f.path, e.labels FROM files f "
            f"LEFT JOIN embeddings e ON e.file_id=f.id AND e.model_id=? WHERE f.id IN ({marks})",
            (model.id, *file_ids),
        )
        return {fid: (path, json.loads(labels) if labels else None) for fid, path, labels in rows}

    def labels(self, model: ModelRow, file_ids: Iterable[int]) -> dict[int, list]:
        ids = list(file_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT file_id, labels FROM embeddings "
            f"WHERE model_id=? AND labels IS NOT NULL AND file_id IN ({marks})",
            (model.id, *ids),
        )
        return {fid: json.loads(lab) for fid, lab in rows}

    def embeddings_of(self, file_id: int) -> list[tuple[str, bool, str | None, list | None]]:
        """(model name, has a vector, error, labels) for every model that has seen the file."""
        rows = self.db.execute(
            "SELECT m.name, e.row IS NOT NULL, e.error, e.labels FROM embeddings e "
            "JOIN models m ON m.id=e.model_id WHERE e.file_id=? ORDER BY m.id",
            (file_id,),
        )
        return [
            (name, bool(has), error, json.loads(labels) if labels else None)
            for name, has, error, labels in rows
        ]

    def errors(self, model: ModelRow | None = None) -> list[tuple[str, str, str]]:
        """(path, model name, reason) of every file that failed to embed, by path."""
        sql = (
            "SELECT f.path, m.name, e.error FROM embeddings e JOIN files f ON f.id=e.file_id "
            "JOIN models m ON m.id=e.model_id WHERE e.error IS NOT NULL"
        )
        args: tuple = ()
        if model is not None:
            sql += " AND e.model_id=?"
            args = (model.id,)
        return self.db.execute(sql + " ORDER BY f.path", args).fetchall()

    # ---- writes ------------------------------------------------------------------------------
    def record_batch(self, model: ModelRow, results: Sequence[FileResult[FileRow]], first_row: int) -> int:
        """One transaction for a batch whose vectors are on disk from first_row on, in result order: each
        file's row and parts or the reason it failed, the meta, thumbnail and text it brought, and the new
        row count, which it returns."""
        records: list[tuple[int, int, int | None, int, float | None, str | None, int, int, str | None]] = []
        row = first_row
        for res in results:
            f = res.file
            if isinstance(res, FailedFile):
                records.append((model.id, f.id, None, 0, None, None, f.size, f.mtime_ns, res.reason))
                continue
            labels = json.dumps(res.labels) if res.labels else None
            records.append((model.id, f.id, row, res.parts or 1, res.norm, labels, f.size, f.mtime_ns, None))
            row += 1 + res.parts
        previews = [
            (json.dumps(r.file.meta | r.meta), r.thumb, r.text, r.file.id)
            for r in results
            if isinstance(r, EmbeddedFile) and (r.meta or r.thumb is not None or r.text is not None)
        ]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?,?,?)", records)
            self.db.executemany(
                "UPDATE files SET meta=?, thumb=COALESCE(?, thumb), text=COALESCE(?, text) WHERE id=?",
                previews,
            )
            self.db.execute("UPDATE models SET rows=?, generation=generation+1 WHERE id=?", (row, model.id))
        return row

    def forget_lost(self, model: ModelRow, rows: int) -> int:
        """The vector file holds only `rows` rows: forget the files whose vectors lay past them (the next
        run embeds them again) and record the count. Returns how many files were forgotten."""
        with self.db:
            lost = self.db.execute(
                f"DELETE FROM embeddings WHERE model_id=? AND row IS NOT NULL AND row + {ROWS} > ?",
                (model.id, rows),
            ).rowcount
            self.db.execute("UPDATE models SET rows=?, generation=generation+1 WHERE id=?", (rows, model.id))
        return lost

    def switch(self, model: ModelRow, name: str, file_ids: np.ndarray, rows: np.ndarray, total: int) -> None:
        """Point the model at a new vector file in one transaction: each file's new first row, the row
        count, the file name, and schema 2 (migrations.record_named_vectors)."""
        with self.db:
            self.db.executemany(
                "UPDATE embeddings SET row=? WHERE model_id=? AND file_id=?",
                zip(rows.tolist(), [model.id] * len(rows), file_ids.tolist(), strict=False),
            )
            self.db.execute("UPDATE models SET rows=?, vectors=? WHERE id=?", (total, name, model.id))
            record_named_vectors(self.db)
