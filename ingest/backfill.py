"""`ingest backfill SOURCE --since DATE`: a source's history from its sitemaps, ingested as ordinary articles.

1. Resolve SOURCE: a configured feed (by name or URL) or a site URL. The site root is the feed's
   site link (its `<link>`, once polled) or the feed URL's host. Wanted URLs: on the same host as the
   feed's links (`www.` aside), or matching the feed's `url_patterns` when it has any.
2. Discover (`ingest.sources.sitemaps`): robots.txt and well-known sitemaps, indexes followed,
   through the guarded fetcher (SSRF guard, caps, per-host politeness).
3. Filter: dated in [since, until) by news publication date or `<lastmod>` (undated URLs are
   counted and left out: nothing says they are in range), newest first, at most `limit`.
4. Queue: URLs already stored, or already seen through a feed, are skipped; the rest go into the
   ordinary pending queue in ONE transaction, under the queue key `backfill:<feed or site URL>`
   (feed polls never take them; the article still names its feed).
5. Store: the pipeline processes that queue like a poll's (same fetch, extraction, enrichment,
   dedupe, learning; polite per host; a progress bar on a terminal). An entry leaves the queue only
   with its stored article, so a run killed anywhere (SIGKILL included) is resumed by running the
   same command again: nothing stored is fetched again, nothing is stored twice. Pages that failed
   for now wait in the queue for the next `ingest backfill` of that source.

Backfilled articles are normal articles (search, dashboards, volume baselines) but do not trigger
instant alerts unless `alerts=True` (then they are evaluated like polled ones, once per story); they
are not watched for updates (`ingest.updates`): they are not fresh news.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ingest.errors import FetchError, IngestError
from ingest.fetch import Fetcher
from ingest.models import FeedConfig, FeedEntry, PendingEntry, article_id
from ingest.sources.poller import entry_keys
from ingest.sources.sitemaps import SitemapURL, discover, site_root
from ingest.sources.urls import check_url, normalize_url
from ingest.store.coverage import CoverageState, seams

if TYPE_CHECKING:
    from ingest.config import Settings
    from ingest.pipeline import Pipeline
    from ingest.store import Backends as Store

log = logging.getLogger("ingest.backfill")
QUEUE_PREFIX = "backfill:"
Progress = Callable[..., None]


@dataclass(slots=True)
class Source:
    """What a backfill reads: the site root, the feed the articles belong to, and which URLs are wanted."""

    name: str
    feed_url: str          # the feed (or the site URL) the articles are recorded under
    root: str              # scheme://host of the site whose sitemaps are read
    hosts: set[str]        # wanted hosts (without www.), unless `patterns` are given
    patterns: list[re.Pattern] = field(default_factory=list)

    @property
    def queue_key(self) -> str:
        return QUEUE_PREFIX + self.feed_url

    def wants(self, url: str) -> bool:
        if self.patterns:
            return any(p.search(url) for p in self.patterns)
        return _bare_host(url) in self.hosts


@dataclass(slots=True)
class BackfillReport:
    source: str
    sitemaps: int = 0
    sitemap_errors: dict[str, str] = field(default_factory=dict)
    discovered: int = 0
    in_range: int = 0
    undated: int = 0
    other_site: int = 0
    already_stored: int = 0
    queued: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    retrying: int = 0
    page_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def resolve_source(settings: Settings, store: Store, feeds: list[FeedConfig], source: str) -> Source:
    """A configured feed by name or URL, else a site URL. Raises IngestError with the reason."""
    wanted = source.strip()
    for feed in feeds:
        if wanted in (feed.url, feed.name) or (feed.name and feed.name.casefold() == wanted.casefold()):
            state = seams(store)[0].get_feed_state(feed.url)
            site = (state.site_url if state else None) or feed.url
            patterns = [re.compile(p) for p in getattr(feed, "url_patterns", None) or []]
            hosts = {_bare_host(site), _bare_host(feed.url)}
            return Source(name=feed.name or feed.url, feed_url=feed.url, root=site_root(site), hosts=hosts,
                          patterns=patterns)
    if not wanted.startswith(("http://", "https://")):
        raise IngestError(f"{source}: not a configured feed name or URL, and not a site URL (http(s)://...)")
    url = check_url(wanted)
    return Source(name=_bare_host(url), feed_url=site_root(url) + "/", root=site_root(url), hosts={_bare_host(url)})


def sitemap_getter(fetcher: Fetcher, cap: int) -> Callable[[str], bytes | None]:
    def get(url: str) -> bytes | None:
        try:
            return fetcher.get(url, max_bytes=cap).content
        except FetchError as exc:
            if exc.status not in (404, 410):
                log.warning("sitemap %s: %s", url, exc)
            return None
    return get


def select(urls: list[SitemapURL], source: Source, since: datetime, until: datetime | None,
           report: BackfillReport, limit: int | None = None) -> list[SitemapURL]:
    """The wanted URLs dated within [since, until), newest first, at most `limit`."""
    chosen = []
    for u in urls:
        if not source.wants(u.loc):
            report.other_site += 1
        elif u.when is None:
            report.undated += 1
        elif u.when >= since and (until is None or u.when < until):
            chosen.append(u)
    chosen.sort(key=lambda u: u.when or since, reverse=True)
    report.in_range = len(chosen)
    return chosen[:limit] if limit else chosen


def to_pending(u: SitemapURL, source: Source) -> PendingEntry:
    entry = FeedEntry(feed_url=source.feed_url, link=u.loc, title=u.title, published=u.published,
                      updated=u.lastmod)
    return PendingEntry(entry=entry, article_id=article_id(normalize_url(u.loc)), keys=entry_keys(entry),
                        feed_name=source.name, feed_url=source.queue_key)


def queue(store: Store, state: CoverageState, urls: list[SitemapURL], source: Source,
          report: BackfillReport) -> int:
    """Queue what is neither stored nor seen through a feed; one transaction. Returns entries now queued."""
    pending = [to_pending(u, source) for u in urls]
    local, index = seams(store)
    ids = list(dict.fromkeys(p.article_id for p in pending))
    stored = {a.id for i in range(0, len(ids), 500) for a in index.get_articles(ids[i:i + 500])}
    known = local.known_entries(k for p in pending for k in p.keys)
    fresh = [p for p in pending if p.article_id not in stored and not any(k in known for k in p.keys)]
    report.already_stored = len(pending) - len(fresh)
    state.enqueue(fresh)
    return state.queue_counts(source.queue_key)[0]


def process(pipe: Pipeline, store: Store, source: Source, report: BackfillReport) -> None:
    """Store the source's queue, pass after pass, until nothing due is left (or the run stops)."""
    while not pipe.stop.is_set():
        run = pipe.process_queue([source.queue_key])
        report.stored += run.stored
        report.duplicates += run.duplicates
        report.dead += run.dead
        report.page_errors += run.page_errors
        if not (run.stored or run.dead or run.duplicates or run.retrying):
            break
    report.retrying = CoverageState(store).queue_counts(source.queue_key)[0]


def backfill(settings: Settings, store: Store, pipe: Pipeline, source: Source, since: datetime,
             until: datetime | None = None, limit: int | None = None,
             progress: Progress | None = None) -> BackfillReport:
    report = BackfillReport(source=source.name)
    bf = settings.backfill
    found = discover(source.root, sitemap_getter(pipe.fetcher, bf.max_sitemap_bytes), since=since,
                     max_sitemaps=bf.max_sitemaps, max_depth=bf.max_depth, cap=bf.max_sitemap_bytes)
    report.sitemaps, report.discovered = len(found.fetched), len(found.urls)
    report.sitemap_errors = {u: r for u, r in found.failed.items() if r != "not available"}
    wanted = select(found.urls, source, since, until, report, limit)
    report.queued = queue(store, CoverageState(store), wanted, source, report)
    if progress is not None:
        progress(completed=0, total=report.queued)
    process(pipe, store, source, report)
    return report
