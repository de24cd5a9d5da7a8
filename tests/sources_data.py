"""Vectors sources for the tests, written with the libraries their users write them with (pyarrow,
pandas, numpy, sqlite3 as simonw/llm lays out embeddings.db), and the answers numpy gives directly."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

import numpy as np

N, DIM = 90, 24
LABELS = ("cat", "dog", "fish")


def vectors(n: int = N, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Three clusters (one per label) of float32 vectors with varied norms."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(LABELS), dim)) * 3
    x = centres[np.arange(n) % len(LABELS)] + rng.normal(size=(n, dim))
    return (x * rng.uniform(0.5, 2.0, size=(n, 1))).astype(np.float32)


def ids(n: int = N) -> list[str]:
    return [f"doc-{i:03d}" for i in range(n)]


def labels(n: int = N) -> list[str]:
    return [LABELS[i % len(LABELS)] for i in range(n)]


def texts(n: int = N) -> list[str]:
    return [f"row {i} is about {LABELS[i % len(LABELS)]}s [bold]not markup[/]" for i in range(n)]


def write_parquet(
    path: Path, x: np.ndarray, fixed: bool = True, model: str | None = None, **extra: list
) -> Path:
    """pyarrow: a fixed-size-list column (or list<float>) named vector, plus the given columns; model:
    the schema metadata naming the model that made the vectors."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.array(x.reshape(-1), pa.float32())
    if fixed:
        column = pa.FixedSizeListArray.from_arrays(flat, x.shape[1])
    else:
        column = pa.ListArray.from_arrays(pa.array(np.arange(0, x.size + 1, x.shape[1]), pa.int32()), flat)
    metadata = {"model": model} if model else None
    pq.write_table(pa.table({**extra, "vector": column}, metadata=metadata), path, row_group_size=32)
    return path


def write_pandas_parquet(path: Path, x: np.ndarray, **extra: list) -> Path:
    """pandas: a column of numpy arrays becomes list<float>."""
    import pandas as pd

    pd.DataFrame({**extra, "embedding": list(x)}).to_parquet(path)
    return path


def write_llm(path: Path, collections: dict[str, tuple[list[str], np.ndarray, list[str] | None]]) -> Path:
    """embeddings.db as llm's embeddings_migrations leave it: collections(id, name, model) and
    embeddings(collection_id, id, embedding, content, content_blob, content_hash, metadata, updated);
    vectors packed as llm packs them, struct '<' + 'f' * dim."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT, model TEXT);
        CREATE UNIQUE INDEX idx_collections_name ON collections (name);
        CREATE TABLE embeddings (
            collection_id INTEGER REFERENCES collections(id), id TEXT, embedding BLOB, content TEXT,
            content_blob BLOB, content_hash BLOB, metadata TEXT, updated INTEGER,
            PRIMARY KEY (collection_id, id)
        );
        """
    )
    for cid, (name, (keys, x, contents)) in enumerate(collections.items(), start=1):
        db.execute("INSERT INTO collections VALUES (?, ?, ?)", (cid, name, "toy"))
        db.executemany(
            "INSERT INTO embeddings VALUES (?, ?, ?, ?, NULL, NULL, ?, 0)",
            [
                (
                    cid,
                    key,
                    struct.pack("<" + "f" * len(v), *v.tolist()),
                    contents[i] if contents else None,
                    "{}",
                )
                for i, (key, v) in enumerate(zip(keys, x, strict=True))
            ],
        )
    db.commit()
    db.close()
    return path


def write_meta_jsonl(path: Path, **columns: list) -> Path:
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def exact_neighbors(keys: list[str], x: np.ndarray, k: int) -> dict[str, list[tuple[str, float]]]:
    """Each id's k nearest others by cosine, computed with numpy alone."""
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return {keys[i]: [(keys[j], float(sims[i, j])) for j in order[i]] for i in range(len(keys))}
