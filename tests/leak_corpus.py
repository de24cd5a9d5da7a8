"""A train/test folder with known leaks, written as real files: texts, pictures and sounds, many unrelated
per split, plus copies of some train files placed in test after editing a few words, resizing, cropping,
re-encoding as JPEG, resampling to FLAC, and byte-identical copies. `write_leaky` returns the test paths
that leak, which every finder must report."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TOPICS = {
    "sea": "ship harbour wave tide sailor anchor coast storm island boat fish net deck lighthouse salt",
    "farm": "tractor barn cow field harvest wheat farmer sheep fence hay orchard plough goat milk soil",
    "city": "street traffic tower subway office crowd bridge taxi market apartment square bus noise park",
    "space": "rocket orbit planet star galaxy moon astronaut comet telescope launch crater satellite sun",
}
COMMON_WORDS = (
    "the a of and to in is was for on with as by at from that this it be are were had have not but or "
    "which one all when there can more out so up about into than them some could time only other new "
    "after first also over such even most made many before must through back years where much way well"
)
COMMON = COMMON_WORDS.split()


def sentence_text(rng: np.random.Generator, topic: str, words: int) -> str:
    pool = TOPICS[topic].split()
    picked = [str(rng.choice(pool)) if rng.random() < 0.4 else str(rng.choice(COMMON)) for _ in range(words)]
    return " ".join(picked).capitalize() + "."


def edit_text(rng: np.random.Generator, text: str) -> str:
    """A few words changed, one dropped, one added: an edited copy."""
    words = text.rstrip(".").split()
    for i in rng.choice(len(words), 3, replace=False):
        words[i] = str(rng.choice(COMMON))
    del words[int(rng.integers(len(words)))]
    words.insert(int(rng.integers(len(words))), "indeed")
    return " ".join(words) + "."


def picture(rng: np.random.Generator, size: int = 160) -> Image.Image:
    """A gradient background with a few random shapes and some noise."""
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, size)[None, :, None]
    base = (c0 * (1 - t) + c1 * t) * np.ones((size, 1, 1))
    base += rng.normal(0, 8, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = (int(v) for v in rng.integers(0, size - 40, 2))
        x1, y1 = x0 + int(rng.integers(20, 40)), y0 + int(rng.integers(20, 40))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
    return img


def altered(img: Image.Image, how: int) -> Image.Image:
    """A resized, a cropped, or a resized-and-cropped copy (each then saved as JPEG)."""
    w, h = img.size
    if how == 0:
        return img.resize((w * 3 // 4, h * 3 // 4))
    if how == 1:
        return img.crop((w // 20, h // 20, w - w // 20, h - h // 20))
    return img.crop((w // 25, 0, w, h - h // 25)).resize((w * 2 // 3, h * 2 // 3))


def sound(rng: np.random.Generator, rate: int = 16_000, seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    freqs = rng.uniform(80, 6000, 3)
    wave = sum(np.sin(2 * np.pi * f * t) * rng.uniform(0.2, 0.5) for f in freqs)
    return (wave + rng.normal(0, 0.02, len(t))).astype(np.float32) / 2


def resampled(wave: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    t_new = np.arange(int(len(wave) * new_rate / rate)) / new_rate
    return np.interp(t_new, np.arange(len(wave)) / rate, wave).astype(np.float32)


def write_leaky(root: Path, per_split: int = 30, leaks: int = 6, seed: int = 7) -> dict[str, set[str]]:
    """Texts, pictures and sounds in train/ and test/ (labelled by topic/kind); returns per modality the
    test paths that are copies of a train file."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    out: dict[str, set[str]] = {"text": set(), "image": set(), "audio": set()}
    for split in ("train", "test"):
        for i in range(per_split):
            topic = topics[i % len(topics)]
            _write(root / split / topic / f"t{i}.txt", sentence_text(rng, topic, int(rng.integers(30, 60))))
            picture(rng).save(_parent(root / split / "pics" / f"p{i}.png"))
            sf.write(_parent(root / split / "sounds" / f"s{i}.wav"), sound(rng), 16_000)
    for i in range(leaks):
        topic = topics[i % len(topics)]
        text = (root / "train" / topic / f"t{i}.txt").read_text()
        rel = f"test/{topic}/copy{i}.txt"
        if i:
            _write(root / rel, edit_text(rng, text.strip()))
        else:  # the first one byte-identical
            shutil.copy(root / "train" / topic / f"t{i}.txt", root / rel)
        out["text"].add(rel)
        src = Image.open(root / "train" / "pics" / f"p{i}.png")
        rel = f"test/pics/copy{i}.jpg" if i else f"test/pics/copy{i}.png"
        if i:
            altered(src, i % 3).save(root / rel, "JPEG", quality=int(rng.integers(55, 90)))
        else:
            shutil.copy(root / "train" / "pics" / "p0.png", root / rel)
        out["image"].add(rel)
        wave, rate = sf.read(root / "train" / "sounds" / f"s{i}.wav", dtype="float32")
        rel = f"test/sounds/copy{i}.flac"
        sf.write(root / rel, resampled(wave, rate, 22_050) * 0.9, 22_050)
        out["audio"].add(rel)
    return out


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, text: str) -> None:
    _parent(path).write_text(text + "\n")
