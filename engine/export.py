"""Exporting one model's vectors for other tools: numpy (.npy + a JSON sidecar of paths) or parquet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import UserError
from .extras import require


def export_vectors(explorer, fmt: str, model_name: str | None, out: Path) -> tuple[int, str]:
    store = explorer.store
    model = explorer.model(model_name) if model_name else explorer.models()[0] if explorer.models() else None
    if model is None:
        raise UserError("the store holds no vectors yet: run `vexplore index` first")
    ids, rows = store.embedded(model)
    paths = store.paths_by_id(ids)
    order = sorted(range(len(ids)), key=lambda i: paths[int(ids[i])])
    vectors = np.asarray(store.vectors(model)[rows[order]] if len(order) else np.zeros((0, model.dim)), "f4")
    names = [paths[int(ids[i])] for i in order]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if fmt == "npy":
        with open(tmp, "wb") as fh:
            np.save(fh, vectors)
        os.replace(tmp, out)
        (out.with_name(out.name + ".json")).write_text(
            json.dumps({"model": model.name, "dim": model.dim, "paths": names}, ensure_ascii=False)
        )
    else:
        pa = require("pyarrow", "parquet", "parquet export")
        pq = require("pyarrow.parquet", "parquet", "parquet export")
        table = pa.table(
            {
                "path": names,
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), model.dim),
            },
            metadata={"model": model.name},
        )
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    return len(names), model.name
