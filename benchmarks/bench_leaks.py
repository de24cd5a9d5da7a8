"""Time and memory of the leak finder alone (engine/audit/leaks.py) at audit scale, on generated vectors
with an exact copy and a near copy of a train file planted in test per thousand files.

  python benchmarks/bench_leaks.py [--files 1000000] [--dim 384] [-k 10]

The neighbor graph is made up (random neighbors plus the planted ones, with their true cosines), since
building it is the graph's benchmark, not this one; the files carry no content evidence (vectors only), so
this measures the vector side: split codes, hash groups, the cut-off, candidate pairs and the report.
Prints one JSON line: seconds, peak traced memory of find_leaks, leaks found and planted."""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from types import SimpleNamespace
from typing import Any

import numpy as np

from vexplore.engine.audit.data import AuditData
from vexplore.engine.audit.graph import KnnGraph
from vexplore.engine.audit.leaks import find_leaks
from vexplore.engine.labels import layout


def generated(n: int, dim: int, k: int) -> tuple[AuditData, KnnGraph, int]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    paths = [("test" if i % 5 == 0 else "train") + f"/c{i % 7}/f{i}.bin" for i in range(n)]
    hashes = [f"{i:032x}" for i in range(n)]
    planted = np.arange(0, n - 6, 1000)  # test files (i % 5 == 0), each with a copy in train at i + 1
    for i in planted:
        hashes[i] = hashes[i + 1]  # an exact copy
    x[planted] = x[planted + 1]
    near = x[planted + 1] + 0.05 * rng.standard_normal((len(planted), dim), dtype=np.float32)
    x[planted + 5] = near / np.linalg.norm(near, axis=1, keepdims=True)  # test file i + 5: a near copy
    rows = rng.integers(0, n, (n, k))
    rows[planted + 5, 0] = planted + 1
    sims = np.empty((n, k), np.float32)
    for start in range(0, n, 16_384):
        part = rows[start : start + 16_384]
        sims[start : start + 16_384] = np.einsum("ij,ikj->ik", x[start : start + 16_384], x[part])
    order = np.argsort(-sims, axis=1)
    rows, sims = np.take_along_axis(rows, order, 1), np.take_along_axis(sims, order, 1)
    ids = np.arange(n)
    model: Any = None
    data = AuditData(model, ids, x, paths, hashes, ["vector"] * n, layout(paths))
    return data, KnnGraph(ids, rows, sims, True), 2 * len(planted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    data, graph, planted = generated(args.files, args.dim, args.k)
    store: Any = SimpleNamespace(root="/nonexistent", extras=lambda file_id: (None, None))
    tracemalloc.start()
    started = time.perf_counter()
    leaks, threshold = find_leaks(store, data, graph)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    print(
        json.dumps(
            {
                "files": args.files,
                "dim": args.dim,
                "k": args.k,
                "seconds": round(seconds, 2),
                "peak_mib": round(peak / 2**20),
                "leaks": len(leaks),
                "planted": planted,
                "threshold": threshold.value if threshold else None,
            }
        )
    )


if __name__ == "__main__":
    main()
