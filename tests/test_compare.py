"""`compare`: MiniLM against a tiny random model on a labelled folder, checked against brute force."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.clirun import run_cli
from tests.stats_corpus import exact_knn, raw_vectors, synthetic_store
from vexplore.engine.compare import compare_models
from vexplore.engine.errors import UserError
from vexplore.engine.labels import folder_labels
from vexplore.engine.query import open_explorer

pytestmark = pytest.mark.slow


def test_minilm_keeps_labels_together_better_than_a_random_model(labelled):
    root, tiny = labelled
    k = 5
    r = compare_models(open_explorer(root), "minilm", tiny, k=k)
    assert r.models == ("minilm", tiny) and r.k == k and r.files == 26 and not r.sampled
    agree = r.label_agreement_at_k
    assert set(agree) == {"minilm", tiny}
    assert agree["minilm"] > 0.85 and agree["minilm"] > agree[tiny] + 0.3
    assert r.better_label_agreement == "minilm"
    assert r.labels == ["astronomy", "computing", "cooking", "football", "misc"]

    # Brute force on the stored vectors of both models gives the same figures.
    paths_a, xa, _ = raw_vectors(root, "minilm")
    paths_b, xb, _ = raw_vectors(root, tiny)
    assert paths_a == paths_b
    na, _ = exact_knn(xa, k)
    nb, _ = exact_knn(xb, k)
    jaccard = [
        len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(na.tolist(), nb.tolist(), strict=False)
    ]
    assert r.overlap_at_k == pytest.approx(np.mean(jaccard), abs=0.02)  # ties in the random model's space
    labels = np.array([p.split("/")[0] for p in paths_a])
    want = np.mean([np.mean(labels[row] == labels[i]) for i, row in enumerate(na)])
    assert agree["minilm"] == pytest.approx(want, abs=1e-6)

    worst = r.most_different
    assert len(worst) == 10 and [w.overlap for w in worst] == sorted(w.overlap for w in worst)
    assert worst[0].overlap == pytest.approx(min(jaccard), abs=0.05)
    for w in worst:
        for model in ("minilm", tiny):
            hits = w.neighbors[model]
            assert len(hits) == k and w.path not in {h.path for h in hits}
        assert w.label == w.path.split("/")[0]


def test_folder_labels_need_labelled_subfolders():
    assert folder_labels(["a.txt", "b.txt", "c.txt"]) is None  # flat
    assert folder_labels(["x/a.txt", "x/b.txt", "y/c.txt"]) is None  # one label with more than one file
    assert folder_labels(["x/a.txt", "x/b.txt", "y/c.txt", "y/d.txt"]) == ["x", "x", "y", "y"]
    assert folder_labels(["x/a", "x/b", "y/c", "y/d", *(f"top{i}" for i in range(3))]) is None  # mostly flat


def test_unlabelled_folder_gives_null_agreement(tmp_path):
    rng = np.random.default_rng(1)
    root = synthetic_store(tmp_path / "flat", rng.normal(size=(40, 16)), name="first")
    # A second model on the same files, in the same store.
    from vexplore.engine.index import VectorIndex
    from vexplore.engine.results import EmbeddedFile
    from vexplore.engine.store import Store, find_store_dir

    with Store(root, find_store_dir(root), create=False) as store:
        model = store.ensure_model("second", "synthetic", "none", ("text",), 8, False, {})
        vecs = rng.normal(size=(40, 8)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        files = sorted(store.files().values(), key=lambda f: f.id)
        model = store.commit_batch(
            model, [EmbeddedFile(f, v, 1.0) for f, v in zip(files, vecs, strict=False)]
        )
        index = VectorIndex(store, model)
        index.build()
        index.save()
    # synthetic_store puts files in g0/g1/g2: three labels, so this folder *is* labelled ...
    r = compare_models(open_explorer(root), "first", "second", k=3)
    assert r.label_agreement_at_k is not None and 0 <= r.overlap_at_k <= 1
    # ... and the same vectors in a flat folder are not.
    with Store(root, find_store_dir(root)) as store, store.db:
        store.db.execute("UPDATE files SET path = replace(path, '/', '-')")
    r = compare_models(open_explorer(root), "first", "second", k=3)
    assert r.label_agreement_at_k is None and r.better_label_agreement is None


def test_cli_compare(labelled, cli):
    root, tiny = labelled
    out = run_cli("compare", str(root), "--models", f"minilm,{tiny}", "-k", "5", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert {"models", "overlap_at_k", "label_agreement_at_k", "most_different"} <= set(r)
    assert r["models"] == ["minilm", tiny]
    relative = os.path.relpath(tiny)  # a local model given as the user typed it finds its stored name
    assert compare_models(open_explorer(root), "minilm", relative, k=5).models == ("minilm", tiny)
    plain = cli("compare", root, "--models", f"minilm,{tiny}", "-k", "5").stdout
    assert "groups your folders better" in plain
    for models, message in (
        ("minilm", "exactly two"),
        ("minilm,minilm", "two different"),
        ("minilm,nope", "not indexed here"),
    ):
        _, out_text, err = cli("compare", root, "--models", models, expect=2)
        assert message in err and len((out_text + err).strip().splitlines()) == 1


def test_compare_needs_two_models(labelled):
    root, _ = labelled
    with pytest.raises(UserError, match="two different"):
        compare_models(open_explorer(root), "minilm", "minilm")
