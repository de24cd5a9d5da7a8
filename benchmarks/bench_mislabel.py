"""Mislabelled-file detection against the plain 10-NN majority vote, on the same vectors and the same
neighbor graph: precision, recall and F1 of each on labelled data with injected label noise.

Two variants:
- text: short topic sentences generated from word lists per class (some classes naturally spread out:
  their sentences mix themes), embedded by the real pipeline with the packaged MiniLM into a temp folder,
  with a share of the files written into a wrong class folder;
- synthetic: Gaussian clusters of different spreads, with a share of the labels changed.

    HF_HUB_OFFLINE=1 python benchmarks/bench_mislabel.py [--docs 800] [--noise 0.05] [--skip-text]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from vexplore.engine.audit.graph import KnnGraph, exact_knn
from vexplore.engine.audit.mislabel import encode, find_mislabeled, majority_flags

SUBJECTS = {
    "astronomy": ["the telescope", "an astronomer", "the probe", "the observatory", "a comet", "the rover"],
    "cooking": ["the chef", "the baker", "my grandmother", "the cook", "the kitchen team", "a caterer"],
    "football": ["the striker", "the goalkeeper", "the referee", "the coach", "the club", "the winger"],
    "computing": ["the compiler", "the server", "the database", "the kernel", "the parser", "the script"],
    "gardening": [
        "the gardener",
        "the rose bush",
        "the allotment",
        "the greenhouse",
        "the hedge",
        "the lawn",
    ],
    "finance": ["the bank", "the investor", "the central bank", "the fund", "the broker", "the market"],
}
ACTIONS = {
    "astronomy": [
        "observed a distant galaxy",
        "measured the orbit of a planet",
        "photographed a nebula",
        "tracked an asteroid",
        "detected a supernova",
        "mapped craters on the moon",
    ],
    "cooking": [
        "simmered the tomato sauce",
        "kneaded the bread dough",
        "roasted the vegetables",
        "whisked eggs for the cake",
        "seasoned the soup",
        "fried the onions until golden",
    ],
    "football": [
        "scored in the final minute",
        "saved a penalty kick",
        "showed a red card",
        "won the league title",
        "changed tactics at half time",
        "crossed the ball to the forward",
    ],
    "computing": [
        "reported a type error",
        "ran out of memory",
        "used an index for the query",
        "scheduled threads on both cores",
        "crashed after the update",
        "parsed the config file",
    ],
    "gardening": [
        "pruned the roses",
        "planted tomato seedlings",
        "watered the borders",
        "mowed the lawn",
        "spread compost on the beds",
        "trimmed the hedge",
    ],
    "finance": [
        "raised interest rates",
        "bought government bonds",
        "reported quarterly earnings",
        "sold shares at a loss",
        "hedged the currency risk",
        "cut the dividend",
    ],
}
SPREAD = ("news", "diary")  # classes whose sentences mix every theme: naturally spread out
TAILS = ["yesterday", "this morning", "last week", "again", "for the first time", "before noon", ""]


def sentence(rng: random.Random, label: str) -> str:
    if label in SPREAD:
        a, b = rng.sample(list(SUBJECTS), 2)
        lead = "Breaking news:" if label == "news" else "Dear diary, today"
        return (
            f"{lead} {rng.choice(SUBJECTS[a])} {rng.choice(ACTIONS[a])}, and {rng.choice(SUBJECTS[b])} "
            f"{rng.choice(ACTIONS[b])} {rng.choice(TAILS)}."
        )
    subject = rng.choice(SUBJECTS[label]).capitalize()
    return f"{subject} {rng.choice(ACTIONS[label])} {rng.choice(TAILS)}".rstrip() + "."


def scores(found: set[int], truth: set[int]) -> tuple[float, float, float]:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def compare(name: str, x: np.ndarray, labels: list[str], truth: set[int], k: int = 10) -> None:
    started = time.monotonic()
    rows, sims = exact_knn(x, k)
    graph = KnnGraph(np.arange(len(x)), rows, sims, True)
    ours = {f.row for f in find_mislabeled(graph, labels)}
    seconds = time.monotonic() - started
    y, names = encode(labels)
    vote = set(majority_flags(graph, y, len(names))[0].tolist())
    print(f"{name}: {len(x)} files, {len(names)} classes, {len(truth)} mislabelled ({seconds:.2f} s)")
    for who, found in (("confident learning", ours), ("10-NN majority vote", vote)):
        p, r, f1 = scores(found, truth)
        print(f"  {who:20s} flagged {len(found):4d}  precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}")


def text_variant(docs: int, noise: float, seed: int) -> None:
    from vexplore.engine.audit.run import AuditOptions, load
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.query import open_explorer
    from vexplore.engine.store import find_store_dir

    rng = random.Random(seed)
    classes = [*SUBJECTS, *SPREAD]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        moved = set()
        for i in range(docs):
            label = classes[i % len(classes)]
            given = label
            if rng.random() < noise:
                given = rng.choice([c for c in classes if c != label])
                moved.add(f"{given}/doc{i:05d}.txt")
            (root / given).mkdir(parents=True, exist_ok=True)
            (root / given / f"doc{i:05d}.txt").write_text(sentence(rng, label) + "\n")
        started = time.monotonic()
        summary = index_folder(root, find_store_dir(root, create=True), Options(models=["minilm"]))
        print(f"indexed {summary.embedded} files with MiniLM in {time.monotonic() - started:.1f} s")
        data = load(open_explorer(root), None, AuditOptions())
        labels = [lab or "" for lab in (data.layout.labels or [])]
        truth = {i for i, p in enumerate(data.paths) if p in moved}
        compare("text (MiniLM)", data.x, labels, truth)


def synthetic_variant(noise: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spreads = [0.5] * 4 + [1.0, 1.5, 1.5, 2.0]
    dim, per = 24, 250
    centres = rng.normal(size=(len(spreads), dim))
    x = np.concatenate([centres[c] + s * rng.normal(size=(per, dim)) for c, s in enumerate(spreads)])
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    true = np.repeat(np.arange(len(spreads)), per)
    given = true.copy()
    flip = rng.choice(len(true), int(noise * len(true)), replace=False)
    given[flip] = (true[flip] + rng.integers(1, len(spreads), len(flip))) % len(spreads)
    compare(
        "synthetic (Gaussian, spreads " + ",".join(map(str, spreads)) + ")",
        x,
        [f"c{v}" for v in given],
        set(flip.tolist()),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=800)
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-text", action="store_true")
    args = ap.parse_args()
    synthetic_variant(args.noise, args.seed)
    if not args.skip_text:
        text_variant(args.docs, args.noise, args.seed)


if __name__ == "__main__":
    main()
