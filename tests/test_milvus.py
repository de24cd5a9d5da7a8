"""Milvus as the index backend, on Milvus Lite (a real Milvus engine in a local file): exports that send
only what changed, and neighbor/search queries answered from the collection as from the local index."""

from __future__ import annotations

import numpy as np

from tests.clustered import DIM, commit_vectors, sync_files
from vexplore.engine.milvus import MilvusBackend, connect, default_collection, export_milvus
from vexplore.engine.query import Explorer, open_explorer
from vexplore.engine.store import Store


def _model(store: Store):
    return store.model("synthetic")


def _all(explorer: Explorer) -> dict[str, list[str]]:
    return {path: [h.path for h in hits] for path, _, hits in explorer.all_neighbors(k=10)}


def test_milvus_neighbors_overlap_the_local_index(synthetic, tmp_path):
    uri = str(tmp_path / "lite.db")
    with Store(synthetic, synthetic / ".vexplore") as store:
        s = export_milvus(store, _model(store), uri)
        assert (s["vectors"], s["upserted"], s["deleted"], s["unchanged"]) == (400, 400, 0, 0)
        assert (
            s["collection"] == default_collection(synthetic, _model(store)) == "vexplore_synthetic_synthetic"
        )
    local = _all(open_explorer(synthetic))
    backend = MilvusBackend(uri)
    remote = _all(open_explorer(synthetic, backend=backend))
    assert local.keys() == remote.keys() and len(local) == 400
    overlap = np.mean([len(set(local[p]) & set(remote[p])) / 10 for p in local])
    assert overlap >= 0.98, overlap

    # the entities carry the file's fields; ids are catalog file ids
    client = backend._client
    with Store(synthetic, synthetic / ".vexplore", readonly=True) as store:
        f = store.file_by_path("c00/item000.txt")
        vec = store.file_vector(_model(store), f.id)
    got = client.get(s["collection"], ids=[f.id], output_fields=["path", "modality", "labels", "vector"])[0]
    assert (got["path"], got["modality"], got["labels"]) == (
        "c00/item000.txt",
        "text",
        [["cat", 0.9], ["dog", 0.1]],
    )
    np.testing.assert_allclose(got["vector"], vec, atol=1e-6)
    backend.close()


def test_reexport_sends_only_changes_and_deletes(synthetic, tmp_path):
    uri = str(tmp_path / "lite.db")
    rng = np.random.default_rng(1)
    with Store(synthetic, synthetic / ".vexplore") as store:
        export_milvus(store, _model(store), uri)
        # the folder changes and is re-indexed: one file edited, one new, one gone
        (synthetic / "c01/item001.txt").write_text("edited\n")
        (synthetic / "c02/new.txt").write_text("new\n")
        (synthetic / "c03/item003.txt").unlink()
        gone_id = store.file_by_path("c03/item003.txt").id
        sync_files(store, synthetic)
        edited = rng.normal(size=DIM)
        commit_vectors(store, {"c01/item001.txt": edited, "c02/new.txt": rng.normal(size=DIM)})
        s = export_milvus(store, _model(store), uri)
        assert (s["vectors"], s["upserted"], s["deleted"], s["unchanged"]) == (400, 2, 1, 398)
        again = export_milvus(store, _model(store), uri)
        assert (again["upserted"], again["deleted"], again["unchanged"]) == (0, 0, 400)

        client = connect(uri)
        name = s["collection"]
        edited_id = store.file_by_path("c01/item001.txt").id
        got = client.get(name, ids=[edited_id, gone_id], output_fields=["vector"])
        assert [g["id"] for g in got] == [edited_id]
        np.testing.assert_allclose(got[0]["vector"], edited / np.linalg.norm(edited), atol=1e-6)

        # changed behind vexplore's back: the record no longer matches the collection, so all is re-sent
        client.delete(name, ids=[edited_id])
        client.close()
        fixed = export_milvus(store, _model(store), uri)
        assert (fixed["upserted"], fixed["deleted"]) == (400, 0)
        client = connect(uri)
        assert client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"] == 400
        client.drop_collection(name)
        client.close()
        assert export_milvus(store, _model(store), uri)["upserted"] == 400

    # a wiped store forgets what it sent: the first export after re-indexing deletes the strays
    client = connect(uri)
    client.upsert(
        name, [{"id": 10**9, "path": "stray", "modality": "text", "labels": [], "vector": [1.0] * DIM}]
    )
    client.release_collection(name)  # as a fresh process finds it: not loaded, so not queryable yet
    client.close()
    (synthetic / ".vexplore" / "milvus_exports.sqlite").unlink()
    with Store(synthetic, synthetic / ".vexplore") as store:
        s = export_milvus(store, _model(store), uri)
    assert (s["upserted"], s["deleted"]) == (400, 1)


def test_cli_export_then_search_and_neighbors_from_milvus(indexed_copy, tmp_path, synthetic, cli):
    uri = str(tmp_path / "cli.db")
    exported = cli("export", indexed_copy, "--milvus", uri, "--json")
    s, err = exported.json(), exported.stderr
    assert (s["model"], s["upserted"], s["deleted"]) == ("minilm", 20, 0)
    assert "20 upserted" in err

    query = "stars and planets in the night sky"
    local = cli("search", indexed_copy, query, "-k", "5", "--json").json()
    remote = cli(
        "search", indexed_copy, query, "-k", "5", "--json", "--backend", "milvus", "--milvus", uri
    ).json()
    assert [r["path"] for r in remote["results"]] == [r["path"] for r in local["results"]]
    np.testing.assert_allclose(
        [r["score"] for r in remote["results"]], [r["score"] for r in local["results"]], atol=1e-4
    )
    local_n = cli("neighbors", indexed_copy, "cooking/doc1.md", "--json").json()
    remote_n = cli("neighbors", indexed_copy, "cooking/doc1.md", "--json", "--milvus", uri).json()
    assert [h["path"] for h in remote_n["neighbors"]] == [h["path"] for h in local_n["neighbors"]]
    assert "cooking/doc1.md" not in [h["path"] for h in remote_n["neighbors"]]

    # mistakes are one clear line
    code, _, err = cli("search", indexed_copy, query, "--backend", "milvus", expect=None)
    assert code == 2 and "needs --milvus URI" in err
    code, _, err = cli(
        "neighbors", indexed_copy, "cooking/doc1.md", "--milvus", uri, "--collection", "nope", expect=None
    )
    assert code == 2 and "no Milvus collection 'nope'" in err and "vexplore export" in err
    code, _, err = cli("export", indexed_copy, "--milvus", uri, "--format", "npy", expect=None)
    assert code == 2 and "either --milvus or --format" in err
    # a collection holds one model's space: another model cannot be pushed into it
    code, _, err = cli("export", synthetic, "--milvus", uri, "--collection", s["collection"], expect=None)
    assert code == 2 and "holds model 'minilm'" in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_milvus_server_is_one_line(indexed_copy, cli):
    code, _, err = cli(
        "neighbors", indexed_copy, "cooking/doc1.md", "--milvus", "http://127.0.0.1:9", expect=None
    )
    assert code == 2 and err.startswith("vexplore: error: cannot open Milvus at http://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1
