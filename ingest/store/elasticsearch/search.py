"""Search on an Elasticsearch/OpenSearch index: the compiled request, sorted, optionally collapsed to one
hit per syndication cluster (shown by its original). Twin of `ingest.store.sqlite.search`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.models import SearchHit, SearchResult, local_time
from ingest.query import parse, positive_words
from ingest.store.base import SearchRequest
from ingest.store.dates import from_iso
from ingest.store.elasticsearch.filters import request_query
from ingest.text import make_snippet

if TYPE_CHECKING:
    from ingest.store.elasticsearch.index import ElasticsearchIndex


def run_search(index: ElasticsearchIndex, request: SearchRequest) -> SearchResult:
    query = request_query(request)
    words = positive_words(parse(request.query)) if request.query.strip() else []
    body: dict = {"query": query, "from": request.offset, "size": request.limit,
                  "track_total_hits": True,
                  "_source": ["id", "url", "title", "source", "published", "body", "language", "domain",
                              "cluster_id", "access", "published_precision", "published_tz"]}
    if request.sort == "date" or not request.query.strip():
        body["sort"] = [{"published": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    else:
        body["sort"] = ["_score", {"published": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    if request.collapse:  # a story is shown by its original (the earliest copy), whichever copy ranked best
        body["collapse"] = {"field": "cluster_id", "inner_hits": {
            "name": "original", "size": 1, "_source": body["_source"],
            "sort": [{"is_original": "desc"}, {"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]}}
        body["aggs"] = {"clusters": {"cardinality": {"field": "cluster_id"}}}
    resp = index.call(index.client.search, index=index.articles_alias, **body)
    total = resp["hits"]["total"]["value"]
    if request.collapse:
        total = resp["aggregations"]["clusters"]["value"]
    hits = []
    for h in resp["hits"]["hits"]:
        inner = ((h.get("inner_hits") or {}).get("original") or {}).get("hits", {}).get("hits") or []
        s = inner[0]["_source"] if inner else h["_source"]
        hits.append(SearchHit(id=s["id"], url=s["url"], title=s["title"], source=s["source"],
                              published=local_time(from_iso(s.get("published")), s.get("published_tz")),
                              access=s.get("access"), published_precision=s.get("published_precision"),
                              score=round(h.get("_score") or 0.0, 4),
                              snippet=make_snippet(s.get("body", ""), words), language=s.get("language"),
                              domain=s.get("domain"), cluster_id=s.get("cluster_id")))
    if request.collapse and hits:
        sizes = _cluster_sizes(index, [h.cluster_id for h in hits if h.cluster_id], query)
        for h in hits:
            h.cluster_size = sizes.get(h.cluster_id or "", 1)
    return SearchResult(total=total, hits=hits)

def _cluster_sizes(index: ElasticsearchIndex, cluster_ids: list[str], query: dict) -> dict[str, int]:
    if not cluster_ids:
        return {}
    resp = index.call(index.client.search, index=index.articles_alias, size=0,
                      query={"bool": {"must": [query], "filter": [{"terms": {"cluster_id": cluster_ids}}]}},
                      aggs={"c": {"terms": {"field": "cluster_id", "size": len(cluster_ids)}}})
    return {b["key"]: b["doc_count"] for b in resp["aggregations"]["c"]["buckets"]}
