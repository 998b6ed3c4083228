"""store: two seams, the local state and the index (`ingest.store.protocols`).

The local state (feed state, seen entries, the pending queue, raw pages, signatures, pending alert
evaluations, the outbox) is always an SQLite file (`ingest.store.sqlite.state`). The index is SQLite
FTS5 in that same file and connection (`ingest.store.sqlite.index`; the default), Elasticsearch
(`ingest.store.elasticsearch`) or OpenSearch (`ingest.store.opensearch`, the Elasticsearch adapter over
its own client). A new backend = an `Index` adapter that passes the conformance suite
(tests/test_conformance.py): see docs/backends.md.

    from ingest.store import open_backends
    backends = open_backends(settings.store)
    backends.state.pending_entries()      # local state
    backends.index.search(request)        # index
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.config import StoreSettings
from ingest.store.base import ArticleSelection, BlockStat, ClusterCandidate, SearchRequest
from ingest.store.protocols import ClusterUpdate, Index, LocalState, OutboxHook

__all__ = ["Backends", "BlockStat", "ClusterCandidate", "Index", "LocalState", "OutboxHook", "SearchRequest",
           "open_backends", "open_sqlite"]


@dataclass(slots=True)
class Backends:
    """The pair the application opens once: local state and index. The few operations that touch both
    seams live here, each one call per seam (no adapter forwards to the other)."""

    state: LocalState
    index: Index

    @property
    def backend(self) -> str:
        return self.index.backend

    # -- the cluster ledger the enrich stage uses (ingest.enrich.clusters.ClusterLedger) --------------

    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]:
        """Signatures of the window (local state: kept by the ingester that clusters)."""
        return self.state.cluster_candidates(since)

    def save_signature(self, article_id: str, domain: str, published: datetime | None, cluster_id: str | None,
                       signature: bytes) -> None:
        self.state.save_signature(article_id, domain, published, cluster_id, signature)

    def article_texts(self, ids: list[str]) -> dict[str, str]:
        """Stored bodies by id (the index), for signatures made again with a new hash function."""
        return {a.id: a.body or "" for a in self.index.get_articles(ids)}

    def batch(self) -> AbstractContextManager[None]:
        """Many signature writes in one commit (the local state's transaction; joins an open one)."""
        return self.state.batch()

    def set_clusters(self, updates: list[ClusterUpdate]) -> None:
        """Cluster membership changed: the signatures (local) and the articles (index)."""
        self.state.set_clusters(updates)
        self.index.set_clusters(updates)

    def delete_articles(self, selection: ArticleSelection,
                        on_deleted: Callable[[list[str]], None] | None = None) -> int:
        """Delete articles from the index; the local state forgets their raw pages and signatures (in
        the same transaction on SQLite)."""
        def forget(ids: list[str]) -> None:
            self.state.forget_articles(ids)
            if on_deleted is not None:
                on_deleted(ids)

        return self.index.delete_articles(selection, forget)

    def close(self) -> None:
        """The index first (a cluster index flushes its outbox, kept in the local state's file)."""
        try:
            self.index.close()
        finally:
            self.state.close()


def open_sqlite(path: str | Path, rank_window: int = 10_000) -> Backends:
    """The SQLite backend: one file, one connection, both seams."""
    from ingest.store.sqlite.index import SQLiteIndex
    from ingest.store.sqlite.schema import SQLiteDatabase
    from ingest.store.sqlite.state import SQLiteState

    state = SQLiteState(SQLiteDatabase(path))
    return Backends(state, SQLiteIndex(state, rank_window=rank_window))


def open_backends(settings: StoreSettings) -> Backends:
    """The local state (the SQLite file `store.sqlite_path`) and the configured index."""
    if settings.backend == "sqlite":
        return open_sqlite(settings.sqlite_path, rank_window=settings.sqlite_rank_window)
    from ingest.store.sqlite.schema import SQLiteDatabase
    from ingest.store.sqlite.state import SQLiteState

    state = SQLiteState(SQLiteDatabase(settings.sqlite_path))
    try:
        if settings.backend == "opensearch":
            from ingest.store.opensearch import OpenSearchIndex  # only loaded when chosen

            return Backends(state, OpenSearchIndex(settings, state))
        from ingest.store.elasticsearch.index import ElasticsearchIndex

        return Backends(state, ElasticsearchIndex(settings, state))
    except BaseException:
        state.close()
        raise
