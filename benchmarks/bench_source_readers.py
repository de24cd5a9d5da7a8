"""Read an existing HF dataset, LanceDB table and Milvus Lite collection with vexplore's readers, against
the plain way each library loads the same vectors at once, in the same run: rows/s and the peak memory
each adds (each measurement in its own process, so one's peak does not hide another's).

    python benchmarks/bench_source_readers.py [--n 100000] [--dim 384] [--milvus-n 20000] [--rows 65536]

The sources are written once into --dir and kept between runs (writing them is not what is measured).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vexplore.engine.sources.base import Columns

KINDS = ("hf", "lancedb", "milvus")


def vectors(n: int, dim: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, dim)).astype(np.float32)


def build(kind: str, where: Path, n: int, dim: int) -> None:
    if where.exists():
        return
    v = vectors(n, dim)
    ids = [f"row{i}" for i in range(n)]
    if kind == "hf":
        import datasets
        import pyarrow as pa

        table = pa.table({"id": ids, "embedding": pa.FixedSizeListArray.from_arrays(v.reshape(-1), dim)})
        datasets.Dataset(table).save_to_disk(str(where))
    elif kind == "lancedb":
        import lancedb
        import pyarrow as pa

        table = pa.table({"id": ids, "vector": pa.FixedSizeListArray.from_arrays(v.reshape(-1), dim)})
        lancedb.connect(str(where)).create_table("vectors", data=table)
    else:
        from pymilvus import MilvusClient

        client = MilvusClient(uri=str(where))
        client.create_collection("vectors", dimension=dim, id_type="string", max_length=32)
        for start in range(0, n, 5000):
            rows = [{"id": ids[i], "vector": v[i].tolist()} for i in range(start, min(n, start + 5000))]
            client.insert("vectors", rows)
        client.close()


def plain(kind: str, where: Path) -> int:
    """The library's own one-shot load of every vector into numpy: the baseline."""
    if kind == "hf":
        import datasets

        ds = datasets.load_from_disk(str(where))
        return int(np.asarray(ds.with_format("numpy")["embedding"]).shape[0])
    if kind == "lancedb":
        import lancedb

        table = lancedb.connect(str(where)).open_table("vectors").to_arrow()
        return int(np.stack(table.column("vector").to_numpy(zero_copy_only=False)).shape[0])
    from pymilvus import MilvusClient

    client = MilvusClient(uri=str(where))
    client.load_collection("vectors")
    it = client.query_iterator("vectors", batch_size=16384, filter="", output_fields=["id", "vector"])
    got = []
    while page := it.next():
        got.append(np.asarray([r["vector"] for r in page], np.float32))
    it.close()
    client.close()
    return int(np.concatenate(got).shape[0])


def ours(kind: str, where: Path, rows: int) -> int:
    from vexplore.engine.sources.hf import HFSource
    from vexplore.engine.sources.lance import LanceSource
    from vexplore.engine.sources.milvus_source import MilvusSource

    reader = {"hf": HFSource, "lancedb": LanceSource, "milvus": MilvusSource}[kind]
    source = reader(str(where), Columns())
    total, checksum = 0, 0.0
    for batch in source.batches(rows):
        total += len(batch.ids)
        checksum += float(batch.vectors[:, 0].sum())  # touch the values, as the importer would
    source.close()
    return total


def measure(kind: str, way: str, where: Path, rows: int) -> dict:
    """Run in a child: seconds and the peak memory added over the start (libraries already imported)."""
    import importlib

    for module in ("datasets", "lancedb", "pymilvus", "vexplore.engine.sources.arrow_rows"):
        importlib.import_module(module)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    n = ours(kind, where, rows) if way == "ours" else plain(kind, where)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"rows": n, "seconds": round(seconds, 3), "peak_mib": round(peak / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--milvus-n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--rows", type=int, default=65536)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-sources"))
    ap.add_argument("--child", nargs=3, metavar=("KIND", "WAY", "WHERE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, way, where = args.child
        print(json.dumps(measure(kind, way, Path(where), args.rows)))
        return
    results = {}
    for kind in KINDS:
        n = args.milvus_n if kind == "milvus" else args.n
        where = args.dir / f"{kind}-{n}x{args.dim}{'.db' if kind == 'milvus' else ''}"
        where.parent.mkdir(parents=True, exist_ok=True)
        build(kind, where, n, args.dim)
        for way in ("plain", "ours"):
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--child", kind, way, str(where)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
            results[f"{kind}/{way}"] = json.loads(out.splitlines()[-1])
        mib = n * args.dim * 4 / 2**20
        p, o = results[f"{kind}/plain"], results[f"{kind}/ours"]
        print(
            f"{kind:8s} {n}x{args.dim} ({mib:.0f} MiB of vectors): plain {p['seconds']:.2f} s, "
            f"+{p['peak_mib']:.0f} MiB; ours {o['seconds']:.2f} s ({n / o['seconds']:,.0f} rows/s), "
            f"+{o['peak_mib']:.0f} MiB; time ratio ours/plain {o['seconds'] / p['seconds']:.2f}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
