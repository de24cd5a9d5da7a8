"""The Hugging Face reader on real datasets: written with `datasets` (save_to_disk, a DatasetDict) and a
hub-cache folder laid out as huggingface_hub leaves it, with real parquet files in it."""

from __future__ import annotations

import sys

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.sourcerows import read_all
from vexplore.engine.errors import UserError
from vexplore.engine.extras import MissingExtra
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.hf import HFSource, cached_splits

pytestmark = pytest.mark.fast

N, DIM = 50, 12
NAMES = ["cat", "dog", "fish"]


def _data(n: int = N, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "id": [f"doc-{seed}-{i}" for i in range(n)],
        "embedding": rng.normal(size=(n, DIM)).astype(np.float32),
        "label": [i % 3 for i in range(n)],
        "text": [f"<b>text</b> [red]{i}" for i in range(n)],
    }


def _dataset(data: dict):
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "embedding": datasets.List(datasets.Value("float32")),  # a list<float> column, not fixed size
            "label": datasets.ClassLabel(names=NAMES),
            "text": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_dict({**data, "embedding": data["embedding"].tolist()}, features=features)


def _check(source: HFSource, data: dict, rows: int) -> None:
    got = read_all(source, rows)
    n = len(data["id"])
    assert got.sizes == [rows] * (n // rows) + ([n % rows] if n % rows else [])
    assert got.ids == data["id"]
    np.testing.assert_array_equal(got.matrix, data["embedding"])
    assert got.labels == [NAMES[v] for v in data["label"]]  # class names, not their numbers
    assert got.texts == data["text"]
    assert got.problems == {}


def test_saved_dataset_streams_every_row(tmp_path):
    data = _data()
    _dataset(data).save_to_disk(str(tmp_path / "ds"))
    assert HFSource.sniff(str(tmp_path / "ds")) and not HFSource.sniff(str(tmp_path))
    source = HFSource(str(tmp_path / "ds"), Columns())
    info = source.describe()
    assert (info.kind, info.rows, info.dim) == ("hf", N, DIM)
    assert info.columns == ["id", "embedding", "label", "text"] and info.fingerprint
    _check(source, data, rows=7)
    again = HFSource(str(tmp_path / "ds"), Columns()).describe()
    assert again.fingerprint == info.fingerprint
    _dataset(_data(seed=1)).save_to_disk(str(tmp_path / "ds"))
    assert HFSource(str(tmp_path / "ds"), Columns()).describe().fingerprint != info.fingerprint


def test_dataset_dict_needs_a_split(tmp_path):
    train, test = _data(40, seed=2), _data(9, seed=3)
    datasets.DatasetDict(train=_dataset(train), test=_dataset(test)).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(UserError, match=r"several splits \(train, test\): pick one with --table") as err:
        HFSource(str(tmp_path / "dd"), Columns())
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=r"no split 'dev'; its splits: train, test"):
        HFSource(str(tmp_path / "dd"), Columns(), table="dev")
    source = HFSource(str(tmp_path / "dd"), Columns(), table="test")
    assert source.describe().rows == 9 and source.describe().location.endswith("#test")
    _check(source, test, rows=4)


def test_named_columns_and_vector_candidates(tmp_path):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(20, 4)), rng.normal(size=(20, 6))
    table = {
        "key": [f"k{i}" for i in range(20)],
        "clip": a.tolist(),
        "minilm": b.tolist(),
        "tag": [str(i % 2) for i in range(20)],
        "caption": ["c"] * 20,
        "file": [f"img/{i}.png" for i in range(20)],
    }
    datasets.Dataset.from_dict(table).save_to_disk(str(tmp_path / "two"))
    with pytest.raises(
        UserError, match=r"several vector columns \(clip, minilm\): pick one with --vector-column"
    ):
        HFSource(str(tmp_path / "two"), Columns())
    with pytest.raises(UserError, match=r"no column 'labels' \(--label-column\); its columns: key, clip"):
        HFSource(str(tmp_path / "two"), Columns(vector="clip", label="labels"))
    with pytest.raises(UserError, match="'tag' .* is not a vector column"):
        HFSource(str(tmp_path / "two"), Columns(vector="tag"))
    source = HFSource(str(tmp_path / "two"), Columns(vector="minilm", id="key", label="tag", path="file"))
    assert source.describe().dim == 6
    got = read_all(source, 64)
    np.testing.assert_allclose(got.matrix, b)
    assert got.ids == table["key"] and got.labels == table["tag"] and got.paths == table["file"]
    assert got.texts == ["c"] * 20  # "caption" by convention


def test_no_vector_column_ragged_and_null_rows(tmp_path):
    datasets.Dataset.from_dict({"id": ["a"], "text": ["x"]}).save_to_disk(str(tmp_path / "plain"))
    with pytest.raises(UserError, match="has no vector column .*; its columns: id, text"):
        HFSource(str(tmp_path / "plain"), Columns())
    vectors = [[1.0, 2.0, 3.0], [4.0, 5.0], None, [7.0, 8.0, 9.0]]
    datasets.Dataset.from_dict({"emb": vectors}).save_to_disk(str(tmp_path / "ragged"))
    got = read_all(HFSource(str(tmp_path / "ragged"), Columns()), 3)
    assert got.ids == ["0", "1", "2", "3"]  # row numbers when there is no id column
    assert got.problems == {1: "vector has 2 values, not 3", 2: "no vector"}
    np.testing.assert_array_equal(got.matrix[[0, 3]], [[1, 2, 3], [7, 8, 9]])


def _hub(tmp_path, train: list[dict], test: dict):
    """hub/datasets--acme--pets as huggingface_hub leaves it: blobs, a snapshot of links, refs/main."""
    repo = tmp_path / "hub" / "datasets--acme--pets"
    snap = repo / "snapshots" / "0123abcd"
    (snap / "data").mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    parts = [(f"train-{i:05d}-of-{len(train):05d}", d) for i, d in enumerate(train)] + [
        ("test-00000-of-00001", test)
    ]
    for name, data in parts:
        blob = repo / "blobs" / f"blob-{name}"
        _dataset(data).to_parquet(str(blob))
        (snap / "data" / f"{name}.parquet").symlink_to(blob)
    return repo


def test_parquet_files_in_the_hub_cache(tmp_path, monkeypatch):
    first, second, test = _data(30, seed=5), _data(25, seed=6), _data(8, seed=7)
    repo = _hub(tmp_path, [first, second], test)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert HFSource.sniff("hf:acme/pets") and HFSource.sniff(str(repo))
    with pytest.raises(UserError, match=r"several splits \(test, train\)"):
        HFSource("hf:acme/pets", Columns())
    source = HFSource("hf:acme/pets", Columns(), table="train")
    info = source.describe()
    assert (info.rows, info.dim, info.location) == (55, DIM, "hf:acme/pets#train")
    both = {
        k: (np.concatenate([first[k], second[k]]) if k == "embedding" else first[k] + second[k])
        for k in first
    }
    _check(source, both, rows=16)  # batches span the two files
    _check(HFSource(str(repo), Columns(), table="test"), test, rows=100)
    with pytest.raises(UserError, match="acme/gone is not in the Hugging Face cache"):
        HFSource("hf:acme/gone", Columns())
    assert pq.read_schema(repo / "snapshots/0123abcd/data/test-00000-of-00001.parquet").metadata


def test_missing_datasets_is_one_line(tmp_path, monkeypatch):
    _dataset(_data(5)).save_to_disk(str(tmp_path / "ds"))
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets → ImportError
    with pytest.raises(
        MissingExtra, match=r"needs datasets, which is not installed: pip install 'vexplore\[hf\]'"
    ):
        HFSource(str(tmp_path / "ds"), Columns())


def test_token_ids_beside_the_embedding_and_a_truncated_file(tmp_path):
    rng = np.random.default_rng(8)
    emb = rng.normal(size=(30, 5))
    data = {"emb": emb.tolist(), "input_ids": [[101, i, 102] for i in range(30)]}
    datasets.Dataset.from_dict(data).save_to_disk(str(tmp_path / "tok"))
    assert HFSource(str(tmp_path / "tok"), Columns()).parts.vector == "emb"  # float lists before int lists
    ids_only = HFSource(str(tmp_path / "tok"), Columns(vector="input_ids"))
    np.testing.assert_array_equal(read_all(ids_only, 8).matrix[:, 1], np.arange(30))
    arrow = next((tmp_path / "tok").glob("*.arrow"))
    with arrow.open("r+b") as f:
        f.truncate(arrow.stat().st_size // 2)
    with pytest.raises(UserError, match="cannot read the dataset in .*tok") as err:
        list(HFSource(str(tmp_path / "tok"), Columns()).batches(8))
    assert "\n" not in str(err.value)


def test_truncated_parquet_in_the_cache(tmp_path, monkeypatch):
    repo = _hub(tmp_path, [_data(10, seed=9)], _data(4, seed=10))
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # HF_HOME/hub, as huggingface_hub resolves it
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    blob = (repo / "snapshots/0123abcd/data/train-00000-of-00001.parquet").resolve()
    blob.write_bytes(blob.read_bytes()[:200])
    with pytest.raises(UserError, match="cannot read .*train-00000-of-00001.parquet"):
        HFSource("hf:acme/pets", Columns(), table="train")
    assert HFSource("hf:acme/pets", Columns(), table="test").describe().rows == 4


def test_config_folders_of_a_converted_dataset(tmp_path, monkeypatch):
    """The refs/convert/parquet layout: CONFIG/SPLIT/0000.parquet; one config needs no prefix."""
    repo = tmp_path / "hub" / "datasets--pets"  # a dataset with no owner, as the oldest ones are
    snap = repo / "snapshots" / "feed"
    parts = {"default/train/0000.parquet": _data(6, 11), "default/train/0001.parquet": _data(3, 12)}
    parts["default/test/0000.parquet"] = _data(2, 13)
    for rel, data in parts.items():
        (snap / rel).parent.mkdir(parents=True, exist_ok=True)
        _dataset(data).to_parquet(str(snap / rel))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert sorted(cached_splits(snap)) == ["test", "train"]
    assert HFSource("hf:pets", Columns(), table="train").describe().rows == 9
    (snap / "extra" / "train").mkdir(parents=True)
    _dataset(_data(1, 14)).to_parquet(str(snap / "extra" / "train" / "0000.parquet"))
    with pytest.raises(UserError, match=r"several splits \(default/test, default/train, extra/train\)"):
        HFSource("hf:pets", Columns())
    assert read_all(HFSource("hf:pets", Columns(), table="extra/train"), 5).ids == ["doc-14-0"]
