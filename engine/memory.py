"""Giving freed memory back to the system, for the long-lived processes (the explorer and its query
process) that read big transient blocks: a million rows read for the file list, a statistics report."""

from __future__ import annotations

import contextlib


def trim_heap() -> None:
    """Return freed heap pages to the system. glibc keeps them once the process has freed a large block,
    so a transient peak would otherwise stay resident for the life of the process. A no-op where there
    is no glibc."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
