"""Batches of whatever size a library hands out → batches of exactly the size the importer asked for.

A reader converts each page to arrays as soon as it arrives (a Milvus page is Python floats, many times
the size of the floats themselves), so what waits here is compact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .base import Batch


def _joined(parts: list[list[str | None] | None]) -> list[str | None] | None:
    if parts[0] is None:
        return None
    return [value for part in parts for value in (part or [])]


def join(batches: list[Batch]) -> Batch:
    """One batch of consecutive batches (the same parts present in each)."""
    if len(batches) == 1:
        return batches[0]
    problems: dict[int, str] = {}
    offset = 0
    for batch in batches:
        problems.update({offset + i: why for i, why in batch.problems.items()})
        offset += len(batch.ids)
    return Batch(
        ids=[i for b in batches for i in b.ids],
        vectors=np.concatenate([b.vectors for b in batches]),
        labels=_joined([b.labels for b in batches]),
        texts=_joined([b.texts for b in batches]),
        paths=_joined([b.paths for b in batches]),
        problems=problems,
    )


def cut(batch: Batch, start: int, stop: int) -> Batch:
    """Rows [start, stop) of a batch."""

    def part(values: list[str | None] | None) -> list[str | None] | None:
        return None if values is None else values[start:stop]

    return Batch(
        ids=batch.ids[start:stop],
        vectors=batch.vectors[start:stop],
        labels=part(batch.labels),
        texts=part(batch.texts),
        paths=part(batch.paths),
        problems={i - start: why for i, why in batch.problems.items() if start <= i < stop},
    )


def regroup(batches: Iterable[Batch], rows: int) -> Iterator[Batch]:
    """Exactly `rows` rows per batch (the last may be shorter)."""
    pending: list[Batch] = []
    held = 0
    for batch in batches:
        if not batch.ids:
            continue
        pending.append(batch)
        held += len(batch.ids)
        while held >= rows:
            whole = join(pending)
            yield cut(whole, 0, rows)
            rest = cut(whole, rows, held)
            pending, held = ([rest] if rest.ids else []), held - rows
    if held:
        yield join(pending)
