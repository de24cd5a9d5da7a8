"""Text that came from a file (names, contents, reasons) made safe to show: a rich Text, never markup,
with control characters turned into visible escapes so no escape sequence reaches the terminal."""

from __future__ import annotations

from rich.text import Text

from vexplore.engine.printable import printable


def literal(value: str, style: str = "", keep_newlines: bool = False) -> Text:
    """value exactly as written: `[bold]` stays brackets, ESC becomes the four characters `\\x1b`."""
    return Text(printable(value, keep_newlines=keep_newlines), style=style, no_wrap=not keep_newlines)


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover - the loop returns first


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
