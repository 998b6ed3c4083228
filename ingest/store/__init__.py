"""store: one interface, three adapters (SQLite default, Elasticsearch, OpenSearch).

Elasticsearch and OpenSearch share one adapter (`ingest.store.elasticsearch`); the OpenSearch module
overrides only its client seam. A new backend = an adapter of the `Store` interface that passes the
conformance suite (tests/test_conformance.py): see docs/backends.md.

    from ingest.store import open_store
    store = open_store(settings.store)
"""

from __future__ import annotations

from ingest.config import StoreSettings
from ingest.store.base import BlockStat, ClusterCandidate, SearchRequest, Store

__all__ = ["BlockStat", "ClusterCandidate", "SearchRequest", "Store", "open_store"]


def open_store(settings: StoreSettings) -> Store:
    if settings.backend == "elasticsearch":
        from ingest.store.elasticsearch import ElasticsearchStore  # only loaded when chosen

        return ElasticsearchStore(settings)
    if settings.backend == "opensearch":
        from ingest.store.opensearch import OpenSearchStore

        return OpenSearchStore(settings)
    from ingest.store.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path, rank_window=settings.sqlite_rank_window)
