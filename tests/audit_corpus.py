"""Stores for the audit tests, built without a model: real files (so content hashes are real) whose
vectors the test chooses, committed through the real Store, with known faults planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import content_hash, scan
from vexplore.engine.store import Store, find_store_dir


def vector_store(root: Path, files: dict[str, tuple[str, np.ndarray]], model: str = "synthetic") -> Path:
    """files: relative path -> (text, vector). Every file written, hashed and committed with its vector."""
    for rel, (text, _) in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    dim = len(next(iter(files.values()))[1])
    with Store(root, find_store_dir(root, create=True), create=True) as store:
        entries, _ = scan(root, skip_dirs=(store.dir,))
        store.sync_files(entries, {e.path: content_hash(root / e.path, e.size) for e in entries})
        row = store.ensure_model(model, "synthetic", "none", ("text",), dim, False, {})
        known = store.files()
        store.commit_batch(
            row,
            [
                EmbeddedFile(known[p], (v / np.linalg.norm(v)).astype(np.float32), 1.0)
                for p, (_, v) in files.items()
            ],
        )
    return root


def gaussian_classes(
    seed: int, spreads: list[float], per: int, dim: int, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors, true class, given class): Gaussian clusters of the given spreads, with a share
    `noise` of files given a wrong class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(spreads), dim))
    x = np.concatenate([centres[c] + s * rng.normal(size=(per, dim)) for c, s in enumerate(spreads)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    true = np.repeat(np.arange(len(spreads)), per)
    given = true.copy()
    flip = rng.choice(len(true), int(noise * len(true)), replace=False)
    given[flip] = (true[flip] + rng.integers(1, len(spreads), len(flip))) % len(spreads)
    return x.astype(np.float32), true, given
