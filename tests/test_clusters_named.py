"""Named clusters (engine/audit/clusters.py): every file clustered, ids stable, names from what the store
holds: text by c-TF-IDF, pictures by classifier tags, any modality by its folder mix."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.clustered import DIM, commit_vectors
from tests.conftest import TOPICS
from vexplore.engine.audit.clusters import choose_k, named_clusters, path_order, silhouette
from vexplore.engine.audit.ctfidf import class_counts, class_tfidf, tokens
from vexplore.engine.audit.naming import unique_names
from vexplore.engine.audit.report import NamedCluster
from vexplore.engine.audit.run import AuditOptions, load, neighbor_graph
from vexplore.engine.query import Explorer
from vexplore.engine.scan import scan
from vexplore.engine.store import Store, find_store_dir

# Each topic's own words; every document also carries words all topics share.
_WORDS = {
    "planets": "telescope galaxy orbit comet nebula planet asteroid eclipse",
    "kitchen": "dough oven garlic simmer whisk butter pasta sauce",
    "stadium": "striker goalkeeper penalty referee midfielder stadium tackle goal",
    "orchard": "compost seedling prune bulbs mulch lettuce blossom soil",
    "shared": "report summary notes weekly archive",
}
SHARED = _WORDS.pop("shared").split()
VOCAB = {topic: words.split() for topic, words in _WORDS.items()}


def write_topics(root: Path, flat: bool = False, docs: int = 8) -> dict[str, str]:
    """Generated documents per topic (in a folder per topic unless flat); returns path -> topic."""
    rng = np.random.default_rng(3)
    topic_of = {}
    for topic, words in VOCAB.items():
        for i in range(docs):
            rel = f"{topic}-{i}.txt" if flat else f"{topic}/doc{i}.txt"
            text = " ".join(rng.choice(words, 14).tolist() + rng.choice(SHARED, 4).tolist() + [str(1900 + i)])
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text + "\n")
            topic_of[rel] = topic
    return topic_of


def index(root: Path, model: str) -> None:
    from vexplore.engine.pipeline import Options, index_folder

    summary = index_folder(root, find_store_dir(root, create=True), Options(models=[model]))
    assert summary.failed == 0, summary


def clusters_of(root: Path, n_clusters: int | None = None) -> list[NamedCluster]:
    with Store(root, find_store_dir(root)) as store:
        explorer = Explorer(store)
        data = load(explorer, None, AuditOptions())
        return named_clusters(store, data, neighbor_graph(explorer, data, 5), n_clusters)


def check_partition(clusters: list[NamedCluster], paths: set[str]) -> None:
    """Every file in exactly one cluster; ids 0.. by size; central files are members; names unique."""
    members = [p for c in clusters for p in c.paths]
    assert sorted(members) == sorted(paths)
    assert [c.id for c in clusters] == list(range(len(clusters)))
    assert [c.size for c in clusters] == sorted((c.size for c in clusters), reverse=True)
    assert all(c.size == len(c.paths) == sum(c.labels.values()) for c in clusters)
    assert all(set(c.central) <= set(c.paths) and c.central for c in clusters)
    assert len({c.name for c in clusters}) == len(clusters)


@pytest.mark.fast
def test_ctfidf_matches_a_direct_computation():
    docs = [["the cat sat on the mat", "a cat and a cat"], ["dogs bark", "the dog and the cat 42"], []]
    terms = class_tfidf([class_counts(d) for d in docs])
    counts = [Counter(w for text in d for w in tokens(text)) for d in docs]
    assert counts[0] == {"cat": 3, "sat": 1, "mat": 1} and counts[1] == {
        "dogs": 1,
        "bark": 1,
        "dog": 1,
        "cat": 1,
    }
    average = sum(sum(c.values()) for c in counts) / 3
    for c, count in enumerate(counts):
        for j, term in enumerate(terms.vocab):
            f = sum(other[term] for other in counts)
            tf = count[term] / sum(count.values()) if count else 0.0
            assert terms.weights[c, j] == pytest.approx(tf * math.log(1 + average / f))
    assert terms.top(0, 1) == [("cat", pytest.approx(3 / 5 * math.log(1 + 3 / 4)))]
    assert terms.top(2, 3) == []  # an empty class has no terms


@pytest.mark.fast
def test_silhouette_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.arange(30) % 3
    labels[0] = 2 if labels[0] != 2 else 1
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    expect = []
    for i in range(30):
        same = (labels == labels[i]) & (np.arange(30) != i)
        a = d[i, same].mean()
        b = min(d[i, labels == c].mean() for c in set(labels.tolist()) - {labels[i]})
        expect.append((b - a) / max(a, b))
    assert silhouette(x, labels) == pytest.approx(np.mean(expect), abs=1e-5)


@pytest.mark.fast
def test_toy_topics_are_named_by_their_distinctive_words(tmp_path):
    topic_of = write_topics(tmp_path)
    index(tmp_path, "toy")
    clusters = clusters_of(tmp_path)  # k chosen by the silhouette
    check_partition(clusters, set(topic_of))
    assert len(clusters) == len(VOCAB)
    for c in clusters:
        (topic,) = {topic_of[p] for p in c.paths}
        assert c.labels == {topic: 8}
        assert c.name.startswith(f"{topic} (100%): ")
        assert len(c.keywords) == 5 and set(c.keywords) <= set(VOCAB[topic])
        assert all(w in c.name for w in c.keywords[:3])


@pytest.mark.fast
def test_flat_text_is_named_by_words_alone(tmp_path):
    topic_of = write_topics(tmp_path, flat=True)
    index(tmp_path, "toy")
    clusters = clusters_of(tmp_path, n_clusters=4)
    check_partition(clusters, set(topic_of))
    for c in clusters:
        (topic,) = {topic_of[p] for p in c.paths}
        assert c.labels == {".": 8}  # the top folder: no label to name it by
        assert c.name == ", ".join(c.keywords[:3]) and set(c.keywords) <= set(VOCAB[topic])


@pytest.mark.fast
def test_ids_are_stable_and_independent_of_catalog_order(tmp_path):
    write_topics(tmp_path / "a")
    rng = np.random.default_rng(1)
    paths = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.txt"))
    centres = {t: rng.normal(size=DIM) for t in VOCAB}
    vectors = {p: centres[p.split("/")[0]] + 0.8 * rng.normal(size=DIM) for p in paths}
    results = []
    for name, order in (("a", paths), ("b", paths[::-1])):
        root = tmp_path / name
        if name == "b":
            write_topics(root)
        with Store(root, root / ".vexplore", create=True) as store:
            entries, _ = scan(root, skip_dirs=(store.dir,))
            where = {e.path: e for e in entries}
            store.sync_files([where[p] for p in order], {})  # file ids in this order
            commit_vectors(store, {p: vectors[p] for p in order})
        results.append([c.__dict__ for c in clusters_of(root)])
        results.append([c.__dict__ for c in clusters_of(root)])
    with Store(tmp_path / "b", tmp_path / "b" / ".vexplore") as store:
        first = store.file_by_path(paths[0])
        assert first is not None and first.id == len(paths)  # the catalog order really differs
    assert results[0] == results[1] == results[2] == results[3]
    assert len(results[0]) == len(VOCAB)


def _colour_images(root: Path) -> dict[str, str]:
    rng = np.random.default_rng(5)
    colours = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (30, 40, 200)}
    folder_of = {}
    for folder, rgb in colours.items():
        for i in range(6):
            pixels = np.clip(np.array(rgb) + rng.normal(0, 12, size=(24, 24, 3)), 0, 255).astype(np.uint8)
            rel = f"{folder}/img{i}.png"
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / rel)
            folder_of[rel] = folder
    # one blue picture filed under red: the red cluster is named by its mix, not by unanimity
    (root / "blue/img5.png").rename(root / "red/img9.png")
    folder_of["red/img9.png"] = "red"
    del folder_of["blue/img5.png"]
    return folder_of


@pytest.mark.fast
def test_images_are_named_by_their_folder_mix(tmp_path):
    folder_of = _colour_images(tmp_path)
    index(tmp_path, "toy-image")
    clusters = clusters_of(tmp_path, n_clusters=3)
    check_partition(clusters, set(folder_of))
    names = {c.name for c in clusters}
    assert names == {"red (100%)", "green (100%)", "blue (83%)"}
    blue = next(c for c in clusters if c.name.startswith("blue"))
    assert blue.labels == {"blue": 5, "red": 1} and blue.keywords == []
    assert "red/img9.png" in blue.paths


@pytest.mark.fast
def test_classifier_tags_name_pictures(tmp_path):
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(2, DIM))
    vectors, tags = {}, {}
    for i in range(12):
        rel = f"pic{i:02d}.png"
        (tmp_path / rel).write_bytes(b"not decoded here")
        vectors[rel] = centres[i % 2] + 0.3 * rng.normal(size=DIM)
        pet = [["tabby", 0.7], ["web site", 0.2]] if i % 2 == 0 else [["tow truck", 0.6], ["web site", 0.3]]
        tags[rel] = (
            pet if i < 10 else [["web site", 0.9]]
        )  # a tag every cluster has ranks below the distinctive one
    with Store(tmp_path, tmp_path / ".vexplore", create=True) as store:
        entries, _ = scan(tmp_path, skip_dirs=(store.dir,))
        store.sync_files(entries, {})
        commit_vectors(store, vectors, tags)
    clusters = clusters_of(tmp_path, n_clusters=2)
    check_partition(clusters, set(vectors))
    by_first = {c.paths[0]: c for c in clusters}
    assert by_first["pic00.png"].keywords == ["tabby", "web site"]
    assert by_first["pic01.png"].keywords == ["tow truck", "web site"]
    assert by_first["pic00.png"].name == "tabby, web site"


@pytest.mark.fast
def test_names_stay_unique_and_tiny_stores_work(tmp_path):
    rng = np.random.default_rng(4)
    vectors = {}
    for i in range(9):
        rel = f"same/f{i}.txt"
        (tmp_path / "same").mkdir(exist_ok=True)
        (tmp_path / rel).write_text("alpha beta gamma\n")  # every cluster has the same words
        vectors[rel] = np.eye(DIM)[i % 3] + 0.01 * rng.normal(size=DIM)
    with Store(tmp_path, tmp_path / ".vexplore", create=True) as store:
        entries, _ = scan(tmp_path, skip_dirs=(store.dir,))
        store.sync_files(entries, {})
        commit_vectors(store, vectors)
    clusters = clusters_of(tmp_path, n_clusters=3)
    check_partition(clusters, set(vectors))
    assert [c.name for c in clusters] == [
        "same (100%): alpha, beta, gamma",
        "same (100%): alpha, beta, gamma · near f7.txt",  # words run out: the file nearest its centre
        "same (100%): alpha, beta, gamma · near f8.txt",
    ]
    assert unique_names(["a", "a"], [[], []], [None, None], [0, 1]) == ["a", "a #1"]  # nothing else left
    assert clusters_of(tmp_path, n_clusters=50)  # more clusters asked than files: as many as there are


@pytest.mark.fast
def test_choose_k_finds_well_separated_groups():
    rng = np.random.default_rng(9)
    centres = rng.normal(size=(6, 16))
    x = np.repeat(centres, 40, axis=0) + 0.15 * rng.normal(size=(240, 16))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    assert choose_k(x, path_order([f"{i:04d}" for i in range(240)])) == 6


@pytest.mark.slow
def test_minilm_topics_carry_their_distinctive_words(indexed_corpus):
    clusters = clusters_of(indexed_corpus, n_clusters=4)
    check_partition(clusters, {f"{t}/doc{i}{'.md' if i % 2 else '.txt'}" for t in TOPICS for i in range(5)})
    words = {t: Counter(w for doc in docs for w in tokens(doc)) for t, docs in TOPICS.items()}
    pure = [c for c in clusters if len(c.labels) == 1]
    assert len(pure) >= 2
    for c in clusters:
        (top, count), *_ = sorted(c.labels.items(), key=lambda kv: -kv[1])
        if count * 2 <= c.size:
            continue
        assert c.name.startswith(f"{top} (")
        best = c.keywords[0]
        assert best in c.name and words[top][best] > max(words[t][best] for t in TOPICS if t != top)
