"""The store interface. Every backend (SQLite, Elasticsearch) implements all of it.

The rest of the code talks to a `Store` and never imports a database client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from ingest.models import Article, FeedState, PendingEntry, SearchResult


@dataclass(slots=True)
class BlockStat:
    """A paragraph fingerprint seen on a site, for learned boilerplate."""

    fingerprint: str
    text: str
    articles: int
    status: str | None = None  # None (automatic) | "pinned" (always strip) | "rejected" (never strip)
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(slots=True)
class SearchRequest:
    query: str = ""
    limit: int = 20
    offset: int = 0
    sort: str = "relevance"  # relevance | date
    collapse: bool = False   # one hit per syndication cluster
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    since: datetime | None = None  # on `published`
    until: datetime | None = None
    indexed_since: datetime | None = None
    ids: list[str] | None = None    # restrict to these article ids (alert evaluation on a batch)
    feeds: list[str] = field(default_factory=list)  # articles that came through one of these feed URLs
    clusters: list[str] = field(default_factory=list)  # articles of these syndication clusters (a story's copies)


@dataclass(slots=True)
class ClusterCandidate:
    id: str
    domain: str
    published: datetime | None
    cluster_id: str | None
    signature: bytes


@dataclass(slots=True)
class AlertRecord:
    """One (rule, story) delivery claim in the ledger: the unit of 'alert once per story'."""

    rule: str
    story: str                 # cluster id (syndicated copies are one story) or the article id
    article_ids: list[str]
    sources: list[str]
    title: str
    url: str
    created: datetime
    delivered: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    channels_done: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceQuality:
    source: str
    articles: int
    fallback_share: float      # share of articles whose text came from the feed, not the page
    median_body_chars: int
    boilerplate_share: float   # characters stripped as boilerplate / (kept + stripped)
    access: dict[str, int] = field(default_factory=dict)  # articles per access value (free, paywalled, ...)


@dataclass(slots=True)
class ArticleSelection:
    """Which stored articles a retention or delete command acts on. Fields combine with AND;
    `sources` match an article's source name or its domain."""

    older_than: datetime | None = None   # published (indexed when undated) before this
    sources: list[str] = field(default_factory=list)
    exclude_sources: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # articles that came through one of these feed URLs


FACET_FIELDS = ("source", "domain", "language", "tags", "keywords", "places", "entities", "extraction",
                "is_original", "access")


@runtime_checkable
class Store(Protocol):
    backend: str

    # feeds and polling state
    def get_feed_state(self, url: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def list_feed_states(self) -> list[FeedState]: ...
    def delete_feed_state(self, url: str) -> None: ...
    def forget_feed(self, url: str) -> dict[str, int]: ...  # its state, seen entries and raw pages

    # entries seen per feed (GUID/link keys -> article id), so nothing is fetched twice
    def known_entries(self, keys: Iterable[str]) -> dict[str, str]: ...
    def record_entries(self, feed_url: str, pairs: Iterable[tuple[str, str]]) -> None: ...

    # the pending queue (local state on every backend): new entries until their article is stored
    def save_poll(self, state: FeedState, queued: list[PendingEntry], seen: list[tuple[str, str, str]]) -> None: ...
    # one transaction: the feed's state, its new entries queued, (feed_url, key, article id) keys seen
    def pending_entries(self, due: datetime | None = None, per_feed: int | None = None) -> list[PendingEntry]: ...
    def settle_entries(self, done: list[PendingEntry], retry: list[PendingEntry],
                       dead: list[tuple[PendingEntry, str]]) -> None: ...
    def queue_summary(self) -> dict[str, dict]: ...  # feed url -> queued, retrying, dead, next_retry, last_retry_error
    def dead_entries(self, feed_url: str | None = None, limit: int = 100) -> list[dict]: ...

    # articles
    def known_ids(self, ids: Iterable[str]) -> set[str]: ...
    def upsert_articles(self, articles: list[Article], alert_pending: bool = False) -> int: ...
    # alert_pending: a durable "rules still to run on these" record, written with the articles
    def add_feed_url(self, article_id: str, feed_url: str) -> None: ...
    def get_article(self, article_id: str) -> Article | None: ...
    def count_selected(self, selection: ArticleSelection) -> int: ...
    def delete_articles(self, selection: ArticleSelection) -> int: ...  # with raw pages, signatures, sightings
    def prune_bookkeeping(self, ledger_before: datetime | None, sightings_before: datetime) -> dict[str, int]: ...
    def ids_with_prefix(self, prefix: str, limit: int = 5) -> list[str]: ...
    def get_articles(self, ids: list[str]) -> list[Article]: ...  # exact ids, current versions, found ones
    def iter_articles(self, domain: str | None = None) -> Iterator[Article]: ...
    def count_articles(self, feed_url: str | None = None) -> int: ...
    def find_same_bodies(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]: ...
    # (domain, content hash) -> id of an article of that site with that body, for the keys found
    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]: ...
    def save_signature(self, article_id: str, domain: str, published: datetime | None,
                       cluster_id: str | None, signature: bytes) -> None: ...
    def set_clusters(self, updates: list[tuple[list[str], str, str]]) -> None: ...
    # (article ids, cluster id, original id) per cluster whose stored members changed
    def article_counts_by_feed(self) -> dict[str, int]: ...
    def search(self, request: SearchRequest) -> SearchResult: ...
    # Token views (stem, folded, compound parts) rebuilt from the stored text; resumable. Each step
    # yields (done, total) after a committed batch; `reindex_pending` is True while a pass is unfinished.
    def reindex(self, batch_size: int = 200, restart: bool = False) -> Iterator[tuple[int, int]]: ...
    def reindex_pending(self) -> bool: ...

    # raw pages kept (compressed) for re-cleaning without re-fetching
    def save_raw(self, article_id: str, html: bytes, content_type: str | None = None) -> None: ...
    def batch(self) -> AbstractContextManager[None]: ...  # many small writes, one commit
    def get_raw(self, article_id: str) -> tuple[bytes, str | None] | None: ...
    def purge_raw(self, older_than: datetime) -> int: ...

    # learned per-site boilerplate
    def record_blocks(self, domain: str, sightings: list[tuple[str, list[tuple[str, str]]]]) -> None: ...
    # sightings: (article id, [(fingerprint, text)]) for a batch of articles of one site
    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1) -> list[BlockStat]: ...
    def block_article_ids(self, domain: str, fingerprints: set[str]) -> set[str]: ...
    def set_block_status(self, domain: str, fingerprint: str, status: str | None) -> bool: ...
    def list_domains(self) -> list[tuple[str, int]]: ...

    # aggregates for dashboards (all take the same SearchRequest filters as search)
    def histogram(self, request: SearchRequest, interval: str = "day", field: str = "published"
                  ) -> list[tuple[datetime, int]]: ...
    def facet(self, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]: ...
    def source_quality(self) -> list[SourceQuality]: ...

    # alert rules: which of `rules` (name -> query) match which of the given articles
    def match_rules(self, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]: ...
    # the same for a freshly stored batch, never on a best-effort view: (matches, ids evaluated); ids
    # not evaluated (not yet searchable) keep their pending record and are evaluated later
    def match_batch(self, rules: dict[str, str], articles: list[Article]
                    ) -> tuple[dict[str, list[str]], set[str]]: ...
    def pending_alert_ids(self, limit: int = 500, older_than: datetime | None = None) -> list[str]: ...
    def clear_pending_alerts(self, article_ids: Iterable[str]) -> None: ...

    # alert ledger: claim() is atomic; True only for the first claim of (rule, story)
    def claim_alert(self, record: AlertRecord) -> bool: ...
    def extend_alert(self, rule: str, story: str, article_id: str, source: str,
                     lead: tuple[str, str] | None = None) -> None: ...
    def update_alert(self, record: AlertRecord) -> None: ...
    def iter_alerts(self) -> Iterator[AlertRecord]: ...
    def list_alerts(self, rule: str | None = None, limit: int = 100, undelivered: bool = False
                    ) -> list[AlertRecord]: ...

    def close(self) -> None: ...
