"""Search on the SQLite store: the query compiled to FTS5 MATCH + SQL filters, ranked by bm25."""

from __future__ import annotations

from ingest.models import SearchHit, SearchResult
from ingest.store.base import SearchRequest
from ingest.text import make_snippet, query_stems, tokens


def _fts_match(query: str) -> tuple[str, list[str]]:
    """Provisional compiler: every word must match (stemmed in any query language)."""
    words = tokens(query)
    parts = []
    for w in words:
        stems = query_stems(w)
        parts.append("(" + " OR ".join(f'{{title_stem body_stem}} : "{s}"' for s in stems) + ")")
    return " AND ".join(parts), words


def run_search(store, request: SearchRequest) -> SearchResult:
    from ingest.store.sqlite import from_iso, to_iso

    where, params = [], []
    match, words = _fts_match(request.query) if request.query.strip() else ("", [])
    if match:
        where.append("a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        params.append(match)
    if request.sources:
        where.append(f"a.source IN ({','.join('?' * len(request.sources))})")
        params += request.sources
    if request.languages:
        where.append(f"a.language IN ({','.join('?' * len(request.languages))})")
        params += request.languages
    for tag in request.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(a.tags) t WHERE lower(t.value) = lower(?))")
        params.append(tag)
    if request.since:
        where.append("a.published >= ?")
        params.append(to_iso(request.since))
    if request.until:
        where.append("a.published < ?")
        params.append(to_iso(request.until))
    if request.indexed_since:
        where.append("a.indexed >= ?")
        params.append(to_iso(request.indexed_since))
    if request.ids is not None:
        where.append(f"a.id IN ({','.join('?' * len(request.ids))})" if request.ids else "0")
        params += request.ids
    cond = " AND ".join(where) or "1"
    rank = "(SELECT bm25(articles_fts, 10.0, 1.0, 10.0, 1.0, 3.0) FROM articles_fts WHERE articles_fts MATCH ? AND rowid = a.rowid)" if match else "0"
    rank_params = [match] if match else []
    order = "a.published DESC" if request.sort == "date" or not match else "score ASC, a.published DESC"
    total = store.query(f"SELECT count(*) FROM articles a WHERE {cond}", params)[0][0]
    rows = store.query(
        f"SELECT a.id, a.url, a.title, a.source, a.published, a.body, a.language, a.domain, a.cluster_id, "
        f"{rank} AS score FROM articles a WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?",
        rank_params + params + [request.limit, request.offset])
    hits = [SearchHit(id=r["id"], url=r["url"], title=r["title"], source=r["source"],
                      published=from_iso(r["published"]), score=round(-(r["score"] or 0.0), 4),
                      snippet=make_snippet(r["body"], words), language=r["language"], domain=r["domain"],
                      cluster_id=r["cluster_id"]) for r in rows]
    return SearchResult(total=total, hits=hits)

