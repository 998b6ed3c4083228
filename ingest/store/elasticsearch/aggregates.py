"""Aggregates on an Elasticsearch/OpenSearch index: date histogram, facets, source quality.
Twin of `ingest.store.sqlite.aggregates`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.store.base import FACET_FIELDS, SearchRequest, SourceQuality
from ingest.store.elasticsearch.filters import request_query

if TYPE_CHECKING:
    from ingest.store.elasticsearch.index import ElasticsearchIndex

KEYWORD_FACETS = {"source": "source", "domain": "domain", "language": "language", "tags": "tags",
                  "keywords": "keywords", "places": "places", "entities": "entities", "extraction": "extraction",
                  "is_original": "is_original", "access": "access"}


def histogram(index: ElasticsearchIndex, request: SearchRequest, interval: str = "day", field: str = "published"
              ) -> list[tuple[datetime, int]]:
    if interval not in ("hour", "day", "week", "month"):
        raise ValueError("interval must be one of hour, day, week, month")
    if field not in ("published", "indexed"):
        raise ValueError("field must be published or indexed")
    resp = index.call(index.client.search, index=index.articles_alias, size=0, query=request_query(request),
                      aggs={"h": {"date_histogram": {"field": field, "calendar_interval": interval,
                                                     "min_doc_count": 1}}})
    return [(datetime.fromtimestamp(b["key"] / 1000, UTC), b["doc_count"])
            for b in resp["aggregations"]["h"]["buckets"]]

def facet(index: ElasticsearchIndex, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]:
    if field not in FACET_FIELDS:
        raise ValueError(f"field must be one of {', '.join(FACET_FIELDS)}")
    resp = index.call(index.client.search, index=index.articles_alias, size=0, query=request_query(request),
                      aggs={"f": {"terms": {"field": KEYWORD_FACETS[field], "size": size,
                                            "order": [{"_count": "desc"}, {"_key": "asc"}]}}})
    buckets = resp["aggregations"]["f"]["buckets"]
    if field == "is_original":
        return [("original" if b["key"] else "copy", b["doc_count"]) for b in buckets]
    return [(b.get("key_as_string", str(b["key"])), b["doc_count"]) for b in buckets]

def source_quality(index: ElasticsearchIndex) -> list[SourceQuality]:
    resp = index.call(index.client.search, index=index.articles_alias, size=0, aggs={"s": {
        "terms": {"field": "source", "size": 10000, "order": {"_key": "asc"}},
        "aggs": {"fallback": {"filter": {"bool": {"must_not": {"term": {"extraction": "page"}}}}},
                 "median": {"percentiles": {"field": "body_chars", "percents": [50]}},
                 "kept": {"sum": {"field": "body_chars"}},
                 "stripped": {"sum": {"field": "boilerplate_chars"}},
                 "access": {"terms": {"field": "access", "size": 10, "missing": "unknown"}}}}})
    out = []
    for b in resp["aggregations"]["s"]["buckets"]:
        n, kept, stripped = b["doc_count"], b["kept"]["value"], b["stripped"]["value"]
        out.append(SourceQuality(
            source=b["key"], articles=n, fallback_share=round(b["fallback"]["doc_count"] / n, 3),
            median_body_chars=int(next(iter(b["median"]["values"].values())) or 0),
            boilerplate_share=round(stripped / (kept + stripped), 3) if kept + stripped else 0.0,
            access=dict(sorted((a["key"], a["doc_count"]) for a in b["access"]["buckets"]))))
    return out
