"""Search the way people ask (issue 18) on the toy models: a file from outside the folder as the query,
combined terms, keyword and hybrid modes over the FTS5 index, and the JSON that says why."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media import crop_fraction, jitter, save_jpeg, save_png
from vexplore.engine.models.toy import TEXT_DIM

pytestmark = pytest.mark.fast


def _scene(seed: int) -> Image.Image:
    """A picture with its own palette: blocks of a few colours drawn from the seed."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (4, 3))
    blocks = rng.integers(0, 4, (8, 8))
    return Image.fromarray(palette[blocks].astype(np.uint8).repeat(32, 0).repeat(32, 1))


@pytest.fixture
def pictures(tmp_path: Path, cli) -> tuple[Path, Path]:
    """A folder of four scenes, scene 0 with two near-copies; a third copy of scene 0 lies outside it."""
    root = tmp_path / "pics"
    for seed in range(4):
        save_png(_scene(seed), root / f"scene{seed}.png")
    save_jpeg(jitter(_scene(0), brightness=1.03), root / "copies" / "bright.jpg")
    save_jpeg(crop_fraction(_scene(0), (0.05, 0.05, 0.95, 0.95)), root / "copies" / "cropped.jpg")
    outside = save_jpeg(crop_fraction(_scene(0), (0.1, 0.0, 1.0, 0.9)), tmp_path / "elsewhere" / "query.jpg")
    cli("index", root, "--model", "toy-image", "--json")
    return root, outside


def test_a_file_outside_the_folder_finds_its_near_copies(pictures, cli):
    root, outside = pictures
    doc = cli("search", root, "--like", outside, "-k", "3", "--json").json()
    assert doc["model"] == "toy-image" and doc["mode"] == "semantic"
    assert doc["terms"] == [{"kind": "file", "value": str(outside), "weight": 1.0}]
    top = [r["path"] for r in doc["results"]]
    assert set(top) == {"scene0.png", "copies/bright.jpg", "copies/cropped.jpg"}, top
    assert all(r["keyword"] is None and r["vector"] == r["score"] for r in doc["results"])
    # rclip's syntax says the same, and an indexed file given as the query is left out of its answer
    doc = cli("search", root, "./copies/bright.jpg", "-k", "2", "--json").json()
    assert {r["path"] for r in doc["results"]} == {"scene0.png", "copies/cropped.jpg"}


def test_a_term_the_model_cannot_embed_is_one_line(pictures, cli):
    root, outside = pictures
    code, _, err = cli("search", root, "a red car", "--like", outside, "--json", expect=None)
    assert code == 2 and "no indexed model can embed" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("search", root, "--like", root / "nope.png", expect=None)
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def cars(tmp_path: Path, cli) -> Path:
    root = tmp_path / "cars"
    root.mkdir()
    texts = {
        "red.txt": "red",
        "car.txt": "car",
        "red-car.txt": "red car parked",
        "red-apple.txt": "red apple crumble",
        "blue-car.txt": "blue car",
    }
    for name, text in texts.items():
        (root / name).write_text(text)
    cli("index", root, "--model", "toy", "--json")
    return root


def test_combined_query_ranks_the_file_that_has_both(cars, cli):
    def first(*query: str) -> str:
        return cli("search", cars, *query, "--mode", "semantic", "--json").json()["results"][0]["path"]

    assert first("red") == "red.txt" and first("car") == "car.txt"
    doc = cli("search", cars, "red", "+", "car", "--mode", "semantic", "--json").json()
    assert doc["results"][0]["path"] == "red-car.txt"
    assert doc["combined"] == '"red" + "car"'
    assert [t["term"] for t in doc["results"][0]["terms"]] == ['"red"', '"car"']
    doc = cli("search", cars, "2:red - car", "--minus", "parked", "--mode", "semantic", "--json").json()
    assert doc["combined"] == '2×"red" − "car" − "parked"'
    assert doc["results"][0]["path"] == "red.txt" and doc["results"][1]["path"] == "red-apple.txt"


def _colliding(word: str, n: int) -> list[str]:
    """Words the toy model hashes into the same signed slot as `word`: to it they mean the same."""

    def slot(w: str) -> tuple[int, int]:
        h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
        return h % (TEXT_DIM - 1), (h >> 32) & 1

    target = slot(word)
    return [w for w in (f"w{i}" for i in range(20000)) if slot(w) == target][:n]


def test_a_rare_word_only_the_keyword_index_knows_is_found_in_hybrid(tmp_path, cli):
    root = tmp_path / "notes"
    root.mkdir()
    rare = "zyxomatic"
    for i, w in enumerate(_colliding(rare, 8)):
        (root / f"decoy{i}.txt").write_text(w)
    filler = " ".join(f"filler{i}" for i in range(60))
    (root / "report.md").write_text(f"{filler} the {rare} valve failed {filler}")
    cli("index", root, "--model", "toy", "--json")

    semantic = cli("search", root, rare, "-k", "5", "--mode", "semantic", "--json").json()
    assert "report.md" not in [r["path"] for r in semantic["results"]]
    hybrid = cli("search", root, rare, "-k", "5", "--json").json()
    assert hybrid["mode"] == "hybrid"
    best = hybrid["results"][0]
    assert best["path"] == "report.md" and best["keyword"]["rank"] == 1
    assert f"«{rare}»" in best["keyword"]["snippet"]
    keyword = cli("search", root, rare, "--mode", "keyword", "--json").json()
    assert [r["path"] for r in keyword["results"]] == ["report.md"] and keyword["model"] is None

    # Words no file holds: the vectors alone answer, ordered and scored by cosine (unless hybrid is asked).
    unknown = cli("search", root, "quuxly", "-k", "3", "--json").json()
    assert unknown["mode"] == "semantic"
    assert [r["score"] for r in unknown["results"]] == [r["vector"] for r in unknown["results"]]
    asked = cli("search", root, "quuxly", "-k", "3", "--mode", "hybrid", "--json").json()
    assert asked["mode"] == "hybrid" and [r["path"] for r in asked["results"]] == [
        r["path"] for r in unknown["results"]
    ]


def test_keyword_input_is_never_fts_syntax(cars, cli):
    for query in ['NEAR("red', "car*", "red:car", '"', "AND OR NOT"]:
        code, out, err = cli("search", cars, query, "--mode", "keyword", "--json", expect=None)
        assert code in (0, 2) and "Traceback" not in err, (query, err)
        if code == 2:
            assert len(err.strip().splitlines()) == 1
    doc = cli("search", cars, "car*", "--mode", "keyword", "--json").json()
    assert {r["path"] for r in doc["results"]} == {"car.txt", "red-car.txt", "blue-car.txt"}


def test_a_store_without_the_keyword_index_gets_it_once(cars, cli):
    db = sqlite3.connect(cars / ".vexplore" / "catalog.sqlite")
    with db:
        for name in ("files_fts_insert", "files_fts_delete", "files_fts_update"):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DROP TABLE files_fts")
    db.close()
    doc = cli("search", cars, "crumble", "--mode", "keyword", "--json").json()
    assert [r["path"] for r in doc["results"]] == ["red-apple.txt"]
    (cars / "red-apple.txt").write_text("green pear")
    (cars / "blue-car.txt").unlink()
    cli("index", cars, "--json")
    assert cli("search", cars, "crumble", "--mode", "keyword", "--json").json()["results"] == []
    assert [
        r["path"] for r in cli("search", cars, "pear", "--mode", "keyword", "--json").json()["results"]
    ] == ["red-apple.txt"]
    # paths are indexed too: a file found by its name, a removed file no more
    assert [
        r["path"] for r in cli("search", cars, "apple", "--mode", "keyword", "--json").json()["results"]
    ] == ["red-apple.txt"]
    assert cli("search", cars, "blue", "--mode", "keyword", "--json").json()["results"] == []
