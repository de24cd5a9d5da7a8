"""Milvus as the index backend: `vexplore export PATH --milvus URI` pushes a model's file vectors to a
collection, and `--backend milvus` answers neighbor and search queries from it instead of hnswlib.

The collection holds one entity per file: id (the catalog file id, primary key), path, modality, labels
(JSON) and the normalised file vector (COSINE). Exports are incremental: a small SQLite file in the
store directory remembers the fingerprint of every exported file per target (URI, collection, model),
so a re-export upserts only what changed and deletes what left. The record lives and dies with the
store; when it disagrees with the collection (a wiped store, a collection edited elsewhere) the export
re-syncs everything. URIs: `http://host:19530` (Milvus, token from MILVUS_TOKEN) or a local file path
(Milvus Lite).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .diskfull import DiskFull, is_disk_full
from .errors import UserError
from .extras import require
from .index import normalise
from .store import ModelRow, Store

if TYPE_CHECKING:
    from pymilvus import MilvusClient

CHUNK = 1000  # entities per upsert / ids per delete
MAX_PATH = 8192  # bytes of a path field; longer paths are cut (the id still names the file)
STATE_FILE = "milvus_exports.sqlite"


def _milvus_error(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc).splitlines()[0][:300]


def connect(uri: str) -> MilvusClient:
    """A MilvusClient for uri, or one clear line saying what is missing."""
    require("pymilvus", "milvus", "Milvus")
    if "://" not in uri:  # a local file is Milvus Lite, a separate package pymilvus runs it with
        require("milvus_lite", "milvus", "a Milvus Lite file")
    from pymilvus import MilvusClient

    for name in ("pymilvus", "grpc._server"):  # RPC errors become our one-line errors; Lite's server is
        logging.getLogger(name).setLevel(logging.CRITICAL)  # in-process and logs what it does not implement
    try:
        return MilvusClient(uri=uri, token=os.environ.get("MILVUS_TOKEN", ""))
    except Exception as exc:  # connection problems of any kind are one line
        hint = "" if "://" in uri else " (a Milvus Lite file can be open in one process at a time)"
        raise UserError(f"cannot open Milvus at {uri}: {_milvus_error(exc)}{hint}") from exc


def target_uri(uri: str) -> str:
    """The URI as the export record keys it: local Milvus Lite files by absolute path."""
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


def default_collection(root: Path, model: ModelRow) -> str:
    """vexplore_<folder>_<model>: letters, digits and underscores, as Milvus requires."""

    def clean(text: str) -> str:
        return re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")[:60] or "x"

    return f"vexplore_{clean(Path(root).resolve().name)}_{clean(Path(model.name).name)}"


def _check_collection(client, name: str, model: ModelRow) -> None:
    """A collection that exists must hold this model's space, or queries would mix spaces."""
    desc = client.describe_collection(name)
    dims = [int(f.get("params", {}).get("dim", 0)) for f in desc["fields"] if f["name"] == "vector"]
    owner = (desc.get("properties") or {}).get("vexplore.model")
    if not dims:
        raise UserError(f"Milvus collection {name!r} has no 'vector' field: not a vexplore collection")
    if dims[0] != model.dim or (owner is not None and owner != model.name):
        what = f"model {owner!r}" if owner else f"dim {dims[0]}"
        raise UserError(
            f"Milvus collection {name!r} holds {what}, not {model.name!r} (dim {model.dim}); "
            "pick another --collection"
        )


def _create_collection(client, name: str, model: ModelRow, root: Path) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("path", DataType.VARCHAR, max_length=MAX_PATH)
    schema.add_field("modality", DataType.VARCHAR, max_length=32)
    schema.add_field("labels", DataType.JSON)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=model.dim)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_collection(
        name,
        schema=schema,
        index_params=index,
        properties={"vexplore.model": model.name, "vexplore.root": str(Path(root).resolve())},
    )


def _count(client, name: str) -> int:
    rows = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"])


def _remote_ids(client, name: str) -> set[int]:
    it = client.query_iterator(name, batch_size=CHUNK * 4, filter="", output_fields=["id"])
    ids: set[int] = set()
    try:
        while batch := it.next():
            ids.update(int(row["id"]) for row in batch)
    finally:
        it.close()
    return ids


def _cut(path: str) -> str:
    data = path.encode("utf-8", "surrogateescape")
    return path if len(data) <= MAX_PATH else data[:MAX_PATH].decode("utf-8", "ignore")


class _ExportRecord:
    """What each target last received: file id → fingerprint, in the store directory."""

    def __init__(self, store: Store, target: str):
        self.target = target
        schema = (
            "CREATE TABLE IF NOT EXISTS exported (target TEXT NOT NULL, file_id INTEGER NOT NULL, "
            "fingerprint TEXT NOT NULL, PRIMARY KEY (target, file_id)) WITHOUT ROWID"
        )
        # A read-only store keeps no record: every export then re-syncs in full, which is still correct.
        writable = not store.readonly and os.access(store.dir, os.W_OK)
        try:
            self.db = sqlite3.connect(store.dir / STATE_FILE if writable else ":memory:", timeout=30)
            self.db.execute(schema)
        except sqlite3.Error as exc:
            if is_disk_full(exc, store.dir):
                raise DiskFull(store.dir, what="opening the Milvus export record") from exc
            raise UserError(f"cannot keep the export record in {store.dir}: {exc}") from exc
        self.dir = store.dir

    def load(self) -> dict[int, str]:
        rows = self.db.execute("SELECT file_id, fingerprint FROM exported WHERE target=?", (self.target,))
        return dict(rows.fetchall())

    def save(self, current: dict[int, str]) -> None:
        try:
            with self.db:
                self.db.execute("DELETE FROM exported WHERE target=?", (self.target,))
                self.db.executemany(
                    "INSERT INTO exported VALUES (?,?,?)",
                    ((self.target, fid, fp) for fid, fp in current.items()),
                )
        except sqlite3.Error as exc:
            if is_disk_full(exc, self.dir):  # rolled back: the next export sends this batch again
                raise DiskFull(self.dir, what="recording the Milvus export (it was sent)") from exc
            raise UserError(
                f"exported, but could not record it in {STATE_FILE} ({exc}); delete that file "
                "so the next export re-syncs in full"
            ) from exc

    def close(self) -> None:
        self.db.close()


def _entities(store: Store, model: ModelRow) -> dict[int, dict[str, Any]]:
    """Every embedded file of the model: the fields Milvus gets (vector read later, only when sent)."""
    ids, rows = store.embedded(model)
    files = {f.id: f for f in store.files().values()}
    labels: dict[int, list] = {}
    for start in range(0, len(ids), 900):  # SQLite caps the variables of one IN (...)
        labels.update(store.labels(model, ids[start : start + 900].tolist()))
    out = {}
    for fid, row in zip(ids.tolist(), rows.tolist(), strict=False):
        f = files[fid]
        lab = labels.get(fid) or []
        fingerprint = hashlib.blake2b(
            json.dumps([f.path, f.modality, f.hash, row, lab]).encode(), digest_size=12
        ).hexdigest()
        out[fid] = {"row": row, "path": f.path, "modality": f.modality, "labels": lab, "fp": fingerprint}
    return out


def export_milvus(store: Store, model: ModelRow, uri: str, collection: str | None = None) -> dict:
    """Bring a Milvus collection up to date with one model's vectors; returns what was sent."""
    client = connect(uri)
    name = collection or default_collection(store.root, model)
    record = _ExportRecord(store, f"{target_uri(uri)}\n{name}\n{model.name}")
    try:
        created = False
        try:
            if client.has_collection(name):
                _check_collection(client, name, model)
                client.load_collection(name)  # counting and listing ids are queries
            else:
                _create_collection(client, name, model, store.root)
                created = True
            entities = _entities(store, model)
            previous = {} if created else record.load()
            remote = set(previous)
            if not created and (not previous or _count(client, name) != len(previous)):
                previous, remote = {}, _remote_ids(client, name)  # out of step: re-sync everything
            send = [fid for fid, e in entities.items() if previous.get(fid) != e["fp"]]
            gone = sorted(remote - entities.keys())
            vectors = store.vectors(model)
            for start in range(0, len(send), CHUNK):
                chunk = send[start : start + CHUNK]
                vecs = normalise(np.asarray(vectors[[entities[fid]["row"] for fid in chunk]]))
                client.upsert(
                    name,
                    [
                        {
                            "id": fid,
                            "path": _cut(entities[fid]["path"]),
                            "modality": entities[fid]["modality"],
                            "labels": entities[fid]["labels"],
                            "vector": vec.tolist(),
                        }
                        for fid, vec in zip(chunk, vecs, strict=False)
                    ],
                )
            for start in range(0, len(gone), CHUNK):
                client.delete(name, ids=gone[start : start + CHUNK])
        except UserError:
            raise
        except Exception as exc:  # a failed RPC is one line; the record keeps what was sent before
            raise UserError(f"Milvus export to {name!r} failed: {_milvus_error(exc)}") from exc
        record.save({fid: e["fp"] for fid, e in entities.items()})
    finally:
        record.close()
        client.close()
    return {
        "uri": uri,
        "collection": name,
        "model": model.name,
        "vectors": len(entities),
        "upserted": len(send),
        "deleted": len(gone),
        "unchanged": len(entities) - len(send),
    }


class MilvusIndex:
    """knn over a Milvus collection, with the interface of VectorIndex that Explorer uses."""

    def __init__(self, client, collection: str, model: ModelRow):
        self.client, self.collection, self.model = client, collection, model

    def knn(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, cosine similarities), one row per query; short rows padded with id -1."""
        queries = normalise(np.atleast_2d(vectors))
        ids = np.full((len(queries), k), -1, np.int64)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        try:
            for start in range(0, len(queries), 256):
                hits = self.client.search(
                    self.collection,
                    data=queries[start : start + 256].tolist(),
                    limit=k,
                    anns_field="vector",
                    search_params={"metric_type": "COSINE"},
                    output_fields=["id"],
                )
                for row, found in enumerate(hits, start):
                    for col, hit in enumerate(found[:k]):
                        ids[row, col], scores[row, col] = int(hit["id"]), float(hit["distance"])
        except Exception as exc:
            raise UserError(f"Milvus search in {self.collection!r} failed: {_milvus_error(exc)}") from exc
        return ids, scores


class MilvusBackend:
    """Explorer's index source when queries go to Milvus: one collection per model."""

    def __init__(self, uri: str, collection: str | None = None):
        self.uri, self.collection = uri, collection
        self._client: MilvusClient | None = None
        self._indexes: dict[str, MilvusIndex] = {}

    def __getstate__(self) -> dict:
        """Pickled (to the explorer's query process) as its settings: the connection is made over there."""
        return {**self.__dict__, "_client": None, "_indexes": {}}

    def index(self, store: Store, model: ModelRow) -> MilvusIndex:
        if model.name not in self._indexes:
            if self._client is None:
                self._client = connect(self.uri)
            name = self.collection or default_collection(store.root, model)
            try:
                if not self._client.has_collection(name):
                    raise UserError(
                        f"no Milvus collection {name!r} at {self.uri}: run "
                        f"`vexplore export {store.root} --milvus {self.uri}` first"
                    )
                _check_collection(self._client, name, model)
                self._client.load_collection(name)
            except UserError:
                raise
            except Exception as exc:
                raise UserError(f"cannot query Milvus at {self.uri}: {_milvus_error(exc)}") from exc
            self._indexes[model.name] = MilvusIndex(self._client, name, model)
        return self._indexes[model.name]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
