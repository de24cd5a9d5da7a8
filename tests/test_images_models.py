"""Image model families on tiny random models saved to disk (loaded through the real adapter code):
HF vision backbones with and without a classifier, CLIP's two towers and cross-modal search, local
torch hub directories; plus how names resolve and which image model is the default."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from PIL import Image

from tests.clirun import invoke
from tests.photos import copy_photos, photo
from vexplore.engine.decode.image import load_image
from vexplore.engine.models import clip as clip_family
from vexplore.engine.models import effnet, registry
from vexplore.engine.models.base import DecodeError, ModelError
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.query import open_explorer
from vexplore.engine.store import Store


def adapter_for(name: str):
    adapter = registry.create(registry.resolve(str(name)))
    adapter.load("cpu")
    return adapter


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def resnet(tiny_resnet_dir):
    return adapter_for(tiny_resnet_dir)


@pytest.fixture(scope="module")
def tiny_clip(tiny_clip_dir):
    return adapter_for(tiny_clip_dir)


# ---- names → families ---------------------------------------------------------------------------
def test_names_resolve_to_image_families(tiny_clip_dir, tiny_resnet_dir, hub_dir):
    spec = registry.resolve(str(tiny_clip_dir))
    assert (spec.family, spec.text_queries) == ("clip", True)
    assert set(spec.modalities) == {"image", "video", "text"}
    assert registry.resolve(str(tiny_resnet_dir)).family == "vision"
    assert registry.resolve(str(hub_dir)).ref == f"hub:{hub_dir.resolve()}:tinycnn"
    assert registry.resolve("resnet50").ref == "microsoft/resnet-50"
    assert registry.resolve("resnet50-hub").ref == "hub:pytorch/vision:v0.10.0:resnet50"
    # Ids not in the cache are recognised by what their names say (no network is asked).
    assert registry.resolve("facebook/convnext-tiny-224").family == "vision"
    assert registry.resolve("openai/clip-vit-base-patch16").family == "clip"
    assert registry.resolve("sentence-transformers/all-MiniLM-L12-v2").family == "text"


def test_hub_specs(hub_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(hub_dir.parent)
    spec = registry.resolve(f"hub:./{hub_dir.name}:tinycnn")
    assert spec.name == f"hub:{hub_dir.resolve()}:tinycnn"  # the store's name means the same from anywhere
    with pytest.raises(ModelError, match="hub:OWNER/REPO"):
        registry.resolve("hub:resnet50")
    with pytest.raises(ModelError, match="OWNER/REPO"):
        registry.resolve("hub:just-a-name:resnet50")
    from tests.image_models import build_hub_dir

    two = build_hub_dir(tmp_path / "two", extra_entry=True)
    with pytest.raises(ModelError, match="tinycnn, other"):
        registry.resolve(str(two))
    adapter = registry.create(registry.resolve(f"hub:{tmp_path}:tinycnn"))  # a folder with no hubconf.py
    with pytest.raises(ModelError, match="no hubconf.py"):
        adapter.load("cpu")


def test_image_default_prefers_cached_clip_then_effnet_then_resnet_download(monkeypatch):
    assert registry.default_for("image").name == "effnet-lite0"  # the pip package: works offline
    assert registry.default_for("video").name == "effnet-lite0"
    real = clip_family.locate

    def cached(spec):
        if spec.name == "clip-b32":
            return registry.Location("hf-cache", "/somewhere", True)
        return real(spec)

    monkeypatch.setattr(clip_family, "locate", cached)
    assert registry.default_for("image").name == "clip-b32"
    monkeypatch.setattr(clip_family, "locate", real)
    monkeypatch.setattr(effnet, "locate", lambda spec: registry.Location("missing", None, False))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert registry.default_for("image").name == "resnet50"  # the smallest download, not a 600 MB CLIP


# ---- HF vision backbones ----------------------------------------------------------------------
def test_resnet_penultimate_features_and_labels(resnet, tiny_resnet_headless_dir):
    parts = [resnet.preprocess(load_image(photo(n))) for n in ("chelsea.png", "coffee.png", "rocket.jpg")]
    assert parts[0].shape == (48, 48, 3) and resnet.prep.short == 54  # crop_pct: resize to 48/0.875, crop 48
    out = resnet.embed(parts)
    assert out.vectors.shape == (3, 32) and resnet.dim == 32 and out.vectors.dtype == np.float32
    assert len(out.labels) == 3
    for labels in out.labels:
        names = [name for name, _ in labels]
        probs = [p for _, p in labels]
        assert set(names) == {"tabby cat", "espresso", "missile", "moped"}  # 4 classes: top-5 holds all
        assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 0.01
    # The vector is what the classifier reads: the same as a headless backbone's pooled output.
    headless = adapter_for(tiny_resnet_headless_dir)
    plain = headless.embed(parts)
    assert plain.labels is None
    np.testing.assert_allclose(plain.vectors, out.vectors, rtol=1e-4, atol=1e-5)


def test_batches_split_by_batch_size(resnet):
    parts = [resnet.preprocess(load_image(photo("coffee.png")))] * 5
    resnet.requested_batch = 2
    try:
        chunked = resnet.embed(parts)
    finally:
        resnet.requested_batch = None
    assert chunked.vectors.shape == (5, 32) and len(chunked.labels) == 5
    np.testing.assert_allclose(chunked.vectors, resnet.embed(parts).vectors, rtol=1e-4, atol=1e-5)


def test_broken_model_folder_is_one_clear_line(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "clip"}))  # no weights beside it
    adapter = registry.create(registry.resolve(str(tmp_path)))
    with pytest.raises(ModelError, match="cannot load model") as caught:
        adapter.load("cpu")
    assert "\n" not in str(caught.value)


def test_missing_model_is_one_clear_line():
    adapter = registry.create(registry.resolve("resnet50"))  # not cached, HF_HUB_OFFLINE=1 in tests
    with pytest.raises(ModelError, match="not available offline"):
        adapter.load("cpu")


# ---- torch hub ------------------------------------------------------------------------------
def test_local_hub_model_is_the_seed_recipe(hub_dir):
    import torch

    adapter = adapter_for(f"hub:{hub_dir}:tinycnn")
    part = adapter.preprocess(load_image(photo("china.jpg")))
    assert part.shape == (224, 224, 3)
    out = adapter.embed([part])
    assert out.vectors.shape == (1, 12) and adapter.dim == 12
    # The recipe by hand: load, drop the last layer, eval, no_grad, on the same normalised pixels.
    sys.path.insert(0, str(hub_dir))
    try:
        import hubconf

        model = hubconf.tinycnn(pretrained=True)
    finally:
        sys.path.remove(str(hub_dir))
        sys.modules.pop("hubconf", None)
    body = torch.nn.Sequential(*list(model.children())[:-1]).eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (torch.from_numpy(part.copy()).permute(2, 0, 1)[None].float() / 255 - mean) / std
    with torch.no_grad():
        expected = body(x).flatten(1)
        logits = model(x)
    np.testing.assert_allclose(out.vectors, expected.numpy(), rtol=1e-4, atol=1e-5)
    # Its 1000-way head still names ImageNet classes, computed from the same features.
    names = json.loads((registry.Path(effnet.__file__).parent / "imagenet_classes.json").read_text())
    assert out.labels[0][0][0] == names[int(logits.argmax())]


def test_untrusted_github_hub_repo_needs_trust(tmp_path, monkeypatch):
    from tests.image_models import build_hub_dir

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    build_hub_dir(tmp_path / "hub" / "someone_models_main")  # as torch.hub caches a GitHub checkout
    adapter = registry.create(registry.resolve("hub:someone/models:tinycnn"))
    assert adapter.location.source == "hub-cache"
    with pytest.raises(ModelError, match="--trust-remote-code"):
        adapter.load("cpu")
    adapter.trust_remote_code = True
    adapter.load("cpu")  # loads the cached checkout, never asks GitHub
    assert adapter.dim == 12


# ---- CLIP -----------------------------------------------------------------------------------
def test_clip_towers_share_one_space(tiny_clip):
    assert tiny_clip.dim == 24 and tiny_clip.prep.needed == 32
    texts = tiny_clip.embed_text(["a red cat", "a dog", "a red cat"])
    assert texts.shape == (3, 24) and texts.dtype == np.float32
    np.testing.assert_allclose(texts[0], texts[2], rtol=1e-5)
    assert not np.allclose(texts[0], texts[1])
    image = tiny_clip.preprocess(load_image(photo("chelsea.png")))
    mixed = tiny_clip.embed(["a dog", image, "a red cat"])  # one batch, two towers, order kept
    assert mixed.vectors.shape == (3, 24)
    np.testing.assert_allclose(mixed.vectors[[0, 2]], texts[[1, 0]], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mixed.vectors[1], tiny_clip.embed([image]).vectors[0], rtol=1e-4, atol=1e-5)


def test_a_search_loads_only_the_text_tower(tiny_clip_dir, tiny_clip):
    """Explorer.query_vector loads CLIP for queries only: the text tower and its projection, same vectors."""
    queries_only = registry.create(registry.resolve(str(tiny_clip_dir)))
    queries_only.load_for_queries("cpu")
    assert not hasattr(queries_only.model, "vision_model") and queries_only.dim == tiny_clip.dim
    captions = ["a red cat", "a rocket on the pad", "dog " * 100]  # the last one is cut at 77 tokens
    np.testing.assert_allclose(
        queries_only.embed_text(captions), tiny_clip.embed_text(captions), rtol=1e-5, atol=1e-6
    )
    full = sum(p.numel() for p in tiny_clip.model.parameters())
    assert sum(p.numel() for p in queries_only.model.parameters()) < 0.75 * full


def test_clip_cuts_long_text_into_token_windows(tiny_clip, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("a red cat")
    assert tiny_clip.decode(short, "text").parts == ["a red cat"]
    long = tmp_path / "long.txt"
    long.write_text("dog " * 300)  # "dog" is one merged token in the tiny vocabulary: 4 windows of 75
    decoded = tiny_clip.decode(long, "text")
    assert decoded.meta["windows"] == len(decoded.parts) == 4 and decoded.meta["truncated"] is False
    assert [len(tiny_clip.tokenizer(p)["input_ids"]) for p in decoded.parts] == [77] * 4  # 75 + 2 special
    huge = tmp_path / "huge.txt"
    huge.write_text("dog " * 5000)
    decoded = tiny_clip.decode(huge, "text")
    assert len(decoded.parts) == clip_family.MAX_WINDOWS and decoded.meta["truncated"] is True


def test_cross_modal_search_end_to_end(tiny_clip_dir, tiny_clip, tmp_path):
    folder = copy_photos(tmp_path / "mixed", ["chelsea.png", "coffee.png", "china.jpg", "rocket.jpg"])
    (folder / "notes.txt").write_text("a red cat asleep on the sofa")
    (folder / "dogs.md").write_text("dog " * 200)  # 200 tokens: 3 windows
    summary = invoke("index", folder, "--model", tiny_clip_dir, "--json").json()
    assert summary["embedded"] == 6 and summary["models"][0]["dim"] == 24
    results = invoke("search", folder, "a red cat", "-k", "6", "--json").json()["results"]
    assert {r["path"] for r in results} == {
        "chelsea.png",
        "coffee.png",
        "china.jpg",
        "rocket.jpg",
        "notes.txt",
        "dogs.md",
    }
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    # The vector scores are cosines between the text tower's query and the stored image/text vectors
    # (`score` orders the results: the fused rank score, as "a red cat" is also a keyword hit in notes.txt).
    query = unit(tiny_clip.embed_text(["a red cat"])[0])
    with Store(folder, folder / ".vexplore", readonly=True) as store:
        model = store.models()[0]
        for r in results:
            vector = store.file_vector(model, store.file_by_path(r["path"]).id)
            assert abs(float(vector @ query) - r["vector"]) < 1e-3
        assert store.window_vectors(model, store.file_by_path("dogs.md").id).shape == (3, 24)
    # Text files and pictures are neighbors of each other in this space.
    hits = invoke("neighbors", folder, "notes.txt", "-k", "5", "--json").json()["neighbors"]
    assert {n["path"] for n in hits} >= {"chelsea.png", "dogs.md"}


# ---- decode: videos through image adapters, broken files in a real run -------------------------
def test_video_frames_become_parts(resnet, monkeypatch, tmp_path):
    frames = [Image.new("RGB", (64, 48), (i * 30, 0, 0)) for i in range(8)]
    fake = types.ModuleType("vexplore.engine.decode.video")
    fake.sample_frames = lambda path, n=8: (frames[:n], {"fps": 25.0, "frames": 200}, b"thumb")
    monkeypatch.setitem(sys.modules, "vexplore.engine.decode.video", fake)
    decoded = resnet.decode(tmp_path / "clip.mp4", "video")
    assert len(decoded.parts) == 8 and decoded.parts[0].shape == (48, 48, 3)
    assert decoded.meta == {"fps": 25.0, "frames": 200} and decoded.thumbnail == b"thumb"
    fake.sample_frames = lambda path, n=8: ([], {}, None)
    with pytest.raises(DecodeError, match="no decodable frames"):
        resnet.decode(tmp_path / "clip.mp4", "video")


def test_broken_images_are_recorded_per_file(tiny_resnet_dir, tmp_path):
    folder = copy_photos(tmp_path / "photos", ["chelsea.png", "china.jpg", "flower.jpg"])
    data = photo("china.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 4])
    (folder / "fake.png").write_bytes(b"not an image at all")
    summary = index_folder(folder, folder / ".vexplore", Options(models=[str(tiny_resnet_dir)], workers=1))
    assert summary.embedded == 3 and summary.failed == 2
    reasons = {e.path: e.reason for e in summary.errors}
    assert "truncated" in reasons["cut.jpg"] and "not an image" in reasons["fake.png"]
    explorer = open_explorer(folder)
    _, hits = explorer.neighbors("china.jpg", k=5)
    assert {h.path for h in hits} == {"chelsea.png", "flower.jpg"}  # broken files are not in the index
    assert all(h.labels and h.labels[0][0] in {"tabby cat", "espresso", "missile", "moped"} for h in hits)
    thumbs = dict(explorer.store.db.execute("SELECT path, thumb FROM files"))
    assert thumbs["cut.jpg"] is None and load_image_bytes(thumbs["chelsea.png"]).format == "JPEG"


def load_image_bytes(data: bytes) -> Image.Image:
    import io

    return Image.open(io.BytesIO(data))
