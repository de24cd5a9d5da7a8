"""The explorer's search the way people ask (issue 18), with Textual's Pilot on the toy models: a file
from outside the folder found through the search bar's path completion, "more like this" on the current
file, and the passage a keyword matched shown under its result."""

from __future__ import annotations

import pytest
from rich.text import Text

from tests.media import crop_fraction, save_jpeg, save_png
from tests.test_search_terms import _scene
from tests.tui_corpus import wait_for
from vexplore.engine.keywords import MARK_CLOSE, MARK_OPEN
from vexplore.engine.query import Hit
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.tui.widgets.neighbors import hit_prompt

pytestmark = [pytest.mark.anyio, pytest.mark.fast]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def browse(app) -> BrowseScreen:
    assert isinstance(app.screen, BrowseScreen), type(app.screen)
    return app.screen


async def test_search_by_a_file_from_outside_with_completion(tmp_path, cli):
    root = tmp_path / "pics"
    for seed in range(4):
        save_png(_scene(seed), root / f"scene{seed}.png")
    save_jpeg(crop_fraction(_scene(2), (0.05, 0.05, 0.95, 0.95)), root / "copy-of-2.jpg")
    outside = save_jpeg(crop_fraction(_scene(2), (0.1, 0.0, 1.0, 0.9)), tmp_path / "elsewhere" / "query.jpg")
    cli("index", root, "--model", "toy-image", "--json")
    graphics.prepare(True)
    app = VexploreApp(root, root / ".vexplore")
    async with app.run_test(size=(110, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="first neighbors")
        box = screen.query_one("#search")
        await pilot.press("L")
        assert box.has_focus and box.value == "./"
        box.value = f"{outside.parent}/qu"  # typed so far: the suggester offers the rest of the name
        box.cursor_position = len(box.value)
        await wait_for(pilot, lambda: box._suggestion == f"{outside}", what="the path completed")
        await pilot.press("right", "enter")  # → accepts the completion
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            what=f"search results ({box.value!r})",
        )
        assert {h.path for h in screen.neighbors.hits[:2]} == {"scene2.png", "copy-of-2.jpg"}
        assert "file:" in screen.neighbors.status and "query.jpg" in screen.neighbors.status

        await pilot.press("escape")
        screen.show_file("scene2.png")
        await wait_for(pilot, lambda: screen.current == "scene2.png", what="scene2.png chosen")
        await pilot.press("l")  # more like this: the current file, ready for more terms
        assert box.has_focus and box.value == "./scene2.png "
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            what="more like this",
        )
        paths = [h.path for h in screen.neighbors.hits]
        assert paths[0] == "copy-of-2.jpg" and "scene2.png" not in paths


async def test_a_keyword_hit_shows_its_passage(tmp_path, cli):
    root = tmp_path / "notes"
    root.mkdir()
    (root / "valve.md").write_text("Pump log. The zyxomatic [bold]valve[/bold] failed at noon.")
    (root / "other.txt").write_text("Nothing to see here at all.")
    cli("index", root, "--model", "toy", "--json")
    graphics.prepare(True)
    app = VexploreApp(root, root / ".vexplore")
    async with app.run_test(size=(110, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="first neighbors")
        await pilot.press("slash", *"zyxomatic", "enter")
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            what="search results",
        )
        best = screen.neighbors.hits[0]
        assert best.path == "valve.md" and best.why == "keyword #1"
        prompt = hit_prompt(1, best)
        assert "zyxomatic [bold]valve[/bold] failed" in prompt.plain  # the file's markup stays literal
        lit = [prompt.plain[s.start : s.end] for s in prompt.spans if "yellow" in str(s.style)]
        assert lit == ["zyxomatic"]


def test_snippet_markers_never_leak():
    hit = Hit("a.txt", 0.5, snippet=f"x {MARK_OPEN}word{MARK_CLOSE} \x1b[31m y")
    plain = hit_prompt(1, hit).plain
    assert MARK_OPEN not in plain and MARK_CLOSE not in plain and "\\x1b" in plain
    assert isinstance(hit_prompt(1, hit), Text)
