"""`vexplore stats --json`, `compare --json` and `audit --json` print exactly the keys the README
documents: its key tables (and the shapes written in them, like `{"k", "inertia", "clusters": [{"id",
...}]}`) are parsed and held against what the commands print for a small store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.stats_corpus import synthetic_store
from vexplore.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
ANY_KEYS = "any keys"  # a documented mapping whose keys are data (model names), not names


def _table(title: str) -> list[tuple[list[str], str]]:
    """(documented key names, meaning) for each row of the table under the README heading `title`."""
    text = README.read_text()
    lines = text[text.index(title) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| key |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    rows = []
    for line in lines[start + 2 : end]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1].replace("\\|", "|")))
    return rows


def _shape(literal: str) -> Any:
    """A README shape such as `[{"path", "neighbors": {A: [...]}}]` as nested dicts/lists (None: a leaf)."""
    tokens = re.findall(r'"[^"]*"|\.\.\.|[{}\[\]:,|]|[^\s{}\[\]:,|"]+', literal)
    at = 0

    def value() -> Any:
        nonlocal at
        tok = tokens[at]
        at += 1
        if tok == "{":
            keys: dict[str, Any] = {}
            named = True
            while tokens[at] != "}":
                key = tokens[at]
                named = named and key.startswith('"')
                at += 1
                keys[key.strip('"')] = value() if tokens[at] == ":" and _skip() else None
                at += tokens[at] == ","
            at += 1
            return keys if named else {ANY_KEYS: next(iter(keys.values()))}
        if tok == "[":
            items = []
            while tokens[at] != "]":
                items.append(value())
                at += tokens[at] == ","
            at += 1
            out = [items[0] if items else None]
        else:
            out = None
        while at < len(tokens) and tokens[at] == "|":  # "pca" | "umap": alternatives of one leaf
            at += 2
        return out

    def _skip() -> bool:
        nonlocal at
        at += 1
        return True

    return value()


def _check(doc: Any, shape: Any, where: str) -> None:
    if isinstance(shape, dict) and isinstance(doc, dict):
        if ANY_KEYS in shape:
            for key, sub in doc.items():
                _check(sub, shape[ANY_KEYS], f"{where}.{key}")
            return
        assert set(doc) == set(shape), f"{where}: printed {sorted(doc)}, documented {sorted(shape)}"
        for key, sub in shape.items():
            _check(doc[key], sub, f"{where}.{key}")
    elif isinstance(shape, list) and isinstance(doc, list):
        for item in doc:
            _check(item, shape[0], f"{where}[]")


def _check_table(doc: dict, title: str) -> None:
    documented: dict[str, set[str]] = {}
    for names, meaning in _table(title):
        literal = re.search(r"`(\[?\{.*?\}\]?)`", meaning)
        for name in names:
            top, _, sub = name.partition(".")
            documented.setdefault(top, set())
            if sub:
                documented[top].add(sub)
            if literal and len(names) == 1:
                target = doc[top][sub] if sub else doc[top]
                _check(target, _shape(literal[1]), name)
    assert set(doc) == set(documented), f"printed {sorted(doc)}, documented {sorted(documented)}"
    for top, subs in documented.items():
        if subs:
            assert set(doc[top]) == subs, f"{top}: printed {sorted(doc[top])}, documented {sorted(subs)}"


def _distributions(doc: Any, found: list[tuple[str, dict]], where: str = "") -> list[tuple[str, dict]]:
    if isinstance(doc, dict):
        if "histogram" in doc:
            found.append((where, doc))
        for key, sub in doc.items():
            _distributions(sub, found, f"{where}.{key}".strip("."))
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two synthetic models over the same 60 files in labelled folders (g0, g1, g2)."""
    from vexplore.engine.index import VectorIndex
    from vexplore.engine.results import EmbeddedFile
    from vexplore.engine.store import Store, find_store_dir

    rng = np.random.default_rng(7)
    root = synthetic_store(tmp_path_factory.mktemp("keys") / "s", rng.normal(size=(60, 16)), name="first")
    with Store(root, find_store_dir(root), create=False) as st:
        model = st.ensure_model("second", "synthetic", "none", ("text",), 8, False, {})
        vecs = rng.normal(size=(60, 8)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        files = sorted(st.files().values(), key=lambda f: f.id)
        model = st.commit_batch(model, [EmbeddedFile(f, v, 1.0) for f, v in zip(files, vecs, strict=True)])
        index = VectorIndex(st, model)
        index.build()
        index.save()
    return root


def _json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_stats_json_has_the_documented_keys(store):
    doc = _json("stats", str(store), "--model", "first", "-k", "5")
    _check_table(doc, "### `stats --json` keys")
    intro = README.read_text().split("### `stats --json` keys")[1].split("| key |")[0]
    histogram, distribution = (_shape(s) for s in re.findall(r"`(\{[^`]*\})`", intro)[:2])
    found = _distributions(doc, [])
    assert {w for w, _ in found} == {
        "norms",
        "anisotropy.cosine_to_centroid",
        "pairwise_cosine",
        "knn.distance",
    }
    for where, dist in found:
        extra = {"source"} if where == "norms" else set()  # the norms say which norms they are
        assert set(dist) == set(distribution) | extra, where
        _check(dist["histogram"], histogram, f"{where}.histogram")
    assert doc["norms"]["source"] == "raw (before normalisation)"
    assert all(set(s) == {"n", "of"} for s in doc["sampled"].values())


def test_compare_json_has_the_documented_keys(store):
    doc = _json("compare", str(store), "--models", "first,second", "-k", "3")
    _check_table(doc, "### `compare --json` keys")
    assert doc["models"] == ["first", "second"] and set(doc["label_agreement_at_k"]) == {"first", "second"}
    assert doc["most_different"] and doc["most_different"][0]["neighbors"]["second"]


def test_audit_json_has_the_documented_keys(store):
    doc = _json("audit", str(store), "--model", "first", "-k", "5")
    _check_table(doc, "### `audit --json` keys")
    assert doc["sampled"] == {} and doc["count"] == 60 and doc["outlier_fence"] > 0
