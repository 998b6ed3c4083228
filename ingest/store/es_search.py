"""SearchRequest -> Elasticsearch query: the compiled query language plus the request's filters."""

from __future__ import annotations

from ingest.store.base import SearchRequest
from ingest.store.sqlite import to_iso


def request_query(request: SearchRequest) -> dict:
    from ingest.query import parse
    from ingest.store.es_query import compile_es

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
    if request.stories:
        filters.append({"terms": {"story_id": request.stories}})
    if request.languages:
        filters.append({"terms": {"language": request.languages}})
    for tag in request.tags:
        filters.append({"term": {"tags": {"value": tag, "case_insensitive": True}}})
    for field, value, op in (("published", request.since, "gte"), ("published", request.until, "lt"),
                             ("indexed", request.indexed_since, "gte")):
        if value is not None:
            filters.append({"range": {field: {op: to_iso(value)}}})
    if request.ids is not None:
        filters.append({"ids": {"values": request.ids}})
    if not must and not filters:
        return {"match_all": {}}
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}
