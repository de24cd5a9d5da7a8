"""The Milvus reader on a Milvus Lite database whose collections were made by hand with MilvusClient,
with schemas vexplore did not choose (a VARCHAR primary key, two vector fields, the quick-setup one)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from tests.sourcerows import read_all
from vexplore.engine.errors import UserError
from vexplore.engine.extras import MissingExtra
from vexplore.engine.sources import milvus_source
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.milvus_source import MilvusSource

pytestmark = pytest.mark.fast

DOCS, DIM = 60, 16


def _docs(client: MilvusClient, vectors: np.ndarray) -> list[dict]:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("doc_id", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("category", DataType.VARCHAR, max_length=32)
    schema.add_field("body", DataType.VARCHAR, max_length=256)
    schema.add_field("year", DataType.INT64)
    index = client.prepare_index_params()
    index.add_index(field_name="embedding", index_type="AUTOINDEX", metric_type="L2")
    client.create_collection("docs", schema=schema, index_params=index)
    rows = [
        {
            "doc_id": f"d{i:03d}",  # primary-key order is the order rows come back in
            "embedding": vectors[i].tolist(),
            "category": ["news", "sport"][i % 2],
            "body": f"[bold]body {i}",
            "year": 2000 + i,
            "source": f"feed{i % 3}",  # a dynamic field
        }
        for i in range(DOCS)
    ]
    client.insert("docs", rows)
    return rows


def _multi(client: MilvusClient) -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("image", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("caption_vec", DataType.FLOAT_VECTOR, dim=3)
    schema.add_field("label", DataType.VARCHAR, max_length=16)
    index = client.prepare_index_params()
    for name in ("image", "caption_vec"):
        index.add_index(field_name=name, index_type="AUTOINDEX", metric_type="COSINE")
    # The property vexplore's own export writes: the model that made the vectors.
    client.create_collection(
        "multi", schema=schema, index_params=index, properties={"vexplore.model": "minilm"}
    )
    client.insert(
        "multi",
        [{"pk": i, "image": [1.0, i, 0, 0], "caption_vec": [0, 1.0, i], "label": f"l{i}"} for i in range(5)],
    )


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    """One Milvus Lite database for the module (starting one is the slow part); closed before reading,
    since a Lite database is open in one process at a time."""
    uri = str(tmp_path_factory.mktemp("milvus") / "vectors.db")
    vectors = np.random.default_rng(0).normal(size=(DOCS, DIM)).astype(np.float32)
    client = MilvusClient(uri=uri)
    rows = _docs(client, vectors)
    _multi(client)
    client.create_collection("quick", dimension=5)  # quick setup: INT64 'id' and 'vector'
    client.insert("quick", [{"id": 10 - i, "vector": [float(i)] * 5, "text": f"q{i}"} for i in range(3)])
    client.close()
    return uri, vectors, rows


def test_collection_streams_every_row(lite, monkeypatch):
    uri, vectors, rows = lite
    monkeypatch.setattr(milvus_source, "PAGE", 7)  # pages that straddle the batches asked for
    assert MilvusSource.sniff(uri) and MilvusSource.sniff("http://localhost:19530")
    source = MilvusSource(uri, Columns(label="category", text="body"), table="docs")
    try:
        info = source.describe()
        assert (info.kind, info.rows, info.dim, info.location) == ("milvus", DOCS, DIM, f"{uri}#docs")
        assert info.columns == ["doc_id", "embedding", "category", "body", "year"] and info.fingerprint
        assert info.model is None
        got = read_all(source, 25)
        assert got.sizes == [25, 25, 10]
        assert got.ids == [r["doc_id"] for r in rows]
        np.testing.assert_allclose(got.matrix, vectors)
        assert got.labels == [r["category"] for r in rows] and got.texts == [r["body"] for r in rows]
        assert got.problems == {}
    finally:
        source.close()
    again = MilvusSource(uri, Columns(label="source"), table="docs")  # a dynamic field, named
    try:
        assert again.describe().fingerprint == info.fingerprint
        assert read_all(again, 100).labels == [r["source"] for r in rows]
    finally:
        again.close()


def test_quick_setup_collection_by_convention(lite):
    source = MilvusSource(lite[0], Columns(), table="quick")
    try:
        got = read_all(source, 2)
        assert got.ids == ["8", "9", "10"] and got.sizes == [2, 1]
        np.testing.assert_array_equal(got.matrix, [[2.0] * 5, [1.0] * 5, [0.0] * 5])
        assert got.texts == [None] * 3  # 'text' lives in the dynamic part: read only when named
    finally:
        source.close()


def test_several_collections_and_vector_fields(lite):
    uri = lite[0]
    with pytest.raises(
        UserError, match=r"several Milvus collections \(docs, multi, quick\): pick one with --table"
    ):
        MilvusSource(uri, Columns())
    with pytest.raises(UserError, match=r"no Milvus collection 'pets'; its collections: docs, multi, quick"):
        MilvusSource(uri, Columns(), table="pets")
    with pytest.raises(
        UserError, match=r"several vector columns \(image, caption_vec\): pick one with --vector"
    ):
        MilvusSource(uri, Columns(), table="multi")
    with pytest.raises(UserError, match="'label' of Milvus collection 'multi' is not a vector column"):
        MilvusSource(uri, Columns(vector="label"), table="multi")
    source = MilvusSource(uri, Columns(vector="caption_vec"), table="multi")
    try:
        got = read_all(source, 10)
        assert (source.describe().dim, source.describe().model) == (3, "minilm")
        assert got.ids == [str(i) for i in range(5)]
        np.testing.assert_array_equal(got.matrix, [[0, 1, i] for i in range(5)])
        assert got.labels == [f"l{i}" for i in range(5)]  # 'label' by convention
    finally:
        source.close()


def test_missing_pymilvus_is_one_line(lite, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(
        MissingExtra, match=r"needs pymilvus, which is not installed: pip install 'vexplore\[milvus\]'"
    ):
        MilvusSource(lite[0], Columns(), table="docs")


def test_sniff_tells_milvus_lite_from_sqlite(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "embeddings.db").execute("CREATE TABLE t (x)").connection.close()
    assert not MilvusSource.sniff(str(tmp_path / "embeddings.db"))
    assert not MilvusSource.sniff(str(tmp_path / "absent.db"))
