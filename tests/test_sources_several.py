"""A source with several vector columns (a parquet with `minilm` and `clip` columns, an npz with two
arrays): each column becomes its own model of one store, `compare` on the source gives what numpy
computes from the same vectors (exact neighbor overlap, label agreement from the label column), and
updates by id and the unchanged fast path work for both models at once."""

from __future__ import annotations

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke
from vexplore.engine.sources.parquet import ParquetSource
from vexplore.engine.store import Store

pytestmark = pytest.mark.fast
K = 5


def two_columns(n: int = data.N) -> tuple[np.ndarray, np.ndarray]:
    """minilm: the three label clusters; clip: another width, half of it noise, so the two disagree."""
    a = data.vectors(n)
    rng = np.random.default_rng(7)
    b = np.concatenate([data.vectors(n, 8, seed=3), rng.normal(size=(n, 8)) * 2], axis=1)
    return a, b.astype(np.float32)


def write_two(path, a: np.ndarray, b: np.ndarray, keys: list[str], labels: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def column(x: np.ndarray):
        return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), pa.float32()), x.shape[1])

    table = pa.table({"id": keys, "label": labels, "minilm": column(a), "clip": column(b)})
    pq.write_table(table, path, row_group_size=32)
    return path


def test_compare_on_a_parquet_with_two_vector_columns_equals_numpy(tmp_path):
    keys, labels = data.ids(), data.labels()
    a, b = two_columns()
    src = write_two(tmp_path / "two.parquet", a, b, keys, labels)
    ran = invoke("compare", src, "--models", "minilm,clip", "-k", K, "--json")
    assert "vector columns as models minilm, clip" in ran.stderr
    got, want = ran.json(), data.expected_compare(a, b, labels, K)
    assert got["models"] == ["minilm", "clip"] and got["files"] == data.N
    assert got["overlap_at_k"] == pytest.approx(want["overlap"], abs=1e-6)
    assert 0 < got["overlap_at_k"] < 1, "the two columns must disagree for the test to mean anything"
    assert got["labels"] == sorted(set(labels))
    assert got["label_agreement_at_k"] == pytest.approx(
        {"minilm": want["agreement"]["a"], "clip": want["agreement"]["b"]}, abs=1e-6
    )
    with Store(tmp_path, tmp_path / "two.parquet.vexplore") as store:
        assert [(m.name, m.dim) for m in store.models()] == [("minilm", 24), ("clip", 16)]


def test_npz_with_two_arrays_and_models_named_in_order(tmp_path):
    keys, labels = data.ids(), data.labels()
    a, b = two_columns()
    src = tmp_path / "two.npz"
    np.savez(src, first=a, second=b, id=np.array(keys), label=np.array(labels))
    store = tmp_path / "named"
    bad = invoke("import", src, "--model", "only-one", "--store", store, expect=2)
    assert "--model names 1 models for 2 vector columns (first, second)" in bad.stderr
    summary = invoke("import", src, "--model", "mini,clip", "--store", store, "--json").json()
    assert [m["name"] for m in summary["models"]] == ["mini", "clip"]
    got = invoke("compare", src, "--models", "mini,clip", "-k", K, "--store", store, "--json").json()
    assert got["overlap_at_k"] == pytest.approx(data.expected_compare(a, b, labels, K)["overlap"], abs=1e-6)
    chosen = invoke("stats", src, "--vector-column", "second", "--store", tmp_path / "one", "--json")
    assert chosen.json()["dim"] == 16


def test_updates_by_id_and_the_fast_path_for_every_column(tmp_path, monkeypatch):
    keys, labels = data.ids(), data.labels()
    a, b = two_columns()
    src = write_two(tmp_path / "two.parquet", a, b, keys, labels)
    first = invoke("import", src, "--json").json()
    assert (first["embedded"], [m["name"] for m in first["models"]]) == (data.N, ["minilm", "clip"])

    def unread(self, rows=65536):
        raise AssertionError("an unchanged source was read again")

    with monkeypatch.context() as m:
        m.setattr(ParquetSource, "batches", unread)
        again = invoke("import", src, "--json").json()
        assert (again["embedded"], again["unchanged"]) == (0, data.N)

    # Row 5 removed, row 6's clip vector changed (its minilm one stays), two rows added.
    keep = [i for i in range(data.N) if i != 5]
    extra_a, extra_b = data.vectors(2, seed=9), data.vectors(2, 16, seed=10)
    a2, b2 = np.concatenate([a[keep], extra_a]), np.concatenate([b[keep], extra_b])
    b2[keep.index(6)] = -b2[keep.index(6)] + 0.5
    keys2, labels2 = [keys[i] for i in keep] + ["new-a", "new-b"], [labels[i] for i in keep] + ["cat", "dog"]
    write_two(src, a2, b2, keys2, labels2)
    update = invoke("import", src, "--json").json()
    assert (update["embedded"], update["removed"], update["unchanged"]) == (3, 1, data.N - 2)
    for model, x in (("minilm", a2), ("clip", b2)):
        expected = data.exact_neighbors(keys2, x, K)
        lines = invoke("neighbors", src, "--all", "-k", K, "--model", model, "--json").json_lines()
        assert {line["path"] for line in lines} == set(keys2)
        for line in lines:
            assert [h["path"] for h in line["neighbors"]] == [p for p, _ in expected[line["path"]]]
    got = invoke("compare", src, "--models", "minilm,clip", "-k", K, "--json").json()
    assert got["overlap_at_k"] == pytest.approx(
        data.expected_compare(a2, b2, labels2, K)["overlap"], abs=1e-6
    )
