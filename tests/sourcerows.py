"""Read a vectors source the way the importer does, for the reader tests: every batch, joined."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vexplore.engine.sources.base import VectorSource


@dataclass
class Rows:
    ids: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    paths: list[str | None] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)  # row of the whole source -> why
    sizes: list[int] = field(default_factory=list)

    @property
    def matrix(self) -> np.ndarray:
        return np.concatenate(self.vectors)


def read_all(source: VectorSource, rows: int) -> Rows:
    out = Rows()
    for batch in source.batches(rows):
        n = len(batch.ids)
        assert batch.vectors.shape[0] == n
        out.problems.update({len(out.ids) + i: why for i, why in batch.problems.items()})
        out.ids += batch.ids
        out.vectors.append(batch.vectors)
        out.labels += batch.labels if batch.labels is not None else [None] * n
        out.texts += batch.texts if batch.texts is not None else [None] * n
        out.paths += batch.paths if batch.paths is not None else [None] * n
        out.sizes.append(n)
    return out
