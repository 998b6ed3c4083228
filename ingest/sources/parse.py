"""Feed parsing: bytes in, typed entries out (RSS 0.9x/1.0/2.0, Atom via feedparser; JSON Feed by hand).

Hostile input is refused before feedparser sees it: documents declaring XML entities
(billion laughs, external entities) are rejected outright, in UTF-8/Latin-1 as well as
UTF-16/32. An HTML page served where a feed was expected raises `NotAFeed` carrying the
feeds the page links to. Wrong or missing charsets are left to feedparser's fallbacks
(declared, then HTTP, then UTF-8, windows-1252), so a Latin-1 feed declared as UTF-8 keeps
its umlauts. Only http(s) entry links are kept. Anything unexpected in a JSON Feed (wrong
types, deep nesting) is a FeedParseError, never another exception.
"""

from __future__ import annotations

import calendar
import email.utils
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

import feedparser

from ingest.errors import FeedParseError
from ingest.models import FeedEntry, ParsedFeed

_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
ENTITY_MARKERS = tuple("<!ENTITY".encode(enc) for enc in _ENCODINGS)
DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(enc) for enc in _ENCODINGS)
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


def looks_like_html(data: bytes, loose: bool = False) -> bool:
    """An HTML page rather than a feed? `loose` also accepts pages without <html> (<head>, <body>...)."""
    head = data[:4096].lstrip().lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    feedish = any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel"))
    if head.startswith((b"<!doctype html", b"<html")) or (b"<html" in head and not feedish):
        return True
    return loose and not feedish and any(tag in head for tag in (b"<head", b"<body", b"<meta", b"<title"))


def _to_dt(struct) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _zoned(raw, instant: datetime | None) -> datetime | None:
    """`instant` (feedparser's UTC value) in the zone the feed wrote it in ("Mon, 02 Mar 2026 08:15:00
    +0100" -> 08:15+01:00), when the raw text says the same moment; else `instant` as it is."""
    if instant is None or not isinstance(raw, str):
        return instant
    try:
        value = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        value = _iso_dt(raw)
    if value is not None and value.tzinfo is not None and value == instant:
        return value
    return instant


def _iso_dt(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
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


def declares_entities(data: bytes) -> bool:
    """Does the document declare XML entities, in any of the encodings XML allows?

    Entities can only be declared in a DOCTYPE's internal subset (external DTDs are never
    fetched), so a document without a DOCTYPE passes even if its text mentions <!ENTITY."""
    upper = data.upper()
    return any(m in upper for m in DOCTYPE_MARKERS) and any(m in upper for m in ENTITY_MARKERS)


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document. Raises FeedParseError (or NotAFeed) when nothing usable is in it."""
    if declares_entities(data):
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
    if not entries and looks_like_html(data, loose=True):
        raise NotAFeed(url, discover_feeds(data, url))
    if not entries and bozo:
        raise FeedParseError(f"{url}: malformed feed: {bozo}")
    if not entries and not feed and not parsed.get("version"):
        raise FeedParseError(f"{url}: not a recognizable RSS/Atom/JSON feed")
    return ParsedFeed(title=feed.get("title"), site_url=feed.get("link"), language=feed.get("language"),
                      entries=entries, ttl_seconds=_ttl_seconds(feed), bozo=bozo)


def _http_link(base: str, link) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        absolute = urljoin(base, link.strip())
    except ValueError:
        return None
    return absolute if absolute.lower().startswith(("http://", "https://")) else None


def _entry(feed_url: str, item: dict, feed: dict) -> FeedEntry | None:
    link = _http_link(feed_url, item.get("link"))
    if not link:
        guid = item.get("id", "")
        link = _http_link(feed_url, guid) if str(guid).startswith(("http://", "https://")) else None
    if not link:
        return None
    content = None
    if item.get("content"):
        content = max((c.get("value", "") for c in item["content"]), key=len) or None
    tags = [t.get("term") or t.get("label") for t in item.get("tags", []) if t.get("term") or t.get("label")]
    author = item.get("author") or None
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with a warning
    updated = _zoned(dict.get(item, "updated"), _to_dt(dict.get(item, "updated_parsed")))
    return FeedEntry(
        feed_url=feed_url,
        link=link,
        guid=item.get("id") or None,
        title=item.get("title") or None,
        summary=item.get("summary") or None,
        content=content,
        published=_zoned(dict.get(item, "published"), _to_dt(dict.get(item, "published_parsed"))) or updated,
        updated=updated,
        author=author,
        categories=list(dict.fromkeys(t.strip() for t in tags if t and t.strip())),
        language=(item.get("language") or feed.get("language") or None),
    )


def _str(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")  # JSON must be UTF-8; be lenient with Latin-1 publishers
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FeedParseError(f"{url}: malformed JSON feed: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise FeedParseError(f"{url}: JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError(f"{url}: JSON Feed without an `items` list")
    feed_language = _str(doc.get("language"))
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _http_link(url, item.get("url")) or _http_link(url, item.get("external_url"))
        if not link:
            continue
        authors = item.get("authors") if isinstance(item.get("authors"), list) else []
        if not authors and isinstance(item.get("author"), dict):  # JSON Feed 1.0
            authors = [item["author"]]
        author = next((_str(a.get("name")) for a in authors if isinstance(a, dict) and _str(a.get("name"))), None)
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        item_id = item.get("id")
        entries.append(FeedEntry(
            feed_url=url, link=link,
            guid=str(item_id) if isinstance(item_id, str | int) and str(item_id) else link,
            title=_str(item.get("title")), summary=_str(item.get("summary")),
            content=_str(item.get("content_html")) or _str(item.get("content_text")),
            published=_iso_dt(item.get("date_published")), updated=_iso_dt(item.get("date_modified")),
            author=author,
            categories=list(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and t.strip())),
            language=_str(item.get("language")) or feed_language,
        ))
    return ParsedFeed(title=_str(doc.get("title")), site_url=_http_link(url, doc.get("home_page_url")),
                      language=feed_language, entries=entries)
