"""SearchRequest -> SQL condition over `articles a`, shared by search, aggregates and alert matching."""

from __future__ import annotations

from ingest.store.base import SearchRequest


def request_condition(request: SearchRequest, node=None) -> tuple[str, list]:
    """Pass the parsed query as `node` when the caller already has it."""
    from ingest.query import parse
    from ingest.store.sqlite import to_iso
    from ingest.store.sqlite_search import compile_sqlite

    where: list[str] = []
    params: list = []
    if node is None and request.query.strip():
        node = parse(request.query)
    if node is not None:
        cond, qparams, _rank = compile_sqlite(node)
        where.append(f"({cond})")
        params += qparams
    if request.sources:
        where.append(f"a.source IN ({','.join('?' * len(request.sources))})")
        params += request.sources
    if request.feeds:
        where.append(f"EXISTS (SELECT 1 FROM json_each(a.feed_urls) f WHERE f.value IN "
                     f"({','.join('?' * len(request.feeds))}))")
        params += request.feeds
    if request.clusters:
        where.append(f"a.cluster_id IN ({','.join('?' * len(request.clusters))})")
        params += request.clusters
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
