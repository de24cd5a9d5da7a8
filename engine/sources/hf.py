"""Hugging Face datasets: a folder written by `save_to_disk` (one Dataset, or a DatasetDict whose split
`table` picks), or a dataset's parquet files in the local hub cache (`hf:owner/name`, resolved offline
from HF_HUB_CACHE / HF_HOME, or the `datasets--owner--name` folder itself).

Both stream Arrow record batches (a saved dataset is memory-mapped, a cached parquet file is read a
batch at a time), and a ClassLabel column gives its class names rather than their numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..extras import require
from .base import Batch, Columns, SourceInfo, VectorSource

PREFIX = "hf:"
SHARD = re.compile(r"^(?P<split>[A-Za-z0-9_.]+?)-\d{5}-of-\d{5}")


def hub_cache() -> Path:
    """Where huggingface_hub keeps downloads, from the same variables it reads."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return xdg / "huggingface" / "hub"


def _is_saved(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def _is_cached_repo(path: Path) -> bool:
    return path.name.startswith("datasets--") and (path / "snapshots").is_dir()


def _choose(names: list[str], table: str | None, what: str, where: str) -> str:
    """The one the user named, or the only one; else one line listing them."""
    if table is not None:
        if table not in names:
            raise UserError(f"{where} has no {what} {table!r}; its {what}s: {', '.join(names)} (--table)")
        return table
    if len(names) == 1:
        return names[0]
    raise UserError(f"{where} holds several {what}s ({', '.join(names)}): pick one with --table")


def _snapshot(repo: Path) -> Path:
    """The revision refs/main points at, else the newest snapshot."""
    ref = repo / "refs" / "main"
    if ref.is_file() and (repo / "snapshots" / ref.read_text().strip()).is_dir():
        return repo / "snapshots" / ref.read_text().strip()
    snaps = sorted((p for p in (repo / "snapshots").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not snaps:
        raise UserError(f"{repo} has no downloaded snapshot")
    return snaps[-1]


def _split_of(rel: Path) -> tuple[str, str]:
    """(config, split): data/train-00000-of-00002.parquet → ("", "train"); a file in a split folder,
    default/train/0000.parquet → ("default", "train")."""
    match = SHARD.match(rel.name)
    split = match.group("split") if match else rel.parent.name or rel.stem
    return "/".join(p for p in rel.parent.parts if p not in ("data", split)), split


def cached_splits(snapshot: Path) -> dict[str, list[Path]]:
    """The parquet files of each split, named `split`, or `config/split` when there are several configs."""
    found = [(_split_of(path.relative_to(snapshot)), path) for path in sorted(snapshot.rglob("*.parquet"))]
    several = len({config for (config, _), _ in found}) > 1
    splits: dict[str, list[Path]] = {}
    for (config, split), path in found:
        splits.setdefault(f"{config}/{split}" if several and config else split, []).append(path)
    return splits


class HFSource(VectorSource):
    """A saved dataset (`load_from_disk`) or the hub cache's parquet files of one dataset."""

    kind = "hf"

    def __init__(self, location: str, columns: Columns, table: str | None = None):
        self.location, self.columns, self.table = location, columns, table
        self.datasets = require("datasets", "hf", "A Hugging Face dataset")
        self._dataset: Any = None  # a saved dataset, memory-mapped
        self._files: list[Path] = []  # or the cached parquet files of one split
        self._fingerprint = ""
        path = self._path()
        if _is_saved(path):
            self._open_saved(path)
        else:
            self._open_cached(path)
        self._resolve()

    @classmethod
    def sniff(cls, location: str) -> bool:
        if location.startswith(PREFIX):
            return True
        path = Path(location).expanduser()
        return path.is_dir() and (_is_saved(path) or _is_cached_repo(path))

    def _path(self) -> Path:
        if self.location.startswith(PREFIX):
            repo_id = self.location[len(PREFIX) :].strip("/")
            if not repo_id or repo_id.count("/") > 1:
                raise UserError(f"{self.location!r}: write a dataset as hf:owner/name")
            path = hub_cache() / f"datasets--{repo_id.replace('/', '--')}"
            if not path.is_dir():
                raise UserError(
                    f"{repo_id} is not in the Hugging Face cache ({hub_cache()}); download it first "
                    f"(hf download --repo-type dataset {repo_id}) or set HF_HUB_CACHE"
                )
            return path
        path = Path(self.location).expanduser()
        if not path.exists():
            raise UserError(f"{self.location}: no such file or folder")
        if not (_is_saved(path) or _is_cached_repo(path)):
            raise UserError(
                f"{self.location} is neither a dataset saved with save_to_disk nor a datasets--owner--name "
                "folder of the Hugging Face cache"
            )
        return path

    def _open_saved(self, path: Path) -> None:
        if (path / "dataset_dict.json").is_file():
            try:
                splits = json.loads((path / "dataset_dict.json").read_text()).get("splits") or []
            except (OSError, ValueError, AttributeError) as exc:
                raise UserError(f"cannot read {path / 'dataset_dict.json'}: {exc}") from exc
            self.table = _choose(list(splits), self.table, "split", self.location)
            path = path / self.table
        elif self.table is not None:
            raise UserError(f"{self.location} is a single dataset with no splits: drop --table")
        try:
            self._dataset = self.datasets.load_from_disk(str(path))
        except (OSError, ValueError, KeyError, FileNotFoundError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"cannot read the dataset in {path}: {first}") from exc
        self._features = self._dataset.features
        self._schema = self._dataset.data.schema
        state = json.loads((path / "state.json").read_text())
        files = [path / f["filename"] for f in state.get("_data_files", [])]
        stamp = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
        digest = hashlib.blake2b(json.dumps(stamp).encode(), digest_size=8).hexdigest()
        self._fingerprint = f"{state.get('_fingerprint', '')}:{digest}"

    def _open_cached(self, repo: Path) -> None:
        import pyarrow.parquet as pq

        snapshot = _snapshot(repo)
        splits = cached_splits(snapshot)
        if not splits:
            raise UserError(f"{repo} holds no parquet files (only a dataset's parquet files can be read)")
        self.table = _choose(sorted(splits), self.table, "split", self.location)
        self._files = splits[self.table]
        try:
            self._schema = pq.read_schema(self._files[0])
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {self._files[0]}: {exc}") from exc
        self._features = self.datasets.Features.from_arrow_schema(self._schema)
        blobs = [(str(f.relative_to(snapshot)), f.resolve().name, f.stat().st_size) for f in self._files]
        digest = hashlib.blake2b(json.dumps(blobs).encode(), digest_size=12).hexdigest()
        self._fingerprint = f"{snapshot.name}:{digest}"

    def _where(self) -> str:
        return self.location if self.table is None else f"{self.location} (split {self.table})"

    def _resolve(self) -> None:
        from .arrow_rows import fixed_dim, list_columns, vector_columns
        from .fields import resolve

        names = list(self._schema.names)
        candidates, allowed = vector_columns(self._schema), list_columns(self._schema)
        self.parts = resolve(self.columns, names, candidates, self._where(), allowed)
        self._dim = fixed_dim(self._schema, self.parts.vector)
        label = self._features.get(self.parts.label) if self.parts.label else None
        self._label_names = label.int2str if isinstance(label, self.datasets.ClassLabel) else None

    def _rows(self) -> int:
        if self._dataset is not None:
            return int(self._dataset.num_rows)
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(f).metadata.num_rows for f in self._files)

    def _first_dim(self) -> int | None:
        """A list column's width, from its first row (a saved dataset reads it from the memory map)."""
        if self._dim is not None:
            return self._dim
        first = next(self._chunks(1), None)
        if first is None or first.num_rows == 0:
            return None
        value = first.column(self.parts.vector)[0].as_py()
        return None if value is None else len(value)

    def describe(self) -> SourceInfo:
        where = self.location if self.table is None else f"{self.location}#{self.table}"
        self._dim = self._first_dim()
        return SourceInfo(
            kind=self.kind,
            location=where,
            rows=self._rows(),
            dim=self._dim,
            columns=list(self._schema.names),
            fingerprint=self._fingerprint,
        )

    def _chunks(self, rows: int) -> Iterator[Any]:
        wanted = self.parts.names()
        if self._dataset is not None:
            yield from self._dataset.select_columns(wanted).with_format("arrow").iter(batch_size=rows)
            return
        import pyarrow.parquet as pq

        for path in self._files:
            try:
                yield from pq.ParquetFile(path).iter_batches(batch_size=rows, columns=wanted)
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                raise UserError(f"cannot read {path}: {exc}") from exc

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        from .arrow_rows import rebatch

        self._dim = self._first_dim()  # the first row's width holds for all, whether or not describe ran
        yield from rebatch(self._chunks(rows), self.parts, rows, self._dim, self._label_names)
