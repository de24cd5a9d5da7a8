"""Search modes on a folder of text files: the keyword index (FTS5) against reading every file for the
word (what a tool without one does, like grep), and the semantic and hybrid modes beside them, in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_search.py [--files 5000] [--words 300] [--queries 20]
        [--dir /tmp/vexplore-bench-search]

The folder (files of random words from a 20k vocabulary) and its store (the numpy-only `toy` model, so no
torch is timed) are made once and kept in --dir. Each query is two words; the time is the median over
--queries of `engine.search.search` in this process (the explorer's and the CLI's path, without process
start), and the scan reads every file and keeps those holding both words. Both must find the same files.
Also reported: the catalog's size and the text it stores (the keyword index's cost on disk)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from vexplore.engine import search
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.query import open_explorer
from vexplore.engine.terms import parse


def build(folder: Path, files: int, words: int) -> None:
    if (folder / ".vexplore" / "catalog.sqlite").exists():
        return
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(20_000)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"f{i:06d}.txt").write_text(" ".join(rng.choices(vocabulary, k=words)))
    index_folder(folder, folder / ".vexplore", Options(models=["toy"], workers=0))


def scan(folder: Path, a: str, b: str) -> set[str]:
    found = set()
    for path in sorted(folder.glob("*.txt")):
        words = set(path.read_text().split())
        if a in words and b in words:
            found.add(path.name)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--words", type=int, default=300)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-search"))
    args = ap.parse_args()
    folder = args.dir / f"{args.files}x{args.words}"
    build(folder, args.files, args.words)
    explorer = open_explorer(folder)
    rng = random.Random(1)
    times: dict[str, list[float]] = {"keyword": [], "scan": [], "semantic": [], "hybrid": []}
    for _ in range(args.queries):
        a, b = f"w{rng.randrange(2000)}", f"w{rng.randrange(2000)}"
        terms = parse([f"{a} {b}"], folder)
        for mode in ("keyword", "semantic", "hybrid"):
            started = time.perf_counter()
            result = search.search(explorer, terms, 10_000 if mode == "keyword" else 10, None, mode)
            times[mode].append(time.perf_counter() - started)
            if mode == "keyword":
                by_index = {m.path for m in result.matches}
        started = time.perf_counter()
        by_scan = scan(folder, a, b)
        times["scan"].append(time.perf_counter() - started)
        assert by_index == by_scan, (a, b, len(by_index), len(by_scan))
    ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
    size = (folder / ".vexplore" / "catalog.sqlite").stat().st_size
    text = explorer.store.db.execute("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM files").fetchone()[0]
    print(
        f"{args.files} files × {args.words} words: keyword {ms['keyword']:.1f} ms, reading every file "
        f"{ms['scan']:.1f} ms ({ms['scan'] / ms['keyword']:.0f}× slower), semantic {ms['semantic']:.1f} ms, "
        f"hybrid {ms['hybrid']:.1f} ms; catalog {size / 1e6:.1f} MB holding {text / 1e6:.1f} MB of text"
    )
    print(
        json.dumps(
            {f"{k}_ms": round(v, 2) for k, v in ms.items()} | {"catalog_bytes": size, "text_bytes": text}
        )
    )


if __name__ == "__main__":
    main()
