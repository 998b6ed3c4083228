"""Typed records passed between pipeline stages.

A stage receives records from the stage before it and returns its own; no stage
imports a later one.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from ingest.text import normalize_text


class BlockStatus(StrEnum):
    """An editor's decision on one repeated block of a site (`ingest sites pin|reject`); none: automatic."""

    PINNED = "pinned"      # always stripped (learned whatever its count)
    REJECTED = "rejected"  # never stripped


class Access(StrEnum):
    """Can a reader see the whole article? (`ingest.extract.access` decides.)"""

    FREE = "free"            # the page says so, or nothing says otherwise and the body has a normal length
    PAYWALLED = "paywalled"  # marked as not free (schema.org, paywall container or prompt): the visible teaser is stored
    TEASER = "teaser"        # no marker, but the body is much shorter than the site's usual article
    UNKNOWN = "unknown"      # no text to judge


class Precision(StrEnum):
    """How precise `published` is: a calendar day (no time given anywhere) or a time of day."""

    DAY = "day"
    TIME = "time"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def article_id(normalized_url: str) -> str:
    """Document id: stable across stores, rollovers and re-runs."""
    return hashlib.sha1(normalized_url.encode("utf-8")).hexdigest()[:20]


@dataclass(slots=True)
class FeedConfig:
    """One feed as the user configured it (config/feeds.yaml)."""

    url: str
    name: str | None = None
    interval: float | None = None
    category: str | None = None
    enabled: bool = True
    profile: Any = None  # ingest.sources.profile.RequestProfile: how its feed and pages are requested


FEED_STATES = ("new", "working", "backing_off", "failing", "gone", "disabled")


class FeedStatus(StrEnum):
    """A feed's polling state: new -> working | backing_off -> failing -> gone; disabled by the user."""

    NEW = "new"
    WORKING = "working"
    BACKING_OFF = "backing_off"
    FAILING = "failing"
    GONE = "gone"
    DISABLED = "disabled"


@dataclass(slots=True)
class FeedState:
    """Polling state of one feed, persisted in the store."""

    url: str
    name: str | None = None
    category: str | None = None
    status: FeedStatus = FeedStatus.NEW
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators_trusted: bool = True
    polls: int = 0
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_new: datetime | None = None
    last_error: str | None = None
    error_count: float = 0.0
    consecutive_404: int = 0
    next_poll: datetime | None = None
    interval: float | None = None
    entries_seen: int = 0
    articles: int = 0
    site_url: str | None = None
    resolved_url: str | None = None  # the feed found on the page when the configured URL is a web page
    page_errors: int = 0             # article pages of this feed that could not be fetched
    last_page_error: str | None = None
    publisher_interval: float | None = None  # seconds the feed itself asks between polls (<ttl>, sy:*)
    not_before: float | None = None  # UNIX time: no poll before (gone, Retry-After), even with `run --once`

    def __post_init__(self) -> None:
        self.status = FeedStatus(self.status)  # as read back from a store: the text


@dataclass(slots=True)
class FeedEntry:
    """An item of a parsed feed."""

    feed_url: str
    link: str
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    content: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    language: str | None = None


class PageOutcome(StrEnum):
    """What became of one queued entry's page: the closed set the retry queue acts on."""

    STORED = "stored"        # article stored from the page (or from feed text after a refusal)
    RETRY = "retry"          # transient failure (timeout, network, 5xx, 429): tried again later
    DEAD = "dead"            # permanent failure (404/410/451, or retries used up without text): no article


@dataclass(slots=True)
class PendingEntry:
    """A new feed entry durably queued in the local state until its article is stored (or it is dead).

    Written in the same transaction as the poll that found it, so a crash never loses it; a
    transient page failure keeps it queued with a later `next_try`."""

    entry: FeedEntry
    article_id: str
    keys: list[str]
    feed_name: str = ""
    attempts: int = 0
    next_try: datetime | None = None
    last_error: str | None = None
    stub: bool = False       # the feed's own text is stored meanwhile; the page would upgrade it
    seq: int = 0             # queue order (feed order within a poll)
    feed_url: str = ""       # the configured feed it is queued for (entry.feed_url may be the discovered feed)

    def __post_init__(self) -> None:
        self.feed_url = self.feed_url or self.entry.feed_url

    def entry_json(self) -> str:
        data = asdict(self.entry)
        for key in ("published", "updated"):
            data[key] = data[key].isoformat() if data[key] else None
        return json.dumps(data, ensure_ascii=False)

    @staticmethod
    def entry_from_json(text: str) -> FeedEntry:
        data = json.loads(text)
        for key in ("published", "updated"):
            data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
        return FeedEntry(**data)


@dataclass(slots=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    entries: list[FeedEntry]
    ttl_seconds: float | None = None
    bozo: str | None = None
    hub: str | None = None        # WebSub hub the feed declares (<link rel="hub">)
    self_url: str | None = None   # the feed's own URL it declares (<link rel="self">): the WebSub topic


@dataclass(slots=True)
class FetchResponse:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date). Here, beside
    `FetchResponse`, because the fetcher (pages) and the poller (feeds) both read it."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass(slots=True)
class Extracted:
    """Output of the extract stage for one page (or one feed entry's content)."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    sitename: str | None = None
    tags: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_reasons: list[str] = field(default_factory=list)  # why each `removed` block went, same order
    raw_chars: int = 0
    method: str = "page"  # page | feed | none
    access: str = Access.UNKNOWN  # see Access; the pipeline turns unknown into free/teaser by the site's median
    published_precision: str | None = None  # Precision of `published`
    blocked: str | None = None  # a bot challenge or consent wall instead of the article (why), never stored as one
    # (fingerprint, text) of every block trafilatura kept, lead excluded: input to per-site learning
    fingerprints: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Article:
    """The stored record: one article as analysts search and chart it."""

    id: str
    url: str
    title: str
    body: str
    source: str
    domain: str
    feed_urls: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    author: str | None = None
    published: datetime | None = None
    indexed: datetime = field(default_factory=utcnow)
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    mentions: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""
    cluster_id: str | None = None
    is_original: bool = True
    extraction: str = "page"
    boilerplate_chars: int = 0
    raw_chars: int = 0
    guid: str | None = None
    summary: str | None = None
    places: list[str] = field(default_factory=list)    # country codes and city names (enrich/places.py)
    entities: list[str] = field(default_factory=list)  # watchlist names found (config/entities.yaml)
    access: str = Access.UNKNOWN
    published_precision: str | None = None  # Precision: "day" when only a date was given (no fake midnight)
    fetched_url: str | None = None  # the URL as fetched (tracking parameters and all); `url` is normalized
    published_tz: str | None = None  # the page's or feed's UTC offset of `published` ("+01:00"); stores keep UTC

    def __post_init__(self) -> None:
        # what is stored and indexed, on every backend: NFC, no soft hyphens or zero-width characters
        self.title, self.body = normalize_text(self.title) or "", normalize_text(self.body) or ""
        self.published_tz = _zone_of(self.published) or self.published_tz
        if self.published is not None and self.published_tz and self.published.utcoffset() == timedelta(0):
            self.published = self.published.astimezone(_zone(self.published_tz))  # read back from a store

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("published", "indexed"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass(slots=True)
class SearchHit:
    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    score: float
    snippet: str
    language: str | None = None
    domain: str | None = None
    cluster_id: str | None = None
    cluster_size: int = 1
    access: str | None = None
    published_precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[SearchHit]


def _zone_of(value: datetime | None) -> str | None:
    """"+01:00" for a time with a non-UTC offset (UTC itself needs no note)."""
    offset = value.utcoffset() if value is not None else None
    if not offset:
        return None
    sign, minutes = ("-" if offset < timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local_time(value: datetime | None, zone: str | None) -> datetime | None:
    """A stored UTC time shown in the zone the page or feed gave it."""
    return value.astimezone(_zone(zone)) if value is not None and zone else value


def _zone(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
