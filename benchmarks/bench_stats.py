"""Time `vexplore stats` end to end on a 100k × 384 synthetic clustered store.

The store is written by the real Store (catalog rows + vector file through commit_batch) and indexed by
the real VectorIndex (hnswlib build + ef tuning), with no model: vectors come from 40 Gaussian clusters
on a 48-dimensional subspace (embeddings are low-dimensional in that way), plus a shared offset
(anisotropy) and 100 planted near-duplicate pairs. The store is kept between runs (--dir) because
building the hnswlib index takes a minute or two on two cores; stats never writes to it.

    python benchmarks/bench_stats.py [--n 100000] [--dim 384] [--dir /tmp/vexplore-bench-stats] [--exact]

--exact also runs the k-NN figures over every vector (no sampling) and prints both, so the sampled
estimates can be checked against the full computation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vexplore.engine.index import VectorIndex, normalise
from vexplore.engine.query import open_explorer
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import Entry
from vexplore.engine.stats import StatsOptions, vector_stats
from vexplore.engine.store import Store, find_store_dir

MODEL = "synthetic-384"
BATCH = 10_000


def synthetic(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors, raw norms, cluster of each)."""
    rng = np.random.default_rng(seed)
    latent, clusters = 48, 40
    basis = rng.normal(size=(latent, dim)).astype(np.float32) / np.sqrt(latent)
    centres = rng.normal(size=(clusters, latent)).astype(np.float32) * 1.5
    which = rng.integers(0, clusters, n)
    z = centres[which] + rng.normal(size=(n, latent)).astype(np.float32)
    raw = z @ basis + 0.05 * rng.normal(size=(n, dim)).astype(np.float32) + 0.4
    dups = rng.choice(n, size=(100, 2), replace=False)
    raw[dups[:, 1]] = raw[dups[:, 0]] + 0.001 * rng.normal(size=(100, dim)).astype(np.float32)
    return normalise(raw), np.linalg.norm(raw, axis=1), which


def build(root: Path, n: int, dim: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    store_dir = find_store_dir(root, create=True)
    with Store(root, store_dir, create=True) as store:
        model = store.model(MODEL)
        if model is not None and model.rows == n and model.dim == dim:
            return
        t = time.perf_counter()
        vectors, norms, which = synthetic(n, dim)
        entries = [
            Entry(f"c{c:02d}/f{i:06d}.txt", f"c{c:02d}/f{i:06d}.txt".encode(), "text", 100, 0)
            for i, c in enumerate(which.tolist())
        ]
        store.sync_files(entries, {})
        model = store.ensure_model(
            MODEL, "synthetic", "none", ("text",), dim, False, {"source": "bench_stats"}
        )
        files = store.files()
        for start in range(0, n, BATCH):
            results = [
                EmbeddedFile(files[entries[i].path], vectors[i], float(norms[i]))
                for i in range(start, min(start + BATCH, n))
            ]
            model = store.commit_batch(model, results)
        print(f"wrote {n} × {dim} vectors in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        index = VectorIndex(store, model)
        index.build()
        index.save()
        print(
            f"built the hnswlib index in {time.perf_counter() - t:.1f} s "
            f"(ef {index.ef}, recall {index.recall})",
            flush=True,
        )


def _cpu() -> float:
    """User + system CPU seconds of this process and its threads."""
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-stats"))
    ap.add_argument("--repeat", type=int, default=3, help="runs of the in-process timing; the best is shown")
    ap.add_argument("--exact", action="store_true", help="also compute the k-NN figures over every vector")
    args = ap.parse_args()
    root = args.dir / f"store-{args.n}x{args.dim}"
    build(root, args.n, args.dim)

    print(
        f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores "
        "(other work on the machine inflates wall times; CPU time is the steadier figure)"
    )
    runs = []
    for _ in range(args.repeat):
        cpu, t = _cpu(), time.perf_counter()
        report = vector_stats(open_explorer(root), MODEL)
        runs.append((time.perf_counter() - t, _cpu() - cpu, report))
    wall, cpu, report = min(runs, key=lambda r: r[0])
    print(
        f"stats in process: {wall:.2f} s wall (best of {args.repeat}), {cpu:.2f} s CPU, "
        f"for {report.count} × {report.dim}"
    )
    print("  sections: " + ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
    print("  sampled: " + ", ".join(f"{k} {v.n}/{v.of}" for k, v in report.sampled.items()))

    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "vexplore", "stats", str(root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    cli = time.perf_counter() - t
    parsed = json.loads(out.stdout)
    print(
        f"`vexplore stats --json` wall time (interpreter start + imports included): {cli:.2f} s "
        f"({len(out.stdout) / 1e6:.1f} MB of JSON)"
    )
    summary = {k: parsed[k] for k in ("count", "dim")}
    summary.update(
        hubness=round(parsed["hubness"]["skewness"], 3),
        twonn=round(parsed["intrinsic_dimension"]["value"], 2),
        duplicate_groups=parsed["duplicates"]["group_count"],
        recall=parsed["index"]["recall_at_ef"],
        ef=parsed["index"]["used_ef"],
    )
    print("  " + json.dumps(summary))

    if args.exact:
        t = time.perf_counter()
        full = vector_stats(open_explorer(root), MODEL, StatsOptions(knn_sample=None))
        print(f"stats with every vector queried: {time.perf_counter() - t:.2f} s")
        for name, sampled_v, full_v in (
            ("hubness skewness", report.hubness.skewness, full.hubness.skewness),
            ("TwoNN dimension", report.intrinsic_dimension.value, full.intrinsic_dimension.value),
            ("mean k-NN distance", report.knn.distance.mean, full.knn.distance.mean),
            ("duplicate groups", report.duplicates.group_count, full.duplicates.group_count),
        ):
            print(f"  {name}: sampled {sampled_v:.4g}, every vector {full_v:.4g}")


if __name__ == "__main__":
    main()
