"""The audit report's typed shape. `AuditReport.to_json()` is what `vexplore audit --json` prints; the
keys are documented in the README and stable. Field order is key order (engine/plain.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plain import record

KINDS = ("mislabeled", "leaks", "duplicates")  # what --fail-on accepts


@dataclass(frozen=True)
class LabelSignal:
    """Whether the labels can be told from the vectors (mislabel.py says how): nothing is flagged when not."""

    agreement: float  # share of labelled files whose own label wins their neighbors' vote
    shuffled: float  # the same share with the labels shuffled among the files
    usable: bool


@dataclass(frozen=True)
class Mislabeled:
    """A file whose neighbors say it belongs elsewhere: its given label, the likely one, and how sure
    (0..1, higher is more likely mislabelled)."""

    path: str
    label: str
    suggested: str
    score: float


@dataclass(frozen=True)
class LeakMatch:
    path: str
    split: str
    score: float  # cosine of the two files' vectors
    exact: bool  # the same content hash


@dataclass(frozen=True)
class Leak:
    """A file of a non-train split with an exact or near copy in another split."""

    path: str
    split: str
    matches: list[LeakMatch]


@dataclass(frozen=True)
class LeakThreshold:
    """The cosine at or above which two files of different splits count as copies, and why."""

    value: float
    method: str  # how it was derived from the data, in words a user can check


@dataclass(frozen=True)
class DuplicateGroup:
    paths: list[str]
    min_cosine: float
    exact: bool  # every file of the group has the same content hash


@dataclass(frozen=True)
class Duplicates:
    threshold: float
    groups: list[DuplicateGroup]


@dataclass(frozen=True)
class Outlier:
    path: str
    score: float  # higher is more isolated


@dataclass(frozen=True)
class NamedCluster:
    id: int  # stable: the same data and options give the same ids
    size: int
    name: str
    keywords: list[str]
    labels: dict[str, int]  # label (or folder) -> members with it
    central: list[str]  # the members nearest the centroid, nearest first
    paths: list[str]  # every member


@dataclass(frozen=True)
class AuditReport:
    model: str
    count: int
    labels: list[str] | None
    splits: list[str] | None
    mislabeled: list[Mislabeled]
    leaks: list[Leak]
    leak_threshold: LeakThreshold | None  # None: no splits, so nothing can leak
    duplicates: Duplicates
    outliers: list[Outlier]
    outlier_fence: float | None  # the score a listed outlier exceeds: Q3 + 1.5 IQR of every file's score
    clusters: list[NamedCluster]
    label_signal: LabelSignal | None = None  # None: fewer than two labels
    sampled: dict[str, Any] = field(default_factory=dict)  # {}: every file was looked at
    exact: bool = True  # the neighbor graph was exact (else from the hnswlib index)
    seconds: float = 0.0

    def found(self, kind: str) -> int:
        """How many problems of a --fail-on kind the report holds."""
        return {
            "mislabeled": len(self.mislabeled),
            "leaks": len(self.leaks),
            "duplicates": len(self.duplicates.groups),
        }[kind]

    def to_json(self) -> dict[str, Any]:
        return record(self)
