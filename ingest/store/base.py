"""The store interface. Every backend (SQLite, Elasticsearch) implements all of it.

The rest of the code talks to a `Store` and never imports a database client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from ingest.models import Article, FeedState, SearchResult


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


@dataclass(slots=True)
class ClusterCandidate:
    id: str
    domain: str
    published: datetime | None
    cluster_id: str | None
    signature: bytes


@runtime_checkable
class Store(Protocol):
    backend: str

    # feeds and polling state
    def get_feed_state(self, url: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def list_feed_states(self) -> list[FeedState]: ...
    def delete_feed_state(self, url: str) -> None: ...

    # entries seen per feed (GUID/link keys -> article id), so nothing is fetched twice
    def known_entries(self, keys: Iterable[str]) -> dict[str, str]: ...
    def record_entries(self, feed_url: str, pairs: Iterable[tuple[str, str]]) -> None: ...

    # articles
    def known_ids(self, ids: Iterable[str]) -> set[str]: ...
    def upsert_articles(self, articles: list[Article]) -> int: ...
    def add_feed_url(self, article_id: str, feed_url: str) -> None: ...
    def get_article(self, article_id: str) -> Article | None: ...
    def iter_articles(self, domain: str | None = None) -> Iterator[Article]: ...
    def count_articles(self, feed_url: str | None = None) -> int: ...
    def find_same_body(self, domain: str, content_hash: str) -> str | None: ...
    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]: ...
    def save_signature(self, article_id: str, domain: str, published: datetime | None,
                       cluster_id: str | None, signature: bytes) -> None: ...
    def set_cluster(self, article_ids: list[str], cluster_id: str, original_id: str) -> None: ...
    def article_counts_by_feed(self) -> dict[str, int]: ...
    def search(self, request: SearchRequest) -> SearchResult: ...

    # raw pages kept (compressed) for re-cleaning without re-fetching
    def save_raw(self, article_id: str, html: bytes, content_type: str | None = None) -> None: ...
    def get_raw(self, article_id: str) -> tuple[bytes, str | None] | None: ...
    def purge_raw(self, older_than: datetime) -> int: ...

    # learned per-site boilerplate
    def record_blocks(self, domain: str, article_id: str, blocks: list[tuple[str, str]]) -> None: ...
    def block_stats(self, domain: str) -> list[BlockStat]: ...
    def set_block_status(self, domain: str, fingerprint: str, status: str | None) -> bool: ...
    def list_domains(self) -> list[tuple[str, int]]: ...

    def close(self) -> None: ...
