"""The explorer's indexing child hits a full disk: the panel and a notification say what the CLI says
(committed files, nothing lost, where the store is, how much room to make)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fullfs import SmallDisk, small_disk
from tests.test_disk_full import run, texts
from tests.tui_corpus import wait_for
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens.browse import BrowseScreen

pytestmark = [pytest.mark.fast, pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    yield from small_disk(tmp_path, "3m")


async def test_explorer_notifies_a_full_disk(disk, tmp_path):
    root = texts(tmp_path / "texts", 10)
    run(root, disk.mount / "store")  # the explorer opens on a store (its browse screen), then indexes more
    texts(root, 2090, seed=1, start=10)
    graphics.prepare(True)
    app = VexploreApp(root, disk.mount / "store", index_args=("--device", "cpu"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), what="the browse screen")
        app.start_index(root, ["toy"])
        await wait_for(
            pilot,
            lambda: app.index_run is not None and not app.index_run.state.active,
            timeout=60,
            what="the indexing child to stop on the full disk",
        )
        assert app.index_run is not None and app.index_run.state.phase == "failed"
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert any("files are committed and nothing is lost" in m and "free about" in m for m in shown), shown
        assert "nothing is lost" in app.index_run.state.message
        assert app.index_run.state.alert is None  # shown once
