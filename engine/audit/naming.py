"""Names for clusters from what the store holds: text by its distinctive words (c-TF-IDF over the members'
text), pictures by their classifier tags (the same weighting over summed tag probabilities), any modality
by its label or folder mix when one label dominates. Names are unique within a report.

Naming reads at most DOCS_PER_CLUSTER of each cluster's most central files (BYTES_PER_FILE of each): the
words that name a cluster show in its core, and the cost stays bounded at a million files."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..decode.text import decode_bytes
from ..store import ModelRow, Store
from .ctfidf import ClassTerms, class_counts, class_tfidf

DOCS_PER_CLUSTER = 400
BYTES_PER_FILE = 16_384
KEYWORDS = 5  # kept in the report
CANDIDATES = 10  # terms held back to tell two clusters with the same name apart
NAME_WORDS = 3
DOMINANT = 0.5  # one label names the cluster when more than this share of its members hold it
_MARKUP = re.compile(r"<[^>]{0,200}>")
_MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".svg")
_CHUNK = 900  # ids per SQL statement


@dataclass(frozen=True)
class Members:
    """What naming reads of one cluster: its central files' ids, paths and modalities (nearest first),
    and every member's label or folder."""

    ids: list[int]
    paths: list[str]
    modalities: list[str]
    labels: Counter[str]


def label_mix(labels: Sequence[str | None] | None, paths: Sequence[str]) -> list[str]:
    """Each file's label (from the layout) or, without one, its parent folder ('.' at the top)."""
    given = labels if labels is not None else [None] * len(paths)
    return [lab if lab is not None else _folder(p) for lab, p in zip(given, paths, strict=True)]


def _folder(path: str) -> str:
    return str(PurePosixPath(path).parent)


def stored_texts(store: Store, ids: Sequence[int]) -> dict[int, str]:
    """The text the store holds for files (an audio file's transcript, say)."""
    out: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = [int(i) for i in ids[start : start + _CHUNK]]
        marks = ",".join("?" * len(chunk))
        rows = store.db.execute(
            f"SELECT id, text FROM files WHERE text IS NOT NULL AND id IN ({marks})", chunk
        )
        out.update((fid, text[:BYTES_PER_FILE]) for fid, text in rows)
    return out


def read_head(root: Path, path: str) -> str:
    """The start of a text file, markup dropped; '' when it cannot be read."""
    try:
        with open(root / path, "rb") as fh:
            text = decode_bytes(fh.read(BYTES_PER_FILE))
    except OSError:
        return ""
    return _MARKUP.sub(" ", text) if path.lower().endswith(_MARKUP_SUFFIXES) else text


def text_terms(store: Store, clusters: Sequence[Members]) -> ClassTerms:
    """c-TF-IDF over each cluster's text: the store's text for a file, else a text file's own words."""
    held = stored_texts(store, [i for c in clusters for i in c.ids])
    counts = []
    for c in clusters:
        docs = (
            held.get(fid) or (read_head(store.root, path) if modality == "text" else "")
            for fid, path, modality in zip(c.ids, c.paths, c.modalities, strict=True)
        )
        counts.append(class_counts(docs))
    return class_tfidf(counts)


def tag_terms(store: Store, model: ModelRow, clusters: Sequence[Members]) -> ClassTerms:
    """c-TF-IDF over each cluster's classifier tags, each tag weighed by its probability."""
    weights: list[dict[str, float]] = []
    for c in clusters:
        tags: dict[int, list] = {}
        for start in range(0, len(c.ids), _CHUNK):
            tags.update(store.labels(model, c.ids[start : start + _CHUNK]))
        mass: dict[str, float] = {}
        for top in tags.values():
            for name, prob in top:
                mass[str(name)] = mass.get(str(name), 0.0) + max(float(prob), 0.0)
        weights.append(mass)
    return class_tfidf(weights)


def dominant(labels: Counter[str]) -> str | None:
    """'cats (92%)' when one label or folder (not the top folder) holds more than DOMINANT of the members."""
    total = sum(labels.values())
    if not total:
        return None
    label, count = min(labels.items(), key=lambda kv: (-kv[1], kv[0]))
    if label == "." or count <= DOMINANT * total:
        return None
    return f"{label} ({round(100 * count / total)}%)"


def name_of(mix: str | None, words: Sequence[str], fallback: str, count: int = NAME_WORDS) -> str:
    """The label mix and the first keywords, as far as there are any."""
    head = ", ".join(words[:count])
    if mix and head:
        return f"{mix}: {head}"
    return mix or head or fallback


def unique_names(
    names: list[str],
    candidates: list[list[str]],
    mixes: list[str | None],
    ids: list[int],
    nears: list[str] | None = None,
) -> list[str]:
    """Later clusters (by id) whose name is taken get their next keywords, then the file nearest their
    centre ("audio (100%) · near rain.wav"), then their id."""
    seen: set[str] = set()
    out = []
    for at, (name, words, mix, cid) in enumerate(zip(names, candidates, mixes, ids, strict=True)):
        extra = NAME_WORDS
        while name in seen and extra < len(words):
            extra += 1
            name = name_of(mix, words, name, extra)
        if name in seen and nears is not None and nears[at] not in name:
            name = f"{name} · {nears[at]}"
        if name in seen:
            name = f"{name} #{cid}"
        seen.add(name)
        out.append(name)
    return out
