"""Leakage between splits (engine/audit/leaks.py) on a train/test folder with known copies: edited texts,
resized, cropped and re-encoded pictures, resampled sounds, byte-identical files; indexed by the real
pipeline with the toy models (and MiniLM for the texts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from tests.leak_corpus import write_leaky
from vexplore.engine.audit import leaks as leaks_module
from vexplore.engine.audit.data import AuditData, AuditOptions, load
from vexplore.engine.audit.evidence import (
    hamming,
    jaccard_estimate,
    minhash,
    phash,
    shingles,
    sound_distance,
    sound_print,
)
from vexplore.engine.audit.graph import KnnGraph, knn_graph
from vexplore.engine.audit.leaks import find_leaks
from vexplore.engine.audit.run import neighbor_graph
from vexplore.engine.labels import Layout
from vexplore.engine.query import Explorer
from vexplore.engine.store import Store, find_store_dir

TOY = ["toy", "toy-image", "toy-audio"]


def _indexed(base: Path, models: list[str], per_split: int = 100) -> tuple[Path, dict[str, set[str]]]:
    from vexplore.engine.pipeline import Options, index_folder

    root = base / "data"
    truth = write_leaky(root, per_split=per_split)
    summary = index_folder(root, find_store_dir(root, create=True), Options(models=models))
    assert summary.failed == 0, summary
    return root, truth


@pytest.fixture(scope="module")
def leaky(tmp_path_factory) -> tuple[Explorer, dict[str, set[str]]]:
    root, truth = _indexed(tmp_path_factory.mktemp("leaky"), TOY)
    return Explorer(Store(root, find_store_dir(root), readonly=True)), truth


def _audit(explorer: Explorer, model: str, evidence: bool = True):
    data = load(explorer, model, AuditOptions())
    graph = neighbor_graph(explorer, data, 10)
    if evidence:
        return data, find_leaks(explorer.store, data, graph)
    with mock.patch.object(leaks_module, "content_verdict", lambda s, d, a, b: np.zeros(len(a), np.int8)):
        return data, find_leaks(explorer.store, data, graph)


def _precision_recall(found: set[str], wanted: set[str]) -> tuple[float, float]:
    hit = len(found & wanted)
    return hit / max(1, len(found)), hit / len(wanted)


@pytest.mark.fast
@pytest.mark.parametrize("model,kind", [("toy", "text"), ("toy-image", "image"), ("toy-audio", "audio")])
def test_every_injected_leak_is_found(leaky, model, kind):
    explorer, truth = leaky
    data, (leaks, threshold) = _audit(explorer, model)
    found = {leak.path for leak in leaks}
    assert truth[kind] <= found, f"missed {sorted(truth[kind] - found)}"
    assert threshold is not None and "median distance" in threshold.method
    for leak in leaks:
        assert leak.split == "test" and leak.matches
        assert all(m.split == "train" for m in leak.matches)
        assert [m.score for m in leak.matches if not m.exact] == sorted(
            (m.score for m in leak.matches if not m.exact), reverse=True
        )
    source = {leak.path: leak.matches[0] for leak in leaks}
    for path in truth[kind]:  # each copy's best match is the file it was made from
        n = path.rsplit("copy", 1)[1].split(".")[0]
        assert Path(source[path].path).stem in (f"t{n}", f"p{n}", f"s{n}"), (path, source[path])
    exact = [leak for leak in leaks if leak.matches[0].exact]
    if kind == "audio":  # every sound copy was resampled: none is byte-identical
        assert exact == []
        return
    assert [Path(leak.path).stem for leak in exact] == ["copy0"]  # the byte-identical one, first
    assert leaks[0] == exact[0] and exact[0].matches[0].score == pytest.approx(1.0, abs=1e-4)


@pytest.mark.fast
@pytest.mark.parametrize("model,kind", [("toy", "text"), ("toy-image", "image"), ("toy-audio", "audio")])
def test_content_evidence_keeps_every_leak_and_drops_the_look_alikes(leaky, model, kind):
    """The toy picture and sound embeddings (colour histograms, band shares) put unrelated files as close
    as copies; the content evidence tells them apart. The toy text space does not need it."""
    explorer, truth = leaky
    _, (plain, _) = _audit(explorer, model, evidence=False)
    _, (judged, _) = _audit(explorer, model, evidence=True)
    p_plain, r_plain = _precision_recall({leak.path for leak in plain}, truth[kind])
    p_judged, r_judged = _precision_recall({leak.path for leak in judged}, truth[kind])
    assert r_plain == r_judged == 1.0
    assert p_judged == 1.0
    assert p_plain < 1.0 if kind != "text" else p_plain == 1.0


@pytest.mark.fast
def test_cutoff_is_half_the_median_nearest_same_split_distance(leaky):
    """The cut-off against a direct computation: all pairwise cosines, each file's nearest other file of
    its own split with another content hash, the median of 1 - cosine."""
    explorer, _ = leaky
    data = load(explorer, "toy", AuditOptions())
    n = len(data.ids)
    graph = knn_graph(data.ids, data.x, n - 1)  # complete: the direct answer must match exactly
    _, threshold = find_leaks(explorer.store, data, graph)
    sims = data.x @ data.x.T
    splits = data.layout.splits
    assert splits is not None
    nearest = []
    for i in range(n):
        others = [
            j for j in range(n) if j != i and splits[j] == splits[i] and data.hashes[j] != data.hashes[i]
        ]
        nearest.append(1 - max(sims[i, j] for j in others))
    want = 1 - 0.5 * float(np.median(nearest))
    assert threshold is not None and threshold.value == pytest.approx(want, abs=1e-4)
    assert f"{want:.4f}" in threshold.method and f"over {n:,} files" in threshold.method


@pytest.mark.fast
def test_exact_copies_are_found_when_the_graph_misses_them(leaky):
    explorer, truth = leaky
    data = load(explorer, "toy", AuditOptions())
    n = len(data.ids)
    blind = KnnGraph(data.ids, np.full((n, 3), -1, np.int64), np.zeros((n, 3), np.float32), True)
    leaks, _ = find_leaks(explorer.store, data, blind)
    assert [(leak.path, [m.exact for m in leak.matches]) for leak in leaks] == [
        (next(p for p in truth["text"] if "copy0" in p), [True])
    ]


@pytest.mark.fast
def test_audit_reports_the_leaks_and_fails_on_them(leaky):
    """End to end: `vexplore audit --json --fail-on leaks` on the leaky folder exits 1 with every planted
    picture copy in the report, in the documented shape; without --fail-on it exits 0."""
    import json

    from tests.clirun import invoke

    explorer, truth = leaky
    root = explorer.store.root
    run = invoke("audit", root, "--model", "toy-image", "--json", "--fail-on", "leaks", expect=1)
    out = json.loads(run.stdout)
    assert out["splits"] == ["test", "train"] and {leak["path"] for leak in out["leaks"]} == truth["image"]
    assert set(out["leaks"][0]) == {"path", "split", "matches"}
    assert set(out["leaks"][0]["matches"][0]) == {"path", "split", "score", "exact"}
    assert set(out["leak_threshold"]) == {"value", "method"} and "median" in out["leak_threshold"]["method"]
    assert "leaks" in run.stderr
    invoke("audit", root, "--model", "toy-image", "--json", expect=0)


@pytest.mark.fast
def test_no_splits_no_leaks(leaky):
    explorer, _ = leaky
    data = load(explorer, "toy", AuditOptions())
    flat = dataclasses.replace(data, layout=Layout(data.layout.labels, None))
    assert find_leaks(explorer.store, flat, neighbor_graph(explorer, flat, 10)) == ([], None)


@pytest.mark.fast
def test_a_val_split_leaks_into_test_but_train_is_never_flagged(leaky):
    """Two non-train splits: a copy between them is a leak of each; a train file never is one."""
    explorer, _ = leaky
    data = load(explorer, "toy", AuditOptions())
    assert data.layout.splits is not None
    splits = [
        "val" if p.startswith("train/sea/") else s
        for p, s in zip(data.paths, data.layout.splits, strict=True)
    ]
    renamed: AuditData = dataclasses.replace(data, layout=Layout(data.layout.labels, splits))
    leaks, _ = find_leaks(explorer.store, renamed, neighbor_graph(explorer, renamed, 10))
    by_path = {leak.path: leak for leak in leaks}
    assert {leak.split for leak in leaks} == {"val", "test"}
    assert not any(p.startswith("train/") and not p.startswith("train/sea/") for p in by_path)
    sea_source = "train/sea/t0.txt"  # in split "val" now, with its byte-identical copy in test
    assert sea_source in by_path and by_path[sea_source].split == "val"
    assert (
        by_path[sea_source].matches[0].path == "test/sea/copy0.txt" and by_path[sea_source].matches[0].exact
    )


@pytest.mark.fast
def test_minhash_estimates_the_jaccard_overlap():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(400)]
    for keep in (1.0, 0.8, 0.5, 0.2, 0.0):
        a = " ".join(rng.choice(words, 80))
        kept = a.split()[: int(80 * keep)]
        b = " ".join(kept + list(rng.choice(words, 80 - len(kept))))
        sa, sb = shingles(a), shingles(b)
        exact = len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))
        estimate = jaccard_estimate(minhash(sa)[None], minhash(sb)[None])[0]
        assert abs(estimate - exact) < 0.12, (keep, exact, estimate)
    assert shingles("Hello,   World!").tolist() == shingles("hello world").tolist()


@pytest.mark.fast
def test_perceptual_hash_keeps_resized_copies_and_parts_unrelated_pictures():
    import io

    from tests.leak_corpus import altered, picture

    def jpeg(img, quality=80):
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality)
        return out.getvalue()

    rng = np.random.default_rng(11)
    pics = [picture(rng) for _ in range(12)]
    base = np.array([phash(jpeg(p)) for p in pics], np.uint64)
    for how in range(3):
        copies = np.array([phash(jpeg(altered(p, how), 60)) for p in pics], np.uint64)
        assert hamming(base, copies).max() <= leaks_module.PHASH_COPY
    apart = hamming(base[:, None], base[None, :])[~np.eye(len(pics), dtype=bool)]
    assert apart.min() > leaks_module.PHASH_COPY
    assert phash(b"not a picture") is None


@pytest.mark.fast
def test_sound_prints_survive_resampling_and_part_unrelated_sounds(tmp_path):
    import soundfile as sf

    from tests.leak_corpus import resampled, sound

    rng = np.random.default_rng(5)
    prints, copies = [], []
    for i in range(8):
        wave = sound(rng)
        sf.write(tmp_path / f"{i}.wav", wave, 16_000)
        sf.write(tmp_path / f"{i}.flac", resampled(wave, 16_000, 22_050) * 0.8, 22_050)
        prints.append(sound_print(tmp_path / f"{i}.wav"))
        copies.append(sound_print(tmp_path / f"{i}.flac"))
    assert max(sound_distance(a, b) for a, b in zip(prints, copies, strict=True)) <= leaks_module.SOUND_COPY
    apart = [sound_distance(prints[i], prints[j]) for i in range(8) for j in range(i)]
    assert min(apart) >= leaks_module.SOUND_DIFFERENT
    (tmp_path / "bad.wav").write_bytes(b"RIFF nothing")
    assert sound_print(tmp_path / "bad.wav") is None


def test_minilm_finds_the_edited_texts(tmp_path):
    """One realistic check: the texts under a real sentence model, with and without content evidence."""
    root, truth = _indexed(tmp_path, ["minilm"], per_split=20)
    explorer = Explorer(Store(root, find_store_dir(root), readonly=True))
    _, (plain, _) = _audit(explorer, "minilm", evidence=False)
    _, (judged, threshold) = _audit(explorer, "minilm", evidence=True)
    assert threshold is not None
    found = {leak.path for leak in judged}
    assert _precision_recall(found, truth["text"]) == (1.0, 1.0)
    assert {leak.path for leak in plain} <= found


@pytest.mark.fast
def test_same_hash_pairs_span_splits_and_stop_at_max_matches(monkeypatch):
    from vexplore.engine.audit.leaks import same_hash_pairs

    digest = np.array([0, 0, 0, 1, 1, -1, 2, 2, 2, 2])
    code = np.array([0, 1, 2, 0, 0, 1, 1, 0, 0, 0])  # 0 is train
    tested = code != 0
    a, b = same_hash_pairs(digest, code, tested)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [
        (1, 0),
        (1, 2),
        (2, 0),
        (2, 1),
        (6, 7),
        (6, 8),
        (6, 9),
    ]
    monkeypatch.setattr(leaks_module, "MAX_MATCHES", 2)
    a, b = same_hash_pairs(digest, code, tested)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [
        (1, 0),
        (1, 2),
        (2, 0),
        (2, 1),
        (6, 7),
        (6, 8),
    ]


@pytest.mark.fast
def test_capped_evidence_says_so_and_keeps_the_closest_pairs(leaky, monkeypatch):
    explorer, truth = leaky
    monkeypatch.setattr(leaks_module, "EVIDENCE_PAIRS", 3)
    _, (leaks, threshold) = _audit(explorer, "toy-image")
    assert threshold is not None and "3 closest pairs only" in threshold.method
    assert truth["image"] <= {leak.path for leak in leaks}  # copies are the closest: all still judged
