"""Hostile and broken inputs: one `vexplore index --json` over a folder of 70-odd broken, odd and
hostile files (tests/hostile_files.py) must finish, give each bad file a recorded per-file reason, index
the rest normally, and show every name literally. Also: files that vanish or change between the scan
and the read, and the caps that keep a huge file from being read whole."""

from __future__ import annotations

import ctypes
import dataclasses
import os

import numpy as np
import pytest

from tests import hostile_files
from tests.clirun import run_cli
from tests.indexrun import IndexRun, check_consistent
from vexplore.engine.decode.text import MAX_BYTES, read_text
from vexplore.engine.events import Event, FileError, IndexSummary
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.printable import printable
from vexplore.engine.scan import HASH_WHOLE_LIMIT, content_hash
from vexplore.engine.store import Store

pytestmark = pytest.mark.slow

MEDIA = ("image", "audio", "video")


def obey_file_permissions() -> None:
    """preexec_fn: a child of root drops the capabilities that let root read anything (from the bounding
    set, so they are gone after exec), so an unreadable file is unreadable to it as to any user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    root = base / "folder"
    root.mkdir()
    kinds = hostile_files.build(root)
    store_dir = base / "store"
    run = IndexRun(root, store_dir, preexec_fn=obey_file_permissions)
    rc, summary = run.finish(timeout=480)
    yield {"root": root, "store": store_dir, "kinds": kinds, "rc": rc, "summary": summary, "run": run}
    # Let pytest's clean-up remove what the corpus locked.
    os.chmod(root / "locked", 0o755)
    os.chmod(root / "perm/unreadable.txt", 0o644)


def _models_for(summary: IndexSummary) -> dict[str, str]:
    """modality -> the model that indexed it in this run."""
    return {mod: m.name for m in summary.models for mod in m.modalities if m.dim}


def test_the_run_survives_every_kind(hostile):
    run, summary = hostile["run"], hostile["summary"]
    assert hostile["rc"] == 0, run.stderr_text()[-4000:]
    assert summary is not None and not summary.interrupted
    assert "Traceback" not in run.stderr_text(), run.stderr_text()[-4000:]
    assert run.events[-1].kind == "done"
    assert len({k.name for k in hostile["kinds"]}) >= 40
    check_consistent(hostile["root"], hostile["store"])


def test_each_kind_gets_what_it_deserves(hostile):
    summary, kinds = hostile["summary"], hostile["kinds"]
    errors: dict[str, list[str]] = {}
    for err in summary.errors:
        errors.setdefault(err.path, []).append(err.reason)
    models = _models_for(summary)
    with Store(hostile["root"], hostile["store"], readonly=True) as store:
        files = store.files()
        vectors = {}
        for model in store.models():
            ids, _ = store.embedded(model)
            vectors[model.name] = set(store.paths_by_id(ids).values())
    problems = []
    for kind in kinds:
        expect, path = kind.expect, kind.path
        stored = kind.modality in models and path in vectors.get(models[kind.modality], set())
        reasons = errors.get(path, [])
        if expect == "embedded":
            ok = stored and not reasons
        elif expect == "one of two":
            ok = stored and len(reasons) == 1 and "another file's too" in reasons[0]
        elif expect == "ignored":
            ok = not any(p == path or p.startswith(path + "/") for p in [*files, *errors])
        elif isinstance(expect, tuple):
            words = expect[1]
            near = [r for p, rs in errors.items() if p == path or p.startswith(path + "/") for r in rs]
            ok = any(words in r for r in near) and not stored
            if expect[0] == "reason":
                ok = ok and path in files
        elif kind.modality not in models:  # no model for it yet: cataloged, and said so in the summary
            ok = (
                path in files
                and files[path].modality == kind.modality
                and kind.modality in summary.no_model_for
            )
        else:
            ok = {
                "ok": stored and not reasons,
                "bad": bool(reasons) and not stored,
                "either": stored != bool(reasons),
            }[expect]
        if not ok:
            problems.append(f"{kind.name}: {path!r} expected {expect}, stored={stored}, reasons={reasons}")
    assert not problems, "\n".join(problems)


def test_reasons_are_one_clean_line_and_match_the_events(hostile):
    summary, run = hostile["summary"], hostile["run"]
    assert summary.errors
    for err in summary.errors:
        reason = err.reason
        assert reason and "\n" not in reason and "Traceback" not in reason, err
    events = {(e.path, e.reason) for e in run.events if e.kind == "error"}
    assert events <= {(e.path, e.reason) for e in summary.errors}
    # The store keeps the model failures for the UI's errors view.
    with Store(hostile["root"], hostile["store"], readonly=True) as store:
        stored = {(p, r) for p, _, r in store.errors()}
    assert events <= stored


def test_nothing_from_a_file_reaches_the_terminal_uninterpreted(hostile):
    root, store = hostile["root"], hostile["store"]
    # Raw bytes of the JSON run: JSON escapes control characters, so no escape byte can be on stderr.
    assert "\x1b" not in hostile["run"].stderr_text()
    # The tables of `neighbors --all` print every stored path; wide, so Rich does not wrap them.
    proc = run_cli("neighbors", str(root), "--all", "-k", "2", "--store", str(store), COLUMNS="4000")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for ch in ("\x1b", "\r", "\x07", "\u202e"):
        assert ch not in out, repr(ch)
    names = [k.path for k in hostile["kinds"] if k.expect == "embedded" and k.modality == "text"]
    for name in names:
        assert printable(name) in out, name
    assert "[bold red]loud[/bold red].txt" in out and "[link=https:evil.example]click[/link].txt" in out
    assert "names/\\xff\\xfe-latin.txt" in out  # the non-UTF-8 bytes as visible escapes


def test_summary_printed_for_people_is_literal(hostile, capsys):
    from vexplore.engine.progress import RichReporter

    errors = [FileError(k.path, "[red]x[/red] \x1b[2J") for k in hostile_files.NAME_KINDS]
    RichReporter().summary(dataclasses.replace(hostile["summary"], errors=errors))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "[red]x[/red]" in out and "[bold red]loud[/bold red].txt" in out


def test_files_that_vanish_or_change_between_scan_and_read(tmp_path, monkeypatch):
    from vexplore.engine.models import text as text_family

    root = tmp_path / "folder"
    root.mkdir()
    for i in range(8):
        (root / f"f{i}.txt").write_text(f"{hostile_files.SENTENCE} number {i}\n")
    changed_text = "a completely different text about violins and cellos in a concert hall\n" * 3
    store_dir = tmp_path / "store"

    def on_event(event: Event) -> None:
        if event.kind == "plan":  # after the scan fingerprinted the files, before any is read
            (root / "f1.txt").unlink()
            (root / "f2.txt").write_text(changed_text)
            (root / "f3.txt").unlink()
            os.mkfifo(root / "f3.txt")  # would block a plain open() forever
            (root / "f4.txt").unlink()
            (root / "f4.txt").mkdir()

    original = text_family.SentenceTransformerAdapter.decode

    def decode_while_someone_writes(self, path, modality):
        decoded = original(self, path, modality)
        if path.name == "f5.txt":
            with open(path, "a") as fh:
                fh.write("appended while it was being read\n")
        return decoded

    monkeypatch.setattr(text_family.SentenceTransformerAdapter, "decode", decode_while_someone_writes)
    summary = index_folder(root, store_dir, Options(models=["minilm"], workers=0), emit=on_event)
    reasons = {e.path: e.reason for e in summary.errors}
    assert reasons.pop("f1.txt") == "file vanished before it could be read"
    assert reasons.pop("f3.txt") == "no longer a regular file"
    assert reasons.pop("f4.txt") == "no longer a regular file"
    assert "changed while it was being read" in reasons.pop("f5.txt")
    assert not reasons
    # f2 was embedded as it is now, and recorded with the fingerprint that was read.
    st = os.stat(root / "f2.txt")
    with Store(root, store_dir, readonly=True) as store:
        model = store.model("minilm")
        f2 = store.file_by_path("f2.txt")
        row = store.db.execute(
            "SELECT size, mtime_ns FROM embeddings WHERE model_id=? AND file_id=?", (model.id, f2.id)
        ).fetchone()
        assert tuple(row) == (st.st_size, st.st_mtime_ns)
        stored = store.file_vector(model, f2.id)
    monkeypatch.undo()
    again = index_folder(root, store_dir, Options(models=["minilm"], workers=0))
    # The next run drops the gone ones, reads f5 again, and does not embed f2 a second time.
    assert again.removed == 3 and again.embedded == 1 and not again.errors, again
    with Store(root, store_dir, readonly=True) as store:
        model = store.model("minilm")
        assert np.allclose(store.file_vector(model, store.file_by_path("f2.txt").id), stored)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "f2.txt").write_text(changed_text)
    index_folder(fresh, tmp_path / "fresh-store", Options(models=["minilm"], workers=0))
    with Store(fresh, tmp_path / "fresh-store", readonly=True) as store:
        model = store.model("minilm")
        np.testing.assert_allclose(
            store.file_vector(model, store.file_by_path("f2.txt").id), stored, atol=1e-5
        )


def test_a_transiently_unreadable_folder_keeps_what_the_catalog_holds(tmp_path):
    """A folder that cannot be listed this time (permissions, a mount gone) is not a folder deleted."""
    from vexplore.engine.scan import Skipped, scan

    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "sub/a.txt").write_text("x")
    (root / "b.txt").write_text("y")
    entries, _ = scan(root)
    with Store(root, tmp_path / "store", create=True) as store:
        store.sync_files(entries, {})
        gone, _, _ = store.sync_files(
            [e for e in entries if e.path == "b.txt"],
            {},
            keep=[s.path for s in [Skipped("sub", "cannot list folder", keep=True)]],
        )
        assert gone == [] and set(store.files()) == {"sub/a.txt", "b.txt"}
        gone, _, _ = store.sync_files([e for e in entries if e.path == "b.txt"], {})
        assert len(gone) == 1 and set(store.files()) == {"b.txt"}


def test_a_huge_file_is_never_read_whole(tmp_path):
    """Reads are capped: text at MAX_BYTES; the content hash of a big file reads its head and tail only
    (two sparse 1 GB files that differ only in the middle hash the same)."""
    head = tmp_path / "head.txt"
    head.write_bytes(b"words " * ((MAX_BYTES // 6) + 50_000))
    text, meta = read_text(head)
    assert meta["truncated"] and len(text) == MAX_BYTES
    size = 1 << 30
    assert size > HASH_WHOLE_LIMIT
    big, twin = tmp_path / "big.bin", tmp_path / "twin.bin"
    for path in (big, twin):
        with open(path, "wb") as fh:
            fh.write(b"the same head")
            fh.truncate(size)
    with open(twin, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"a change in the middle")
    assert content_hash(big, size) == content_hash(twin, size)
    with open(twin, "r+b") as fh:
        fh.seek(size - 10)
        fh.write(b"tail!")
    assert content_hash(big, size) != content_hash(twin, size)


def test_names_render_literally_in_the_printable_helper():
    """The one function every terminal path goes through: escapes become visible, markup stays text."""
    for kind in hostile_files.NAME_KINDS:
        shown = printable(kind.path)
        assert all(ch not in shown for ch in "\x1b\n\r\x07\u202e"), repr(shown)
    assert printable("[bold red]x[/bold red]") == "[bold red]x[/bold red]"
