"""The one typed way from a screen or widget to the explorer app and what it shares (the reader, the chosen
model, the index run), instead of `self.app` and a `type: ignore` at every use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.dom import DOMNode

if TYPE_CHECKING:
    from .app import VexploreApp


def explorer(node: DOMNode) -> VexploreApp:
    """node's app, typed; a screen mounted in some other app (a test's host) fails here, loudly."""
    from .app import VexploreApp  # at call time: app.py imports the screens that call this

    app = node.app
    if not isinstance(app, VexploreApp):
        raise TypeError(f"{type(node).__name__} needs the explorer app, not {type(app).__name__}")
    return app
