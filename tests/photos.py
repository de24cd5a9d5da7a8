"""Real photographs for image tests, from pip packages (no network): scikit-image's bundled sample data
(the cat "chelsea", a coffee cup, a rocket, the astronaut, a stereo pair of one motorcycle) and
scikit-learn's two sample JPEGs (a flower, the Summer Palace)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

SKIMAGE = [
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "astronaut.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
]
SKLEARN = ["china.jpg", "flower.jpg"]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the image tests need the pip package providing {name!r} (pip install -e '.[test]')"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def photo(name: str) -> Path:
    """The path of one bundled photo by file name."""
    if name in SKLEARN:
        return _package_dir("sklearn") / "datasets" / "images" / name
    return _package_dir("skimage") / "data" / name


def copy_photos(folder: Path, names: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names or SKIMAGE + SKLEARN:
        shutil.copy(photo(name), folder / name)
    return folder
