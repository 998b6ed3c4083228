"""Sitemaps: where a site lists its articles, for `ingest backfill` (bytes in, dated URLs out).

Discovery (`discover`): the `Sitemap:` lines of robots.txt plus the usual /sitemap.xml,
/sitemap_index.xml and /news-sitemap.xml; a sitemap index is followed breadth-first, at most
`max_depth` levels down and `max_sitemaps` documents in all; a child whose own `<lastmod>` is older
than the wanted range is not fetched (nothing in it can be newer than the file itself). Fetching is
the caller's (`get`: the project's guarded fetcher, never a library's own HTTP), so the SSRF guard,
size caps and per-host politeness apply to every sitemap like to every page.

Parsing (`parse_sitemap`): XML sitemaps (urlset and sitemapindex, any namespace, Google News
`<news:publication_date>` and `<news:title>`), and plain-text sitemaps (one URL a line). Gzip
sitemaps (a .gz file served without Content-Encoding) are inflated here with the same bounded
output as the fetcher's decoder, so a bomb stops at the cap. Hostile XML is refused before the
parser sees it: a DOCTYPE (entities, external references) has no place in a sitemap, so any
document declaring one is refused (`ingest.sources.parse` refuses entity declarations in feeds for
the same reason). At most `MAX_URLS` URLs are read from one document (the protocol's own limit).

Dates: a W3C datetime (`2026-11-02`, `2026-11-02T08:15:00+01:00`, `...Z`); a date without a time
is midnight UTC. An entry's date is its news publication date, else its `<lastmod>`.
"""

from __future__ import annotations

import logging
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from ingest.errors import FeedParseError

log = logging.getLogger(__name__)

WELL_KNOWN = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")
MAX_URLS = 50_000
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
DOCTYPE_MARKERS = tuple(marker.encode(enc) for enc in _ENCODINGS for marker in ("<!DOCTYPE", "<!doctype", "<!ENTITY"))
GZIP_MAGIC = b"\x1f\x8b"
Getter = Callable[[str], bytes | None]  # URL -> body, or None when there is none (404, refused, error)


class SitemapError(FeedParseError):
    """A sitemap that cannot be read (hostile, not XML, too large)."""


@dataclass(slots=True)
class SitemapURL:
    """One article URL listed by a sitemap."""

    loc: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date
    title: str | None = None           # news:title

    @property
    def when(self) -> datetime | None:
        return self.published or self.lastmod


@dataclass(slots=True)
class Sitemap:
    """One parsed document: either an index (`children`) or a URL set (`urls`)."""

    url: str
    urls: list[SitemapURL] = field(default_factory=list)
    children: list[SitemapURL] = field(default_factory=list)  # child sitemaps with their own lastmod
    truncated: bool = False


@dataclass(slots=True)
class Discovery:
    """What `discover` read: sitemaps fetched, those that failed (url -> reason), the URLs found."""

    fetched: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped_old: int = 0      # child sitemaps not fetched: their lastmod is before the wanted range
    skipped_over_cap: int = 0  # child sitemaps beyond max_sitemaps / max_depth
    urls: list[SitemapURL] = field(default_factory=list)


def w3c_date(text: str | None) -> datetime | None:
    """A W3C datetime (the sitemap protocol's format), as an aware UTC-comparable datetime; None if unreadable."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def inflate(data: bytes, cap: int, url: str = "") -> bytes:
    """Gunzip a gzip file body, producing at most `cap` bytes (a bomb raises SitemapError at the cap)."""
    z = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    size = 0
    pending = data
    while pending:
        try:
            piece = z.decompress(pending, cap - size + 1)
        except zlib.error as exc:
            raise SitemapError(f"{url}: cannot decompress gzip sitemap: {exc}") from None
        size += len(piece)
        if size > cap:
            raise SitemapError(f"{url}: sitemap exceeds {cap} bytes after decompression")
        out.append(piece)
        pending = z.unconsumed_tail
        if z.eof or not piece and not pending:
            break
    return b"".join(out)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _text_sitemap(data: bytes, url: str) -> Sitemap:
    sm = Sitemap(url=url)
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith(("http://", "https://")):
            if len(sm.urls) >= MAX_URLS:
                sm.truncated = True
                break
            sm.urls.append(SitemapURL(loc=line))
    return sm


def parse_sitemap(data: bytes, url: str, cap: int = 50_000_000) -> Sitemap:
    """One sitemap document (XML, gzip XML or plain text) -> its URLs or child sitemaps."""
    if data[:2] == GZIP_MAGIC:
        data = inflate(data, cap, url)
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if not head.startswith((b"<", b"<\x00")):
        return _text_sitemap(data, url)
    if any(marker in data for marker in DOCTYPE_MARKERS):
        raise SitemapError(f"{url}: refused: the sitemap declares a DOCTYPE or entities")
    return _parse_xml(data, url)


def _parse_xml(data: bytes, url: str) -> Sitemap:
    sm = Sitemap(url=url)
    parser: XMLPullParser = XMLPullParser(events=("end",))
    item: dict[str, str] = {}
    try:
        for start in range(0, len(data), 1 << 16):
            parser.feed(data[start:start + (1 << 16)])
            for event in parser.read_events():
                elem = cast(tuple, event)[1]
                if not isinstance(elem, Element):
                    continue
                name = _local(elem.tag)
                if name == "title" and "news" not in elem.tag:
                    continue  # image:title, video:title: not the article's
                if name in ("loc", "lastmod", "publication_date", "title") and elem.text:
                    item.setdefault(name, elem.text.strip())
                elif name in ("url", "sitemap"):
                    if _add(sm, name, item, url):
                        return sm
                    item = {}
                    elem.clear()
        parser.close()
    except ParseError as exc:
        raise SitemapError(f"{url}: not a readable sitemap: {exc}") from None
    return sm


def _add(sm: Sitemap, kind: str, item: dict[str, str], base: str) -> bool:
    """Add one <url> or <sitemap> entry; True when the document's URL limit is reached."""
    loc = item.get("loc")
    if not loc:
        return False
    if not loc.lower().startswith(("http://", "https://")):  # absolute, as the protocol says; else resolved
        loc = urljoin(base, loc)
        if not loc.lower().startswith(("http://", "https://")):
            return False
    entry = SitemapURL(loc=loc, lastmod=w3c_date(item.get("lastmod")), published=w3c_date(item.get("publication_date")),
                       title=item.get("title"))
    target = sm.children if kind == "sitemap" else sm.urls
    if len(target) >= MAX_URLS:
        sm.truncated = True
        return True
    target.append(entry)
    return False


def robots_sitemaps(robots_txt: bytes, base: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt (any case, relative ones resolved against `base`)."""
    found = []
    for line in robots_txt.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            found.append(urljoin(base, value.strip()))
    return list(dict.fromkeys(found))


def site_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def candidates(root: str, get: Getter) -> list[str]:
    """Sitemaps to start from: robots.txt's, then the well-known locations."""
    robots = get(root + "/robots.txt")
    listed = robots_sitemaps(robots, root + "/") if robots else []
    return list(dict.fromkeys(listed + [root + path for path in WELL_KNOWN]))


def discover(root: str, get: Getter, since: datetime | None = None, max_sitemaps: int = 200,
             max_depth: int = 3, cap: int = 50_000_000) -> Discovery:
    """Every URL the site's sitemaps list (duplicates kept once, the first listing wins)."""
    found = Discovery()
    todo: deque[tuple[str, int]] = deque((u, 0) for u in candidates(root, get))
    seen_docs: set[str] = set()
    seen_urls: set[str] = set()
    while todo:
        url, depth = todo.popleft()
        if url in seen_docs:
            continue
        if len(seen_docs) >= max_sitemaps:
            found.skipped_over_cap += 1 + len(todo)
            break
        seen_docs.add(url)
        for sm in _read(url, get, cap, found):
            for child in sm.children:
                if since is not None and child.lastmod is not None and child.lastmod < since:
                    found.skipped_old += 1
                elif depth + 1 > max_depth:
                    found.skipped_over_cap += 1
                else:
                    todo.append((child.loc, depth + 1))
            for u in sm.urls:
                if u.loc not in seen_urls:
                    seen_urls.add(u.loc)
                    found.urls.append(u)
    return found


def _read(url: str, get: Getter, cap: int, found: Discovery) -> Iterator[Sitemap]:
    body = get(url)
    if body is None:
        found.failed[url] = "not available"
        return
    try:
        sm = parse_sitemap(body, url, cap)
    except SitemapError as exc:
        log.warning("%s", exc)
        found.failed[url] = str(exc)
        return
    found.fetched.append(url)
    if sm.truncated:
        log.warning("%s: more than %d entries; the rest is not read", url, MAX_URLS)
    yield sm
