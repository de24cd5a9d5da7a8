"""simonw/llm's embeddings database (`llm embed-multi` writes it): a `collections` table (id, name,
model) and an `embeddings` table (collection_id, id, embedding, content, metadata, …) whose vectors
are little-endian float32 blobs. Read with sqlite3, read-only, a batch of rows at a time."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UserError
from .base import Batch, Columns, SourceInfo, VectorSource

SQLITE_MAGIC = b"SQLite format 3\x00"


class LlmSource(VectorSource):
    kind = "llm"

    def __init__(self, location: str, columns: Columns, table: str | None = None):
        self.path = Path(location)
        if not self.path.is_file():
            raise UserError(f"{location}: no such file")
        try:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            found = self.db.execute("SELECT id, name, model FROM collections ORDER BY name").fetchall()
            self.has_content = "content" in {
                r[1] for r in self.db.execute("PRAGMA table_info(embeddings)").fetchall()
            }
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{location}: not an llm embeddings database ({exc})") from exc
        if not found:
            raise UserError(f"{location}: holds no collections")
        named = [r for r in found if r[1] == table] if table is not None else found
        if not named:
            raise UserError(
                f"{location}: no collection {table!r} (collections: {', '.join(r[1] for r in found)})"
            )
        if len(named) > 1:
            raise UserError(
                f"{location}: {len(named)} collections ({', '.join(r[1] for r in found)}): "
                "name one with --table"
            )
        self.collection_id, self.collection, self.model = named[0]
        first = self.db.execute(
            "SELECT length(embedding) FROM embeddings WHERE collection_id=? LIMIT 1", (self.collection_id,)
        ).fetchone()
        self.dim = None if first is None or first[0] is None else first[0] // 4
        self.text = columns.text is None or columns.text == "content"

    @classmethod
    def sniff(cls, location: str) -> bool:
        path = Path(location)
        try:
            with open(path, "rb") as fh:
                if fh.read(16) != SQLITE_MAGIC:
                    return False
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                db.close()
        except (OSError, sqlite3.DatabaseError):
            return False
        return {"collections", "embeddings"} <= names

    def describe(self) -> SourceInfo:
        rows, changed = self.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM embeddings WHERE collection_id=?",
            (self.collection_id,),
        ).fetchone()
        stamps = [os.stat(self.path)] + [os.stat(p) for p in (Path(f"{self.path}-wal"),) if p.exists()]
        return SourceInfo(
            self.kind,
            f"{self.path}#{self.collection}",
            rows,
            self.dim,
            ["id", "embedding", "content", "metadata"],
            self.model,
            ";".join(f"{s.st_size}:{s.st_mtime_ns}" for s in stamps) + f";{rows}:{changed}",
        )

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        content = "content" if self.has_content and self.text else "NULL"
        cursor = self.db.execute(
            f"SELECT id, embedding, {content} FROM embeddings WHERE collection_id=? ORDER BY rowid",
            (self.collection_id,),
        )
        while chunk := cursor.fetchmany(rows):
            ids = [str(r[0]) for r in chunk]
            blobs = [r[1] or b"" for r in chunk]
            width = self.dim or 0
            problems: dict[int, str] = {}
            if all(len(blob) == 4 * width for blob in blobs):  # the usual case: one copy, no loop
                vectors = np.frombuffer(b"".join(blobs), "<f4").reshape(len(chunk), width).copy()
                texts = [r[2] for r in chunk] if content != "NULL" else None
                yield Batch(ids, vectors, None, texts, None, problems)
                continue
            vectors = np.zeros((len(chunk), width), np.float32)
            for i, blob in enumerate(blobs):
                if len(blob) != 4 * width:
                    problems[i] = f"vector has {len(blob) / 4:g} values, the others {width}"
                else:
                    vectors[i] = np.frombuffer(blob, "<f4")
            texts = [r[2] for r in chunk] if content != "NULL" else None
            yield Batch(ids, vectors, None, texts, None, problems)

    def close(self) -> None:
        self.db.close()
