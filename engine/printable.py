"""Making text from files safe to print: control characters (escape sequences included) become
visible escapes, so a file name or a document can never drive the terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str, keep_newlines: bool = False) -> str:
    """One line (a name: a tab shows as \\t, not as spaces that look like part of it), or a block of text
    that keeps its newlines and tabs (a preview)."""

    def esc(m: re.Match) -> str:
        ch = m.group()
        if keep_newlines and ch == "\t":
            return ch
        return ch.encode("unicode_escape").decode("ascii")

    out = _CONTROL.sub(esc, text)
    return out if keep_newlines else out.replace("\n", "\\n")
