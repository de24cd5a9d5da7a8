"""File extension → modality. The one table every part of vexplore agrees on."""

from __future__ import annotations

import os
from pathlib import PurePath

TEXT = {
    ".txt",
    ".md",
    ".markdown",
    ".rst",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".html",
    ".htm",
    ".xml",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".tex",
    ".org",
    ".log",
    ".pdf",
    # source code
    ".py",
    ".pyi",
    ".ipynb",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cxx",
    ".cu",
    ".rs",
    ".go",
    ".java",
    ".kt",
    ".scala",
    ".js",
    ".jsx",
    ".ts",
    ".tsx",
    ".rb",
    ".php",
    ".pl",
    ".lua",
    ".r",
    ".jl",
    ".swift",
    ".m",
    ".cs",
    ".fs",
    ".hs",
    ".ml",
    ".ex",
    ".exs",
    ".erl",
    ".clj",
    ".sh",
    ".bash",
    ".zsh",
    ".fish",
    ".sql",
    ".css",
    ".scss",
    ".vue",
    ".svelte",
    ".dart",
    ".zig",
    ".nim",
}
IMAGE = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".ico"}
AUDIO = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".wma", ".aif", ".aiff"}
VIDEO = {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}

MODALITIES = ("text", "image", "audio", "video")
_BY_EXT = {ext: m for m, exts in zip(MODALITIES, (TEXT, IMAGE, AUDIO, VIDEO), strict=False) for ext in exts}


def classify(path: str | PurePath) -> str | None:
    """The modality of a file by its extension, or None for files vexplore does not embed. (splitext, not
    PurePath: this runs once per file of every scan, and PurePath costs half of a 100k-file scan.)"""
    return _BY_EXT.get(os.path.splitext(os.fspath(path))[1].lower())
