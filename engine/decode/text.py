"""Reading text files safely: capped reads, BOM-aware decoding, markup stripped, PDFs through pypdf."""

from __future__ import annotations

import codecs
import json
from html.parser import HTMLParser
from pathlib import Path

from ..models.base import DecodeError

MAX_BYTES = 4 << 20  # never read more than this from one file, whatever its size claims
MAX_PDF_PAGES = 300

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


class _TextOnly(HTMLParser):
    """Keeps the text of HTML/XML, drops tags, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.chunks.append(data.strip())


def decode_bytes(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace")
    if b"\x00" in raw[:8192]:
        raise DecodeError("binary content (NUL bytes) in a text file")
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 20):
        raise DecodeError("not UTF-8 text (too many invalid bytes; binary file?)")
    return text


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover - pypdf is a dependency
        raise DecodeError("PDF support needs pypdf: pip install pypdf") from exc
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    except Exception as exc:  # noqa: BLE001 - any broken PDF is a per-file reason
        raise DecodeError(f"unreadable PDF: {type(exc).__name__}: {str(exc)[:120]}") from exc
    return "\n".join(pages)


def read_text(path: Path) -> tuple[str, dict]:
    """The text of a file to embed, and facts about it (characters, whether it was cut)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            text, truncated = _pdf_text(path), False
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
            truncated = len(raw) > MAX_BYTES
            text = decode_bytes(raw[:MAX_BYTES])
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    if suffix in (".html", ".htm", ".xml", ".svg"):
        parser = _TextOnly()
        parser.feed(text)
        text = "\n".join(parser.chunks)
    elif suffix == ".ipynb":
        text = _notebook_text(text) or text
    text = text.replace("\x00", "")
    if not text.strip():
        raise DecodeError("empty text")
    return text, {"chars": len(text), "truncated": truncated}


def _notebook_text(text: str) -> str | None:
    try:
        cells = json.loads(text).get("cells", [])
        return "\n\n".join("".join(c.get("source", [])) for c in cells if isinstance(c, dict))
    except (ValueError, AttributeError, TypeError):
        return None
