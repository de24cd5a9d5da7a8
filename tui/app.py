"""Placeholder entry point until the explorer lands: shows what is indexed."""

from __future__ import annotations

from pathlib import Path


def run_app(path: Path, store: str | None = None, backend=None) -> None:
    from vexplore.engine.query import open_explorer

    explorer = open_explorer(path, store, backend)  # backend: e.g. Milvus for neighbour queries
    for m in explorer.models():
        print(f"{m.name}: {m.rows} vectors ({'/'.join(m.modalities)}, dim {m.dim})")
