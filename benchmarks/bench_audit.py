"""The audit's neighbor graph, exact against the hnswlib index, at several store sizes (the crossover that
sets engine/index.py's EXACT_MAX), and the whole `audit()` at one size in a fresh process.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_audit.py [--sizes 10000 20000 30000 100000]
        [--audit-n 100000] [--dim 384] [--k 10] [--exact-up-to 100000] [--dir /tmp/vexplore-bench-audit]

Each store is written by the real Store (catalog rows + vector file through commit_batch) and indexed by
the real VectorIndex (hnswlib build + ef tuning), kept in --dir between runs. The vectors are the
clustered synthetic ones of bench_stats.py (40 Gaussian clusters on a 48-dimensional subspace, an offset,
100 planted near-copy pairs); the files sit in train/ and test/ folders (4 in 5 in train) with their
cluster as the label folder, so the audit sees labels and splits.

Per size: the exact graph (every vector against every other by blocks) and the index graph (ef raised for
the graph until a sample meets recall@10 0.99, then every vector queried), each timed, and the index
graph's recall@k against the exact one over every file (a hit tied with the exact k-th counts). Above
--exact-up-to the exact graph is skipped and recall is measured on a sample of 1,000 files.

The whole audit runs as `engine.audit.run.audit()` in a fresh process (so its peak RSS is its own), with
the graph's share of the time printed beside it: the finders land in audit() as they are written, and the
script times whatever audit() does today.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_stats import synthetic

from vexplore.engine.audit import graph
from vexplore.engine.audit.run import AuditOptions, load
from vexplore.engine.index import VectorIndex
from vexplore.engine.query import open_explorer
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import Entry
from vexplore.engine.store import Store, find_store_dir

MODEL = "synthetic-384"
BATCH = 20_000

AUDIT = r"""
import json, sys, time
from pathlib import Path
from contextlib import contextmanager
from vexplore.engine.audit import graph, graphstore, run
from vexplore.engine.query import open_explorer

efs, ticks = [], []
graph_ef = graph.graph_ef
@contextmanager
def noted_ef(*args, **kwargs):
    with graph_ef(*args, **kwargs) as ef:
        efs.append(ef)
        yield ef
graph.graph_ef = graphstore.graph_ef = noted_ef
graph_s = []
neighbor_graph = run.neighbor_graph
def timed(*args, **kwargs):
    t = time.perf_counter()
    g = neighbor_graph(*args, **kwargs)
    graph_s.append((time.perf_counter() - t, g.exact))
    return g
run.neighbor_graph = timed
steps = []
t0 = time.perf_counter()
def say(message):  # the graph's progress is shown live on stderr, the other steps kept
    if message.startswith("neighbors of") and "done" in message:
        ticks.append(message)
        print(f"\r  {message} at {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr)
    else:
        steps.append((round(time.perf_counter() - t0, 2), message))
report = run.audit(open_explorer(Path(sys.argv[1])), progress=say)
wall = time.perf_counter() - t0
fields = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
how = [m.split()[-1] for _, m in steps if m.startswith("neighbor graph ")]
print(json.dumps({"wall": wall, "graph": graph_s[0][0], "exact": graph_s[0][1], "count": report.count,
                  "peak_mb": int(fields["VmHWM"].split()[0]) / 1024, "steps": steps,
                  "graph_ef": efs[0] if efs else None, "progress_events": len(ticks),
                  "how": how[0] if how else None}))
"""


def build(root: Path, n: int, dim: int) -> float | None:
    """The store of n clustered vectors at root (kept if it is there): seconds its index took to build."""
    root.mkdir(parents=True, exist_ok=True)
    with Store(root, find_store_dir(root, create=True), create=True) as store:
        model = store.model(MODEL)
        if model is not None and model.rows == n and model.dim == dim:
            return None
        vectors, norms, which = synthetic(n, dim)
        split = np.where(np.random.default_rng(1).random(n) < 0.8, "train", "test")
        paths = [
            f"{s}/c{c:02d}/f{i:07d}.txt" for i, (s, c) in enumerate(zip(split, which.tolist(), strict=True))
        ]
        store.sync_files([Entry(p, p.encode(), "text", 100, 0) for p in paths], {})
        model = store.ensure_model(
            MODEL, "synthetic", "none", ("text",), dim, False, {"source": "bench_audit"}
        )
        files = store.files()
        for start in range(0, n, BATCH):
            stop = min(start + BATCH, n)
            batch = [EmbeddedFile(files[paths[i]], vectors[i], float(norms[i])) for i in range(start, stop)]
            model = store.commit_batch(model, batch)
        t = time.perf_counter()
        index = VectorIndex(store, model)
        index.build()
        index.save()
        return time.perf_counter() - t


def recall(approx: graph.KnnGraph, rows: np.ndarray, truth: np.ndarray, kth: np.ndarray) -> float:
    """Recall@k of approx's rows (positions) against exact truth rows; ties with the exact k-th count."""
    got, sims = approx.rows[rows], approx.sims[rows]
    found = (got[:, :, None] == truth[:, None, :]).any(axis=2) | (sims >= kth[:, None] - 1e-5)
    return float(found.mean())


def measure(root: Path, n: int, k: int, exact_up_to: int) -> dict:
    """Exact and index graph of one store: seconds, the ef the graph used, recall@k of the index graph."""
    explorer = open_explorer(root)
    t = time.perf_counter()
    data = load(explorer, MODEL, AuditOptions(k=k))
    out: dict = {"n": n, "load_s": round(time.perf_counter() - t, 2)}
    t = time.perf_counter()
    index = explorer.index(data.model)
    out["index_open_s"] = round(time.perf_counter() - t, 2)
    tuned = index.ef
    t = time.perf_counter()
    with graph.graph_ef(index, data.ids, data.x, k) as ef:
        out["ef_pick_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        approx = graph.knn_graph(data.ids, data.x, k, index, exact_max=0)
        out["index_graph_s"] = round(time.perf_counter() - t + out["ef_pick_s"], 2)
    out.update(index_ef=tuned, graph_ef=ef)
    if n <= exact_up_to:
        t = time.perf_counter()
        exact = graph.knn_graph(data.ids, data.x, k)
        out["exact_graph_s"] = round(time.perf_counter() - t, 2)
        every = np.arange(n)
        out["recall"] = round(recall(approx, every, exact.rows, exact.sims[:, -1]), 5)
        out["recall_over"] = "every file"
    else:
        pick = np.sort(np.random.default_rng(2).choice(n, 1000, replace=False))
        truth, sims = graph.exact_knn(data.x, k, queries=pick)
        out["exact_graph_s"] = None
        out["recall"] = round(recall(approx, pick, truth, sims[:, -1]), 5)
        out["recall_over"] = "1,000 files"
    return out


def whole_audit(root: Path) -> dict:
    """`audit()` in a fresh process: wall seconds, the graph's seconds, peak RSS."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, str(root)], stdout=subprocess.PIPE, text=True, check=True, env=env
    )
    print(file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def change_share(source: Path, target: Path, share: float) -> dict:
    """A copy of the store at source with `share` of its files changed as an index run would leave it: a
    third edited (a new vector), a third removed, a third added; the index updated and saved as the
    indexer does (add, mark deleted, retune once enough changed)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    rng = np.random.default_rng(4)
    with Store(target, find_store_dir(target), create=True) as store:
        model = store.model(MODEL)
        assert model is not None
        index = VectorIndex(store, model).open(persist=False)
        ids, rows = store.embedded(model)
        paths = store.paths_by_id(ids)
        n, each = len(ids), max(1, int(len(ids) * share / 3))
        pick = rng.choice(n, 3 * each, replace=False)
        edited, removed, like = pick[:each], pick[each : 2 * each], pick[2 * each :]
        vectors = np.asarray(store.vectors(model)[rows[np.r_[edited, like]]])
        vectors = vectors + 0.05 * rng.normal(size=vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        gone = {paths[int(ids[i])] for i in removed}
        added = [f"train/c00/new{i:07d}.txt" for i in range(each)]
        keep = [p for p in paths.values() if p not in gone] + added
        gone_ids, _, _ = store.sync_files([Entry(p, p.encode(), "text", 100, 0) for p in keep], {})
        files = store.files()
        names = [paths[int(ids[i])] for i in edited] + added
        batch = [EmbeddedFile(files[p], v, 1.0) for p, v in zip(names, vectors, strict=True)]
        model = store.commit_batch(store.model(MODEL) or model, batch)
        index.remove(gone_ids)
        index.add(np.array([files[p].id for p in names]), vectors)
        if index.tuning_stale():
            index.tune()
        index.save()
    return {"edited": each, "removed": each, "added": each, "of": n}


def cached_and_incremental(root: Path, first: dict, share: float) -> dict:
    """The audit again with the graph the first run saved, then on a copy with `share` of files changed."""
    second = whole_audit(root)
    changed = change_share(root, root.with_name(root.name + "-changed"), share)
    third = whole_audit(root.with_name(root.name + "-changed"))
    for name, run in (("first", first), ("cached", second), (f"{share:.0%} changed", third)):
        ef = "" if run["graph_ef"] is None else f", ef {run['graph_ef']}"
        print(
            f"audit() {name}: {run['wall']:.1f} s (graph {run['graph']:.2f} s, {run['how']}{ef}), "
            f"peak RSS {run['peak_mb']:.0f} MB"
        )
    print(f"changed: {json.dumps(changed)}")
    return {
        "cached": [second["wall"], second["graph"], second["how"]],
        "changed": [third["wall"], third["graph"], third["how"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 20_000, 30_000, 100_000])
    ap.add_argument("--audit-n", type=int, default=100_000, help="the size the whole audit runs at (0: none)")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--exact-up-to", type=int, default=100_000, help="largest size the exact graph runs at")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-audit"))
    ap.add_argument(
        "--changed",
        type=float,
        default=0.01,
        help="after the audit: again (graph saved), then this share changed (0: neither)",
    )
    args = ap.parse_args()
    sizes = sorted(set(args.sizes) | ({args.audit_n} if args.audit_n else set()))
    print(f"$ {' '.join(sys.argv)}")
    for n in sizes:
        built = build(args.dir / f"store-{n}x{args.dim}", n, args.dim)
        if built is not None:
            print(f"built the {n:,}-vector store's index in {built:.1f} s", flush=True)
    print(
        f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores; "
        f"EXACT_MAX {graph.EXACT_MAX:,} (wall times rise with the machine's other work)",
        flush=True,
    )
    rows = []
    for n in args.sizes:
        row = measure(args.dir / f"store-{n}x{args.dim}", n, args.k, args.exact_up_to)
        rows.append(row)
        print("  " + json.dumps(row), flush=True)
    result: dict = {"graph": {r["n"]: [r["exact_graph_s"], r["index_graph_s"], r["recall"]] for r in rows}}
    if args.audit_n:
        for saved in (args.dir / f"store-{args.audit_n}x{args.dim}").glob("**/graph.npz"):
            saved.unlink()  # the first run builds the graph from nothing
        audit = whole_audit(args.dir / f"store-{args.audit_n}x{args.dim}")
        how = "exact" if audit["exact"] else f"index at ef {audit['graph_ef']}"
        print(
            f"audit() of {audit['count']:,} × {args.dim} in a fresh process: {audit['wall']:.1f} s "
            f"(graph {audit['graph']:.1f} s, {how}"
            f", {audit['progress_events']} progress events), "
            f"peak RSS {audit['peak_mb']:.0f} MB; steps {audit['steps']}"
        )
        result["audit"] = {k: audit[k] for k in ("count", "wall", "graph", "exact", "graph_ef", "peak_mb")}
        if args.changed:
            result.update(
                cached_and_incremental(args.dir / f"store-{args.audit_n}x{args.dim}", audit, args.changed)
            )
    print(f"load average after {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
