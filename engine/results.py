"""What flows from decode → embed to the store: per-file results, typed.

A file either embedded (`EmbeddedFile`) or did not (`FailedFile`, with the reason the catalog records
and the user sees). Decoding yields `Decoded | FailedFile`, embedding turns the decoded ones into
`EmbeddedFile | FailedFile`, and `Store.commit_batch` writes a batch of them. The file is generic: a
catalog row (`FileRow`) on the driver, its position in the batch on a Ray worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

K = TypeVar("K")  # how a result names its file: a FileRow, or an index into the driver's list


@dataclass(frozen=True, eq=False)
class EmbeddedFile(Generic[K]):
    """A file's vectors and what a preview shows without decoding it again."""

    file: K
    vector: np.ndarray  # the file vector: normalised mean of the normalised parts
    norm: float  # norm of the pooled vector before normalisation
    windows: np.ndarray | None = None  # the normalised part vectors, when there are several
    labels: list[list[Any]] | None = None  # [[class, prob], ...] of a classifier model
    meta: dict[str, Any] = field(default_factory=dict)  # merged into the file's stored meta
    thumb: bytes | None = None
    text: str | None = None

    @property
    def parts(self) -> int:
        """How many window vectors the vector file keeps after the file vector: none for a file of one
        part (its window would only repeat the file vector)."""
        return len(self.windows) if self.windows is not None and len(self.windows) > 1 else 0

    def rows(self) -> np.ndarray:
        """The rows the vector file stores for this file: the file vector, then its window vectors."""
        block = [self.vector[None, :]]
        if self.parts and self.windows is not None:
            block.append(self.windows)
        return np.concatenate(block).astype("<f4", copy=False)


@dataclass(frozen=True)
class FailedFile(Generic[K]):
    """A file that could not be decoded or embedded; never fatal to the run."""

    file: K
    reason: str


FileResult = EmbeddedFile[K] | FailedFile[K]
