"""The text adapter against plain sentence-transformers, and long-text windowing."""

from __future__ import annotations

import numpy as np
import pytest

from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.query import open_explorer
from vexplore.engine.store import find_store_dir


@pytest.fixture(scope="module")
def st_model(minilm_dir):
    from sentence_transformers import SentenceTransformer  # here: collecting the fast tier stays torch-free

    return SentenceTransformer(str(minilm_dir), device="cpu")


def test_vectors_match_plain_encode(indexed_corpus, st_model):
    explorer = open_explorer(indexed_corpus)
    model = explorer.model("minilm")
    for rel in ("astronomy/doc0.txt", "cooking/doc3.md", "gardening/doc4.txt"):
        text = (indexed_corpus / rel).read_text()
        expected = st_model.encode([text], convert_to_numpy=True)[0]
        stored = explorer.store.file_vector(model, explorer.store.file_by_path(rel).id)
        cos = float(stored @ expected / (np.linalg.norm(stored) * np.linalg.norm(expected)))
        assert cos >= 0.999, (rel, cos)


def test_long_text_is_windowed_and_pooled(tmp_path, st_model):
    root = tmp_path / "long"
    root.mkdir()
    paragraphs = [
        "The orchestra tuned their violins and cellos before the symphony began. " * 25,
        "Volcanic eruptions throw ash and lava high into the atmosphere above the island. " * 25,
        "The accountant reconciled the ledger and filed the quarterly tax return on time. " * 25,
    ]
    text = "\n\n".join(paragraphs)
    (root / "long.txt").write_text(text)
    (root / "short.txt").write_text("A short note about music.")
    index_folder(root, find_store_dir(root, create=True), Options())
    explorer = open_explorer(root)
    store, model = explorer.store, explorer.model("minilm")
    f = store.file_by_path("long.txt")
    assert f.meta["windows"] >= 3 and f.meta["truncated"] is False
    windows = store.window_vectors(model, f.id)
    assert windows.shape == (f.meta["windows"], 384)
    # every window fits the model: re-encoding its text gives the stored window vector
    adapter_windows = _windows(st_model, text)
    assert len(adapter_windows) == len(windows)
    direct = st_model.encode(adapter_windows, convert_to_numpy=True)
    direct /= np.linalg.norm(direct, axis=1, keepdims=True)
    assert np.allclose(np.sum(direct * windows, axis=1), 1.0, atol=1e-3)
    # the file vector is the normalised mean of its window vectors
    pooled = windows.mean(axis=0)
    pooled /= np.linalg.norm(pooled)
    assert float(store.file_vector(model, f.id) @ pooled) > 0.9999
    # raw norm recorded for statistics
    norm = store.db.execute("SELECT norm FROM embeddings WHERE file_id=?", (f.id,)).fetchone()[0]
    assert 0.5 < norm <= 1.0001


def _windows(st_model, text):
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve("minilm"))
    adapter.model, adapter.window = st_model, st_model.max_seq_length - 2
    return adapter.windows(text)[0]
