"""Search the way people ask: combined terms (text and files, weighted, added and subtracted) answered by
meaning, by keyword (FTS5 over the stored text) or both fused (reciprocal-rank fusion), each result
saying why it matched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import keywords
from .catalog import ModelRow
from .errors import UserError
from .modality import classify
from .query import Explorer
from .terms import Term, describe

MODES = ("semantic", "keyword", "hybrid")
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al.): 1 / (RRF_K + rank) per list


@dataclass
class Match:
    """One result and why: its cosine to the combined query and to each term, its keyword hit."""

    path: str
    score: float  # semantic: cosine; keyword: -bm25; hybrid: the fused score
    vector: float | None = None  # cosine to the combined query vector (None: no vector for this model)
    vector_rank: int | None = None
    keyword: keywords.KeywordHit | None = None
    terms: list[float] | None = None  # cosine to each term's own vector, in the query's order
    labels: list | None = None

    def as_json(self, terms: list[Term]) -> dict:
        out: dict = {
            "path": self.path,
            "score": round(float(self.score), 6),
            "vector": None if self.vector is None else round(float(self.vector), 6),
            "keyword": None
            if self.keyword is None
            else {"rank": self.keyword.rank, "snippet": keywords.plain_snippet(self.keyword.snippet)},
            "terms": None
            if self.terms is None
            else [
                {"term": t.label(), "score": round(float(s), 6)}
                for t, s in zip(terms, self.terms, strict=False)
            ],
        }
        if self.labels:
            out["labels"] = self.labels
        return out


@dataclass
class SearchResult:
    query: str
    terms: list[Term]
    mode: str
    model: ModelRow | None
    matches: list[Match]

    @property
    def combined(self) -> str:
        return describe(self.terms)

    def header(self) -> str:
        used = self.model.name if self.model is not None else "keyword index"
        return f"{self.combined} — {self.mode} — {used}"

    def as_json(self) -> dict:
        return {
            "query": self.query,
            "combined": self.combined,
            "terms": [t.as_json() for t in self.terms],
            "mode": self.mode,
            "model": None if self.model is None else self.model.name,
            "results": [m.as_json(self.terms) for m in self.matches],
        }


def search(
    explorer: Explorer,
    terms: list[Term],
    k: int = 10,
    model_name: str | None = None,
    mode: str | None = None,
    device: str = "auto",
    query: str = "",
) -> SearchResult:
    """Answer the terms in the mode asked for, else hybrid when both a model and the keyword index can
    (semantic when the keyword index then matches nothing), else whichever can."""
    if mode is not None and mode not in MODES:
        raise UserError(f"unknown mode {mode!r}: use {', '.join(MODES)}")
    has_words = keywords.fts_query(terms) is not None
    can_keyword = has_words and keywords.available(explorer.store.db)
    model: ModelRow | None = None
    if mode != "keyword":
        try:
            model = pick_model(explorer, terms, model_name)
        except UserError:
            if mode is not None or not can_keyword:
                raise
    chosen = mode is not None
    mode = mode or ("hybrid" if model is not None and can_keyword else "semantic" if model else "keyword")
    if mode == "hybrid" and not has_words:
        mode = "semantic"  # only files were given: nothing for the keyword index to look up
    depth = k if mode != "hybrid" else max(3 * k, 50)
    exclude = _inside_ids(explorer, terms)
    semantic: list[tuple[int, float]] = []
    vectors: list[np.ndarray] = []
    if model is not None and mode != "keyword":
        vectors = [term_vector(explorer, model, t, device) for t in terms]
        semantic = _nearest(explorer, model, combine(terms, vectors), depth, exclude)
    found = keywords.search(explorer.store.db, terms, depth + len(exclude)) if mode != "semantic" else []
    found = [h for h in found if h.file_id not in exclude][:depth]
    if mode == "hybrid" and not found and not chosen:
        mode = "semantic"  # the keyword index matched nothing: the vectors alone answered, by cosine
    if model is None and mode == "keyword":
        model = _explaining_model(explorer, model_name, terms)
        vectors = [term_vector(explorer, model, t, device) for t in terms] if model is not None else []
    matches = _fuse(semantic, found, mode)[:k]
    _explain(explorer, model, matches, terms, vectors)
    return SearchResult(query, terms, mode, model if mode != "keyword" or vectors else None, matches)


def _explaining_model(explorer: Explorer, name: str | None, terms: list[Term]) -> ModelRow | None:
    """In keyword mode, the model asked for (if any) still scores each hit per term."""
    return pick_model(explorer, terms, name) if name is not None else None


def pick_model(explorer: Explorer, terms: list[Term], name: str | None) -> ModelRow:
    """The model that can embed every term: text terms need a text tower, file terms a model made for
    their kind; `name` picks one, which must be able to."""
    needs_text = any(t.kind == "text" for t in terms)
    file_kinds = {file_modality(t) for t in terms if t.kind == "file"}

    def fits(m: ModelRow) -> bool:
        return (m.text_queries or not needs_text) and file_kinds <= set(m.modalities)

    if name is not None:
        chosen = explorer.model(name)
        if not fits(chosen):
            raise UserError(
                f"model {chosen.name!r} ({'/'.join(chosen.modalities)}) cannot embed {_needs(terms)}"
            )
        return chosen
    models = explorer.models()
    if not models:
        raise UserError("the store holds no vectors yet: run `vexplore index` first")
    able = [m for m in models if fits(m)]
    if not able and not file_kinds:
        explorer.model(None, text_query=True)  # the engine's own line: what is indexed, what to index
    if not able:
        indexed = ", ".join(
            f"{m.name} ({'/'.join(m.modalities)}{', text queries' if m.text_queries else ''})" for m in models
        )
        raise UserError(f"no indexed model can embed {_needs(terms)}; indexed: {indexed}")
    first = next(t for t in terms if t.weight > 0)
    primary = "text" if first.kind == "text" else file_modality(first)
    return sorted(able, key=lambda m: m.modalities[0] != primary)[0]


def _needs(terms: list[Term]) -> str:
    parts = sorted({"text queries" if t.kind == "text" else f"{file_modality(t)} files" for t in terms})
    return " and ".join(parts)


def file_modality(t: Term) -> str:
    kind = classify(t.value)
    if kind is None:
        raise UserError(f"{t.value}: not a kind of file vexplore reads (by its extension)")
    return kind


def locate(explorer: Explorer, value: str) -> Path:
    """A file term's file: as given (relative to the working folder), else inside the folder."""
    for candidate in (Path(value).expanduser(), explorer.store.root / value):
        if candidate.is_file():
            return candidate
    raise UserError(f"{value}: no such file")


def term_vector(explorer: Explorer, model: ModelRow, t: Term, device: str) -> np.ndarray:
    """A term in the model's space, unit length: text by its text tower; a file by its stored vector when
    it is an unchanged indexed file, else decoded and embedded as indexing would."""
    if t.kind == "text":
        if not model.text_queries:
            raise UserError(f"model {model.name!r} has no text tower, so it cannot embed {t.label()}")
        vector = np.asarray(explorer.query_vector(model, t.value, device), np.float32)
    else:
        vector = file_vector(explorer, model, locate(explorer, t.value), device)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def file_vector(explorer: Explorer, model: ModelRow, path: Path, device: str) -> np.ndarray:
    stored = _stored_vector(explorer, model, path)
    if stored is not None:
        return stored
    from .models.base import DecodeError
    from .results import EmbeddedFile
    from .stages import embed_decoded

    modality = classify(path.name)
    if modality is None or modality not in model.modalities:
        raise UserError(f"{path}: model {model.name!r} does not embed {modality or 'such'} files")
    adapter = explorer.file_adapter(model, device)
    try:
        decoded = adapter.decode(path, modality)
    except (DecodeError, OSError) as exc:
        raise UserError(f"{path}: cannot be read ({exc})") from exc
    result = embed_decoded(adapter, [(path, decoded)])[0]
    if not isinstance(result, EmbeddedFile):
        raise UserError(f"{path}: {result.reason}")
    return result.vector


def _stored_vector(explorer: Explorer, model: ModelRow, path: Path) -> np.ndarray | None:
    rel = _relative(explorer, path)
    f = explorer.store.file_by_path(rel) if rel is not None else None
    if f is None:
        return None
    st = path.stat()
    if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
        return None
    return explorer.store.file_vector(model, f.id)


def _relative(explorer: Explorer, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(explorer.store.root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _inside_ids(explorer: Explorer, terms: list[Term]) -> set[int]:
    """Files of the folder given as terms: the results leave them out ("more like this")."""
    ids: set[int] = set()
    for t in terms:
        if t.kind == "file":
            rel = _relative(explorer, locate(explorer, t.value))
            f = explorer.store.file_by_path(rel) if rel is not None else None
            if f is not None:
                ids.add(f.id)
    return ids


def combine(terms: list[Term], vectors: list[np.ndarray]) -> np.ndarray:
    """The weighted sum of the unit term vectors, normalised."""
    total = np.sum([t.weight * v for t, v in zip(terms, vectors, strict=False)], axis=0)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise UserError(f"the terms cancel out: {describe(terms)}")
    return (total / norm).astype(np.float32)


def _nearest(
    explorer: Explorer, model: ModelRow, vector: np.ndarray, n: int, exclude: set[int]
) -> list[tuple[int, float]]:
    ids, scores = explorer.knn(model, vector, n + len(exclude))
    keep = [
        (int(i), float(s))
        for i, s in zip(ids[0], scores[0], strict=False)
        if int(i) not in exclude and i >= 0
    ]
    return keep[:n]


def _fuse(semantic: list[tuple[int, float]], found: list[keywords.KeywordHit], mode: str) -> list[Match]:
    """Matches by file id, in the mode's order: cosine, bm25, or the sum of 1 / (RRF_K + rank) over the
    lists a file is in. Paths are filled in later."""
    by_id: dict[int, Match] = {}
    for rank, (fid, cos) in enumerate(semantic, 1):
        by_id[fid] = Match("", cos, vector=cos, vector_rank=rank)
    for hit in found:
        m = by_id.setdefault(hit.file_id, Match("", -hit.bm25))
        m.keyword = hit
    for m in by_id.values():
        if mode == "hybrid":
            m.score = sum(1.0 / (RRF_K + r) for r in (m.vector_rank, m.keyword and m.keyword.rank) if r)
        elif mode == "keyword" and m.keyword is not None:
            m.score = -m.keyword.bm25
    order = sorted(by_id.items(), key=lambda kv: (-kv[1].score, kv[0]))
    for fid, m in order:
        m.path = str(fid)  # a placeholder the explanation replaces with the path
    return [m for _, m in order]


def _explain(
    explorer: Explorer,
    model: ModelRow | None,
    matches: list[Match],
    terms: list[Term],
    vectors: list[np.ndarray],
) -> None:
    """Paths, labels, and where the model has the file's vector: its cosine to the query and each term."""
    ids = [int(m.path) for m in matches]
    store = explorer.store
    found = (
        store.hits_of(model, ids)
        if model is not None
        else {i: (p, None) for i, p in store.paths_by_id(ids).items()}
    )
    query = combine(terms, vectors) if vectors else None
    for fid, m in zip(ids, matches, strict=False):
        m.path, m.labels = found.get(fid, (str(fid), None))
        v = store.file_vector(model, fid) if model is not None and vectors else None
        if v is None or query is None:
            continue
        m.vector = float(v @ query) if m.vector is None else m.vector
        m.terms = [float(v @ tv) for tv in vectors]
