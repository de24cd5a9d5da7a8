"""The audit's finders on data with known faults: files moved to a wrong folder, a naturally spread-out
class, exact and near copies, an odd file out; every figure checked against a direct computation."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests.audit_corpus import gaussian_classes, vector_store
from tests.clirun import invoke
from vexplore.engine.audit.duplicates import duplicate_groups, outlier_scores, top_outliers
from vexplore.engine.audit.graph import KnnGraph, exact_knn
from vexplore.engine.audit.mislabel import (
    class_thresholds,
    encode,
    find_mislabeled,
    label_signal,
    labels_signal,
    majority_flags,
    neighbor_votes,
)
from vexplore.engine.audit.run import audit
from vexplore.engine.query import open_explorer

pytestmark = pytest.mark.fast


def _graph(x: np.ndarray, k: int = 10) -> KnnGraph:
    rows, sims = exact_knn(x, k)
    return KnnGraph(np.arange(len(x)), rows, sims, True)


def _f1(found: set[int], truth: set[int]) -> float:
    tp = len(found & truth)
    return 0.0 if tp == 0 else 2 * tp / (len(found) + len(truth))


def test_votes_thresholds_and_flags_match_a_direct_computation():
    x, _, given = gaussian_classes(3, [0.5, 0.5, 1.2], per=20, dim=8, noise=0.1)
    g = _graph(x, 5)
    y, names = encode([f"c{v}" for v in given])
    votes = neighbor_votes(g, y, len(names), smoothing=1.0)
    prior = np.bincount(y) / len(y)
    sims = x @ x.T
    own = np.empty(len(y))
    prob = np.zeros((len(y), len(names)))
    for i in range(len(y)):
        near = [j for j in np.argsort(-sims[i], kind="stable") if j != i][:5]
        w = np.array([max(sims[i, j], 1e-6) for j in near])
        w *= 5 / w.sum()
        for c in range(len(names)):
            mass = sum(wj for wj, j in zip(w, near, strict=True) if y[j] == c)
            prob[i, c] = (mass + prior[c]) / 6
        own[i] = prob[i, y[i]]
    np.testing.assert_allclose(votes.own, own, rtol=1e-5)
    present = votes.slot_class >= 0
    np.testing.assert_allclose(
        votes.slot_prob[present], prob[np.nonzero(present)[0], votes.slot_class[present]], rtol=1e-5
    )
    t = class_thresholds(votes, y, len(names))
    np.testing.assert_allclose(t, [own[y == c].mean() for c in range(len(names))], rtol=1e-6)
    flags = find_mislabeled(g, [f"c{v}" for v in given], slack=0.9)
    expected = {}
    for i in range(len(y)):
        held = {int(g.rows[i, j]) for j in range(5)}
        candidates = [
            (prob[i, c] / t[c], c)
            for c in {int(y[j]) for j in held} - {int(y[i])}
            if prob[i, c] >= 0.9 * t[c] - 1e-9 and prob[i, c] / t[c] > own[i] / t[y[i]]
        ]
        if candidates:
            expected[i] = names[max(candidates)[1]]
    assert {f.row: f.suggested for f in flags} == expected
    for f in flags:
        assert f.score == pytest.approx(1 - own[f.row], abs=1e-6) and f.label == names[y[f.row]]
    assert [f.score for f in flags] == sorted((f.score for f in flags), reverse=True)


def test_confident_learning_beats_the_plain_vote_where_a_class_is_spread_out():
    """Four tight classes and four spread-out ones: the 10-NN majority vote flags many correctly labelled
    files of the spread-out classes; the per-class thresholds do not."""
    x, true, given = gaussian_classes(0, [0.5] * 4 + [1.5] * 4, per=200, dim=16)
    g = _graph(x)
    labels = [f"c{v}" for v in given]
    truth = set(np.flatnonzero(true != given).tolist())
    ours = {f.row: f.suggested for f in find_mislabeled(g, labels)}
    y, names = encode(labels)
    vote, _ = majority_flags(g, y, len(names))
    spread_ok = set(np.flatnonzero((true >= 4) & (true == given)).tolist())
    assert len(set(vote.tolist()) & spread_ok) > 3 * max(1, len(set(ours) & spread_ok))
    assert _f1(set(ours), truth) > _f1(set(vote.tolist()), truth) + 0.1
    right = [r for r in ours if r in truth]
    assert sum(ours[r] == f"c{true[r]}" for r in right) >= 0.9 * len(right)


def test_labels_the_vectors_cannot_tell_apart_flag_nothing():
    """Labels unrelated to the vectors would make most files look mislabelled: the agreement with the
    neighbors is no better than with shuffled labels, so nothing is flagged. Real classes, even spread
    out and with noise, are clearly usable; the agreement figure is checked by a direct count."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1500, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    g = _graph(x)
    noise = [f"c{v}" for v in rng.integers(0, 5, len(x))]
    signal = labels_signal(g, noise)
    assert signal is not None and not signal.usable
    assert find_mislabeled(g, noise, signal=signal) == [] and len(find_mislabeled(g, noise)) > 500

    x, _, given = gaussian_classes(0, [0.5] * 4 + [1.5] * 4, per=200, dim=16)
    g = _graph(x)
    y, names = encode([f"c{v}" for v in given])
    got = label_signal(g, y, len(names))
    votes = neighbor_votes(g, y, len(names))
    wins = []
    for i in range(len(y)):
        other = max(
            (p for c, p in zip(votes.slot_class[i], votes.slot_prob[i], strict=True) if c != y[i]),
            default=0.0,
        )
        wins.append(votes.own[i] >= other)
    assert got.usable and got.agreement == pytest.approx(np.mean(wins), abs=1e-6)
    assert got.agreement > got.shuffled + 0.3


def test_plain_vote_matches_a_direct_count():
    x, _, given = gaussian_classes(5, [0.6, 0.6, 1.0], per=15, dim=6)
    g = _graph(x, 7)
    y, _ = encode([str(v) for v in given])
    flagged, _ = majority_flags(g, y, 3)
    direct = []
    for i in range(len(y)):
        counts = np.bincount(y[g.rows[i]], minlength=3)
        if counts.max() > counts[y[i]]:
            direct.append(i)
    assert flagged.tolist() == direct


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Five topic folders of 30 files (one spread out), three files moved to a wrong folder, an exact
    copy, a near copy (an edited text), a chain of three near copies, and one odd file out."""
    rng = np.random.default_rng(11)
    dim = 24
    centres = rng.normal(size=(5, dim)) * 2
    files: dict[str, tuple[str, np.ndarray]] = {}
    for c in range(5):
        for i in range(30):
            spread = 1.6 if c == 4 else 0.5
            files[f"t{c}/doc{i:02d}.txt"] = (
                f"topic {c} document {i}\n",
                centres[c] + spread * rng.normal(size=dim),
            )
    moved = {}
    for c, to in ((0, 1), (2, 3), (3, 0)):
        text, v = files.pop(f"t{c}/doc05.txt")
        files[f"t{to}/moved-from-t{c}.txt"] = (text, v)
        moved[f"t{to}/moved-from-t{c}.txt"] = f"t{c}"
    base = files["t1/doc10.txt"]
    files["t1/doc10-copy.txt"] = base
    files["t2/doc10-edited.txt"] = (
        "topic 2 document 10, edited\n",
        files["t2/doc10.txt"][1] + 0.02 * rng.normal(size=dim),
    )
    chain = centres[3] + 0.5 * rng.normal(size=dim)
    for i in range(3):
        files[f"t3/chain{i}.txt"] = (
            f"chain {i}\n",
            chain + 0.05 * i * np.eye(dim)[0] * np.linalg.norm(chain),
        )
    files["t0/[bold]odd[red].txt"] = ("0x3f 0x91\n", rng.normal(size=dim) * 10)
    root = vector_store(tmp_path_factory.mktemp("audit") / "data", files)
    return root, moved


def test_audit_flags_moved_files_with_the_right_suggestion(faulty):
    root, moved = faulty
    report = audit(open_explorer(root))
    flagged = {m.path: m for m in report.mislabeled}
    for path, came_from in moved.items():
        assert path in flagged, (path, sorted(flagged))
        assert flagged[path].suggested == came_from and flagged[path].label == path.split("/")[0]
    assert len(flagged) <= len(moved) + 3
    assert report.labels == ["t0", "t1", "t2", "t3", "t4"] and report.splits is None


def test_duplicates_are_grouped_over_every_file(faulty):
    root, _ = faulty
    report = audit(open_explorer(root))
    groups = {tuple(g.paths): g for g in report.duplicates.groups}
    assert groups[("t1/doc10-copy.txt", "t1/doc10.txt")].exact
    edited = groups[("t2/doc10-edited.txt", "t2/doc10.txt")]
    assert not edited.exact and 0.95 <= edited.min_cosine < 1
    assert ("t3/chain0.txt", "t3/chain1.txt", "t3/chain2.txt") in groups
    explorer = open_explorer(root)
    from vexplore.engine.audit.run import AuditOptions, load

    data = load(explorer, None, AuditOptions())
    sims = data.x @ data.x.T
    np.fill_diagonal(sims, -np.inf)
    median = np.median(1 - sims.max(axis=1))  # the data is tight: the cut is stricter than the floor
    assert report.duplicates.threshold == round(max(0.95, 1 - 0.13 * median), 4) > 0.95
    assert len(report.duplicates.groups) == 3  # no ordinary pair of one topic counts as a copy


def test_duplicate_groups_and_outliers_match_a_direct_computation(faulty):
    root, _ = faulty
    explorer = open_explorer(root)
    from vexplore.engine.audit.run import AuditOptions, load

    data = load(explorer, None, AuditOptions())
    g = _graph(data.x)
    sims = data.x @ data.x.T
    np.fill_diagonal(sims, -np.inf)
    near = np.sort(sims, axis=1)[:, ::-1][:, :10]
    np.testing.assert_allclose(outlier_scores(g), 1 - near.mean(axis=1), atol=1e-5)
    top = top_outliers(g, 5)
    assert data.paths[top[0][0]] == "t0/[bold]odd[red].txt"
    assert [r for r, _ in top] == list(np.argsort(-(1 - near.mean(axis=1)), kind="stable")[:5])
    for threshold in (0.9, 0.95, 0.99):
        edges = defaultdict(set)
        for i in range(len(data.x)):
            for j in g.rows[i][g.sims[i] >= threshold]:
                edges[i].add(int(j))
                edges[int(j)].add(i)
        for i in range(len(data.x)):
            for j in range(len(data.x)):
                if i != j and data.hashes[i] == data.hashes[j]:
                    edges[i].add(j)
        seen: set[int] = set()
        direct = []
        for start in sorted(edges):
            if start in seen:
                continue
            comp, todo = set(), [start]
            while todo:
                a = todo.pop()
                if a not in comp:
                    comp.add(a)
                    todo.extend(edges[a])
            seen |= comp
            low = min(float(data.x[a] @ data.x[b]) for a in comp for b in edges[a])
            direct.append((sorted(comp), low))
        got = duplicate_groups(g, data.x, data.hashes, threshold)
        got_sorted = sorted((grp.rows, grp.min_cosine) for grp in got)
        direct.sort()
        assert [rows for rows, _ in got_sorted] == [rows for rows, _ in direct]
        np.testing.assert_allclose([c for _, c in got_sorted], [c for _, c in direct], atol=1e-5)


def test_cli_json_and_fail_on_exit_codes(faulty):
    root, _ = faulty
    doc = invoke("audit", root, "--json").json()
    assert doc["count"] == 156 and doc["duplicates"]["groups"] and doc["mislabeled"]
    assert {"path", "label", "suggested", "score"} == set(doc["mislabeled"][0])
    failed = invoke("audit", root, "--fail-on", "duplicates", "--json", expect=1)
    assert set(failed.json()) == set(doc) and failed.json()["duplicates"] == doc["duplicates"]
    assert failed.stderr == "vexplore: audit found duplicates\n"
    invoke("audit", root, "--fail-on", "leaks")  # no splits: nothing leaks, exit 0
    ran = invoke("audit", root, "--fail-on", "leaks", "--fail-on", "mislabeled", expect=1)
    assert "mislabeled" in ran.stderr
    assert "[bold]odd[red]" in ran.stdout  # a file name is printed literally, never as markup
    assert invoke("audit", root / "nope", expect=2).stderr.count("\n") == 1
    assert invoke("audit", root, "--splits", " , ", expect=2).stderr.startswith("vexplore: error:")


def test_cli_without_labels_or_copies_exits_0_on_every_fail_on(tmp_path):
    rng = np.random.default_rng(2)
    root = vector_store(
        tmp_path / "flat", {f"f{i}.txt": (f"file {i}\n", rng.normal(size=16)) for i in range(30)}
    )
    doc = invoke("audit", root, "--json", "--fail-on", "mislabeled", "--fail-on", "duplicates").json()
    assert doc["labels"] is None and doc["mislabeled"] == [] and doc["duplicates"]["groups"] == []
    assert doc["sampled"] == {} and len(doc["outliers"]) <= 20
    assert all(o["score"] > doc["outlier_fence"] for o in doc["outliers"])
