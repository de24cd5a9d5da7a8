"""The toy model family: numpy-only embeddings through the real decoders, never a default, and a toy
index run that never imports torch (the promise the fast tier rests on)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.clirun import run_cli
from tests.media import save_png, sine, write_audio, write_video
from vexplore.engine.models import registry
from vexplore.engine.models.base import DecodeError

pytestmark = pytest.mark.fast
HEAVY = ("torch", "transformers", "sentence_transformers")


def adapter(name: str):
    toy = registry.create(registry.resolve(name))
    toy.load("cpu")
    return toy


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def file_vector(name: str, path, modality: str) -> np.ndarray:
    toy = adapter(name)
    vectors = toy.embed(toy.decode(path, modality).parts).vectors
    return unit(unit(vectors).mean(axis=0))


@pytest.mark.parametrize("modality", ["text", "image", "audio", "video"])
def test_toys_are_never_a_default(modality):
    chosen = registry.default_for(modality)
    assert chosen is None or not chosen.name.startswith("toy")


@pytest.mark.parametrize(
    "name, modalities, dim",
    [
        ("toy", ("text",), 256),
        ("toy-chars", ("text",), 256),
        ("toy-image", ("image", "video"), 48),
        ("toy-audio", ("audio",), 32),
    ],
)
def test_aliases_resolve_offline(name, modalities, dim):
    spec = registry.resolve(name)
    assert (spec.family, spec.modalities, spec.dim) == ("toy", modalities, dim)
    assert registry.locate(spec).available


@pytest.mark.parametrize("name", ["toy", "toy-chars"])
def test_text_sharing_words_is_nearer_and_queries_match_files(name, tmp_path):
    texts = {
        "cat.txt": "The cat sat on the warm mat by the door.",
        "kitten.txt": "A cat and a kitten share the warm mat.",
        "rocket.txt": "Engines roar as the rocket climbs toward orbit.",
    }
    for rel, text in texts.items():
        (tmp_path / rel).write_text(text)
    vec = {rel: file_vector(name, tmp_path / rel, "text") for rel in texts}
    assert vec["cat.txt"] @ vec["kitten.txt"] > vec["cat.txt"] @ vec["rocket.txt"] + 0.2
    toy = adapter(name)
    query = unit(toy.embed_text(["rocket orbit"])[0])
    assert max(vec, key=lambda rel: float(vec[rel] @ query)) == "rocket.txt"
    # deterministic: a fresh adapter (another process would do the same) gives the same vectors
    np.testing.assert_array_equal(file_vector(name, tmp_path / "cat.txt", "text"), vec["cat.txt"])


def test_long_text_becomes_several_parts(tmp_path):
    (tmp_path / "long.txt").write_text(" ".join(f"word{i % 50}" for i in range(1000)))
    decoded = adapter("toy").decode(tmp_path / "long.txt", "text")
    assert len(decoded.parts) == 5 and decoded.meta["windows"] == 5


def test_images_compare_by_colour_and_video_frames_land_beside_them(tmp_path):
    blue, red = (30, 60, 200), (210, 40, 30)
    save_png(Image.new("RGB", (80, 60), blue), tmp_path / "blue.png")
    save_png(Image.new("RGB", (64, 64), (40, 70, 190)), tmp_path / "bluish.png")
    save_png(Image.new("RGB", (80, 60), red), tmp_path / "red.png")
    write_video(tmp_path / "red.mp4", [np.full((48, 64, 3), red, np.uint8)] * 10, fps=10)
    vec = {p.name: file_vector("toy-image", p, "image") for p in tmp_path.glob("*.png")}
    vec["red.mp4"] = file_vector("toy-image", tmp_path / "red.mp4", "video")
    assert vec["blue.png"] @ vec["bluish.png"] > vec["blue.png"] @ vec["red.png"] + 0.5
    assert vec["red.mp4"] @ vec["red.png"] > vec["red.mp4"] @ vec["blue.png"] + 0.5
    decoded = adapter("toy-image").decode(tmp_path / "blue.png", "image")
    assert decoded.thumbnail and decoded.meta["width"] == 80


def test_audio_compares_by_pitch(tmp_path):
    for name, freq in [("a440.wav", 440.0), ("a450.wav", 450.0), ("a3000.wav", 3000.0)]:
        write_audio(tmp_path / name, sine(freq, 1.0))
    vec = {p.name: file_vector("toy-audio", p, "audio") for p in tmp_path.glob("*.wav")}
    assert vec["a440.wav"] @ vec["a450.wav"] > vec["a440.wav"] @ vec["a3000.wav"] + 0.5


def test_unreadable_file_is_a_decode_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    with pytest.raises(DecodeError):
        adapter("toy-image").decode(tmp_path / "bad.png", "image")


@pytest.mark.parametrize(
    "args",
    [
        ("index", "{texts}", "--model", "toy", "--json"),
        ("search", "{indexed}", "a recipe with garlic", "--json"),
        ("neighbors", "{indexed}", "cooking/doc1.md", "--json"),
    ],
)
def test_toy_index_and_queries_never_import_torch(args, topic_texts, toy_indexed):
    """A real child process with -X importtime logs every module an import statement loads (torch and
    transformers included, wherever the statement is), even when the process ends with a fast exit."""
    args = [a.format(texts=topic_texts, indexed=toy_indexed) for a in args]
    proc = run_cli(*args, python_flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "numpy" in imported  # the log is there
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["models"][0]["name"] == "toy" if args[0] == "index" else answer["model"] == "toy"
