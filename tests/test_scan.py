"""Walking folders: modality, hidden folders, the store, symlinks that leave the root, loops."""

from __future__ import annotations

import os

from vexplore.engine.modality import classify
from vexplore.engine.scan import content_hash, scan


def test_classify():
    assert classify("a/b.TXT") == "text" and classify("x.py") == "text" and classify("d.pdf") == "text"
    assert classify("p.JPG") == "image" and classify("s.flac") == "audio" and classify("v.mkv") == "video"
    assert classify("archive.zip") is None and classify("Makefile") is None


def test_scan_skips_hidden_store_and_foreign_links(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("x")
    (root / ".git").mkdir()
    (root / ".git" / "y.txt").write_text("y")
    (root / ".hidden.txt").write_text("h")
    (root / "store").mkdir()
    (root / "store" / "z.txt").write_text("z")
    (root / "a" / "photo.png").write_bytes(b"not really")
    (root / "notes.bin").write_bytes(b"?")
    outside = tmp_path / "outside.txt"
    outside.write_text("o")
    os.symlink(outside, root / "escape.txt")
    os.symlink(root / "a", root / "a" / "loop")  # a directory link back up: a loop
    os.symlink(root / "a" / "x.txt", root / "inner.txt")  # stays inside: followed
    entries, skipped = scan(root, skip_dirs=(root / "store",))
    paths = [e.path for e in entries]
    assert paths == ["a/photo.png", "a/x.txt", "inner.txt"]
    assert {e.path: e.modality for e in entries}["a/photo.png"] == "image"
    assert {s.path: s.reason for s in skipped}["escape.txt"] == "symlink points outside the folder"


def test_non_utf8_names_are_printable(tmp_path):
    root = tmp_path
    raw = os.fsencode(root) + b"/caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(b"coffee")
    entries, _ = scan(root)
    assert entries[0].path == "caf\\xe9.txt" and entries[0].raw == b"caf\xe9.txt"


def test_content_hash_changes_with_content(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("one")
    h1 = content_hash(p, 3)
    p.write_text("two")
    assert content_hash(p, 3) != h1 and len(h1) == 32
