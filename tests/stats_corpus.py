"""A labelled text folder (ImageFolder style: topic sub-folders), indexed by the real pipeline with real
MiniLM (from its pip package) and with a tiny random sentence-transformers model that the tests build
and save as an ST folder. Built once per test session, whichever stats test module asks first."""

from __future__ import annotations

import functools
import random
from pathlib import Path

TOPICS = {
    "astronomy": ["The telescope captured a distant galaxy", "Astronomers measured the orbit of the planet",
                  "A comet crossed the night sky near the moon", "The star collapsed into a black hole",
                  "Light from the nebula took millions of years to arrive", "The rover photographed craters on Mars",
                  "Saturn's rings are made of ice and rock", "The eclipse darkened the sun for four minutes"],
    "cooking": ["Simmer the tomato sauce with garlic and basil", "Knead the bread dough until it is smooth",
                "Roast the vegetables in a hot oven with olive oil", "Whisk the eggs and sugar for the cake",
                "Season the soup with salt, pepper and fresh herbs", "Fry the onions slowly until golden",
                "The chef sliced the fish and served it with lemon", "Bake the pie until the crust is crisp"],
    "football": ["The striker scored a goal in the final minute", "The goalkeeper saved a penalty kick",
                 "The referee showed the defender a red card", "Fans cheered as the team won the league",
                 "The coach changed tactics at half time", "The midfielder passed the ball to the winger",
                 "The match ended in a draw after extra time", "The club signed a new forward this season"],
    "computing": ["The compiler reported a type error in the function", "The database query used an index",
                  "The server crashed because it ran out of memory", "Unit tests caught a bug in the parser",
                  "The program sorted the list with quicksort", "The kernel scheduled threads on both cores",
                  "Refactor the module and commit the change to git", "The network request timed out twice"],
}
DOCS_PER_TOPIC = 6
DUPLICATE = ("cooking/doc0.txt", "cooking/doc0-copy.txt")
OUTLIER = "misc/numbers.txt"


@functools.cache
def corpus(base: Path) -> Path:
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


@functools.cache
def tiny_model(base: Path) -> Path:
    """A random 1-layer BERT behind a character-level WordPiece vocabulary, saved as a
    sentence-transformers folder: a deliberately poor model that the real text adapter loads by path."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = base / "tiny-random-st"
    hf = base / "tiny-random-hf"
    hf.mkdir(parents=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters), *"0123456789.,'"]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(hf)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(hf)
    transformer = models.Transformer(str(hf), max_seq_length=256)
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


@functools.cache
def indexed(base: Path) -> tuple[Path, str]:
    """The corpus indexed with MiniLM and the tiny model; returns (root, the tiny model's store name)."""
    from vexplore.engine.models import registry
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.store import find_store_dir

    root = corpus(base)
    tiny = tiny_model(base)
    summary = index_folder(root, find_store_dir(root, create=True), Options(models=["minilm", str(tiny)],
                                                                            workers=0))
    assert summary["failed"] == 0, summary["errors"]
    return root, registry.resolve(str(tiny)).name
