"""A small real folder and its real store for the UI tests: text files on a few topics (embedded by the
packaged MiniLM, or by the toy model on the fast tier), hostile file names and contents, a file that
fails, and an image, a sound and a video for previews. Built once per test session and model."""

from __future__ import annotations

import io
import time
from pathlib import Path

from textual.app import App

TEXTS = {
    "space/orbit.txt": "The rocket launched the satellite into orbit around the Earth last night.",
    "space/planets.md": "# Planets\n\nJupiter and Saturn are gas giants orbiting the Sun far beyond Mars.",
    "space/telescope.txt": "Astronomers pointed the telescope at a distant galaxy full of young stars.",
    "kitchen/bread.txt": (
        "Knead the dough with flour, water, salt and yeast, then bake the bread for an hour."
    ),
    "kitchen/soup.txt": "Simmer the tomato soup with garlic, onions and basil; season it with pepper.",
    "kitchen/cake.md": "Whisk eggs and sugar, fold in the flour and butter, and bake the sponge cake.",
    "animals/cats.txt": "The kitten chased a ball of yarn, then the old cat purred on the sofa.",
    "animals/dogs.txt": "Puppies love to fetch sticks in the park and bark at the mail carrier.",
    "code/fib.py": (
        'def fib(n: int) -> int:\n    """Fibonacci numbers, slowly."""\n'
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
    ),
    # The relative path is `[bold red]x[/].txt`: a folder `[bold red]x[` holding `].txt`.
    "[bold red]x[/].txt": (
        "hello [bold red]markup[/] and \x1b[31mescape\x1b[0m and [link=http://e.vil]a link[/link]\n"
    ),
    "\x1b[31mred.txt": "A file whose name starts with a terminal escape sequence.\n",
}
BROKEN = "broken.txt"  # NUL bytes in a .txt: recorded as failed with a reason
MODEL = "minilm"

_built: dict[str, Path] = {}


def write_media(root: Path) -> None:
    """An image, a sound and a video (tests/media.py writers), so the previews have real files to read."""
    import numpy as np
    from PIL import Image, ImageDraw

    from tests.media import save_png, write_audio, write_video

    img = Image.new("RGB", (96, 64), (30, 60, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse((30, 10, 70, 50), fill=(250, 200, 40))
    draw.rectangle((0, 50, 96, 64), fill=(40, 140, 60))
    save_png(img, root / "media" / "sunset.png")

    sr = 16000
    t = np.arange(int(sr * 2.0)) / sr
    envelope = np.minimum(1.0, t * 2) * np.exp(-t)  # rises then fades: a visible loudness shape
    write_audio(root / "media" / "tone.wav", 0.5 * envelope * np.sin(2 * np.pi * 440 * t), sr)

    frames = []
    for i in range(10):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, : 6 * (i + 1)] = (200, 60, 60)
        frames.append(frame)
    write_video(root / "media" / "clip.mp4", frames, fps=10)


def write_texts(root: Path) -> None:
    for rel, text in TEXTS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / BROKEN).write_bytes(b"binary\x00\x00\x01 content")


def build_corpus(tmp_path_factory, model: str = MODEL) -> Path:
    """The folder indexed with `model` (store in FOLDER/.vexplore), built once per session and model."""
    if model in _built:
        return _built[model]
    from vexplore.engine.pipeline import Options, index_folder

    root = tmp_path_factory.mktemp(f"vexplore-ui-{model}", numbered=True) / "corpus"
    root.mkdir()
    write_texts(root)
    write_media(root)
    summary = index_folder(root, root / ".vexplore", Options(models=[model], workers=0))
    assert summary.failed == 1, summary.errors
    _built[model] = root
    return root


# ---- driving the app ---------------------------------------------------------------------------
async def wait_for(pilot, condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text_of(widget) -> str:
    """The plain text a Static shows."""
    return str(widget.content)


def screen_text(app) -> str:
    """What the terminal shows, cell by cell, as plain text (as export_screenshot renders it, minus SVG)."""

    from rich.console import Console

    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


class Host(App):
    """Pushes one screen and records what it was dismissed with."""

    def __init__(self, screen):
        super().__init__()
        self.child = screen
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(self.child, self.results.append)
