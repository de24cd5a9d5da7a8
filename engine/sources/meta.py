"""The metadata file beside an array of vectors (`--meta`): CSV, JSON lines or parquet, one row per
vector, or the JSON sidecar vexplore's own `export --format npy` writes. Read whole: it holds ids,
labels and texts, small beside the vectors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..extras import require


@dataclass
class Meta:
    """Columns of a metadata file by name, each one value per vector; `model` from an export sidecar."""

    columns: dict[str, list] = field(default_factory=dict)
    rows: int = 0
    model: str | None = None


def read_meta(path: Path) -> Meta:
    """The metadata file's columns; an unreadable or unknown file is one clear error."""
    if not path.is_file():
        raise UserError(f"{path}: no such metadata file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return _sidecar(path)
        if suffix in (".jsonl", ".ndjson"):
            return _json_lines(path)
        if suffix == ".csv" or suffix == ".tsv":
            pcsv = require("pyarrow.csv", "parquet", "CSV metadata")
            opts = pcsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            return _from_table(pcsv.read_csv(path, parse_options=opts))
        if suffix in (".parquet", ".pq"):
            pq = require("pyarrow.parquet", "parquet", "parquet metadata")
            return _from_table(pq.read_table(path))
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser's failure is the user's file: one line
        raise UserError(f"{path}: cannot read metadata ({type(exc).__name__}: {exc})") from exc
    raise UserError(
        f"{path}: unknown metadata format (use .csv, .tsv, .jsonl, .parquet or an export's .json)"
    )


def _from_table(table) -> Meta:
    return Meta({name: table.column(name).to_pylist() for name in table.column_names}, table.num_rows)


def _json_lines(path: Path) -> Meta:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(not isinstance(r, dict) for r in rows):
        raise UserError(f"{path}: every JSON line must be an object")
    names = list(dict.fromkeys(k for r in rows for k in r))
    return Meta({n: [r.get(n) for r in rows] for n in names}, len(rows))


def _sidecar(path: Path) -> Meta:
    """{"model", "dim", "paths"} as engine/export.py writes it; a JSON list of objects is taken too."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        if any(not isinstance(r, dict) for r in data):
            raise UserError(f"{path}: a JSON list of metadata must hold objects")
        names = list(dict.fromkeys(k for r in data for k in r))
        return Meta({n: [r.get(n) for r in data] for n in names}, len(data))
    if not isinstance(data, dict) or not isinstance(data.get("paths"), list):
        raise UserError(f'{path}: not a vexplore export sidecar (no "paths" list)')
    return Meta({"path": data["paths"]}, len(data["paths"]), data.get("model"))
