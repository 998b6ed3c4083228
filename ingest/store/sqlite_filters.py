"""SearchRequest -> SQL condition over `articles a`, shared by search, aggregates and alert matching."""

from __future__ import annotations

from ingest.store.base import SearchRequest


def text_condition(query: str) -> tuple[str, list, str | None]:
    """The query compiled to (SQL condition, params, FTS5 match for ranking or None)."""
    from ingest.query import parse
    from ingest.store.sqlite_search import compile_sqlite

    return compile_sqlite(parse(query))


def request_condition(request: SearchRequest) -> tuple[str, list]:
    from ingest.store.sqlite import to_iso

    where: list[str] = []
    params: list = []
    if request.query.strip():
        cond, qparams, _rank = text_condition(request.query)
        where.append(f"({cond})")
        params += qparams
    if request.sources:
        where.append(f"a.source IN ({','.join('?' * len(request.sources))})")
        params += request.sources
    if request.languages:
        where.append(f"a.language IN ({','.join('?' * len(request.languages))})")
        params += request.languages
    for tag in request.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(a.tags) t WHERE lower(t.value) = lower(?))")
        params.append(tag)
    for column, value, op in (("published", request.since, ">="), ("published", request.until, "<"),
                              ("indexed", request.indexed_since, ">=")):
        if value is not None:
            where.append(f"a.{column} {op} ?")
            params.append(to_iso(value))
    if request.ids is not None:
        where.append(f"a.id IN ({','.join('?' * len(request.ids))})" if request.ids else "0")
        params += request.ids
    return " AND ".join(where) or "1", params
