"""The offline image default on real weights (EfficientNet-Lite0 from pip packages) and real photos:
`vexplore index` picks it with no flags, neighbors and tags make sense, text search is refused clearly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.clirun import invoke
from tests.photos import copy_photos, photo
from vexplore.engine.decode.image import load_image
from vexplore.engine.models import registry
from vexplore.engine.store import Store

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


@pytest.fixture(scope="module")
def effnet():
    adapter = registry.create(registry.resolve("effnet-lite0"))
    adapter.load("cpu")
    return adapter


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The photos plus a flipped, cropped, re-encoded copy of the coffee cup, indexed by the CLI."""
    folder = copy_photos(tmp_path_factory.mktemp("effnet") / "photos")
    cup = load_image(photo("coffee.png"), target=None)
    ImageOps.mirror(cup.crop((40, 20, 560, 390))).save(folder / "cup-again.jpg", quality=85)
    return folder, invoke("index", folder, "--json").json()


def embed(adapter, name: str) -> np.ndarray:
    vec = adapter.embed([adapter.preprocess(load_image(photo(name)))]).vectors[0]
    return vec / np.linalg.norm(vec)


def test_index_uses_the_offline_image_default(indexed):
    folder, summary = indexed
    assert [m["name"] for m in summary["models"]] == ["effnet-lite0"]
    assert summary["models"][0]["dim"] == 1280 and summary["embedded"] == 9 and summary["failed"] == 0
    assert invoke("index", folder, "--json").json()["unchanged"] == 9  # incremental: nothing re-embedded


def test_neighbors_of_every_file_are_real(indexed):
    folder, _ = indexed
    rows = {
        row["path"]: row for row in invoke("neighbors", folder, "--all", "--json", "-k", "3").json_lines()
    }
    assert len(rows) == 9
    first = {path: row["neighbors"][0]["path"] for path, row in rows.items()}
    assert first["motorcycle_left.png"] == "motorcycle_right.png"  # two photos of the same motorcycle
    assert first["motorcycle_right.png"] == "motorcycle_left.png"
    assert first["coffee.png"] == "cup-again.jpg" and first["cup-again.jpg"] == "coffee.png"
    for row in rows.values():
        scores = [n["score"] for n in row["neighbors"]]
        assert scores == sorted(scores, reverse=True)
        assert all(len(n["labels"]) == 5 for n in row["neighbors"])  # tags ride along with every result


def test_top_tags_of_clear_photos(indexed):
    folder, _ = indexed
    with Store(folder, folder / ".vexplore", readonly=True) as store:
        model = store.model("effnet-lite0")
        ids = {path: f.id for path, f in store.files().items()}
        labels = {path: store.labels(model, [fid])[fid] for path, fid in ids.items()}
        thumb = store.db.execute("SELECT thumb FROM files WHERE path='astronaut.png'").fetchone()[0]
    top = {path: lab[0][0] for path, lab in labels.items()}
    assert top["coffee.png"] == "espresso"
    assert top["chelsea.png"] in CATS
    assert top["motorcycle_left.png"] in {"moped", "motor scooter"}
    assert top["rocket.jpg"] in {"missile", "projectile", "space shuttle"}
    assert top["flower.jpg"] == "daisy"
    assert Image.open(io.BytesIO(thumb)).size == (256, 256)


def test_same_object_nearer_than_unrelated(effnet):
    left, right = embed(effnet, "motorcycle_left.png"), embed(effnet, "motorcycle_right.png")
    for other in ("chelsea.png", "coffee.png", "china.jpg", "astronaut.png"):
        unrelated = embed(effnet, other)
        assert left @ right > left @ unrelated + 0.3 and left @ right > right @ unrelated + 0.3


def test_text_search_refused_without_a_text_tower(indexed):
    folder, _ = indexed
    err = invoke("search", folder, "a cat", expect=2).stderr
    assert "no indexed model has a text tower" in err and "--model clip-b32" in err and "Traceback" not in err


def test_fast_path_computes_the_plain_network(effnet):
    """Folded batch norms, NHWC layout and on-device normalisation change the speed, not the numbers."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    plain = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=effnet.location.path).eval()
    part = effnet.preprocess(load_image(photo("rocket.jpg")))
    x = (torch.from_numpy(part.astype(np.float32)).permute(2, 0, 1)[None] - 127.0) / 128.0
    with torch.no_grad():
        expected = plain._avg_pooling(plain.extract_features(x)).flatten(1)[0].numpy()
        logits = plain(x)[0]
    out = effnet.embed([part])
    np.testing.assert_allclose(out.vectors[0], expected, rtol=1e-3, atol=1e-4)
    assert out.labels[0][0][1] == pytest.approx(float(torch.softmax(logits, 0).max()), abs=1e-3)
