"""A 2-D picture of the space: PCA always (the top two principal axes), UMAP when umap-learn is
installed and asked for. Only a sample of points is drawn: a terminal has a few thousand cells."""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np

from ..errors import UserError
from ..extras import MissingExtra, available, require
from .schema import Point

METHODS = ("pca", "umap")
UMAP_PURPOSE = "the UMAP projection"


def umap_available() -> bool:
    """Whether umap-learn is installed (a left-over empty `umap` folder is a namespace package: no)."""
    return available("umap")


def folder_of(path: str) -> str:
    """The folder a file sits in ("." at the top): the colour key that follows the user's own layout."""
    parent = PurePosixPath(path).parent.as_posix()
    return parent if parent else "."


def coordinates(x: np.ndarray, mean: np.ndarray, axes: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """[len(x), 2] coordinates of x. axes: the principal axes (columns), used by PCA."""
    if method == "pca":
        return ((x - mean.astype(np.float32)) @ axes[:, :2].astype(np.float32)).astype(np.float64)
    if method == "umap":
        if not umap_available():  # a leftover empty folder imports as a namespace package: not UMAP
            raise MissingExtra("umap", "umap", UMAP_PURPOSE)
        umap = require("umap", "umap", UMAP_PURPOSE)
        if len(x) < 4:
            raise UserError("UMAP needs at least 4 vectors")
        import warnings

        reducer = umap.UMAP(
            n_components=2, metric="cosine", random_state=seed, n_neighbors=min(15, len(x) - 1)
        )
        with warnings.catch_warnings():  # a seeded UMAP warns that it runs single-threaded
            warnings.simplefilter("ignore", UserWarning)
            return np.asarray(reducer.fit_transform(x), dtype=np.float64)
    raise UserError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")


def points(coords: np.ndarray, rows: np.ndarray, paths: list[str], clusters: np.ndarray) -> list[Point]:
    """One record per drawn point: where it is and what colours it (cluster, folder)."""
    return [
        Point(paths[r], round(float(c[0]), 6), round(float(c[1]), 6), int(clusters[r]), folder_of(paths[r]))
        for r, c in zip(rows.tolist(), coords, strict=False)
    ]
