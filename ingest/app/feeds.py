"""Feeds: the feed list (config/feeds.yaml), probing a URL before adding it, polling state of feeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.app.base import AppBase
from ingest.errors import IngestError
from ingest.models import FeedConfig, FeedState
from ingest.sources import feedlist
from ingest.sources.urls import check_url
from ingest.store.base import ArticleSelection

if TYPE_CHECKING:
    from ingest.pipeline import Pipeline, Progress
    from ingest.sources.profile import ProfileBook

FAILING = ("backing_off", "failing", "gone")  # feed states `ingest feeds retry` resets


@dataclass(slots=True)
class FeedProbe:
    """What `feeds add` found at a URL before writing it into feeds.yaml."""

    url: str                     # the feed URL to store (the discovered one for a site URL)
    title: str | None
    entries: int
    discovered_from: str | None = None  # the page URL the feed was discovered on


class FeedsMixin(AppBase):
    def pipeline(self, progress: Progress | None = None, on_stored=None, alerts: bool = True,
                 updates: bool = True) -> Pipeline:
        """`AppBase.pipeline`, its fetcher given the request profiles of the feeds and sites."""
        pipeline = super().pipeline(progress, on_stored, alerts, updates)
        pipeline.fetcher.profiles = self.request_profiles()
        return pipeline

    def request_profiles(self) -> ProfileBook:
        """Request profiles (ingest.sources.profile): config/sites `request:` sections and feeds.yaml `profile:`s."""
        from ingest.sources.profile import ProfileBook

        sites = {domain: p.request for domain, p in self.site_profiles().items() if p.request is not None}
        return ProfileBook(sites, [(f.url, f.profile) for f in self.feeds()])

    def feeds(self) -> list[FeedConfig]:
        feeds = feedlist.load_feeds(self.settings.feeds_file)
        if self.shard:
            from ingest.sources.shard import in_shard

            feeds = [f for f in feeds if in_shard(f.url, *self.shard)]
        return feeds

    def add_feed(self, url: str, name: str | None = None, category: str | None = None,
                 interval: float | None = None) -> bool:
        url = check_url(url)  # one line (InvalidURL) for a URL that could never be polled
        return feedlist.add_feed(self.settings.feeds_file, FeedConfig(url=url, name=name, category=category,
                                                                      interval=interval))

    def probe_feed(self, url: str) -> FeedProbe:
        """Fetch `url` once through the guarded fetcher: a feed is parsed; an HTML page's first advertised
        feed is fetched and parsed instead. Raises IngestError with the reason when neither works."""
        from ingest.errors import FeedParseError
        from ingest.fetch import Fetcher
        from ingest.sources.parse import NotAFeed, parse_feed

        url = check_url(url)
        with Fetcher(self.settings.fetch) as fetcher:
            fetcher.profiles = self.request_profiles()
            resp = fetcher.get(url)
            try:
                parsed = parse_feed(resp.content, resp.final_url, resp.header("content-type"))
                return FeedProbe(url=url, title=parsed.title, entries=len(parsed.entries))
            except NotAFeed as exc:
                if not exc.candidates:
                    raise
                for candidate in exc.candidates[:3]:
                    try:
                        found = fetcher.get(candidate)
                        parsed = parse_feed(found.content, found.final_url, found.header("content-type"))
                    except (FeedParseError, IngestError):
                        continue
                    return FeedProbe(url=candidate, title=parsed.title, entries=len(parsed.entries),
                                     discovered_from=url)
                raise

    def remove_feed(self, url_or_name: str) -> bool:
        return feedlist.remove_feed(self.settings.feeds_file, url_or_name)

    def import_opml(self, path: Path) -> int:
        incoming = feedlist.parse_opml(Path(path).read_bytes())
        return feedlist.add_feeds(self.settings.feeds_file, incoming)

    def export_opml(self) -> str:
        return feedlist.to_opml(self.feeds())

    def feed_state(self, url: str) -> FeedState | None:
        """The polling state of one feed (None before its first poll)."""
        return self.store.state.get_feed_state(url)

    def feed_states(self) -> list[FeedState]:
        return self.store.state.list_feed_states()

    def known_feed_urls(self) -> list[str]:
        """Feeds with polling state, then the configured ones (duplicates possible)."""
        return [s.url for s in self.store.state.list_feed_states()] + [f.url for f in self.feeds()]

    def retry_feed(self, url: str | None = None) -> int:
        """Reset the failure state of one feed (or all failing ones)."""
        from ingest.fetch import Fetcher
        from ingest.sources.poller import Poller

        with Fetcher(self.settings.fetch) as fetcher:
            poller = Poller(self.settings.polling, self.store, fetcher)
            targets = [url] if url else [s.url for s in self.store.state.list_feed_states() if s.status in FAILING]
            return sum(1 for u in targets if poller.retry(u))

    def unconfigured_feeds(self) -> list[str]:
        """Feeds with polling state in the store that are no longer in feeds.yaml (removed, or a demo's)."""
        configured = {f.url for f in feedlist.load_feeds(self.settings.feeds_file)}
        return [s.url for s in self.store.state.list_feed_states() if s.url not in configured]

    def forget_feeds(self, urls: list[str], articles: bool = False) -> dict[str, int]:
        """Drop the polling state, seen entries and raw pages of feeds (and with `articles`, the articles
        that came through them). A configured feed is refused: remove it from feeds.yaml first."""
        configured = {f.url for f in feedlist.load_feeds(self.settings.feeds_file)}
        for url in urls:
            if url in configured:
                raise IngestError(f"{url}: still in {self.settings.feeds_file}; `ingest feeds remove` it first")
        totals = {"feeds": 0, "entries": 0, "raw_pages": 0, "articles": 0}
        for url in urls:
            if articles:
                totals["articles"] += self.store.delete_articles(ArticleSelection(feeds=[url]))
            done = self.store.state.forget_feed(url)
            totals["feeds"] += done["feed_state"]
            totals["entries"] += done["entries"]
            totals["raw_pages"] += done["raw_pages"]
        return totals
