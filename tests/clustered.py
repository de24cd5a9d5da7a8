"""A store of synthetic, clustered vectors committed the way the pipeline commits them: for tests of the
query side (Milvus, the query process) that need many files and no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import scan
from vexplore.engine.store import Store

DIM = 32


def sync_files(store: Store, root: Path) -> None:
    entries, _ = scan(root, skip_dirs=(store.dir,))
    store.sync_files(entries, {})


def commit_vectors(
    store: Store, vectors: dict[str, np.ndarray], labels: dict[str, list] | None = None
) -> None:
    """Vectors for files by path, committed the way the pipeline commits them."""
    model = store.model("synthetic") or store.ensure_model(
        "synthetic", "test", "test", ("text",), DIM, False, {}
    )
    files = store.files()
    results = [
        EmbeddedFile(files[p], v / np.linalg.norm(v), 1.0, labels=(labels or {}).get(p))
        for p, v in vectors.items()
    ]
    store.commit_batch(model, results)


def clustered_store(root: Path) -> Path:
    """400 files in 16 clusters with clustered vectors in a real store (no model needed)."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(16, DIM))
    vectors = {}
    for i in range(400):
        rel = f"c{i % 16:02d}/item{i:03d}.txt"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"item {i}\n")
        vectors[rel] = centres[i % 16] + 0.6 * rng.normal(size=DIM)
    with Store(root, root / ".vexplore", create=True) as store:
        sync_files(store, root)
        commit_vectors(store, vectors, {"c00/item000.txt": [["cat", 0.9], ["dog", 0.1]]})
    return root
