"""The terms of a combined query: text or a file, each with a signed weight (rclip's `"2:dog" + ./pool.jpg -
fruit`), parsed from what the user typed and the `--like/--minus/--minus-like` flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

_WEIGHT = re.compile(r"^([0-9]*\.?[0-9]+):(.+)$", re.S)
_OPERATOR = re.compile(r"\s+([+-])\s+")
_PATHLIKE = ("./", "../", "/", "~/", ".\\", "..\\")


@dataclass(frozen=True)
class Term:
    """One part of a query: kind "text" or "file"; value the words or the path as typed; weight signed
    (a term after `-` has a negative one)."""

    kind: str
    value: str
    weight: float = 1.0

    def label(self) -> str:
        """How the results header and `why` name this term: `"dog"` or `file:pool.jpg`, weight in front."""
        shown = f'"{self.value}"' if self.kind == "text" else f"file:{self.value}"
        size = abs(self.weight)
        return shown if size == 1 else f"{size:g}×{shown}"

    def as_json(self) -> dict:
        return {"kind": self.kind, "value": self.value, "weight": self.weight}


def weighted(text: str) -> tuple[float, str]:
    """`2:dog` → (2.0, "dog"); a term without a weight prefix weighs 1."""
    m = _WEIGHT.match(text.strip())
    return (float(m.group(1)), m.group(2).strip()) if m else (1.0, text.strip())


def is_file(value: str, root: Path) -> bool:
    """A term names a file when it is written as a path (./x, ../x, /x, ~/x) or names a file that exists
    here or inside the folder; anything else is text."""
    if value.startswith(_PATHLIKE):
        return True
    if "\n" in value or len(value) > 4096:
        return False
    try:
        return Path(value).is_file() or (root / value).is_file()
    except OSError:
        return False


def term(raw: str, sign: float, root: Path, kind: str | None = None) -> Term:
    weight, value = weighted(raw)
    if not value:
        raise UserError(f"empty query term in {raw!r}")
    if weight == 0:
        raise UserError(f"a term weighted 0 does nothing: {raw!r}")
    found = kind or ("file" if is_file(value, root) else "text")
    return Term(found, value, sign * weight)


def parse(tokens: list[str], root: Path) -> list[Term]:
    """Terms from the words of a query: `+` and `-` stand alone (as arguments, or with spaces around them
    inside one), each term may carry a `N:` weight, and a leading `-` subtracts the first term."""
    pieces: list[str] = []
    for token in tokens:
        pieces.extend(p for p in _OPERATOR.split(f" {token} ") if p.strip())
    terms: list[Term] = []
    sign, expect_term = 1.0, True
    for piece in (p.strip() for p in pieces):
        if piece in ("+", "-"):
            sign = -sign if piece == "-" else sign
            expect_term = True
            continue
        if not expect_term:  # words without an operator between them: more words of the same text term
            last = terms[-1]
            if last.kind != "text":
                raise UserError(f"put + or - between {last.value!r} and {piece!r}")
            terms[-1] = Term("text", f"{last.value} {piece}", last.weight)
            continue
        terms.append(term(piece, sign, root))
        sign, expect_term = 1.0, False
    return terms


def from_cli(
    query: list[str], like: list[str], minus: list[str], minus_like: list[str], root: Path
) -> list[Term]:
    """Every term the command line gave, in the order: query, --like, --minus, --minus-like."""
    terms = parse(query, root)
    terms += [term(v, 1.0, root, "file") for v in like]
    terms += [term(v, -1.0, root, "text") for v in minus]
    terms += [term(v, -1.0, root, "file") for v in minus_like]
    if not terms:
        raise UserError("empty query: give a QUERY, --like FILE or both")
    if all(t.weight < 0 for t in terms):
        raise UserError("every term is subtracted: give at least one term to search for")
    return terms


def describe(terms: list[Term]) -> str:
    """The combination as the results header shows it: `2×"dog" + file:pool.jpg − "fruit"`."""
    out = ""
    for i, t in enumerate(terms):
        op = ("− " if t.weight < 0 else "+ ") if i else ("− " if t.weight < 0 else "")
        out += (" " if i else "") + op + t.label()
    return out
