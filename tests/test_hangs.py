"""Children that hang instead of dying (a stuck driver, a model in an endless loop), made to hang on a
marked file by the VEXPLORE_TEST_HANG hook: the query process and the explorer's indexing child are
killed and started once more, with a notice; the indexing child names the file in hand; and
`vexplore index --wait` waits for the writer that holds the store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.clirun import child_env, run_cli
from tests.indexrun import IndexRun as CliIndexRun
from tests.test_disk_full import run, texts
from vexplore.engine.errors import UserError
from vexplore.engine.events import NoticeEvent, StallEvent
from vexplore.engine.query_process import QueryProcess
from vexplore.tui.indexer import IndexRun

pytestmark = pytest.mark.fast


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    root = texts(tmp_path / "texts", 40)
    run(root, tmp_path / "store")
    return root, tmp_path / "store"


def test_a_hung_query_process_is_restarted_once_with_a_notice(indexed, tmp_path, monkeypatch):
    root, store = indexed
    monkeypatch.setenv("VEXPLORE_TEST_HANG", "t00005")
    monkeypatch.setenv("VEXPLORE_TEST_HANG_ONCE", str(tmp_path / "hung-once"))
    with QueryProcess(root, store) as q:
        q.hang_after = 1.0
        _, hits, notices = q.neighbors("t00007.txt", k=3)  # unmarked: answers at once
        assert hits and notices == []
        first = q.pid
        _, hits, notices = q.neighbors("t00005.txt", k=3)
        assert hits and hits[0].path != "t00005.txt"
        assert notices == ["the query process hung (no answer for 1s); stopped it and started a new one"]
        assert q.pid != first
        monkeypatch.delenv("VEXPLORE_TEST_HANG_ONCE")  # from now on it hangs every time
    with QueryProcess(root, store) as q:
        q.hang_after = 0.5
        started = time.monotonic()
        with pytest.raises(UserError, match="hung twice"):
            q.neighbors("t00005.txt", k=3)
        assert time.monotonic() - started < 10


def test_the_indexing_child_names_the_file_it_stalls_on(tmp_path):
    root = texts(tmp_path / "texts", 40)
    env = child_env(
        VEXPLORE_TEST_HANG="t00012", VEXPLORE_TEST_HANG_SECONDS="1.5", VEXPLORE_STALL_SECONDS="0.3"
    )
    child = CliIndexRun(root, tmp_path / "store", "--model", "toy", env=env)
    code, summary = child.finish(timeout=60)
    assert code == 0 and summary is not None and summary.embedded == 40
    stalls = [e for e in child.events if isinstance(e, StallEvent)]
    assert stalls and {e.path for e in stalls} == {"t00012.txt"} and {e.model for e in stalls} == {"toy"}
    assert stalls[-1].seconds > stalls[0].seconds >= 0.3


def _ui_run(root: Path, store: Path) -> IndexRun:
    seen = []
    job = IndexRun(root, store, ["toy"], seen.append, ("--device", "cpu"), hang_after=1.0)
    asyncio.run(job.run())
    return job


def test_the_explorer_restarts_a_hung_indexer_once(tmp_path, monkeypatch):
    root = texts(tmp_path / "texts", 40)
    monkeypatch.setenv("VEXPLORE_TEST_HANG", "t00012")
    monkeypatch.setenv("VEXPLORE_TEST_HANG_ONCE", str(tmp_path / "hung-once"))
    monkeypatch.setenv("VEXPLORE_STALL_SECONDS", "0.3")
    job = _ui_run(root, tmp_path / "store")
    assert job.state.phase == "done" and job.state.summary is not None
    assert any(
        "no progress for 1s on t00012.txt; stopped it and started it again" in n for n in job.state.notices
    )
    assert run(root, tmp_path / "store").embedded == 0  # the second child embedded everything

    monkeypatch.delenv("VEXPLORE_TEST_HANG_ONCE")
    (root / "t00012.txt").write_text("changed")  # to embed again: it hangs every time now
    job = _ui_run(root, tmp_path / "store")
    assert job.state.phase == "failed"
    assert "on t00012.txt twice; stopped it (committed batches are kept)" in job.state.message


def test_index_wait_waits_for_the_writer_then_runs(tmp_path):
    root = texts(tmp_path / "texts", 40)
    store = tmp_path / "store"
    slow = child_env(VEXPLORE_TEST_HANG="t00020", VEXPLORE_TEST_HANG_SECONDS="3")
    first = CliIndexRun(root, store, "--model", "toy", env=slow)
    assert first.wait_for(lambda e: e.kind == "plan") is not None

    refused = run_cli("index", str(root), "--store", str(store), "--model", "toy")
    assert refused.returncode == 2
    assert f"another `vexplore index` (pid {first.proc.pid}, writing since " in refused.stderr
    assert "--wait" in refused.stderr

    second = CliIndexRun(root, store, "--model", "toy", "--wait")
    waiting = second.wait_for(lambda e: isinstance(e, NoticeEvent))
    assert isinstance(waiting, NoticeEvent)
    assert waiting.message.startswith(
        f"waiting for another `vexplore index` (pid {first.proc.pid}, writing since"
    )
    assert first.proc.poll() is None  # it waited while the first was still writing
    code, summary = first.finish(timeout=60)
    assert code == 0 and summary is not None and summary.embedded == 40
    code, summary = second.finish(timeout=60)
    assert code == 0 and summary is not None
    assert (summary.embedded, summary.unchanged) == (0, 40)  # it ran after the first, on its result
