"""Fingerprinting a folder of 100k small files when nothing changed: `vexplore index` end to end (a fresh
process) and its scan, against the floor (walking and stat-ing every file) and against hashing every
file's content, in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_scan.py [--files 100000] [--repeat 3]
        [--dir /tmp/vexplore-bench-scan]

The folder (short text files in folders of 1,000) and its store are made once and kept in --dir. The store
is written by the real Store and VectorIndex with random vectors under the name of the tests' tiny
sentence-transformers model (saved there), so a no-change `vexplore index` finds every file embedded and
never loads the model; making it takes seconds instead of embedding 100k files. Files are in the page
cache (just written or read), as on any repeated run. Goal (issue 8): ≥ 20k files/s.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from timed_index import small_files, tiny_model, vexplore_index

from vexplore.engine.index import VectorIndex, normalise
from vexplore.engine.models import registry
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import content_hash, scan
from vexplore.engine.store import Store, find_store_dir

DIM = 32  # the tiny model's


def build_store(folder: Path, model_dir: Path) -> None:
    """Catalog every file (hashed, as a first index run does) with a random vector each, and an index."""
    store_dir = find_store_dir(folder, create=True)
    if (store_dir / "complete").exists():
        return
    started = time.perf_counter()
    with Store(folder, store_dir, create=True) as store:
        entries, _ = scan(folder, skip_dirs=(store_dir,))
        store.sync_files(entries, {e.path: content_hash(folder / e.path, e.size) for e in entries})
        spec = registry.resolve(str(model_dir))
        model = store.ensure_model(
            spec.name,
            spec.family,
            spec.backend,
            spec.modalities,
            DIM,
            spec.text_queries,
            {"source": "bench_scan"},
        )
        files = list(store.files().values())
        rng = np.random.default_rng(0)
        for start in range(0, len(files), 10_000):
            chunk = files[start : start + 10_000]
            vectors = normalise(rng.normal(size=(len(chunk), DIM)))
            model = store.commit_batch(
                model, [EmbeddedFile(f, v, 1.0) for f, v in zip(chunk, vectors, strict=False)]
            )
        index = VectorIndex(store, model)
        index.build()
        index.save()
    (store_dir / "complete").write_text("")
    print(f"made the store in {time.perf_counter() - started:.1f} s", flush=True)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def walk_and_stat(root: Path) -> int:
    n = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            os.stat(os.path.join(folder, name))
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-scan"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.dir.mkdir(parents=True, exist_ok=True)
    folder = small_files(args.dir / f"files-{args.files}", args.files)
    build_store(folder, tiny_model(args.dir))
    store_dir = find_store_dir(folder)
    n = args.files
    print(f"{n:,} files; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    floor = best(lambda: walk_and_stat(folder), args.repeat)
    ours = best(lambda: scan(folder, skip_dirs=(store_dir,)), args.repeat)
    entries, _ = scan(folder, skip_dirs=(store_dir,))
    hashing = best(lambda: [content_hash(folder / e.path, e.size) for e in entries], 1)
    runs = []
    for _ in range(args.repeat):
        run = vexplore_index(folder)
        if run.plan.get("hashed") != 0 or run.embedded != 0 or run.summary["unchanged"] != n:
            raise SystemExit(f"expected nothing hashed or embedded, got {run.plan} / {run.summary}")
        runs.append(run)
    run = min(runs, key=lambda r: r.wall)
    scan_at, plan_at, done_at = run.at("scan"), run.at("plan"), run.at("done")

    print(f"os.walk + os.stat of every file (the floor): {n / floor:,.0f} files/s ({floor:.2f} s)")
    print(f"vexplore scan() (walk, stat, classify): {n / ours:,.0f} files/s ({ours:.2f} s)")
    print(
        f"hashing every file's content instead (blake2b, what a tool without size/mtime fingerprints does): "
        f"{n / hashing:,.0f} files/s ({hashing:.2f} s)"
    )
    print(
        f"`vexplore index` with nothing changed, fresh process, end to end: {n / run.wall:,.0f} files/s "
        f"({run.wall:.2f} s: start→scan event {scan_at:.2f}, scan→plan {plan_at - scan_at:.2f}, "
        f"plan→done {done_at - plan_at:.2f}, exit {run.wall - done_at:.2f}; {run.cpu:.2f} s CPU); "
        f"hashed {run.plan['hashed']}, embedded {run.embedded}"
    )
    print(
        json.dumps(
            {
                "benchmark": "scan",
                "files": n,
                "index_noop_files_per_s": round(n / run.wall),
                "index_noop_s": round(run.wall, 2),
                "index_noop_cpu_s": round(run.cpu, 2),
                "scan_files_per_s": round(n / ours),
                "walk_stat_files_per_s": round(n / floor),
                "hash_all_files_per_s": round(n / hashing),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
