"""SearchRequest -> SQL condition over `articles a`, shared by search, aggregates and alert matching."""

from __future__ import annotations

from ingest.query import parse
from ingest.store.base import ArticleSelection, SearchRequest
from ingest.store.dates import to_iso
from ingest.store.sqlite.query import compile_sqlite


def in_list(expr: str, values: list) -> tuple[str, list]:
    """`expr IN (?, ?, ...)` with its parameters."""
    return f"{expr} IN ({','.join('?' * len(values))})", list(values)


def any_feed(table: str, feeds: list[str]) -> tuple[str, list]:
    """The article came through one of these feed URLs (its `feed_urls` JSON list holds one of them)."""
    cond, params = in_list("f.value", feeds)
    return f"EXISTS (SELECT 1 FROM json_each({table}.feed_urls) f WHERE {cond})", params


def selection_condition(sel: ArticleSelection) -> tuple[str, list]:
    """ArticleSelection (retention, delete) -> SQL condition over `articles`; "1" selects every article."""

    parts: list[tuple[str, list]] = []
    if sel.older_than is not None:
        parts.append(("COALESCE(published, indexed) < ?", [to_iso(sel.older_than)]))
    for names, negate in ((sel.sources, False), (sel.exclude_sources, True)):
        if names:
            by_source, p1 = in_list("source", names)
            by_domain, p2 = in_list("domain", names)
            parts.append((("NOT " if negate else "") + f"({by_source} OR {by_domain})", p1 + p2))
    if sel.ids:
        parts.append(in_list("id", sel.ids))
    if sel.feeds:
        parts.append(any_feed("articles", sel.feeds))
    return " AND ".join(c for c, _ in parts) or "1", [p for _, ps in parts for p in ps]


def request_condition(request: SearchRequest, node=None) -> tuple[str, list]:
    """Pass the parsed query as `node` when the caller already has it."""

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
    for cond, values in (any_feed("a", request.feeds) if request.feeds else ("", []),
                         in_list("a.cluster_id", request.clusters) if request.clusters else ("", [])):
        if cond:
            where.append(cond)
            params += values
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
