"""Feed parsing: bytes in, typed entries out (RSS 0.9x/1.0/2.0, Atom via feedparser; JSON Feed by hand).

Hostile input is refused before feedparser sees it. The bytes are decoded first, exactly as
feedparser decodes them (its own `convert_to_utf8`: BOM, HTTP charset, XML declaration, then
UTF-8, windows-1252), and feedparser is handed that decoded text: so the entity guard sees what
the XML parser will see, whatever the encoding (UTF-16/32, EBCDIC, a `charset=` from the
HTTP header or the declaration). Documents declaring XML entities (billion laughs, external
entities, one large entity referenced many times) are refused; UTF-7 is refused outright (no
feed needs it, and it hides markup from every byte-level filter). A document with more than
`MAX_ENTRIES` entries is cut to its first `MAX_ENTRIES` before parsing (parse time grows with
the entries; the cut is logged as a warning and reported in `ParsedFeed.bozo`). An HTML page
served where a feed was expected raises `NotAFeed` carrying the feeds the page links to. A
Latin-1 feed declared as UTF-8 keeps its umlauts (feedparser's fallbacks). Only http(s) entry
links are kept. Anything unexpected in a JSON Feed (wrong types, deep nesting) is a
FeedParseError, never another exception.
"""

from __future__ import annotations

import calendar
import email.utils
import json
import logging
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8

from ingest.errors import FeedParseError
from ingest.models import FeedEntry, ParsedFeed

log = logging.getLogger(__name__)

_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
ENTITY_MARKERS = tuple("<!ENTITY".encode(enc) for enc in _ENCODINGS)
DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(enc) for enc in _ENCODINGS)
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "application/xml", "text/xml")
REFUSED_ENCODINGS = {"utf-7", "utf7", "utf_7", "unicode-1-1-utf-7", "csunicode11utf7", "x-utf-7"}
MAX_ENTRIES = 5000  # entries read from one feed document; the newest come first in practice
ENTRY_END = re.compile(rb"</(?:[\w.-]{1,40}:)?(?:item|entry)\s*>", re.I)
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
    value: datetime | None
    try:
        value = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        value = _iso_dt(raw)
    if value is not None and value.tzinfo is not None and value == instant:
        return value
    return instant


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


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


def _charset(content_type: str | None) -> str:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


def _as_utf8(content_type: str) -> str:
    """The Content-Type with its charset replaced by utf-8 (the document is handed on decoded)."""
    return content_type.split(";")[0].strip() + "; charset=utf-8"


def decode_feed(data: bytes, url: str, headers: dict[str, str]) -> bytes:
    """The document as UTF-8, decoded the way feedparser decodes it (its declaration says utf-8 now).

    Raises FeedParseError for UTF-7 (declared in the header or the document) and for documents
    that declare entities once decoded."""
    head = data[:200].lower()
    declared = re.search(rb"encoding\s*=\s*[\"']([\w.:-]{1,40})", head)
    names = {_charset(headers.get("content-type")), declared.group(1).decode("ascii") if declared else ""}
    if names & REFUSED_ENCODINGS:
        raise FeedParseError(f"{url}: feed encoded in UTF-7; refused (it hides markup from filters)")
    result: dict = {}
    decoded = convert_to_utf8(headers, data, result)
    if (result.get("encoding") or "").lower().replace("_", "-") in REFUSED_ENCODINGS:
        raise FeedParseError(f"{url}: feed encoded in UTF-7; refused (it hides markup from filters)")
    if declares_entities(decoded):
        encoding = result.get("encoding") or "unknown encoding"
        raise FeedParseError(f"{url}: feed declares XML entities (decoded as {encoding}); refused "
                             "(entity expansion attack guard)")
    return decoded


def cap_entries(data: bytes, limit: int = MAX_ENTRIES) -> tuple[bytes, int]:
    """Cut the entries after the first `limit` out of the document; (document, entries cut).

    The span from the end of entry `limit` to the end of the last entry goes, so the document
    stays well-formed (entries are siblings) and what follows them (closing tags) is kept."""
    count, keep_end, last_end = 0, 0, 0
    for m in ENTRY_END.finditer(data):
        count += 1
        last_end = m.end()
        if count == limit:
            keep_end = last_end
    if count <= limit:
        return data, 0
    return data[:keep_end] + data[last_end:], count - limit


def _benign(exc) -> bool:
    """feedparser's complaints about the HTTP label, not the document: an RSS/Atom document served as
    text/xml (us-ascii by RFC 3023) with UTF-8 in it, or with a non-XML media type. A valid feed
    without entries is then empty, not malformed."""
    return isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType)


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
    decoded, cut = cap_entries(decode_feed(data, url, headers))
    if content_type:
        headers["content-type"] = _as_utf8(content_type)
    parsed = feedparser.parse(decoded, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    bozo = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if cut:
        log.warning("%s: %d entries beyond the first %d not read (entry cap)", url, cut, MAX_ENTRIES)
        bozo = f"{cut} entries beyond the first {MAX_ENTRIES} not read (entry cap)" + (f"; {bozo}" if bozo else "")
    feed = parsed.get("feed", {})
    entries = [e for e in (_entry(url, item, feed, data) for item in parsed.get("entries", [])) if e]
    if not entries and looks_like_html(data, loose=True):
        raise NotAFeed(url, discover_feeds(data, url))
    if not entries and bozo and not (_benign(parsed.get("bozo_exception")) and parsed.get("version")):
        raise FeedParseError(f"{url}: malformed feed: {bozo}")
    if not entries and not feed and not parsed.get("version"):
        raise FeedParseError(f"{url}: not a recognizable RSS/Atom/JSON feed")
    hub, self_url = _links(feed, url)
    return ParsedFeed(title=feed.get("title"), site_url=feed.get("link"), language=feed.get("language"),
                      entries=entries, ttl_seconds=_ttl_seconds(feed), bozo=bozo, hub=hub, self_url=self_url)


def _links(feed: dict, url: str) -> tuple[str | None, str | None]:
    """(WebSub hub, self URL) a feed declares with <link rel="hub"> / <link rel="self"> (Atom, or atom:link in RSS)."""
    found: dict[str, str] = {}
    for link in feed.get("links") or []:
        rel = str(link.get("rel") or "").lower()
        if rel in ("hub", "self") and rel not in found:
            href = _http_link(url, link.get("href"))
            if href:
                found[rel] = href
    return found.get("hub"), found.get("self")


def _http_link(base: str, link) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        absolute = urljoin(base, link.strip())
    except ValueError:
        return None
    return absolute if absolute.lower().startswith(("http://", "https://")) else None


def _guid_made_up(item: dict, data: bytes) -> bool:
    """feedparser copies a permalink GUID into `link` and resolves it against the feed's URL, so
    `<guid>12345</guid>` becomes a made-up URL. Such a link is kept only if the document itself
    spells it out as an absolute URL."""
    link = str(item.get("link") or "")
    if not item.get("guidislink") or link != str(item.get("id") or ""):
        return False
    return not link.startswith(("http://", "https://")) or (
        link.encode("utf-8", "replace") not in data and link.replace("&", "&amp;").encode("utf-8", "replace") not in data)


def _entry(feed_url: str, item: dict, feed: dict, data: bytes = b"") -> FeedEntry | None:
    # A GUID that is not a URL ("12345") names an entry, not a page: such an entry has nothing to fetch.
    link = None if data and _guid_made_up(item, data) else _http_link(feed_url, item.get("link"))
    if not link and not (data and _guid_made_up(item, data)):
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
    for item in items[:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        link = _http_link(url, item.get("url")) or _http_link(url, item.get("external_url"))
        if not link:
            continue
        authors = _list(item.get("authors"))
        if not authors and isinstance(item.get("author"), dict):  # JSON Feed 1.0
            authors = [item["author"]]
        author = next((_str(a.get("name")) for a in authors if isinstance(a, dict) and _str(a.get("name"))), None)
        tags = _list(item.get("tags"))
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
    cut = len(items) - MAX_ENTRIES
    if cut > 0:
        log.warning("%s: %d entries beyond the first %d not read (entry cap)", url, cut, MAX_ENTRIES)
    hubs = doc.get("hubs")
    hubs = hubs if isinstance(hubs, list) else []
    hub = next((_http_link(url, h.get("url")) for h in hubs
                if isinstance(h, dict) and str(h.get("type", "")).lower() == "websub" and _http_link(url, h.get("url"))),
               None)  # JSON Feed 1.1: hubs: [{"type": "WebSub", "url": ...}]
    return ParsedFeed(title=_str(doc.get("title")), site_url=_http_link(url, doc.get("home_page_url")),
                      language=feed_language, entries=entries,
                      bozo=f"{cut} entries beyond the first {MAX_ENTRIES} not read (entry cap)" if cut > 0 else None,
                      hub=hub, self_url=_http_link(url, doc.get("feed_url")) if hub else None)
