"""SVG snapshots of the main screens at 80×24 and 160×48 (pytest-textual-snapshot). The store content is
fixed and nothing time-dependent is on screen, so the pictures only change when the UI does: review a
changed one with `pytest --snapshot-update` and look at the SVG before committing it."""

from __future__ import annotations

import pytest

from tests.tui_corpus import wait_for, write_texts
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.indexer import ModelProgress, RunState


def app_for(root) -> VexploreApp:
    graphics.prepare(True)
    return VexploreApp(root, root / ".vexplore")


def guarded(run_before):
    """A failing run_before would leave the app running and the test hanging: exit it, and say why."""

    async def run(pilot):
        try:
            await run_before(pilot)
        except BaseException as exc:  # noqa: BLE001 - reported as the test's failure
            pilot.app.exit()
            pytest.fail(f"setting the screen up failed: {exc!r}")

    return run


def at(path: str):
    """run_before: put the cursor on path with the arrow keys, wait for its preview and neighbors."""

    async def go(pilot):
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query("#files") and screen.files.total > 0, what="files")
        for _ in range(screen.files.visible_paths().index(path)):
            await pilot.press("down")
        await wait_for(
            pilot,
            lambda: (
                screen.current == path
                and screen.preview.shown_path == path
                and (screen.neighbors.hits or screen.neighbors.mode == "neighbors")
            ),
            what=path,
        )
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return go


def test_browse_80x24(ui_root, snap_compare):
    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), run_before=guarded(at("space/orbit.txt")))


def test_browse_160x48(ui_root, snap_compare):
    assert snap_compare(
        app_for(ui_root), terminal_size=(160, 48), run_before=guarded(at("kitchen/bread.txt"))
    )


def test_image_preview_80x24(ui_root, snap_compare):
    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), run_before=guarded(at("media/sunset.png")))


def test_code_preview_160x48(ui_root, snap_compare):
    assert snap_compare(app_for(ui_root), terminal_size=(160, 48), run_before=guarded(at("code/fib.py")))


def test_search_results_80x24(ui_root, snap_compare):
    async def search(pilot):
        await at("space/orbit.txt")(pilot)
        await pilot.press("slash", *"cooking", "enter")
        screen = pilot.app.screen
        await wait_for(
            pilot,
            lambda: screen.neighbors.mode == "search" and screen.neighbors.hits,
            timeout=60,
            what="search results",
        )
        await pilot.pause()

    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), run_before=guarded(search))


def test_help_80x24(ui_root, snap_compare):
    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), press=["question_mark"])


def test_errors_80x24(ui_root, snap_compare):
    async def errors(pilot):
        await at("space/orbit.txt")(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: pilot.app.screen.query("#errors-table"), what="the errors view")
        await pilot.pause()

    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), run_before=guarded(errors))


def test_indexing_panel_80x24(ui_root, snap_compare):
    """The progress panel as the engine's events leave it mid-run (fixed numbers: no clock on screen)."""

    async def running(pilot):
        await at("space/orbit.txt")(pilot)
        state = RunState(phase="embedding", message="embedding with minilm", files=15)
        state.models["minilm"] = ModelProgress(
            "minilm",
            device="cpu",
            todo=300,
            done=120,
            failed=2,
            rate=41.5,
            eta=4.3,
            current="kitchen/bread.txt",
            state="embedding",
        )
        state.errors = [("a.txt", "minilm", "empty text"), ("b.txt", "minilm", "empty text")]
        pilot.app.screen.show_run(state)
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app_for(ui_root), terminal_size=(80, 24), run_before=guarded(running))


def test_start_80x24(tmp_path, monkeypatch, snap_compare):
    """A text-only folder with no index: the model choice shows what works offline here."""
    monkeypatch.setenv("HOME", str(tmp_path))  # the folder shows as ~/notes whatever the machine
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache: only pip packages
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "notes"
    root.mkdir()
    write_texts(root)

    async def ready(pilot):
        def chosen() -> bool:
            screen = pilot.app.screen
            return bool(
                screen.query("#model-text")
                and not screen.query_one("#model-text").is_blank()
                and str(screen.query_one("#model-notes").content)
            )

        await wait_for(pilot, chosen, timeout=60, what="the model choice")
        await pilot.pause()  # (no wait for all workers: the directory tree keeps a loader worker running)

    graphics.prepare(True)
    assert snap_compare(
        VexploreApp(root, root / ".vexplore"), terminal_size=(80, 24), run_before=guarded(ready)
    )
