"""Reading text files: encodings, markup, notebooks, PDFs, caps, and the store location fallback."""

from __future__ import annotations

import codecs
import json
import os

import pytest

from vexplore.engine.decode.text import read_text
from vexplore.engine.models.base import DecodeError
from vexplore.engine.store import find_store_dir


def _pdf_with_text(text: str) -> bytes:
    """A minimal valid one-page PDF whose content stream draws `text` (built by hand, with xref offsets)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_encodings_and_markup(tmp_path):
    (tmp_path / "u16.txt").write_bytes(codecs.BOM_UTF16_LE + "héllo wörld".encode("utf-16-le"))
    assert read_text(tmp_path / "u16.txt")[0] == "héllo wörld"
    (tmp_path / "bom.md").write_bytes(codecs.BOM_UTF8 + b"# Title")
    assert read_text(tmp_path / "bom.md")[0] == "# Title"
    (tmp_path / "latin.txt").write_bytes(
        "a caf\xe9 in a long enough sentence of plain words".encode("latin-1")
    )
    assert read_text(tmp_path / "latin.txt")[0].startswith("a caf\ufffd")
    (tmp_path / "page.html").write_text(
        "<html><head><style>p{}</style><script>x=1</script></head>"
        "<body><h1>Rockets</h1><p>fly &amp; land</p></body></html>"
    )
    assert read_text(tmp_path / "page.html")[0] == "Rockets\nfly & land"
    nb = {"cells": [{"cell_type": "code", "source": ["import numpy\n", "x = 1"]}]}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    assert read_text(tmp_path / "n.ipynb")[0] == "import numpy\nx = 1"


def test_pdf_text(tmp_path):
    (tmp_path / "doc.pdf").write_bytes(_pdf_with_text("Comets orbit the Sun"))
    assert "Comets orbit the Sun" in read_text(tmp_path / "doc.pdf")[0]
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(DecodeError, match="PDF"):
        read_text(tmp_path / "broken.pdf")


def test_bad_text_files(tmp_path):
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DecodeError, match="NUL"):
        read_text(tmp_path / "bin.txt")
    (tmp_path / "junk.txt").write_bytes(bytes(range(128, 256)) * 20)
    with pytest.raises(DecodeError, match="not UTF-8"):
        read_text(tmp_path / "junk.txt")
    (tmp_path / "blank.txt").write_text(" \n\t ")
    with pytest.raises(DecodeError, match="empty"):
        read_text(tmp_path / "blank.txt")


def test_huge_sparse_file_is_capped(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:
        fh.write(b"word " * 4000)
        fh.truncate(1 << 30)  # 1 GiB, sparse: the tail is NUL bytes
    text, meta = read_text(path)
    assert meta["truncated"] is True and len(text) == 20000  # NULs of the sparse tail dropped


def test_store_falls_back_to_cache_when_folder_is_read_only(tmp_path, monkeypatch):
    root = tmp_path / "ro"
    root.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(root) else real_access(p, mode))
    chosen = find_store_dir(root, create=True)
    assert str(chosen).startswith(str(tmp_path / "cache")) and "ro-" in chosen.name
    monkeypatch.setattr(os, "access", real_access)
    assert find_store_dir(root, create=True) == root / ".vexplore"  # writable again: inside
    assert find_store_dir(root, store=tmp_path / "s") == (tmp_path / "s").resolve()
