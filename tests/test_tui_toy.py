"""The explorer on the fast tier: Textual's Pilot over a folder indexed with the toy model (no torch in
this process or the query process it starts): files, neighbors, filter-to-select, a text search that
loads the toy model, the errors view."""

from __future__ import annotations

import pytest

from tests.tui_corpus import BROKEN, TEXTS, wait_for
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.tui.screens.errors import ErrorsScreen

pytestmark = [pytest.mark.anyio, pytest.mark.fast]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def make_app(root) -> VexploreApp:
    graphics.prepare(True)  # not a terminal here: half blocks, no probing
    return VexploreApp(root, root / ".vexplore")


def browse(app) -> BrowseScreen:
    assert isinstance(app.screen, BrowseScreen), type(app.screen)
    return app.screen


async def test_browse_select_and_search_on_toy(toy_ui_root):
    app = make_app(toy_ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.files.total > 0, what="the file list")
        paths = screen.files.visible_paths()
        assert set(TEXTS) <= set(paths) and BROKEN in paths and paths == sorted(paths)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors of the first file")
        scores = [h.score for h in screen.neighbors.hits]
        assert scores == sorted(scores, reverse=True)

        await pilot.press("f")
        screen.query_one("#filter").value = "kitchen/soup.txt"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                screen.current == "kitchen/soup.txt"
                and screen.neighbors.mode == "neighbors"
                and screen.preview.shown_path == "kitchen/soup.txt"
            ),
            what="neighbors of kitchen/soup.txt",
        )
        assert "kitchen/soup.txt" not in [h.path for h in screen.neighbors.hits]

        await pilot.press("slash", *"bake the bread", "enter")
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            what="search results",
        )
        assert "toy" in app.reader.loaded_models
        assert screen.neighbors.hits[0].path == "kitchen/bread.txt"


async def test_errors_view_on_toy(toy_ui_root):
    app = make_app(toy_ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: browse(app).files.total > 0, what="the file list")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorsScreen), what="the errors view")
        table = app.screen.query_one("#errors-table")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [[BROKEN, "toy", "binary content (NUL bytes) in a text file"]]
