"""Checking a batch of a source's rows before any of it reaches the store: one dimension, finite, not
all zero, ids unique. A bad row gets a reason (recorded like a file that failed to embed); duplicate
ids or a whole batch of the wrong width are errors that stop the import."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..modality import classify
from .base import Batch


@dataclass
class Checked:
    """One batch, ready for the catalog: row i of every list is row i of the batch."""

    ids: list[str]
    unit: np.ndarray  # (n, dim) float32, unit length; rows that failed are zero
    norms: np.ndarray  # (n,) the norm before normalising
    reasons: dict[int, str]  # row -> why it cannot be imported
    digests: list[str]  # blake2b-128 of the row's float32 bytes: the catalog's content hash
    tags: list[int]  # a digest of label, text and path: a row whose vector stays but label changes is new
    metas: list[str]  # files.meta JSON (the label, when there is one)
    texts: list[str | None]
    raws: list[bytes]  # the file a --path-column row points at, else the id
    modalities: list[str]


def check(batch: Batch, dim: int, seen: set[str], first_row: int) -> Checked:
    """Validate one batch; `seen` holds the ids of the rows before it (updated here)."""
    n = len(batch.ids)
    vectors = np.asarray(batch.vectors)
    if vectors.ndim != 2 or len(vectors) != n:
        raise UserError(f"rows {first_row}-{first_row + n - 1}: the vectors do not form a (rows, dim) array")
    if vectors.shape[1] != dim:
        raise UserError(
            f"rows {first_row}-{first_row + n - 1}: vectors of dimension {vectors.shape[1]}, "
            f"earlier rows {dim}"
        )
    _unique(batch.ids, seen, first_row)
    x = np.ascontiguousarray(vectors, dtype="<f4")
    reasons = dict(batch.problems)
    finite = np.isfinite(x).all(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", x, x).astype(np.float64))  # inf: not finite, or too large
    finite &= np.isfinite(norms)
    norms[~finite] = 0.0
    for row in np.flatnonzero(~finite):
        reasons.setdefault(int(row), "NaN or infinite values in the vector")
    for row in np.flatnonzero(finite & (norms == 0)):
        reasons.setdefault(int(row), "all-zero vector")
    bad = np.zeros(n, bool)
    bad[list(reasons)] = True
    # One new array (no temporaries of the batch's size): rows divided by their norm, bad rows zero.
    unit = np.divide(x, np.where(bad | (norms == 0), 1, norms)[:, None].astype("<f4"), dtype="<f4")
    unit[bad] = 0
    step = dim * 4
    view = memoryview(x.data).cast("B")
    digests = [hashlib.blake2b(view[i * step : (i + 1) * step], digest_size=16).hexdigest() for i in range(n)]
    labels = batch.labels or [None] * n
    texts = batch.texts or [None] * n
    paths = batch.paths or [None] * n
    if batch.labels is None and batch.texts is None and batch.paths is None:
        tags = [_tag(None, None, None)] * n  # vectors alone: one tag for every row
    else:
        tags = [_tag(lab, txt, p) for lab, txt, p in zip(labels, texts, paths, strict=True)]
    metas = ["{}"] * n
    if batch.labels is not None:
        metas = [
            json.dumps({"label": lab}, ensure_ascii=False) if lab is not None else "{}" for lab in labels
        ]
    if batch.paths is None:
        raws = [i.encode("utf-8", "surrogateescape") for i in batch.ids]
        return Checked(batch.ids, unit, norms, reasons, digests, tags, metas, texts, raws, ["vector"] * n)
    raws = [
        (p if p is not None else i).encode("utf-8", "surrogateescape")
        for i, p in zip(batch.ids, paths, strict=True)
    ]
    modalities = [(classify(p) or "vector") if p is not None else "vector" for p in paths]
    return Checked(
        batch.ids, unit, norms.astype(np.float64), reasons, digests, tags, metas, texts, raws, modalities
    )


def _unique(ids: list[str], seen: set[str], first_row: int) -> None:
    fresh = set(ids)
    if len(fresh) == len(ids) and seen.isdisjoint(fresh):
        seen |= fresh
        return
    earlier: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen or value in earlier:
            raise UserError(f"duplicate id {value!r} (row {first_row + i}): ids must be unique (--id-column)")
        earlier.add(value)


def _tag(label: str | None, text: str | None, path: str | None) -> int:
    key = "\x00".join("\x01" if v is None else v for v in (label, text, path)).encode(
        "utf-8", "surrogateescape"
    )
    return int.from_bytes(hashlib.blake2b(key, digest_size=7).digest(), "little")
