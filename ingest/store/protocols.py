"""The two store seams: local state and index, each composed of small per-concern protocols.

Local state (`LocalState`) is what one ingester keeps for itself: feed polling state, entries seen,
the pending queue (with page retries and dead entries), raw pages, the signatures clustering reads,
the records of alert evaluations still to run, and (for a cluster index) the outbox. It is always an
SQLite file (`ingest.store.sqlite.state`).

The index (`Index`) is what searches read: articles, search, aggregates, learned boilerplate blocks,
rule matching and the alert ledger. It is SQLite FTS5 (sharing the state's file and connection, so
one transaction covers both) or an Elasticsearch/OpenSearch cluster (whose article writes go through
the outbox in the local state's transaction and are sent after it commits).

Optional abilities are declared, not probed: `Index.outbox` is None on an index that writes directly
and an `OutboxHook` on one that queues (size, flush, rejected documents); `Index.percolator` says
whether alert rules are matched by percolation.
Operations that touch both seams (deleting articles, cluster updates) live on
`ingest.store.Backends`, never as one adapter forwarding to the other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from ingest.models import Article, FeedState, PendingEntry, SearchResult
from ingest.store.base import (
    AlertRecord,
    ArticleSelection,
    BlockStat,
    ClusterCandidate,
    SearchRequest,
    SourceQuality,
)

ClusterUpdate = tuple[list[str], str, str]  # (article ids, cluster id, original id) of a cluster whose members changed


# -- local state ---------------------------------------------------------------------------------

class FeedStates(Protocol):
    def get_feed_state(self, url: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def list_feed_states(self) -> list[FeedState]: ...
    def forget_feed(self, url: str) -> dict[str, int]: ...  # its state, seen entries and raw pages


class SeenEntries(Protocol):
    """GUID/link keys -> article id per feed, so nothing is fetched twice."""

    def known_entries(self, keys: Iterable[str]) -> dict[str, str]: ...
    def record_entries(self, feed_url: str, pairs: Iterable[tuple[str, str]]) -> None: ...


class PendingQueue(Protocol):
    """New entries until their article is stored (with page retries and dead entries)."""

    # one transaction: the feed's state, its new entries queued, (feed_url, key, article id) keys seen
    def save_poll(self, state: FeedState, queued: list[PendingEntry], seen: list[tuple[str, str, str]]) -> None: ...
    def pending_entries(self, due: datetime | None = None, per_feed: int | None = None) -> list[PendingEntry]: ...
    def settle_entries(self, done: list[PendingEntry], retry: list[PendingEntry],
                       dead: list[tuple[PendingEntry, str]]) -> None: ...
    def queue_summary(self) -> dict[str, dict]: ...  # feed url -> queued, retrying, dead, next_retry, last_retry_error
    def dead_entries(self, feed_url: str | None = None, limit: int = 100) -> list[dict]: ...


class RawPages(Protocol):
    """Raw pages kept (compressed) for re-cleaning without re-fetching."""

    def save_raw(self, article_id: str, html: bytes, content_type: str | None = None) -> None: ...
    def get_raw(self, article_id: str) -> tuple[bytes, str | None] | None: ...
    def purge_raw(self, older_than: datetime) -> int: ...


class Signatures(Protocol):
    """MinHash signatures the syndication clusterer reads back (kept by the ingester that clusters)."""

    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]: ...
    def save_signature(self, article_id: str, domain: str, published: datetime | None,
                       cluster_id: str | None, signature: bytes) -> None: ...
    def set_clusters(self, updates: list[ClusterUpdate]) -> None: ...


class PendingAlerts(Protocol):
    """Durable "rules still to run on these articles" records, written with the articles."""

    def add_pending_alerts(self, article_ids: Iterable[str]) -> None: ...
    def pending_alert_ids(self, limit: int = 500, older_than: datetime | None = None) -> list[str]: ...
    def clear_pending_alerts(self, article_ids: Iterable[str]) -> None: ...


@runtime_checkable
class LocalState(FeedStates, SeenEntries, PendingQueue, RawPages, Signatures, PendingAlerts, Protocol):
    path: Path

    def batch(self) -> AbstractContextManager[None]: ...  # many writes (of both seams on SQLite), one commit
    def forget_articles(self, article_ids: list[str]) -> None: ...  # raw pages and signatures of deleted articles
    def backup(self, target: str | Path) -> int: ...
    def close(self) -> None: ...


# -- index ---------------------------------------------------------------------------------------

class Articles(Protocol):
    # alert_pending: a durable "rules still to run on these" record, written with the articles
    def upsert_articles(self, articles: list[Article], alert_pending: bool = False) -> int: ...
    def add_feed_url(self, article_id: str, feed_url: str) -> None: ...
    def get_article(self, article_id: str) -> Article | None: ...
    def get_articles(self, ids: list[str]) -> list[Article]: ...  # exact ids, current versions, found ones
    def ids_with_prefix(self, prefix: str, limit: int = 5) -> list[str]: ...
    def iter_articles(self, domain: str | None = None) -> Iterator[Article]: ...
    def count_articles(self, feed_url: str | None = None) -> int: ...
    def article_counts_by_feed(self) -> dict[str, int]: ...
    # (domain, content hash) -> id of an article of that site with that body, for the keys found
    def find_same_bodies(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]: ...
    def set_clusters(self, updates: list[ClusterUpdate]) -> None: ...


class Retention(Protocol):
    def count_selected(self, selection: ArticleSelection) -> int: ...
    # `on_deleted(ids)` is called for each deleted chunk (the local state forgets their raw pages)
    def delete_articles(self, selection: ArticleSelection,
                        on_deleted: Callable[[list[str]], None] | None = None) -> int: ...
    def prune_bookkeeping(self, ledger_before: datetime | None, sightings_before: datetime) -> dict[str, int]: ...


class Reindexing(Protocol):
    # Token views (stem, folded, compound parts) rebuilt from the stored text; resumable. Each step
    # yields (done, total) after a committed batch; `reindex_pending` is True while a pass is unfinished.
    def reindex(self, batch_size: int = 200, restart: bool = False) -> Iterator[tuple[int, int]]: ...
    def reindex_pending(self) -> bool: ...


class Search(Protocol):
    def search(self, request: SearchRequest) -> SearchResult: ...


class Aggregates(Protocol):
    """Dashboards: all take the same SearchRequest filters as search."""

    def histogram(self, request: SearchRequest, interval: str = "day", field: str = "published"
                  ) -> list[tuple[datetime, int]]: ...
    def facet(self, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]: ...
    def source_quality(self) -> list[SourceQuality]: ...
    def list_domains(self) -> list[tuple[str, int]]: ...


class LearnedBlocks(Protocol):
    """Per-site boilerplate paragraphs (shared by every ingester writing the same index)."""

    # sightings: (article id, [(fingerprint, text)]) for a batch of articles of one site
    def record_blocks(self, domain: str, sightings: list[tuple[str, list[tuple[str, str]]]]) -> None: ...
    # sightings since `since` per block; blocks seen on fewer than `min_articles` are left out unless pinned/rejected;
    # `fingerprints`: only these blocks (what a stored batch just recorded)
    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1,
                    fingerprints: Collection[str] | None = None) -> list[BlockStat]: ...
    def block_article_ids(self, domain: str, fingerprints: set[str]) -> set[str]: ...
    def set_block_status(self, domain: str, fingerprint: str, status: str | None) -> bool: ...


class RuleMatching(Protocol):
    # which of `rules` (name -> query) match which of the given articles
    def match_rules(self, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]: ...
    # the same for a freshly stored batch, never on a best-effort view: (matches, ids evaluated); ids
    # not evaluated (not yet searchable) keep their pending record and are evaluated later
    def match_batch(self, rules: dict[str, str], articles: list[Article]
                    ) -> tuple[dict[str, list[str]], set[str]]: ...


class AlertLedger(Protocol):
    """claim_alert() is atomic: True only for the first claim of (rule, story)."""

    def claim_alert(self, record: AlertRecord) -> bool: ...
    def extend_alert(self, rule: str, story: str, article_id: str, source: str,
                     lead: tuple[str, str] | None = None) -> None: ...
    def update_alert(self, record: AlertRecord) -> None: ...
    def iter_alerts(self) -> Iterator[AlertRecord]: ...
    def list_alerts(self, rule: str | None = None, limit: int = 100, undelivered: bool = False
                    ) -> list[AlertRecord]: ...


class OutboxHook(Protocol):
    """The maintenance hook of an index whose writes wait in a local outbox until sent."""

    def size(self) -> int: ...
    def flush(self, wait: bool = False) -> int: ...  # send what waits; returns how many were written
    def rejected(self) -> list[dict]: ...  # documents the index refused (mapping errors), kept with the reason


@runtime_checkable
class Index(Articles, Retention, Reindexing, Search, Aggregates, LearnedBlocks, RuleMatching, AlertLedger,
            Protocol):
    backend: str

    @property
    def outbox(self) -> OutboxHook | None: ...  # None: writes are searchable when their transaction commits

    @property
    def percolator(self) -> bool: ...  # alert rules stored ahead and matched by percolation (else by search)

    def close(self) -> None: ...
