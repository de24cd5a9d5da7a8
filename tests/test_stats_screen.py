"""The stats and compare screens, mounted in a tiny App of the test's own and driven with Pilot over the
real store built by the pipeline (MiniLM + a tiny random model). Each test runs its coroutine with
asyncio.run, so no async pytest plugin is needed."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Sparkline, Static, TabbedContent

from tests import stats_corpus
from tests.tui_corpus import Host
from vexplore.engine.query_process import QueryProcess
from vexplore.engine.store import find_store_dir
from vexplore.tui.screens.compare import CompareScreen
from vexplore.tui.screens.projection import ProjectionView
from vexplore.tui.screens.stats import StatsScreen

pytestmark = pytest.mark.slow


@contextlib.asynccontextmanager
async def shown(screen, size: tuple[int, int] = (110, 40)):
    """Run a Host app with screen pushed and its worker finished; yields (app, pilot)."""
    app = Host(screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        yield app, pilot


def _text(static: Static) -> str:
    """What a Static shows, as plain text (its content may be a Rich table)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


@pytest.fixture(scope="module")
def queries(labelled):
    """The query process over the labelled store, as the explorer's reader holds it: the screens ask it."""
    with QueryProcess(labelled[0], find_store_dir(labelled[0])) as process:
        yield process


def _cells(table: DataTable) -> list[str]:
    return [str(getattr(c, "plain", c)) for r in range(table.row_count) for c in table.get_row_at(r)]


def test_stats_screen_shows_histograms_projection_and_duplicates(labelled, queries):
    asyncio.run(_stats_screen_shows_histograms_projection_and_duplicates(*labelled, queries))


async def _stats_screen_shows_histograms_projection_and_duplicates(
    root: Path, tiny: str, queries: QueryProcess
) -> None:
    screen = StatsScreen(queries, "minilm")
    async with shown(screen) as (app, pilot):
        assert screen.report is not None and screen.report.count == 26
        for key in ("norms", "pairwise", "centroid", "knn", "pca"):
            data = screen.query_one(f"#hist-{key}", Sparkline).data
            assert data and sum(data) > 0, key
        assert "mean pairwise cosine" in _text(screen.query_one("#figures", Static))

        dup = _cells(screen.query_one("#duplicates", DataTable))
        assert set(stats_corpus.DUPLICATE) <= set(dup)
        assert stats_corpus.OUTLIER in _cells(screen.query_one("#outliers", DataTable))

        screen.query_one(TabbedContent).active = "tab-projection"
        await pilot.pause()
        view = screen.query_one(ProjectionView)
        assert len(view.points) == 26
        drawn = view.render().plain
        assert drawn.count("●") >= 10  # few points: one marker each (shared cells merge)
        first = view.selected
        view.focus()
        await pilot.press("right")
        assert view.selected != first
        info = _text(screen.query_one("#projection-info", Static))
        assert view.points[view.selected].path in info
        names = {c.id: c.name for c in screen.report.clusters.clusters}
        assert all(names.values()) and len(set(names.values())) == len(names)  # every colour is named
        assert names[view.points[view.selected].cluster] in info
        first_cluster = screen.report.clusters.clusters[0]
        assert f"{first_cluster.name} ({first_cluster.size})" in _text(screen.query_one("#legend", Static))
        await pilot.press("c")  # colour by folder: the legend names the folders
        assert "astronomy" in _text(screen.query_one("#legend", Static))
        picked = view.points[view.selected].path
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [picked]
    assert (root / picked).exists()


def test_stats_screen_row_opens_file_and_escape_returns_none(labelled, queries):
    asyncio.run(_stats_screen_row_opens_file_and_escape_returns_none(*labelled, queries))


async def _stats_screen_row_opens_file_and_escape_returns_none(
    root: Path, tiny: str, queries: QueryProcess
) -> None:
    screen = StatsScreen(queries, "minilm")
    async with shown(screen) as (app, pilot):
        screen.query_one(TabbedContent).active = "tab-outliers"
        await pilot.pause()
        screen.query_one("#outliers", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [stats_corpus.OUTLIER]

    screen = StatsScreen(queries, "no-such-model")
    async with shown(screen) as (app, pilot):
        assert "not indexed here" in _text(screen.query_one("#stats-title", Static))
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


def test_compare_screen_ranks_minilm_and_shows_both_neighbor_lists(labelled, queries):
    asyncio.run(_compare_screen_ranks_minilm_and_shows_both_neighbor_lists(*labelled, queries))


async def _compare_screen_ranks_minilm_and_shows_both_neighbor_lists(
    root: Path, tiny: str, queries: QueryProcess
) -> None:
    screen = CompareScreen(queries, "minilm", tiny, k=5)
    async with shown(screen, (140, 44)) as (app, pilot):
        summary = _text(screen.query_one("#summary", Static))
        assert "minilm keeps your labels together better" in summary
        different = screen.query_one("#different", DataTable)
        assert different.row_count == 10
        side_a, side_b = screen.query_one("#side-a", DataTable), screen.query_one("#side-b", DataTable)
        assert side_a.row_count == 5 and side_b.row_count == 5
        worst = screen.report.most_different
        await pilot.press("down")
        await pilot.pause()
        assert [c for c in _cells(side_a) if "/" in c] == [h.path for h in worst[1].neighbors["minilm"]]
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [worst[1].path]
