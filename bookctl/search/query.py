"""Hybrid search: lexical (SQLite FTS5 / PostgreSQL tsvector) + vector (numpy exact / pgvector HNSW),
fused by reciprocal rank fusion, with filters by part, chapter, layer and lesson type.

One function, `search`, serves `bookctl search` and `POST /api/search`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import msgspec
import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.db.models import LESSON_TYPES
from bookctl.errors import UpstreamError, ValidationError
from bookctl.search.schema import TS_CONFIG, TSV_EXPR

MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
RRF_K = 60
CANDIDATES = 50  # per ranker, before fusion
EF_SEARCH = 100  # pgvector hnsw.ef_search (candidate list size): recall vs latency, see BENCHMARKS.md
VECTOR_WEIGHT = 1.0  # RRF weight of the semantic ranking (lexical = 1.0)
OVERVIEW_WEIGHT = 0.8  # fused-score multiplier for chapter/part intros and summaries (type index|summary)
FILTER_KEYS = ("part", "chapter", "layer", "type")
_TERM = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it me my of on or so that the this to was what "
    "when where which who why will with you your we our us they them their there these those into about".split()
)


@dataclass(frozen=True)
class SearchRequest:
    query: str
    limit: int = 10
    filters: dict[str, Any] = field(default_factory=dict)


class SearchHit(msgspec.Struct):
    """One lesson found: what the CLI prints and POST /api/search returns (one shape for both)."""

    slug: str
    route: str | None
    title: str
    chapter_title: str | None
    part_title: str | None
    heading_path: str
    passage: str
    score: float
    lexical_rank: int | None = None
    vector_rank: int | None = None


class SearchResponse(msgspec.Struct):
    query: str
    mode: str  # hybrid | lexical | vector | titles
    results: list[SearchHit]
    note: str | None = None
    model: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


MAX_NUMBER = 2**31 - 1  # part/chapter numbers are 32-bit INTEGER columns


def validate(query: Any, limit: Any = 10, filters: Any = None) -> SearchRequest:
    """Clear 4xx-worthy errors for empty, huge or malformed input."""
    if not isinstance(query, str):
        raise ValidationError("query must be a string", detail={"field": "query"})
    q = query.replace("\x00", " ").strip()
    if not q:
        raise ValidationError("query must not be empty", detail={"field": "query"})
    if len(q) > MAX_QUERY_CHARS:
        raise ValidationError(f"query is too long ({len(q)} characters; at most {MAX_QUERY_CHARS})",
                              detail={"field": "query", "max": MAX_QUERY_CHARS})
    if not _TERM.search(q):
        raise ValidationError("query has no searchable words", detail={"field": "query"})
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}", detail={"field": "limit"})
    clean: dict[str, Any] = {}
    if filters is not None:
        if not isinstance(filters, Mapping):
            raise ValidationError("filters must be an object", detail={"field": "filters"})
        for key, value in filters.items():
            if value is None:
                continue
            if key not in FILTER_KEYS:
                raise ValidationError(f"unknown filter {key!r}; use {', '.join(FILTER_KEYS)}", detail={"field": "filters"})
            if key in ("part", "chapter"):
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
                    raise ValidationError(f"filters.{key} must be a part/chapter number", detail={"field": f"filters.{key}"})
            elif key == "type":
                if value not in LESSON_TYPES:
                    raise ValidationError(f"filters.type must be one of {', '.join(LESSON_TYPES)}",
                                          detail={"field": "filters.type"})
            elif not isinstance(value, str) or not re.fullmatch(r"L\d{1,2}", value):
                raise ValidationError("filters.layer must look like L1, L2...", detail={"field": "filters.layer"})
            clean[key] = value
    return SearchRequest(q, limit, clean)


def terms(query: str) -> list[str]:
    words = [w.lower() for w in _TERM.findall(query)]
    kept = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(kept or words))


def _where(filters: dict[str, Any], book_id: Any, params: dict[str, Any]) -> str:
    clauses = ["l.removed_at IS NULL", "l.status = 'written'"]
    if book_id is not None:
        clauses.append("l.book_id = :book_id")
        params["book_id"] = book_id
    if "part" in filters:
        clauses.append("p.number = :f_part")
        params["f_part"] = filters["part"]
    if "chapter" in filters:
        clauses.append("ch.number = :f_chapter")
        params["f_chapter"] = filters["chapter"]
    if "type" in filters:
        clauses.append("l.type = :f_type")
        params["f_type"] = filters["type"]
    if "layer" in filters:
        clauses.append("(l.layer = :f_layer OR (l.layer IS NULL AND (p.layer = :f_layer OR p.layer LIKE :f_layer_lo "
                       "OR p.layer LIKE :f_layer_hi)))")
        params.update(f_layer=filters["layer"], f_layer_lo=filters["layer"] + "-%", f_layer_hi="%-" + filters["layer"])
    return " AND ".join(clauses)


_JOINS = ("JOIN lessons l ON l.id = c.lesson_id LEFT JOIN parts p ON p.id = l.part_id "
          "LEFT JOIN chapters ch ON ch.id = l.chapter_id")


def _uuid(session: Session, value: Any) -> Any:
    # SQLite stores Uuid as 32-char hex; PostgreSQL has a native uuid
    if value is None or session.get_bind().dialect.name == "postgresql":
        return value
    return value.hex if hasattr(value, "hex") else value


def lexical(session: Session, query: str, k: int, filters: dict[str, Any], book_id: Any = None) -> list[tuple[str, float]]:
    words = terms(query)
    if not words:
        return []
    params: dict[str, Any] = {"k": k}
    where = _where(filters, _uuid(session, book_id), params)
    if session.get_bind().dialect.name == "postgresql":
        params["q"] = " | ".join(words)
        sql = (f"SELECT c.id, ts_rank_cd({TSV_EXPR}, q) AS score FROM chunks c {_JOINS}, "
               f"to_tsquery('{TS_CONFIG}', :q) q WHERE {TSV_EXPR} @@ q AND {where} ORDER BY score DESC, c.id LIMIT :k")
    else:
        params["q"] = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        # bm25 weights: heading path counts double (titles say what a passage is about)
        sql = (f"SELECT c.id, -bm25(chunks_fts, 0.0, 2.0, 1.0) AS score FROM chunks_fts f JOIN chunks c ON c.id = f.chunk_id "
               f"{_JOINS} WHERE chunks_fts MATCH :q AND {where} ORDER BY score DESC, c.id LIMIT :k")
    return [(row[0], float(row[1])) for row in session.execute(text(sql), params)]


def vector(session: Session, qvec: np.ndarray, model: str, k: int, filters: dict[str, Any],
           book_id: Any = None, ef_search: int | None = None) -> list[tuple[str, float]]:
    dim = int(len(qvec))
    params: dict[str, Any] = {"model": model, "k": k}
    where = _where(filters, _uuid(session, book_id), params)
    if session.get_bind().dialect.name == "postgresql":
        from bookctl.search.index import HNSW_MAX_DIM

        params["q"] = "[" + ",".join(f"{x:.7g}" for x in qvec) + "]"
        if dim <= HNSW_MAX_DIM:
            session.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search or max(EF_SEARCH, k))}"))
            session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        cast = f"c.embedding::vector({dim})"
        sql = (f"SELECT c.id, 1 - ({cast} <=> CAST(:q AS vector({dim}))) AS score FROM chunks c {_JOINS} "
               f"WHERE c.model = :model AND c.dim = {dim} AND {where} "
               f"ORDER BY {cast} <=> CAST(:q AS vector({dim})) LIMIT :k")
        rows = [(r[0], float(r[1])) for r in session.execute(text(sql), params)]
        return sorted(rows, key=lambda r: -r[1])  # relaxed_order may return near-ties out of order
    params["dim"] = dim
    sql = f"SELECT c.id, c.embedding FROM chunks c {_JOINS} WHERE c.model = :model AND c.dim = :dim AND {where}"
    rows = session.execute(text(sql), params).all()
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
    scores = matrix @ (np.asarray(qvec, dtype=np.float32) / (np.linalg.norm(qvec) or 1.0))
    top = np.argsort(-scores)[:k]
    return [(rows[i][0], float(scores[i])) for i in top]


def rrf(*rankings: list[tuple[str, float]], weights: tuple[float, ...] | None = None, k: int = RRF_K) -> dict[str, float]:
    fused: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if weights else 1.0
        for rank, (chunk_id, _score) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return fused


def indexed_models(session: Session, book_id: Any = None) -> dict[str, int]:
    params: dict[str, Any] = {}
    where = ""
    if book_id is not None:
        where = "WHERE l.book_id = :book_id"
        params["book_id"] = _uuid(session, book_id)
    sql = f"SELECT c.model, count(*) FROM chunks c JOIN lessons l ON l.id = c.lesson_id {where} GROUP BY c.model"
    return {r[0]: int(r[1]) for r in session.execute(text(sql), params)}


def search(session: Session, request: SearchRequest, embedder: Any = None, *, book_id: Any = None,
           book_slug: str | None = None, mode: str = "hybrid") -> SearchResponse:
    """`mode`: hybrid (default), lexical or vector (the last two for evaluation). `book_id` or `book_slug`
    narrows the search to one book (the API searches every synced book)."""
    if book_id is None and book_slug is not None:
        book_id = session.scalar(select(m.Book.id).where(m.Book.slug == book_slug))
    models = indexed_models(session, book_id)
    if not models:
        return _titles_only(session, request, book_id)
    pool = max(CANDIDATES, request.limit * 5)
    note = None
    lex: list[tuple[str, float]] = []
    vec: list[tuple[str, float]] = []
    if mode in ("hybrid", "lexical"):
        lex = lexical(session, request.query, pool, request.filters, book_id)
    name = getattr(embedder, "name", None)
    if mode in ("hybrid", "vector"):
        if embedder is None:
            note = "no embedder configured: lexical results only"
        elif name not in models:
            note = (f"no embeddings for {name} yet (the index holds {', '.join(sorted(models))}): "
                    "lexical results only; run `bookctl embed`")
        else:
            try:
                qvec = np.asarray(embedder.embed([request.query])[0], dtype=np.float32)
            except UpstreamError as exc:  # the embedding service is down: still answer, lexically
                if mode == "vector":
                    raise
                note = f"semantic search is unavailable ({exc.message}): lexical results only"
            else:
                vec = vector(session, qvec, name, pool, request.filters, book_id)
    used = "hybrid" if lex and vec else ("vector" if vec else "lexical")
    if mode == "hybrid" and note:
        used = "lexical"
    lex_rank = {cid: i for i, (cid, _) in enumerate(lex, start=1)}
    vec_rank = {cid: i for i, (cid, _) in enumerate(vec, start=1)}
    fused = rrf(lex, vec, weights=(1.0, VECTOR_WEIGHT))
    ordered = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    hits = _hydrate(session, ordered, request.limit, overview_weight=OVERVIEW_WEIGHT)
    for hit, cid in hits:
        hit.lexical_rank, hit.vector_rank = lex_rank.get(cid), vec_rank.get(cid)
    return SearchResponse(request.query, used, [h for h, _ in hits], note, name if vec else None)


def _hydrate(session: Session, ordered: list[tuple[str, float]], limit: int,
             overview_weight: float = 1.0) -> list[tuple[SearchHit, str]]:
    """Best passage per lesson, in fused order, up to `limit` lessons."""
    if not ordered:
        return []
    ids = [cid for cid, _ in ordered]
    rows = {}
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        params = {f"i{n}": cid for n, cid in enumerate(batch)}
        marks = ", ".join(f":i{n}" for n in range(len(batch)))
        sql = (f"SELECT c.id, l.id, l.slug, l.route, l.title, ch.title, p.title, c.heading_path, c.text, l.type FROM chunks c "
               f"{_JOINS} WHERE c.id IN ({marks})")
        for r in session.execute(text(sql), params):
            rows[r[0]] = r
    if overview_weight != 1.0:  # overviews mention every lesson's topic; the lesson itself should win
        ordered = sorted(((cid, s * (overview_weight if cid in rows and rows[cid][9] in ("index", "summary") else 1.0))
                          for cid, s in ordered), key=lambda kv: (-kv[1], kv[0]))
    seen: set[Any] = set()
    out: list[tuple[SearchHit, str]] = []
    for cid, score in ordered:
        r = rows.get(cid)
        if r is None or r[1] in seen:
            continue
        seen.add(r[1])
        out.append((SearchHit(r[2], r[3], r[4], r[5], r[6], r[7], r[8], round(score, 6)), cid))
        if len(out) >= limit:
            break
    return out


def _titles_only(session: Session, request: SearchRequest, book_id: Any) -> SearchResponse:
    """Nothing is indexed yet: match lesson titles and descriptions so search still answers something."""
    words = terms(request.query)
    params: dict[str, Any] = {}
    where = _where(request.filters, _uuid(session, book_id), params)
    sql = (f"SELECT l.slug, l.route, l.title, ch.title, p.title, l.description FROM lessons l "
           f"LEFT JOIN parts p ON p.id = l.part_id LEFT JOIN chapters ch ON ch.id = l.chapter_id WHERE {where} "
           f"ORDER BY l.position")
    scored = []
    for r in session.execute(text(sql), params):
        hay = f"{r[2]} {r[5] or ''}".lower()
        score = sum(1 for w in words if w in hay)
        if score:
            scored.append((score, r))
    scored.sort(key=lambda x: -x[0])
    hits = [SearchHit(r[0], r[1], r[2], r[3], r[4], r[2], r[5] or "", float(s)) for s, r in scored[:request.limit]]
    return SearchResponse(request.query, "titles", hits,
                          "nothing is indexed yet: run `bookctl embed`; these results match lesson titles only")
