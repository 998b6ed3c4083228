"""Cluster assignment: copies of one story (syndication, agency copy) across sites, per stored batch.

    clusters = StoryClusters(settings.enrich, index)
    clusters.assign(articles, {article_id: signature})   # inside the batch's store transaction

The MinHash signatures (`analysis.py`, made in the workers) of the articles published within the
last `enrich.cluster_window_days` days sit in an in-memory LSH (`dedupe.Clusterer`), loaded from the
index on first use and thinned as time passes. Each new article joins the cluster of its best match
at `enrich.cluster_threshold` or starts its own; an article without text is a cluster of its own.
The original of a cluster is its earliest published member (ties: the first seen); stored members
whose original changed are updated in the index in the same transaction as the new articles.

Signatures made with an earlier shingle hash function (`dedupe.stale`: before `HASH_VERSION` 2) are
not comparable with new ones: on loading, they are made again from the stored texts and saved, once.

The index is reached through `ClusterLedger`, the four methods this needs, so `enrich` imports no
store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

from ingest.config import EnrichSettings
from ingest.enrich.dedupe import Clusterer, from_bytes, minhash, stale, to_bytes
from ingest.models import Article, utcnow

FORGET_EVERY = 3600.0  # seconds between two thinnings of the in-memory index
RESIGN_CHUNK = 500     # stored articles read at once when old signatures are made again

log = logging.getLogger(__name__)


class ClusterCandidate(Protocol):
    """A stored article that new ones may copy (the store's `ClusterCandidate`)."""

    @property
    def id(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def published(self) -> datetime | None: ...
    @property
    def cluster_id(self) -> str | None: ...
    @property
    def signature(self) -> bytes: ...


class ClusterLedger(Protocol):
    """The index methods cluster assignment reads and writes."""

    def cluster_candidates(self, since: datetime) -> Sequence[ClusterCandidate]: ...
    def save_signature(self, article_id: str, domain: str, published: datetime | None, cluster_id: str,
                       signature: bytes) -> None: ...
    def set_clusters(self, updates: list[tuple[list[str], str, str]]) -> None: ...
    def article_texts(self, ids: list[str]) -> dict[str, str]: ...  # id -> stored body, for the ids found
    def batch(self) -> AbstractContextManager[None]: ...  # many signature writes, one commit


class StoryClusters:
    """The cluster of every new article, against the stored articles of the window."""

    def __init__(self, settings: EnrichSettings, ledger: ClusterLedger) -> None:
        self.threshold = settings.cluster_threshold
        self.window = timedelta(days=settings.cluster_window_days)
        self._ledger = ledger
        self._clusterer: Clusterer | None = None

    def load(self) -> None:
        """Read the window's signatures now (else the first `assign` does). The pipeline calls it before a
        batch's transaction: after an upgrade, making old signatures again reads and writes thousands of
        rows, which must not hold that transaction (and the store's write lock) open."""
        self._loaded()

    def _loaded(self) -> Clusterer:
        if self._clusterer is None:  # kept only once loaded whole: a failed load is tried again next batch
            clusterer = Clusterer(self.threshold)
            candidates = self._ledger.cluster_candidates(utcnow() - self.window)
            fresh = self._resigned([c for c in candidates if stale(c.signature)])
            for c in candidates:
                signature = fresh.get(c.id, c.signature)
                clusterer.add_existing(c.id, c.domain, c.published, c.cluster_id, signature)
            self._clusterer = clusterer
        self._clusterer.forget_before(utcnow() - self.window, min_interval=FORGET_EVERY)
        return self._clusterer

    def _resigned(self, old: list[ClusterCandidate]) -> dict[str, bytes]:
        """Signatures of an earlier hash function (`dedupe.stale`) made again from the stored texts and
        saved, once: without this, articles stored before an upgrade could not be matched."""
        fresh: dict[str, bytes] = {}
        for start in range(0, len(old), RESIGN_CHUNK):
            chunk = old[start:start + RESIGN_CHUNK]
            texts = self._ledger.article_texts([c.id for c in chunk])
            with self._ledger.batch():  # one commit per chunk, not one per signature
                for c in chunk:
                    if texts.get(c.id):
                        fresh[c.id] = to_bytes(minhash(texts[c.id]))
                        self._ledger.save_signature(c.id, c.domain, c.published, c.cluster_id or c.id, fresh[c.id])
        if old:
            log.info("made %d stored MinHash signatures again with the current hash function (%d without text)",
                     len(fresh), len(old) - len(fresh))
        return fresh

    def assign(self, articles: list[Article], signatures: dict[str, bytes | None]) -> None:
        """Set `cluster_id` and `is_original` of the new articles; save their signatures; update the
        stored members of the clusters they joined."""
        clusterer = self._loaded()
        touched: dict[str, list[str]] = {}
        for a in articles:
            signature = signatures.get(a.id)
            sig = from_bytes(signature) if a.body and signature else None
            if sig is None or signature is None:  # no text to compare: a cluster of its own
                a.cluster_id, a.is_original = a.cluster_id or a.id, True
                continue
            cluster_id = a.cluster_id = clusterer.assign(a.id, a.domain, a.published, sig)
            self._ledger.save_signature(a.id, a.domain, a.published, cluster_id, signature)
            touched.setdefault(cluster_id, []).append(a.id)
        self._ledger.set_clusters([u for u in self._originals(clusterer, touched, articles) if u[0]])

    @staticmethod
    def _originals(clusterer: Clusterer, touched: dict[str, list[str]], articles: list[Article]
                   ) -> list[tuple[list[str], str, str]]:
        """Mark the new articles that are their cluster's original; return (stored members, cluster,
        original) of every cluster with two or more members."""
        by_id = {a.id: a for a in articles}
        stored_members: list[tuple[list[str], str, str]] = []
        for cluster_id in touched:
            members = clusterer.cluster_of(cluster_id)
            original = clusterer.original_of(cluster_id)  # earliest published; ties: the first seen
            if len(members) < 2 or original is None:
                continue
            for m in members:
                if m.id in by_id:
                    by_id[m.id].is_original = m.id == original
            stored_members.append(([m.id for m in members if m.id not in by_id], cluster_id, original))
        return stored_members
