"""The explorer's audit screen: the real audit of a toy-indexed folder end to end (the `a` key, the query
process with its progress, Escape back), and a report with every kind of finding filled in, rendered by
the screen: rows, counts in the tab titles, file data kept literal, Enter jumping to the file in the
browse screen, and `f` narrowing the browse list to a cluster or to one kind of problem."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from tests.tui_corpus import BROKEN, TEXTS, Host, wait_for
from vexplore.engine.audit.report import (
    AuditReport,
    DuplicateGroup,
    Duplicates,
    Leak,
    LeakMatch,
    LeakThreshold,
    Mislabeled,
    NamedCluster,
    Outlier,
)
from vexplore.engine.query_process import QueryProcess
from vexplore.tui import graphics
from vexplore.tui.app import VexploreApp
from vexplore.tui.screens import audit as audit_screen
from vexplore.tui.screens.audit import AuditScreen, count, kind_paths
from vexplore.tui.screens.browse import BrowseScreen
from vexplore.tui.screens.pair import PairScreen
from vexplore.tui.widgets.file_list import Only
from vexplore.tui.widgets.preview import PreviewPane

pytestmark = [pytest.mark.anyio, pytest.mark.fast]

HOSTILE = "[bold red]x[/].txt"
ESCAPED = "\x1b[31mred.txt"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def report() -> AuditReport:
    """Every kind filled, over the toy UI folder's real paths (the browse screen can jump to each)."""
    return AuditReport(
        model="toy",
        count=len(TEXTS),
        labels=["animals", "code", "kitchen", "space"],
        splits=None,
        mislabeled=[
            Mislabeled("kitchen/cake.md", "kitchen", "space", 0.91),
            Mislabeled(HOSTILE, "[italic]lab[/]", "animals", 0.5),
        ],
        leaks=[
            Leak(
                "space/orbit.txt",
                "test",
                [
                    LeakMatch("space/planets.md", "train", 0.97, False),
                    LeakMatch("space/telescope.txt", "train", 1.0, True),
                ],
            )
        ],
        leak_threshold=LeakThreshold(0.93, "the 1st percentile of within-split neighbor cosines"),
        duplicates=Duplicates(
            0.95,
            [
                DuplicateGroup(["animals/cats.txt", "animals/dogs.txt"], 0.96, False),
                DuplicateGroup(["kitchen/bread.txt", "kitchen/soup.txt", ESCAPED], 1.0, True),
            ],
        ),
        outliers=[Outlier("code/fib.py", 0.8), Outlier(ESCAPED, 0.6), Outlier(HOSTILE, 0.4)],
        outlier_fence=0.3,
        clusters=[
            NamedCluster(
                0,
                3,
                "baking",
                ["[b]flour[/b]", "bake"],
                {"kitchen": 3},
                ["kitchen/bread.txt", "kitchen/cake.md"],
                ["kitchen/bread.txt", "kitchen/cake.md", "kitchen/soup.txt"],
            ),
            NamedCluster(
                1,
                2,
                "pets",
                ["cat", "dog"],
                {"animals": 2},
                ["animals/dogs.txt"],
                ["animals/cats.txt", "animals/dogs.txt"],
            ),
        ],
        exact=True,
        seconds=0.25,
    )


def cells(table: DataTable) -> list[list[str]]:
    return [[str(getattr(c, "plain", c)) for c in table.get_row_at(r)] for r in range(table.row_count)]


async def test_every_kind_rendered_with_counts_and_literal_file_data():
    r = report()
    screen = AuditScreen(None, "toy", report=r)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        tabs = screen.query_one(TabbedContent)
        titles = [tabs.get_tab(f"tab-{k}").label.plain for k in ("mislabeled", "leaks", "duplicates")]
        assert titles == ["1 Mislabeled (2)", "2 Leaks (1)", "3 Duplicates (2)"]
        assert tabs.get_tab("tab-outliers").label.plain == "4 Outliers (3)"
        assert tabs.get_tab("tab-clusters").label.plain == "5 Clusters (2)"
        assert [count(r, k) for k in ("mislabeled", "leaks", "duplicates", "outliers", "clusters")] == [
            2,
            1,
            2,
            3,
            2,
        ]

        mis = cells(screen.query_one("#mislabeled", DataTable))
        assert mis == [
            ["0.910", "kitchen", "space", "kitchen/cake.md"],
            ["0.500", "[italic]lab[/]", "animals", HOSTILE],
        ]
        leaks = cells(screen.query_one("#leaks", DataTable))
        assert leaks == [
            ["test", "space/orbit.txt", "0.9700", "space/planets.md", "train"],
            ["", "", "exact", "space/telescope.txt", "train"],
        ]
        dup = cells(screen.query_one("#duplicates", DataTable))
        assert [row[-1] for row in dup] == [
            "animals/cats.txt",
            "animals/dogs.txt",
            "kitchen/bread.txt",
            "kitchen/soup.txt",
            "\\x1b[31mred.txt",  # the escape made visible, never sent to the terminal
        ]
        assert dup[0][:3] == ["1", "2", "0.9600"] and dup[2][:3] == ["2", "3", "exact"]
        out = cells(screen.query_one("#outliers", DataTable))
        assert out == [["0.8000", "code/fib.py"], ["0.6000", "\\x1b[31mred.txt"], ["0.4000", HOSTILE]]
        clusters = cells(screen.query_one("#clusters", DataTable))
        assert clusters[0] == ["0", "3", "baking · [b]flour[/b], bake", "kitchen 3", "kitchen/bread.txt"]
        assert clusters[1] == ["", "", "", "", "kitchen/cake.md"]
        assert clusters[2][:3] == ["1", "2", "pets · cat, dog"]
        summary = str(screen.query_one("#audit-summary", Static).content)
        assert "labels: 4" in summary and "cosine ≥ 0.9300" in summary and "percentile" in summary

        # Enter on the second outlier: the screen is dismissed with that file
        await pilot.press("4", "down", "enter")
        await pilot.pause()
    assert app.results == [(ESCAPED, None)]

    assert kind_paths(r, "leaks") == {"space/orbit.txt", "space/planets.md", "space/telescope.txt"}
    assert kind_paths(r, "duplicates") == {"animals/cats.txt", "animals/dogs.txt", "kitchen/bread.txt"} | {
        "kitchen/soup.txt",
        ESCAPED,
    }


async def test_f_narrows_to_a_cluster_or_a_kind():
    screen = AuditScreen(None, "toy", report=report())
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("5", "down", "down", "f")  # the third row: cluster 1's central file
        await pilot.pause()
    assert app.results == [
        ("animals/dogs.txt", Only("cluster 1", frozenset({"animals/cats.txt", "animals/dogs.txt"})))
    ]

    screen = AuditScreen(None, "toy", report=report())
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("1", "f")
        await pilot.pause()
    assert app.results == [("kitchen/cake.md", Only("mislabeled", frozenset({"kitchen/cake.md", HOSTILE})))]


def make_app(root) -> VexploreApp:
    graphics.prepare(True)
    return VexploreApp(root, root / ".vexplore")


async def test_audit_key_runs_the_real_audit_in_the_query_process(toy_ui_root):
    """`a` on the browse screen: the audit of the toy model's files, counted and labelled by folder."""
    app = make_app(toy_ui_root)
    async with app.run_test(size=(120, 34)) as pilot:
        browse = app.screen
        assert isinstance(browse, BrowseScreen)
        await wait_for(pilot, lambda: browse.files.total > 0, what="the file list")
        commands = {c.title: c for c in app.get_system_commands(browse)}
        assert "(a)" in commands["Audit"].help and "(F)" in commands["All files"].help
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the audit screen")
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await wait_for(pilot, lambda: screen.report is not None, what="the audit", timeout=60)
        r = screen.report
        assert r is not None and r.model == "toy"
        embedded = [p for p, mark in browse.files.marks_by_path().items() if mark == 1]
        assert r.count == len(embedded) and BROKEN not in embedded
        top = {p.split("/")[0] for p in embedded if "/" in p}
        assert set(r.labels or []) <= top | {"."}
        tabs = screen.query_one(TabbedContent)
        assert tabs.display
        for number, key in enumerate(("mislabeled", "leaks", "duplicates", "outliers", "clusters"), 1):
            assert tabs.get_tab(f"tab-{key}").label.plain.startswith(f"{number} ")
            assert f"({count(r, key)})" in tabs.get_tab(f"tab-{key}").label.plain
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is browse, what="back to browsing")
        assert browse.files.only is None


def test_query_process_audit_reports_progress(toy_ui_root):
    steps: list[str] = []
    with QueryProcess(toy_ui_root, toy_ui_root / ".vexplore") as queries:
        r = queries.audit(None, progress=steps.append)
    assert r.model == "toy" and r.count > 0
    assert steps[0] == "reading vectors" and any("neighbors" in s for s in steps)


async def test_picked_file_and_cluster_filter_reach_the_browse_list(toy_ui_root):
    """A cluster picked with `f` narrows the browse list to its members and shows the file with its
    neighbors; F gives every file back; Enter on a kind's row jumps without narrowing."""
    app = make_app(toy_ui_root)
    async with app.run_test(size=(120, 34)) as pilot:
        browse = app.screen
        assert isinstance(browse, BrowseScreen)
        await wait_for(pilot, lambda: browse.files.complete and browse.files.total > 0, what="the file list")
        total = browse.files.total
        app.push_screen(AuditScreen(None, "toy", report=report()), browse._audited)
        await pilot.pause()
        await pilot.press("5", "f")
        await wait_for(pilot, lambda: app.screen is browse, what="back to browsing")
        assert browse.files.visible_paths() == ["kitchen/bread.txt", "kitchen/cake.md", "kitchen/soup.txt"]
        await wait_for(
            pilot,
            lambda: browse.current == "kitchen/bread.txt" and browse.neighbors.hits,
            what="neighbors of kitchen/bread.txt",
        )
        assert "only cluster 0" in (browse.query_one("#files-pane").border_subtitle or "")
        await pilot.press("F")
        assert browse.files.only is None and browse.files.shown == total

        app.push_screen(AuditScreen(None, "toy", report=report()), browse._audited)
        await pilot.pause()
        await pilot.press("3", "down", "f")  # every duplicate, the cursor on the group's second file
        await wait_for(pilot, lambda: browse.current == "animals/dogs.txt", what="the duplicate")
        assert sorted(browse.files.visible_paths()) == sorted(kind_paths(report(), "duplicates"))

        app.push_screen(AuditScreen(None, "toy", report=report()), browse._audited)
        await pilot.pause()
        await pilot.press("4", "enter")  # a jump to a file the narrowed list hides shows every file again
        await wait_for(pilot, lambda: browse.current == "code/fib.py", what="the outlier")
        assert browse.files.only is None and browse.files.current.path == "code/fib.py"
        await wait_for(pilot, lambda: browse.neighbors.hits, what="the outlier's neighbors")

        # A leak opens beside its match (both previews read from the store); `o` opens the match.
        app.push_screen(AuditScreen(None, "toy", report=report(), reader=browse.reader), browse._audited)
        await pilot.pause()
        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), what="the side-by-side view")
        pair = app.screen
        left, right = pair.query_one("#pair-left", PreviewPane), pair.query_one("#pair-right", PreviewPane)
        await wait_for(
            pilot,
            lambda: (left.shown_path, right.shown_path) == ("space/orbit.txt", "space/planets.md"),
            what="both previews",
        )
        shown = right.query_one(".preview-text", Static).content  # markdown shows highlighted
        assert (toy_ui_root / "space/planets.md").read_text()[:20] in getattr(shown, "code", str(shown))
        caption = str(pair.query_one("#pair-caption", Static).content)
        assert caption == "test: space/orbit.txt  ↔  train: space/planets.md · cosine 0.9700"
        await pilot.press("o")
        await wait_for(pilot, lambda: browse.current == "space/planets.md", what="the match, opened")


async def test_a_long_tab_lists_its_first_rows_and_f_still_narrows_to_all(monkeypatch):
    monkeypatch.setattr(audit_screen, "ROWS_SHOWN", 2)
    screen = AuditScreen(None, "toy", report=report())
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        out = cells(screen.query_one("#outliers", DataTable))
        assert [row[1] for row in out[:2]] == ["code/fib.py", "\\x1b[31mred.txt"] and len(out) == 3
        assert "first 2 rows only" in out[2][1]
        assert screen.query_one(TabbedContent).get_tab("tab-outliers").label.plain == "4 Outliers (3)"
        await pilot.press("4", "down", "down", "enter")  # the note row opens nothing
        await pilot.pause()
        assert app.results == []
        await pilot.press("f")
        await pilot.pause()
    assert app.results == [(None, Only("outliers", frozenset({"code/fib.py", ESCAPED, HOSTILE})))]
