"""The catalog's files as columns: what a browser of a million files holds in memory.

A list of a million (id, path, modality, size, mtime) tuples costs about 300 MB of Python objects. Here the
numbers are numpy columns and the paths one UTF-8 buffer with offsets (about 55 bytes a file in all), so
ordering by kind, size or date is one numpy sort and matching a name is a scan of one buffer."""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .memory import trim_heap
from .modality import MODALITIES

KINDS = (*MODALITIES, "other")  # kinds[code] is the modality; "other" for anything the catalog may hold later
_CODE = {m: i for i, m in enumerate(KINDS)}
ORDERS = ("name", "kind", "size", "recent")
_CHUNK = 65_536  # rows fetched at a time: the transient tuples stay a few MB
_SEP = 0  # paths are stored as UTF-8, each followed by a NUL (no file name holds one)


def _int64(column: tuple) -> np.ndarray:
    return np.array(column, np.int64)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _starts(buffer: bytes) -> np.ndarray:
    """Offsets of each path in a buffer of NUL-terminated paths, and the buffer's length at the end."""
    ends = np.flatnonzero(np.frombuffer(buffer, np.uint8) == _SEP) + 1
    return np.concatenate(([0], ends)).astype(np.int64)


def read_columns(cursor: sqlite3.Cursor, *convert: Callable[[tuple], object]) -> list[list]:
    """The cursor's rows as columns, each converted a chunk of rows at a time (to a numpy array, say), so
    a million rows never exist as Python tuples all at once. Returns, per column, its converted chunks."""
    columns: list[list] = [[] for _ in convert]
    while rows := cursor.fetchmany(_CHUNK):
        for out, to, column in zip(columns, convert, zip(*rows, strict=False), strict=False):
            out.append(to(column))
    return columns


class _Keys:
    """The encoded paths as a sequence, for bisect."""

    def __init__(self, table: FileTable):
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> bytes:
        return self.table._raw(i)


@dataclass(eq=False)
class FileTable:
    """Files ordered by path (SQLite's BINARY order: the bytes of the UTF-8, which is also Python's str
    order); row i is (ids[i], path(i), KINDS[kinds[i]], sizes[i], mtimes[i])."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    names: bytes = b""  # every path, UTF-8, NUL-terminated, in row order
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mtimes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64), repr=False)
    _by_id: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # (rows by id, ids sorted)
    _lower: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # lower-case names, starts

    @classmethod
    def read(cls, db: sqlite3.Connection, first: int | None = None) -> FileTable:
        """Every file of the catalog (or the first N by path), in path order."""
        table = cls._read(db, first)
        if len(table) > 50_000:
            trim_heap()  # now that the chunks read on the way are freed
        return table

    @classmethod
    def _read(cls, db: sqlite3.Connection, first: int | None) -> FileTable:
        sql = "SELECT id, path, modality, size, mtime_ns FROM files ORDER BY path"
        cursor = db.execute(sql + " LIMIT ?", (first,)) if first is not None else db.execute(sql)
        ids, names, kinds, sizes, mtimes = read_columns(
            cursor,
            _int64,
            lambda paths: _encode("\0".join(paths) + "\0"),
            lambda mods: np.array([_CODE.get(m, len(KINDS) - 1) for m in mods], np.uint8),
            _int64,
            _int64,
        )
        if not ids:
            return cls()
        buffer = b"".join(names)
        return cls(
            np.concatenate(ids),
            buffer,
            np.concatenate(kinds),
            np.concatenate(sizes),
            np.concatenate(mtimes),
            _starts(buffer),
        )

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _raw(self, i: int) -> bytes:
        return self.names[self._starts[i] : self._starts[i + 1] - 1]

    def path(self, i: int) -> str:
        return self._raw(i).decode("utf-8", "surrogateescape")

    def paths(self, rows: np.ndarray | None = None) -> list[str]:
        """The paths of rows (all, in order, by default)."""
        return [self.path(i) for i in (range(len(self)) if rows is None else rows.tolist())]

    def row(self, i: int) -> tuple[int, str, str, int, int]:
        """(id, path, modality, size, mtime_ns) of row i."""
        return int(self.ids[i]), self.path(i), KINDS[self.kinds[i]], int(self.sizes[i]), int(self.mtimes[i])

    def position(self, path: str) -> int | None:
        """The row of path, by binary search."""
        key = _encode(path)
        i = bisect.bisect_left(_Keys(self), key)
        return i if i < len(self) and self._raw(i) == key else None

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """The row of each file id, -1 where the table has no such file."""
        ids = np.asarray(ids, np.int64)
        if not len(self.ids):
            return np.full(len(ids), -1, np.int64)
        if self._by_id is None:
            order = np.argsort(self.ids, kind="stable")
            self._by_id = (order, self.ids[order])
        order, sorted_ids = self._by_id
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == ids, order[at], -1)

    def holding(self, paths: Iterable[str]) -> np.ndarray:
        """Per row: is its path one of paths? (paths the table lacks are skipped)"""
        keep = np.zeros(len(self), bool)
        rows = [at for path in paths if (at := self.position(path)) is not None]
        keep[np.asarray(rows, np.int64)] = True
        return keep

    def marks(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """values (one per id in ids) laid out by row: 0 for the rows that ids leaves out."""
        out = np.zeros(len(self), np.int8)
        rows = self.positions(ids)
        known = rows >= 0
        out[rows[known]] = np.asarray(values, np.int8)[known]
        return out

    def order(self, by: str) -> np.ndarray:
        """Row numbers sorted by name, kind, size (largest first) or recent (newest first); ties by name."""
        if by == "name":
            return np.arange(len(self))
        key = {"kind": self.kinds, "size": -self.sizes, "recent": -self.mtimes}[by]
        return np.argsort(key, kind="stable")  # stable: rows are in name order already

    def matching(self, rows: np.ndarray, words: list[str]) -> np.ndarray:
        """The rows (in their order) whose path holds every word, ignoring case."""
        if not words or not len(rows):
            return rows
        keep = np.ones(len(self), bool)
        for word in words:
            keep &= self._holding(_encode(word.lower()))
        return rows[keep[rows]]

    def _holding(self, word: bytes) -> np.ndarray:
        """Per row: does its lower-case path contain word? One vectorised pass over the names: candidate
        offsets for the first byte, narrowed byte by byte (a word never spans two paths: none holds NUL)."""
        if self._lower is None:
            lower = _encode(self.names.decode("utf-8", "surrogateescape").lower())
            if lower == self.names:  # every path is lower-case already: share the names and their offsets
                self._lower = (np.frombuffer(self.names, np.uint8), self._starts)
            else:
                self._lower = (np.frombuffer(lower, np.uint8), _starts(lower))
            del lower
            if len(self) > 50_000:
                trim_heap()  # the decoded copy is gone
        text, starts = self._lower
        found = np.zeros(len(self), bool)
        if not word or len(word) > len(text):
            found[:] = not word
            return found
        hits = np.flatnonzero(text[: len(text) - len(word) + 1] == word[0])
        for k in range(1, len(word)):
            hits = hits[text[hits + k] == word[k]]
        found[np.searchsorted(starts, hits, "right") - 1] = True
        return found
