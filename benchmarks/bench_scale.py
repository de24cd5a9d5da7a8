"""A million vectors through the real store and index: build time on all cores, neighbor-query latency at
the ef the index tuned itself, recall@10 measured against exact search, the speed-up over exact numpy
search, and resident memory of a fresh process that browses the store the way `vexplore neighbors` and
the TUI do.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_scale.py [--n 1000000] [--dim 384]
        [--dir /tmp/vexplore-bench-scale] [--queries 1000] [--recall-queries 500] [--exact-queries 20]
        [--rebuild]

The vectors are synthetic and clustered (40 Gaussian clusters on a 48-dimensional subspace plus an
offset, as in bench_stats.py), written by `Store.commit_batch` and indexed by `VectorIndex.build` (which
tunes ef to the recall target on its own sample). The store is kept in --dir between runs, because the
hnswlib build at 1M takes many minutes on two cores: a run that finds it prints the build figures
recorded when it was made (and says so). --rebuild makes it again.

Measured:
- query latency: single-query `VectorIndex.knn` (p50/p99) and `Explorer.neighbors` end to end (SQLite
  look-ups included), for stored files picked at random;
- recall@10 of the index at its tuned ef against exact top-10 over every vector (other queries than the
  tuning sample; a hit tied with the exact 10th within 1e-5 counts, as the index's own tuning does);
- exact numpy search with every vector in RAM (matrix-vector product + argpartition), one query at a
  time: the obvious alternative, timed on the same machine in the same run;
- a fresh process that opens the store and index and runs neighbor queries: its resident memory
  (VmRSS, and the peak VmHWM) and its first query (which loads the index) — the browsing footprint;
- the real explorer in a real terminal (tmux): `vexplore ROOT`, browsed and filtered by name, and the
  resident memory of its whole process tree (the goal, 2.2 GB, is for this figure).
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

from vexplore.engine.index import TIE, VectorIndex, normalise
from vexplore.engine.query import open_explorer
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import Entry
from vexplore.engine.store import FileRow, Store, find_store_dir

MODEL = "synthetic"
BATCH = 20_000
K = 10

BROWSER = r"""
import json, sys, time
from pathlib import Path
from vexplore.engine.query import open_explorer

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}

paths = json.loads(sys.stdin.read())
explorer = open_explorer(Path(sys.argv[1]))
before = status()
t = time.perf_counter()
explorer.neighbors(paths[0], k=10)
first = time.perf_counter() - t
latencies = []
for path in paths[1:]:
    t = time.perf_counter()
    explorer.neighbors(path, k=10)
    latencies.append(time.perf_counter() - t)
after = status()
t = time.perf_counter()
listing, states = explorer.store.file_table(), explorer.store.file_states()  # what the TUI's file list holds
listed = time.perf_counter() - t
print(json.dumps({"before_index_mb": before, "after_mb": after, "first_query_s": first,
                  "latencies": latencies, "with_list_mb": status(), "list_s": listed,
                  "listed": len(listing)}))
"""


def tree_rss_mb(pid: int) -> dict[int, float]:
    """VmRSS (MB) of pid and of every process below it."""
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            # children are listed under the thread that started them (the explorer's query process
            # is started from a worker thread)
            children = [
                c
                for task in Path(f"/proc/{p}/task").iterdir()
                for c in (task / "children").read_text().split()
            ]
        except OSError:
            continue
        out[p] = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
        todo += [int(c) for c in children]
    return out


def explorer_footprint(root: Path, n: int, picks: list[str]) -> dict:
    """The real `vexplore ROOT` in a real terminal (tmux, 160×48): wait for the first neighbors, walk down
    the list, filter by a name, jump to a few files through the filter, then read the resident memory of
    the app and every process it started."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.tmux import Tmux

    exe = Path(sys.executable).with_name("vexplore")
    tmux = Tmux(f"vexplore-bench-{os.getpid()}")
    started = time.perf_counter()
    tmux.run(
        "new-session", "-d", "-s", "ui", "-x", "160", "-y", "48", "-e", "HF_HUB_OFFLINE=1", f"{exe} {root}"
    )
    try:
        tmux.wait_for(f"Files {n}/{n}", "near ", "·  0.", timeout=120)  # every file listed, scored neighbors
        first = time.perf_counter() - started
        for _ in range(30):
            tmux.keys("Down")
            time.sleep(0.05)
        for path in picks[:5]:
            tmux.keys("f")
            time.sleep(0.3)
            tmux.keys("C-u")
            tmux.keys("-l", path)
            tmux.keys("Enter")
            tmux.wait_for(f"near {path}", "·  0.", timeout=60)
        rss = tree_rss_mb(tmux.pane_pid())
        tmux.keys("q")
    finally:
        tmux.kill()
    return {
        "first_neighbors_s": round(first, 2),
        "processes": len(rss),
        "rss_mb": round(sum(rss.values())),
        "per_process_mb": [round(v) for v in rss.values()],
    }


def file_name(i: int) -> str:
    return f"d{i // 1000:04d}/f{i:07d}.txt"


def clustered(n: int, dim: int, seed: int = 0, chunk: int = 100_000):
    """Unit vectors in chunks: 40 Gaussian clusters on a 48-d subspace, a shared offset, a little noise."""
    rng = np.random.default_rng(seed)
    latent, clusters = 48, 40
    basis = rng.normal(size=(latent, dim)).astype(np.float32) / np.sqrt(latent)
    centres = rng.normal(size=(clusters, latent)).astype(np.float32) * 1.5
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z = centres[rng.integers(0, clusters, m)] + rng.standard_normal((m, latent), dtype=np.float32)
        raw = z @ basis + 0.05 * rng.standard_normal((m, dim), dtype=np.float32) + 0.4
        yield normalise(raw)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def build(root: Path, n: int, dim: int) -> dict:
    """Write the store and build its index; returns the figures, also kept in build.json beside it."""
    root.mkdir(parents=True, exist_ok=True)
    store_dir = find_store_dir(root, create=True)
    load = os.getloadavg()[0]
    with Store(root, store_dir, create=True) as store:
        t = time.perf_counter()
        store.sync_files([Entry(file_name(i), file_name(i).encode(), "text", 100, 0) for i in range(n)], {})
        ids = np.array([r[0] for r in store.db.execute("SELECT id FROM files ORDER BY path")], dtype=np.int64)
        model = store.ensure_model(
            MODEL, "synthetic", "none", ("text",), dim, False, {"source": "bench_scale"}
        )
        at = 0
        for block in clustered(n, dim):
            for start in range(0, len(block), BATCH):
                part = block[start : start + BATCH]
                results = [
                    EmbeddedFile(FileRow(int(ids[at + j]), "", b"", "text", 100, 0, None, {}), v, 1.0)
                    for j, v in enumerate(part)
                ]
                model = store.commit_batch(model, results)
                at += len(part)
        written = time.perf_counter() - t
        print(f"wrote {n:,} × {dim} vectors and catalog rows in {written:.1f} s", flush=True)
        index = VectorIndex(store, model)
        t, cpu = time.perf_counter(), cpu_seconds()
        index.build()  # add on all cores, then tune ef against exact search on a sample
        built, built_cpu = time.perf_counter() - t, cpu_seconds() - cpu
        t = time.perf_counter()
        index.save()
        saved = time.perf_counter() - t
        t = time.perf_counter()
        index.tune()  # again, only to report how much of the build was tuning (same sample, same answer)
        tuned = time.perf_counter() - t
        figures = {
            "n": n,
            "dim": dim,
            "write_s": round(written, 1),
            "build_s": round(built, 1),
            "build_cpu_s": round(built_cpu, 1),
            "of_which_tune_s": round(tuned, 1),
            "save_s": round(saved, 1),
            "ef_construction": index.hnsw.ef_construction,
            "M": index.hnsw.M,
            "ef": index.ef,
            "tune_recall": index.recall,
            "cores": os.cpu_count(),
            "load_before": round(load, 1),
            "index_mb": round(index.path.stat().st_size / 2**20),
            "when": time.strftime("%Y-%m-%d %H:%M"),
        }
    (root / "build.json").write_text(json.dumps(figures))
    return figures


def percentiles(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1e3), float(np.percentile(seconds, 99) * 1e3)


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k row numbers and cosines per query, best first (queries in blocks: bounded memory)."""
    rows, sims = [], []
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ matrix.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_s = np.take_along_axis(scores, top, 1)
        order = np.argsort(-top_s, axis=1)
        rows.append(np.take_along_axis(top, order, 1))
        sims.append(np.take_along_axis(top_s, order, 1))
    return np.concatenate(rows), np.concatenate(sims)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-scale"))
    ap.add_argument("--queries", type=int, default=1000, help="single queries timed for p50/p99")
    ap.add_argument("--recall-queries", type=int, default=500, help="queries scored against exact search")
    ap.add_argument(
        "--exact-queries", type=int, default=20, help="single queries timed with exact numpy search"
    )
    ap.add_argument("--rebuild", action="store_true", help="write the store and build the index again")
    return ap.parse_args()


def build_or_reuse(root: Path, args: argparse.Namespace) -> tuple[dict, str]:
    """The build figures: measured now, or read from the store built by an earlier run."""
    record = root / "build.json"
    if args.rebuild or not record.exists():
        if root.exists():
            import shutil

            shutil.rmtree(root)
        return build(root, args.n, args.dim), ""
    figures = json.loads(record.read_text())
    return figures, f" (cached: built {figures['when']} in {record.parent}; --rebuild to measure again)"


def query_latencies(
    explorer, index, matrix: np.ndarray, picks: np.ndarray, exact_queries: int
) -> dict[str, float]:
    """One query at a time, as the UI asks: the index alone, the explorer end to end, exact numpy search."""
    knn_lat, nb_lat, exact_lat = [], [], []
    for i in picks:
        t = time.perf_counter()
        index.knn(matrix[i], K + 1)
        knn_lat.append(time.perf_counter() - t)
    for i in picks:
        t = time.perf_counter()
        explorer.neighbors(file_name(int(i)), k=K)
        nb_lat.append(time.perf_counter() - t)
    for i in picks[:exact_queries]:
        t = time.perf_counter()
        scores = matrix @ matrix[i]
        top = np.argpartition(-scores, K)[: K + 1]
        top[np.argsort(-scores[top])]
        exact_lat.append(time.perf_counter() - t)
    knn_p50, knn_p99 = percentiles(knn_lat)
    nb_p50, nb_p99 = percentiles(nb_lat)
    exact_p50, _ = percentiles(exact_lat)
    return {
        "knn_p50": knn_p50,
        "knn_p99": knn_p99,
        "nb_p50": nb_p50,
        "nb_p99": nb_p99,
        "exact_p50": exact_p50,
    }


def recall_at_k(index, matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> tuple[float, float]:
    """Recall@K at the tuned ef against exact top-K over every vector, and the exact batch's seconds."""
    got, got_sims = index.knn(queries, K)
    t = time.perf_counter()
    exact_rows, exact_sims = exact_top(matrix, queries, K)
    exact_batch = time.perf_counter() - t
    truth = ids[exact_rows]
    kth = exact_sims[:, -1:]
    pairs = zip(got.tolist(), truth.tolist(), strict=True)
    found = np.array([[g in set(row) for g in grow] for grow, row in pairs])
    return float((found | (got_sims >= kth - TIE)).mean()), exact_batch


def browsing_footprint(root: Path, picks: np.ndarray) -> dict:
    """A fresh process that opens the store and browses 200 files, as the query process does."""
    out = subprocess.run(
        [sys.executable, "-c", BROWSER, str(root)],
        capture_output=True,
        text=True,
        check=True,
        input=json.dumps([file_name(int(i)) for i in picks[:200]]),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_build(figures: dict, cached: str) -> None:
    print(
        f"build: {figures['build_s']} s wall, {figures['build_cpu_s']} s CPU on {figures['cores']} cores "
        f"(load {figures['load_before']} before), of which ef tuning {figures['of_which_tune_s']} s; "
        f"M {figures['M']}, ef_construction {figures['ef_construction']}, tuned ef {figures['ef']} "
        f"(sample recall {figures['tune_recall']}); index file {figures['index_mb']} MB{cached}",
        flush=True,
    )
    print(
        f"load average now: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores",
        flush=True,
    )


def main() -> None:
    args = parse_args()
    root = args.dir / f"store-{args.n}x{args.dim}"
    figures, cached = build_or_reuse(root, args)
    print_build(figures, cached)
    explorer = open_explorer(root)
    model = explorer.model(MODEL)
    t = time.perf_counter()
    index = explorer.index(model)
    opened = time.perf_counter() - t
    assert not index.rebuilt, "the saved index should load, not rebuild"
    rng = np.random.default_rng(12345)  # not the tuning sample's seed
    picks = rng.choice(args.n, size=args.queries + args.recall_queries, replace=False)
    matrix = np.array(explorer.store.vectors(model))  # every vector in RAM: what exact search would use
    ids = np.array([r[0] for r in explorer.store.db.execute("SELECT id FROM files ORDER BY path")])
    lat = query_latencies(explorer, index, matrix, picks[: args.queries], args.exact_queries)
    recall, exact_batch = recall_at_k(index, matrix, ids, matrix[picks[args.queries :]])
    del matrix
    child = browsing_footprint(root, picks)
    child_p50, _ = percentiles(child["latencies"])
    app = explorer_footprint(root, args.n, [file_name(int(i)) for i in picks[:5]])
    after, before = child["after_mb"], child["before_index_mb"]
    knn_p50, exact_p50 = lat["knn_p50"], lat["exact_p50"]

    print(f"index open (load of the saved file + checks): {opened:.2f} s; ef {index.ef}")
    print(
        f"VectorIndex.knn, one query: p50 {knn_p50:.3f} ms, p99 {lat['knn_p99']:.3f} ms over {args.queries}"
    )
    print(f"Explorer.neighbors end to end: p50 {lat['nb_p50']:.3f} ms, p99 {lat['nb_p99']:.3f} ms")
    print(
        f"recall@10 at ef {index.ef} vs exact over all {args.n:,}: {recall:.4f} "
        f"({args.recall_queries} queries; "
        f"the exact batch took {exact_batch:.1f} s)"
    )
    print(
        f"exact numpy search, one query, vectors in RAM: p50 {exact_p50:.1f} ms over {args.exact_queries} → "
        f"index is {exact_p50 / knn_p50:.0f}× faster (knn p50)"
    )
    print(
        f"fresh browsing process: first neighbors (opens the index) {child['first_query_s']:.2f} s, then p50 "
        f"{child_p50:.3f} ms; RSS {after['VmRSS']:.0f} MB (anon {after['RssAnon']:.0f}, file-backed "
        f"{after['RssFile']:.0f}), peak {after['VmHWM']:.0f} MB; {before['VmRSS']:.0f} MB before the index; "
        f"with the TUI's file list of every file also read ({child['list_s']:.1f} s): RSS "
        f"{child['with_list_mb']['VmRSS']:.0f} MB, peak {child['with_list_mb']['VmHWM']:.0f} MB"
    )
    print(
        f"the real explorer (`vexplore ROOT` in tmux, 160×48): "
        f"first neighbors on screen {app['first_neighbors_s']} s "
        f"after start; after walking the list and five filtered jumps, RSS {app['rss_mb']} MB over "
        f"{app['processes']} process(es) {app['per_process_mb']}"
    )
    result = {
        "benchmark": "scale",
        "n": args.n,
        "dim": args.dim,
        "build_s": figures["build_s"],
        "build_cpu_s": figures["build_cpu_s"],
        "build_cached": bool(cached),
        "ef": index.ef,
        "ef_construction": figures["ef_construction"],
        "recall_at_10": round(recall, 4),
        "knn_p50_ms": round(knn_p50, 3),
        "knn_p99_ms": round(lat["knn_p99"], 3),
        "neighbors_p50_ms": round(lat["nb_p50"], 3),
        "neighbors_p99_ms": round(lat["nb_p99"], 3),
        "exact_p50_ms": round(exact_p50, 1),
        "speedup_vs_exact": round(exact_p50 / knn_p50),
        "index_open_s": round(opened, 2),
        "browse_rss_mb": round(after["VmRSS"]),
        "browse_peak_mb": round(after["VmHWM"]),
        "browse_with_list_mb": round(child["with_list_mb"]["VmRSS"]),
        "explorer_rss_mb": app["rss_mb"],
        "explorer_first_neighbors_s": app["first_neighbors_s"],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
