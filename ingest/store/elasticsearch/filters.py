"""Filters as Elasticsearch queries: a SearchRequest (the compiled query language plus the request's
filters) and an ArticleSelection (retention and delete commands). Twin of `ingest.store.sqlite.filters`."""

from __future__ import annotations

from ingest.query import parse
from ingest.store.base import ArticleSelection, SearchRequest
from ingest.store.dates import to_iso
from ingest.store.elasticsearch.query import ci_keyword, compile_es


def request_query(request: SearchRequest) -> dict:
    must: list[dict] = []
    filters: list[dict] = []
    if request.query.strip():
        must.append(compile_es(parse(request.query)))
    if request.sources:
        filters.append({"terms": {"source": request.sources}})
    if request.feeds:
        filters.append({"terms": {"feed_urls": request.feeds}})
    if request.clusters:
        filters.append({"terms": {"cluster_id": request.clusters}})
    if request.stories:
        filters.append({"terms": {"story_id": request.stories}})
    if request.languages:
        filters.append({"terms": {"language": request.languages}})
    for tag in request.tags:
        filters.append(ci_keyword("term", "tags", tag))
    for field, value, op in (("published", request.since, "gte"), ("published", request.until, "lt"),
                             ("indexed", request.indexed_since, "gte")):
        if value is not None:
            filters.append({"range": {field: {op: to_iso(value)}}})
    if request.ids is not None:
        filters.append({"ids": {"values": request.ids}})
    if not must and not filters:
        return {"match_all": {}}
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def selection_query(sel: ArticleSelection) -> dict:
    """Which stored articles a retention or delete command acts on (fields combine with AND)."""
    filters: list[dict] = []
    if sel.older_than is not None:
        cutoff = to_iso(sel.older_than)
        filters.append({"bool": {"should": [
            {"range": {"published": {"lt": cutoff}}},
            {"bool": {"must_not": {"exists": {"field": "published"}}, "filter": {"range": {"indexed": {"lt": cutoff}}}}},
        ], "minimum_should_match": 1}})
    if sel.sources:
        filters.append({"bool": {"should": [{"terms": {"source": sel.sources}}, {"terms": {"domain": sel.sources}}],
                                 "minimum_should_match": 1}})
    if sel.ids:
        filters.append({"ids": {"values": sel.ids}})
    if sel.feeds:
        filters.append({"terms": {"feed_urls": sel.feeds}})
    must_not = ([{"terms": {"source": sel.exclude_sources}}, {"terms": {"domain": sel.exclude_sources}}]
                if sel.exclude_sources else [])
    return {"bool": {"filter": filters, "must_not": must_not}}
