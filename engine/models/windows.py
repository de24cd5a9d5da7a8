"""Long texts cut into token windows that a model sees whole, at token boundaries, so a file is embedded
from all of its text (up to a cap) rather than truncated to the model's first window."""

from __future__ import annotations

from typing import Any


def token_windows(tokenizer: Any, text: str, size: int, max_windows: int) -> tuple[list[str], bool]:
    """(windows of at most `size` tokens, whether windows past `max_windows` were dropped). A text that
    fits one window comes back whole; each window is the exact span of the source its tokens cover."""
    offsets = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
    )["offset_mapping"]
    count = len(offsets)
    if count <= size:
        return [text], False
    windows = [
        text[offsets[start][0] : offsets[min(start + size, count) - 1][1]]
        for start in range(0, min(count, size * max_windows), size)
    ]
    return windows, count > size * max_windows
