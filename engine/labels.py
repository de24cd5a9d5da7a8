"""Labels and splits from a folder's layout, in one place for stats, compare and the audit.

ImageFolder style: a file's label is the name of the folder it sits in. A top-level folder named like a
split (train, test, val, valid, validation, dev, eval, in any case, or the names given with --splits)
is a split, and the label is then the folder below it: `train/cat/1.jpg` is split `train`, label `cat`.
A store imported from a vectors source with a label column holds each row's label in files.meta
("label") instead; `layout_of` reads whichever the store has.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

SPLIT_NAMES = ("train", "test", "val", "valid", "validation", "dev", "eval")
MIN_LABEL_SHARE = 0.9  # files inside labelled sub-folders, for the folder to count as labelled


@dataclass(frozen=True)
class Layout:
    """Per path, in the order given: its label and its split. A list is None when the folder is not laid
    out that way (a flat folder has no labels; a folder without split folders has no splits)."""

    labels: list[str | None] | None
    splits: list[str | None] | None

    def label_names(self) -> list[str] | None:
        return None if self.labels is None else sorted({lab for lab in self.labels if lab is not None})

    def split_names(self) -> list[str] | None:
        return None if self.splits is None else sorted({s for s in self.splits if s is not None})


def split_of(path: str, names: Iterable[str] = SPLIT_NAMES) -> str | None:
    """The split a path's top-level folder names (as the folder spells it), or None."""
    parts = PurePosixPath(path).parts
    wanted = {n.lower() for n in names}
    return parts[0] if len(parts) > 1 and parts[0].lower() in wanted else None


def layout(paths: Sequence[str], split_names: Iterable[str] | None = None) -> Layout:
    """Labels and splits of paths (relative, '/'-separated). Labels count only when nearly every file
    sits in a labelled folder and at least two labels hold two files or more."""
    names = tuple(split_names) if split_names is not None else SPLIT_NAMES
    splits = [split_of(p, names) for p in paths]
    labels: list[str | None] = []
    for path, split in zip(paths, splits, strict=True):
        parent = PurePosixPath(path).parent
        inside_split = split is not None and len(parent.parts) == 1  # train/x.jpg: no label
        labels.append(None if inside_split or not parent.name else parent.name)
    return Layout(_if_labelled(labels), splits if any(s is not None for s in splits) else None)


def _if_labelled(labels: list[str | None]) -> list[str | None] | None:
    named = [lab for lab in labels if lab is not None]
    if not labels or len(named) < MIN_LABEL_SHARE * len(labels):
        return None
    if sum(1 for n in Counter(named).values() if n >= 2) < 2:
        return None
    return labels


def folder_labels(paths: Sequence[str]) -> list[str | None] | None:
    """ImageFolder-style labels of paths, or None when the folder is not laid out by label."""
    return layout(paths).labels


def source_labels(db: sqlite3.Connection, file_ids: Iterable[int]) -> list[str | None] | None:
    """Labels an imported source's label column gave (files.meta "label"), aligned with file_ids; None
    when no file has one (a folder's store: its labels come from the layout)."""
    found = dict(
        db.execute(
            "SELECT id, json_extract(meta, '$.label') FROM files "
            "WHERE json_extract(meta, '$.label') IS NOT NULL"
        ).fetchall()
    )
    if not found:
        return None
    return [None if (v := found.get(int(i))) is None else str(v) for i in file_ids]


def layout_of(
    db: sqlite3.Connection,
    file_ids: Iterable[int],
    paths: Sequence[str],
    split_names: Iterable[str] | None = None,
) -> Layout:
    """Labels and splits of the files, from the one place stats, compare and the audit read them: a
    source's label column when the store holds one, else the folder layout."""
    labels = source_labels(db, file_ids)
    if labels is None:
        return layout(paths, split_names)
    return Layout(labels, None)
