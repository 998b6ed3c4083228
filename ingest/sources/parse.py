"""Feed parsing: bytes in, typed entries out (RSS 0.9x/1.0/2.0, Atom via feedparser; JSON Feed by hand).

Hostile input is refused before feedparser sees it: documents declaring XML entities
(billion laughs, external entities) are rejected outright. An HTML page served where
a feed was expected raises `NotAFeed` carrying the feeds the page links to.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

import feedparser

from ingest.errors import FeedParseError
from ingest.models import FeedEntry, ParsedFeed

ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "application/xml", "text/xml")
UPDATE_PERIOD = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}


class NotAFeed(FeedParseError):
    """The document is an HTML page; `candidates` lists the feed URLs it advertises."""

    def __init__(self, url: str, candidates: list[str]):
        self.candidates = candidates
        hint = f"; it links to {', '.join(candidates[:3])}" if candidates else "; no feed links found on it"
        super().__init__(f"{url}: an HTML page, not a feed{hint}")


class _FeedLinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "link" and "alternate" in a.get("rel", "").lower().split():
            mime = a.get("type", "").lower().split(";")[0].strip()
            if mime in FEED_TYPES and a.get("href"):
                self.links.append((mime, a["href"]))
        elif tag == "a" and a.get("href") and re.search(r"(rss|atom|feed)(\.xml|/|$)", a["href"], re.I):
            self.anchors.append(a["href"])


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """Feed URLs advertised by an HTML page (<link rel=alternate>), then likely <a href> links."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    finder = _FeedLinkFinder()
    try:
        finder.feed(text[:2_000_000])
    except Exception:  # noqa: BLE001 - broken HTML still yields what was found so far
        pass
    urls = [urljoin(base_url, href) for _, href in finder.links] or [urljoin(base_url, h) for h in finder.anchors]
    return list(dict.fromkeys(urls))


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and b"<rss" not in head
                                                              and b"<feed" not in head)


def _to_dt(struct) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _iso_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _ttl_seconds(feed: dict) -> float | None:
    """Minimum poll interval the publisher asks for (RSS <ttl> minutes, sy:updatePeriod/Frequency)."""
    values = []
    ttl = feed.get("ttl")
    if ttl and str(ttl).strip().isdigit():
        values.append(int(str(ttl).strip()) * 60.0)
    period = str(feed.get("sy_updateperiod", "")).strip().lower()
    if period in UPDATE_PERIOD:
        freq = str(feed.get("sy_updatefrequency", "1")).strip()
        values.append(UPDATE_PERIOD[period] / max(1, int(freq) if freq.isdigit() else 1))
    return max(values) if values else None


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document. Raises FeedParseError (or NotAFeed) when nothing usable is in it."""
    if ENTITY_DECL.search(data[:65536]):
        raise FeedParseError(f"{url}: feed declares XML entities; refused (entity expansion attack guard)")
    stripped = data.lstrip()
    if stripped.startswith(b"{") or (content_type or "").startswith(("application/feed+json", "application/json")):
        return _parse_json_feed(data, url)
    if looks_like_html(data):
        raise NotAFeed(url, discover_feeds(data, url))
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    bozo = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    feed = parsed.get("feed", {})
    entries = [e for e in (_entry(url, item, feed) for item in parsed.get("entries", [])) if e]
    if not entries and bozo:
        raise FeedParseError(f"{url}: malformed feed: {bozo}")
    if not entries and not feed and not parsed.get("version"):
        raise FeedParseError(f"{url}: not a recognizable RSS/Atom/JSON feed")
    return ParsedFeed(title=feed.get("title"), site_url=feed.get("link"), language=feed.get("language"),
                      entries=entries, ttl_seconds=_ttl_seconds(feed), bozo=bozo)


def _entry(feed_url: str, item: dict, feed: dict) -> FeedEntry | None:
    link = item.get("link") or ""
    if not link:
        guid = item.get("id", "")
        link = guid if guid.startswith(("http://", "https://")) else ""
    if not link:
        return None
    content = None
    if item.get("content"):
        content = max((c.get("value", "") for c in item["content"]), key=len) or None
    tags = [t.get("term") or t.get("label") for t in item.get("tags", []) if t.get("term") or t.get("label")]
    author = item.get("author") or None
    return FeedEntry(
        feed_url=feed_url,
        link=urljoin(feed_url, link),
        guid=item.get("id") or None,
        title=item.get("title") or None,
        summary=item.get("summary") or None,
        content=content,
        published=_to_dt(item.get("published_parsed")) or _to_dt(item.get("updated_parsed")),
        updated=_to_dt(item.get("updated_parsed")),
        author=author,
        categories=list(dict.fromkeys(t.strip() for t in tags if t and t.strip())),
        language=(item.get("language") or feed.get("language") or None),
    )


def _parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(f"{url}: malformed JSON feed: {exc}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise FeedParseError(f"{url}: JSON document is not a JSON Feed (no jsonfeed.org version)")
    entries = []
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url") or ""
        if not link:
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        entries.append(FeedEntry(
            feed_url=url, link=urljoin(url, link), guid=str(item.get("id") or link), title=item.get("title"),
            summary=item.get("summary"), content=item.get("content_html") or item.get("content_text"),
            published=_iso_dt(item.get("date_published")), updated=_iso_dt(item.get("date_modified")),
            author=(authors[0].get("name") if authors and isinstance(authors[0], dict) else None),
            categories=[t for t in item.get("tags") or [] if isinstance(t, str)],
            language=item.get("language") or doc.get("language"),
        ))
    return ParsedFeed(title=doc.get("title"), site_url=doc.get("home_page_url"), language=doc.get("language"),
                      entries=entries)
