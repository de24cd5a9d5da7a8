"""Keyword search over the text the store holds (files.text: file text, PDF text, transcripts) and the
paths, through the SQLite FTS5 index `files_fts` that migrations.m004_keyword_index keeps.

Nothing the user types reaches FTS5 as syntax: every word is quoted, so `NEAR`, `*`, `:` or a stray `"`
are words like any other."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from .errors import UserError
from .terms import Term

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"  # around a matching word in a snippet, until it is shown
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class KeywordHit:
    file_id: int
    rank: int  # 1 = best by bm25
    bm25: float  # FTS5's bm25 (lower is better)
    snippet: str  # the passage that matched, the matching words between MARK_OPEN and MARK_CLOSE


def available(db: sqlite3.Connection) -> bool:
    """Whether the catalog has a keyword index with anything in it (an old, read-only store may not)."""
    try:
        return db.execute("SELECT 1 FROM files WHERE text IS NOT NULL LIMIT 1").fetchone() is not None and (
            db.execute("SELECT 1 FROM sqlite_master WHERE name='files_fts'").fetchone() is not None
        )
    except sqlite3.DatabaseError:
        return False


def fts_query(terms: list[Term]) -> str | None:
    """An FTS5 query from the text terms: the words of one term all present (AND), any added term (OR),
    no subtracted term (NOT); None when no added term has a word."""

    def phrase(t: Term) -> str | None:
        words = _WORD.findall(t.value)
        return "(" + " AND ".join('"' + w.replace('"', '""') + '"' for w in words) + ")" if words else None

    plus = [p for t in terms if t.kind == "text" and t.weight > 0 and (p := phrase(t))]
    minus = [p for t in terms if t.kind == "text" and t.weight < 0 and (p := phrase(t))]
    if not plus:
        return None
    query = "(" + " OR ".join(plus) + ")"
    for m in minus:
        query += f" NOT {m}"
    return query


def search(db: sqlite3.Connection, terms: list[Term], limit: int) -> list[KeywordHit]:
    """The files whose text or path holds the query's words, best first."""
    query = fts_query(terms)
    if query is None:
        raise UserError("keyword search needs words: give a text term (files are searched by meaning)")
    try:
        rows = db.execute(
            "SELECT rowid, bm25(files_fts), "
            f"snippet(files_fts, -1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 16) "
            "FROM files_fts WHERE files_fts MATCH ? ORDER BY bm25(files_fts), rowid LIMIT ?",
            (query, limit),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise UserError("this store has no keyword index yet: run `vexplore index` once") from exc
        raise UserError(f"keyword query failed: {exc}") from exc
    return [
        KeywordHit(int(r[0]), i, float(r[1]), " ".join((r[2] or "").split())) for i, r in enumerate(rows, 1)
    ]


def plain_snippet(snippet: str) -> str:
    """The snippet as JSON and plain output give it: the matching words between « and »."""
    return snippet.replace(MARK_OPEN, "«").replace(MARK_CLOSE, "»")
