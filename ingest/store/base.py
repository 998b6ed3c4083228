"""The records both store seams pass around (requests, selections, ledger rows, block statistics).

The seams themselves (local state, index) are in `ingest.store.protocols`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
