"""The explorer over a parquet source (Pilot): the rows by id, their neighbors, and each row's text
(from the text column, shown literally) as its preview."""

from __future__ import annotations

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke
from tests.tui_corpus import text_of, wait_for
from vexplore.options import SourceArgs
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.where import resolve

pytestmark = [pytest.mark.anyio, pytest.mark.fast]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_explorer_opens_a_parquet_source_with_text_previews(tmp_path):
    x = data.vectors()
    src = data.write_parquet(tmp_path / "v.parquet", x, id=data.ids(), label=data.labels(), text=data.texts())
    target = resolve(str(src), None, SourceArgs())
    graphics.prepare(True)
    app = VexploreApp(target.root, target.store)
    app.imported, app.source = True, str(src)  # as run_app sets them for `vexplore v.parquet`
    async with app.run_test(size=(110, 32)) as pilot:
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        await wait_for(pilot, lambda: screen.files.total == data.N, what="the rows")
        assert text_of(screen.query_one("#topbar")).split("·")[0].split() == ["vexplore", "v.parquet"]
        assert screen.files.visible_paths() == sorted(data.ids())
        first = sorted(data.ids())[0]
        await wait_for(pilot, lambda: screen.preview.shown_path == first, what="the first row's preview")
        body = text_of(screen.preview.query_one(".preview-text"))
        assert body == data.texts()[0]  # "[bold]not markup[/]" shown as written
        facts = text_of(screen.preview.query_one(".preview-facts"))
        assert "vector" in facts and f"label {data.labels()[0]}" in facts
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors of the first row")
        want = data.exact_neighbors(data.ids(), x, 10)[first]
        assert [h.path for h in screen.neighbors.hits][:3] == [p for p, _ in want][:3]
        await pilot.press("i")  # nothing to index: the store holds an import
        await pilot.pause(0.1)
        assert app.index_run is None


async def test_explorer_searches_a_source_with_the_model_it_names(tmp_path):
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve("toy"))
    adapter.load("cpu")
    sentences = ["the cat sat on the mat", "stock markets fell sharply", "a recipe for tomato soup"]
    x = np.asarray(adapter.embed_text(sentences), np.float32)
    src = data.write_parquet(
        tmp_path / "s.parquet", x, model="toy", id=["cat", "stocks", "soup"], text=sentences
    )
    target = resolve(str(src), None, SourceArgs())
    assert (
        invoke("search", src, "a recipe for tomato soup", "-k", 1, "--json").json()["results"][0]["path"]
        == "soup"
    )
    graphics.prepare(True)
    app = VexploreApp(target.root, target.store)
    app.imported = True
    async with app.run_test(size=(110, 32)) as pilot:
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        await wait_for(pilot, lambda: screen.files.total == 3, what="the rows")
        await pilot.press("slash", *"tomato soup recipe", "enter")
        await wait_for(
            pilot, lambda: screen.neighbors.mode == "search" and screen.neighbors.hits, what="search results"
        )
        assert screen.neighbors.hits[0].path == "soup"
