"""A labelled text folder (ImageFolder style: topic sub-folders), indexed by the real pipeline with real
MiniLM (from its pip package) and with a tiny random sentence-transformers model that the tests build
and save as an ST folder. conftest.py builds it once per session (the `labelled` fixture)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np

TOPICS = {
    "astronomy": [
        "The telescope captured a distant galaxy",
        "Astronomers measured the orbit of the planet",
        "A comet crossed the night sky near the moon",
        "The star collapsed into a black hole",
        "Light from the nebula took millions of years to arrive",
        "The rover photographed craters on Mars",
        "Saturn's rings are made of ice and rock",
        "The eclipse darkened the sun for four minutes",
    ],
    "cooking": [
        "Simmer the tomato sauce with garlic and basil",
        "Knead the bread dough until it is smooth",
        "Roast the vegetables in a hot oven with olive oil",
        "Whisk the eggs and sugar for the cake",
        "Season the soup with salt, pepper and fresh herbs",
        "Fry the onions slowly until golden",
        "The chef sliced the fish and served it with lemon",
        "Bake the pie until the crust is crisp",
    ],
    "football": [
        "The striker scored a goal in the final minute",
        "The goalkeeper saved a penalty kick",
        "The referee showed the defender a red card",
        "Fans cheered as the team won the league",
        "The coach changed tactics at half time",
        "The midfielder passed the ball to the winger",
        "The match ended in a draw after extra time",
        "The club signed a new forward this season",
    ],
    "computing": [
        "The compiler reported a type error in the function",
        "The database query used an index",
        "The server crashed because it ran out of memory",
        "Unit tests caught a bug in the parser",
        "The program sorted the list with quicksort",
        "The kernel scheduled threads on both cores",
        "Refactor the module and commit the change to git",
        "The network request timed out twice",
    ],
}
DOCS_PER_TOPIC = 6
DUPLICATE = ("cooking/doc0.txt", "cooking/doc0-copy.txt")
OUTLIER = "misc/numbers.txt"


def write_labelled(base: Path) -> Path:
    """Topic folders of short documents, one near-copy of a cooking document, and one odd file out."""
    root = base / "corpus"
    rng = random.Random(7)
    for topic, sentences in TOPICS.items():
        (root / topic).mkdir(parents=True)
        for i in range(DOCS_PER_TOPIC):
            picked = rng.sample(sentences, 3)
            (root / topic / f"doc{i}.txt").write_text(". ".join(picked) + ".\n")
    original = (root / DUPLICATE[0]).read_text()
    (root / DUPLICATE[1]).write_text(original.rstrip("\n") + " \n")
    (root / "misc").mkdir()
    (root / OUTLIER).write_text("0x3f 0x91 0x07 0xaa 0x12 0xfe 0x44 0x5b\n")
    return root


def tiny_model(base: Path) -> Path:
    """A random 1-layer BERT behind a character-level WordPiece vocabulary, saved as a
    sentence-transformers folder: a deliberately poor model that the real text adapter loads by path."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    try:  # sentence-transformers ≥ 6 moved the module classes
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer

    folder = base / "tiny-random-st"
    hf = base / "tiny-random-hf"
    hf.mkdir(parents=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *letters,
        *(f"##{c}" for c in letters),
        *"0123456789.,'",
    ]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(hf)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=256)
    pooling = Pooling(config.hidden_size, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


def indexed(base: Path) -> tuple[Path, str]:
    """The corpus indexed with MiniLM and the tiny model; returns (root, the tiny model's store name)."""
    from vexplore.engine.models import registry
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.store import find_store_dir

    root = write_labelled(base)
    tiny = tiny_model(base)
    summary = index_folder(
        root, find_store_dir(root, create=True), Options(models=["minilm", str(tiny)], workers=0)
    )
    assert summary.failed == 0, summary.errors
    return root, registry.resolve(str(tiny)).name


def raw_vectors(root: Path, model: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(paths, vectors, stored norms) read straight from the store's files with sqlite3 and numpy."""
    from vexplore.engine.store import _slug

    store = root / ".vexplore"
    db = sqlite3.connect(store / "catalog.sqlite")
    mid, dim, nrows, file = db.execute(
        "SELECT id, dim, rows, COALESCE(vectors, 'vectors.f32') FROM models WHERE name=?", (model,)
    ).fetchone()
    got = db.execute(
        "SELECT f.path, e.row, e.norm FROM embeddings e JOIN files f ON f.id=e.file_id "
        "WHERE e.model_id=? AND e.row IS NOT NULL ORDER BY e.file_id",
        (mid,),
    ).fetchall()
    allvec = np.fromfile(store / "models" / _slug(model) / file, dtype="<f4").reshape(nrows, dim)
    db.close()
    return [g[0] for g in got], allvec[[g[1] for g in got]], np.array([g[2] for g in got])


def exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force k nearest neighbors (self excluded): the reference the index is checked against."""
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def synthetic_store(root: Path, vectors: np.ndarray, name: str = "synthetic") -> Path:
    """Rows written through the real Store and an index built by the real VectorIndex (no model)."""
    from vexplore.engine.index import VectorIndex
    from vexplore.engine.results import EmbeddedFile
    from vexplore.engine.scan import Entry
    from vexplore.engine.store import Store, find_store_dir

    root.mkdir(parents=True)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    with Store(root, find_store_dir(root, create=True), create=True) as store:
        entries = [
            Entry(f"g{i % 3}/f{i:05d}.txt", f"g{i % 3}/f{i:05d}.txt".encode(), "text", 10, 0)
            for i in range(len(vectors))
        ]
        store.sync_files(entries, {})
        model = store.ensure_model(name, "synthetic", "none", ("text",), vectors.shape[1], False, {})
        files = store.files()
        model = store.commit_batch(
            model,
            [
                EmbeddedFile(files[e.path], v.astype(np.float32), 2.0)
                for e, v in zip(entries, vectors, strict=False)
            ],
        )
        index = VectorIndex(store, model)
        index.build()
        index.save()
    return root
