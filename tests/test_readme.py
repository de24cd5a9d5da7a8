"""The README's example of reading a store without vexplore runs as written, on a store with two models
(with several, the example once read another model's vector file)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.store import Store

pytestmark = pytest.mark.fast

README = Path(__file__).resolve().parent.parent / "README.md"


def reading_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = [b for b in blocks if "sqlite3.connect" in b and "np.fromfile" in b]
    assert len(example) == 1, "the README should hold one example of reading the store"
    return example[0]


@pytest.mark.parametrize("newest_first", [False, True])
def test_the_readme_reads_a_store_with_two_models(topic_texts, monkeypatch, newest_first):
    """Both orders in which a file system may list the model folders."""
    index_folder(topic_texts, topic_texts / ".vexplore", Options(models=["toy-chars", "toy"], workers=0))
    monkeypatch.chdir(topic_texts)
    listed = Path.glob
    monkeypatch.setattr(
        Path, "glob", lambda self, pattern: iter(sorted(listed(self, pattern), reverse=newest_first))
    )
    scope: dict = {}
    exec(reading_example(), scope)  # noqa: S102 - our own README, run as a user would
    with Store(topic_texts, topic_texts / ".vexplore", readonly=True) as store:
        first = store.models()[0]
        want = np.asarray(store.vectors(first))
    assert scope["name"] == first.name and scope["vectors"].shape == want.shape
    np.testing.assert_array_equal(scope["vectors"], want)
    assert len(scope["paths"]) == store_files(topic_texts)


def store_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and ".vexplore" not in p.parts)
