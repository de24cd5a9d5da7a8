"""Deterministic synthetic documents for benchmarks: varied lengths, real English words."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "the",
    "model",
    "learns",
    "a",
    "vector",
    "for",
    "every",
    "document",
    "and",
    "similar",
    "texts",
    "land",
    "near",
    "each",
    "other",
    "in",
    "space",
    "telescope",
    "galaxy",
    "orbit",
    "planet",
    "star",
    "comet",
    "nebula",
    "bread",
    "oven",
    "flour",
    "sugar",
    "butter",
    "recipe",
    "kitchen",
    "goal",
    "striker",
    "match",
    "stadium",
    "coach",
    "referee",
    "garden",
    "soil",
    "seeds",
    "flowers",
    "roses",
    "compost",
    "water",
    "sunlight",
    "river",
    "mountain",
    "city",
    "train",
    "station",
    "music",
    "violin",
    "concert",
    "history",
    "empire",
    "war",
    "treaty",
    "market",
    "price",
    "economy",
    "bank",
    "loan",
    "interest",
    "computer",
    "program",
    "function",
    "variable",
    "compiler",
    "memory",
    "network",
    "server",
    "database",
]


def make_docs(
    root: Path, n: int, seed: int = 0, min_words: int = 20, max_words: int = 180, folders: int = 20
) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        folder = root / f"group{i % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        words = [rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words))]
        path = folder / f"doc{i:05d}.txt"
        path.write_text(" ".join(words).capitalize() + ".\n")
        paths.append(path)
    return paths
