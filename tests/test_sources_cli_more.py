"""The Hugging Face, LanceDB and Milvus readers through the real commands: detected from the path,
imported, and `neighbors --all` / `stats` equal numpy's answers on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke

pytestmark = pytest.mark.fast
K = 4


def _agrees(args: list, keys: list[str], x: np.ndarray) -> None:
    expected = data.exact_neighbors(keys, x, K)
    lines = invoke("neighbors", *args, "--all", "-k", K, "--json").json_lines()
    assert sorted(line["path"] for line in lines) == sorted(keys)
    for line in lines:
        assert [h["path"] for h in line["neighbors"]] == [p for p, _ in expected[line["path"]]]
    stats = invoke("stats", *args, "--json").json()
    norms = np.linalg.norm(x, axis=1)
    assert (stats["count"], stats["dim"]) == (len(keys), x.shape[1])
    assert stats["norms"]["mean"] == pytest.approx(norms.mean(), rel=1e-5)


def test_hugging_face_dataset_saved_to_disk(tmp_path):
    import datasets

    x = data.vectors(40)
    keys = data.ids(40)
    folder = tmp_path / "ds"
    datasets.Dataset.from_dict({"id": keys, "embedding": x.tolist(), "label": data.labels(40)}).save_to_disk(
        str(folder)
    )
    _agrees([folder], keys, x)
    audit = invoke("audit", folder, "--json").json()
    assert audit["labels"] == sorted(data.LABELS)


def test_lancedb_table(tmp_path):
    import lancedb

    x = data.vectors(40)
    keys = data.ids(40)
    conn = lancedb.connect(str(tmp_path / "db"))
    conn.create_table(
        "docs", data=[{"id": k, "vector": v, "text": f"t {k}"} for k, v in zip(keys, x, strict=True)]
    )
    conn.create_table("other", data=[{"id": "a", "vector": np.ones(3, np.float32)}])
    many = invoke("stats", tmp_path / "db", expect=2)
    assert "--table" in many.stderr and "Traceback" not in many.stderr
    _agrees([tmp_path / "db", "--table", "docs"], keys, x)


def test_milvus_lite_collection(tmp_path):
    import pymilvus

    x = data.vectors(30)
    keys = data.ids(30)
    uri = str(tmp_path / "vectors.db")
    client = pymilvus.MilvusClient(uri=uri)
    client.create_collection("docs", dimension=data.DIM, id_type="string", max_length=32)
    client.insert("docs", [{"id": k, "vector": v.tolist()} for k, v in zip(keys, x, strict=True)])
    client.close()
    _agrees([uri, "--table", "docs"], keys, x)


def test_hugging_face_dataset_in_the_hub_cache_by_name(tmp_path, monkeypatch):
    from tests.test_sources_hf import _data, _hub

    train, test = _data(30, seed=5), _data(8, seed=7)
    _hub(tmp_path, [train], test)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv(
        "XDG_CACHE_HOME", str(tmp_path / "cache")
    )  # the store of a name goes to the user cache
    x = np.asarray(train["embedding"], np.float32)
    keys = list(train["id"])
    _agrees(["hf:acme/pets", "--table", "train"], keys, x)
    stores = list((tmp_path / "cache").rglob("catalog.sqlite"))
    assert len(stores) == 1 and "pets" in str(stores[0])
