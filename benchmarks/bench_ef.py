"""How the index's ef is chosen against what it delivers: recall@10 on held-out queries (against exact
search over every vector) and the cost of a single query, up the ef ladder, and the ef each tuning rule
picks from its 200-query sample (the old one: sample recall ≥ 0.98; today's, engine/index.py: sample
recall less one standard error ≥ 0.99).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_ef.py
        [--store /tmp/vexplore-bench-audit/store-100000x384] [--queries 1000] [--timed 1000]

The store is one bench_audit.py wrote (clustered 384-d vectors, index built by VectorIndex; built here
the same way when it is not there yet); it is only read. Held-out queries are files the tuning sample
did not draw; each query's own file is left out of its hits, and a hit tied with the exact 10th cosine
counts as found (as the tuning scores it)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_audit import build

from vexplore.engine.audit.graph import exact_knn, index_knn
from vexplore.engine.index import EF_LADDER, TIE, VectorIndex
from vexplore.engine.store import Store, find_store_dir

K = 10


def rule_picks(index: VectorIndex) -> dict[str, int]:
    """The ef the old and today's rule take from the tuning's own sample (200 queries, seed 0)."""
    queries, truth, kth, kk = index.probe(200, K, seed=0)
    old = new = EF_LADDER[-1]
    for ef in reversed(EF_LADDER):
        r = index.recall_at(ef, queries, truth, kth, kk)
        if r >= 0.98:
            old = ef
        if r - np.sqrt(r * (1 - r) / (len(queries) * kk)) >= 0.99:
            new = ef
    return {"old (0.98)": old, "new (0.99 less 1 SE)": new}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("/tmp/vexplore-bench-audit/store-100000x384"))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--timed", type=int, default=1000)
    args = ap.parse_args()
    if not (args.store / ".vexplore").exists():
        print(f"building the 100k × 384 store of bench_audit.py at {args.store}", flush=True)
        build(args.store, 100_000, 384)
    with Store(args.store, find_store_dir(args.store)) as store:
        model = store.models()[0]
        index = VectorIndex(store, model).open(persist=False)
        assert index.hnsw is not None
        ids, rows = store.embedded(model)
        x = np.ascontiguousarray(store.vectors(model)[rows])
        n = len(ids)
        tuned = set(np.random.default_rng(0).choice(n, 200, replace=False).tolist())
        pool = np.array(
            [i for i in np.random.default_rng(9).permutation(n)[: args.queries + 200] if i not in tuned]
        )
        pick = np.sort(pool[: args.queries])
        truth, sims = exact_knn(x, K, queries=pick)
        print(
            f"$ bench_ef.py --store {args.store} ({n:,} × {x.shape[1]}, M {index.hnsw.M}); "
            f"index's ef {index.ef}"
        )
        rows_out = []
        for ef in EF_LADDER[:9]:
            index.ef = ef
            got, got_sims = index_knn(index, ids, x, K, queries=pick)
            found = (got[:, :, None] == truth[:, None, :]).any(axis=2) | (got_sims >= sims[:, -1:] - TIE)
            index.hnsw.set_num_threads(1)
            index.hnsw.set_ef(ef)
            t = time.perf_counter()
            for i in pick[: args.timed]:
                index.hnsw.knn_query(x[i : i + 1], k=K + 1)
            us = (time.perf_counter() - t) / min(args.timed, len(pick)) * 1e6
            rows_out.append({"ef": ef, "recall@10": round(float(found.mean()), 4), "us_per_query": round(us)})
            print("  " + json.dumps(rows_out[-1]), flush=True)
        picks = rule_picks(index)
        for rule, ef in picks.items():
            at = next(r for r in rows_out if r["ef"] == ef) if ef in EF_LADDER[:9] else None
            print(
                f"  rule {rule}: ef {ef} → held-out recall@10 {at and at['recall@10']}, "
                f"{at and at['us_per_query']} µs a query"
            )
        print(json.dumps({"n": n, "curve": rows_out, "picks": picks}))


if __name__ == "__main__":
    main()
