"""The stages contract: what runs decode → embed for one model (in this process or on a Ray cluster)
and hands per-file results to the run that commits them. pipeline.py drives a `Stages`; the local stages
live there and the Ray stages in distributed.py, and both embed through `embed_decoded` here, so the
imports point one way: pipeline → stages ← distributed."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from .batching import embed_parts
from .catalog import FileRow
from .events import Emit
from .index import normalise
from .models.base import Adapter, Decoded
from .results import EmbeddedFile, FailedFile, FileResult

K = TypeVar("K")


@dataclass
class Options:
    models: list[str] = field(default_factory=list)  # empty: what the store has plus the defaults
    device: str = "auto"
    batch_size: int | None = None
    workers: int | None = None
    trust_remote_code: bool = False
    engine: str = "local"  # where decode → embed run: "local" (this process + loader workers) or "ray"
    ray_address: str | None = None  # a Ray cluster to join (None: RAY_ADDRESS, else a local Ray)
    wait: bool = False  # another writer holds the store: wait for it (True) or refuse (False)
    gpus: str | None = None  # "0,1" or "all": one embedding worker process per GPU (device_pool.py)
    precision: str = "auto"  # autocast dtype: auto (bf16/fp16 on a GPU, fp32 elsewhere), fp32, bf16, fp16


class Stages(Protocol):
    """Runs decode → embed for one model and hands back per-file results; the store is never written here."""

    def prepare(self, adapter: Adapter, opts: Options, emit: Emit, stored_dim: int | None) -> dict: ...

    def batches(
        self, adapter: Adapter, root: Path, todo: list[FileRow], opts: Options
    ) -> Generator[list[FileResult[FileRow]], None, None]:
        """One list per commit; a generator, so that a run stopped early can close it."""
        ...

    def close(self) -> None: ...


def pool(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """The file vector (normalised mean of normalised parts) and the raw norm before normalisation."""
    raw = vectors.mean(axis=0) if len(vectors) > 1 else vectors[0]
    mean = normalise(vectors).mean(axis=0) if len(vectors) > 1 else vectors[0]
    return normalise(mean), float(np.linalg.norm(raw))


def merge_labels(per_part: list[list[tuple[str, float]]], top: int = 5) -> list[list]:
    scores: dict[str, float] = {}
    for labels in per_part:
        for name, prob in labels:
            scores[name] = scores.get(name, 0.0) + prob / len(per_part)
    return [[name, round(p, 4)] for name, p in sorted(scores.items(), key=lambda kv: -kv[1])[:top]]


def embed_decoded(adapter: Adapter, pending: list[tuple[K, Decoded]]) -> list[FileResult[K]]:
    """Per-file results for decoded files (the file is whatever key came in: a FileRow here, an index on
    a Ray worker). A batch that fails is retried file by file to find the culprit."""
    flat = [part for _, dec in pending for part in dec.parts]
    try:
        out = embed_parts(adapter, flat)
        vectors, labels = np.asarray(out.vectors, dtype=np.float32), out.labels
    except Exception as exc:  # noqa: BLE001
        if len(pending) == 1:
            return [FailedFile(pending[0][0], f"model failed: {type(exc).__name__}: {str(exc)[:200]}")]
        return [res for item in pending for res in embed_decoded(adapter, [item])]
    results: list[FileResult[K]] = []
    at = 0
    for f, dec in pending:
        n = len(dec.parts)
        vecs = vectors[at : at + n]
        if not np.all(np.isfinite(vecs)):
            results.append(FailedFile(f, "model produced NaN or infinite values"))
        else:
            vector, norm = pool(vecs)
            results.append(
                EmbeddedFile(
                    f,
                    vector,
                    norm,
                    windows=normalise(vecs) if n > 1 else None,
                    labels=merge_labels(labels[at : at + n]) if labels is not None else None,
                    meta=dec.meta,
                    thumb=dec.thumbnail,
                    text=dec.text,
                )
            )
        at += n
    return results
