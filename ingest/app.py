"""The typed Python API. The CLI and the web app are thin layers over `Ingest`.

    from ingest.app import Ingest
    from ingest.config import load_settings

    app = Ingest(load_settings("config"))
    report = app.run_once()
    for hit in app.search("Drohne AND Iran").hits:
        print(hit.title, hit.url)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ingest.config import Settings
from ingest.enrich import declared_language, reconcile_language
from ingest.errors import IngestError
from ingest.extract import SiteProfile, extract_article
from ingest.models import Article, Extracted, FeedConfig, SearchResult, utcnow
from ingest.pipeline import Pipeline, Progress, RunReport
from ingest.sources import feedlist
from ingest.sources.poller import Poller
from ingest.sources.urls import domain_of
from ingest.store import BlockStat, SearchRequest, Store, open_store

log = logging.getLogger("ingest")


@dataclass(slots=True)
class FeedStatus:
    url: str
    name: str | None
    category: str | None
    enabled: bool
    status: str
    last_poll: datetime | None
    last_success: datetime | None
    last_new: datetime | None
    next_poll: datetime | None
    error: str | None
    error_count: float
    validators_trusted: bool
    articles: int
    page_errors: int = 0
    last_page_error: str | None = None
    configured: bool = True

    def to_dict(self) -> dict:
        data = asdict(self)
        for k, v in data.items():
            if isinstance(v, datetime):
                data[k] = v.isoformat()
        return data


class Ingest:
    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self._store = store
        self._site_profiles: dict[str, SiteProfile] | None = None
        self._alerts = None          # AlertEngine, created on first use when config/rules.yaml exists
        self._alerts_loaded = False

    # -- resources -------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.store)
        return self._store

    def close(self) -> None:
        if self._alerts is not None:
            self._alerts.close()
            self._alerts = None
        self._alerts_loaded = False
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def site_profiles(self) -> dict[str, SiteProfile]:
        if self._site_profiles is None:
            try:
                from ingest.extract.sites import load_site_profiles
            except ImportError:  # per-site rules not available in this build
                self._site_profiles = {}
            else:
                self._site_profiles = load_site_profiles(self.settings.sites_dir)
        return self._site_profiles

    def alerts(self):
        """The alert engine for config/rules.yaml, its delivery thread started; None without rules file.
        A broken rules file raises ConfigError naming the file and key."""
        if not self._alerts_loaded:
            from ingest.alerts import engine_for

            self._alerts = engine_for(self.settings, self.store)
            self._alerts_loaded = True
        return self._alerts

    def pipeline(self, progress: Progress | None = None, on_stored=None, alerts: bool = True) -> Pipeline:
        """A pipeline whose stored batches go to the alert engine (unless alerts=False) and `on_stored`."""
        engine = self.alerts() if alerts else None
        hook = on_stored
        if engine is not None:
            def hook(articles, _extra=on_stored, _engine=engine):
                _engine.on_stored(articles)
                if _extra is not None:
                    _extra(articles)
        return Pipeline(self.settings, self.store, site_profiles=self.site_profiles(), progress=progress,
                        on_stored=hook)

    # -- feeds -----------------------------------------------------------------------------------

    shard: tuple[int, int] | None = None  # (i, n): this ingester polls only its share of the feeds

    def feeds(self) -> list[FeedConfig]:
        feeds = feedlist.load_feeds(self.settings.feeds_file)
        if self.shard:
            from ingest.sources.shard import in_shard

            feeds = [f for f in feeds if in_shard(f.url, *self.shard)]
        return feeds

    def add_feed(self, url: str, name: str | None = None, category: str | None = None,
                 interval: float | None = None) -> bool:
        if not url.startswith(("http://", "https://")):
            raise IngestError(f"{url}: not an http(s) URL")
        return feedlist.add_feed(self.settings.feeds_file, FeedConfig(url=url, name=name, category=category,
                                                                      interval=interval))

    def remove_feed(self, url_or_name: str) -> bool:
        return feedlist.remove_feed(self.settings.feeds_file, url_or_name)

    def import_opml(self, path: Path) -> int:
        incoming = feedlist.parse_opml(Path(path).read_bytes())
        feeds = self.feeds()
        known = {f.url for f in feeds}
        added = [f for f in incoming if f.url not in known]
        feedlist.save_feeds(self.settings.feeds_file, feeds + added)
        return len(added)

    def export_opml(self) -> str:
        return feedlist.to_opml(self.feeds())

    def retry_feed(self, url: str | None = None) -> int:
        """Reset the failure state of one feed (or all failing ones)."""
        from ingest.fetch import Fetcher

        with Fetcher(self.settings.fetch) as fetcher:
            poller = Poller(self.settings.polling, self.store, fetcher)
            targets = [url] if url else [s.url for s in self.store.list_feed_states()
                                         if s.status in ("backing_off", "failing", "gone")]
            return sum(1 for u in targets if poller.retry(u))

    def status(self) -> list[FeedStatus]:
        """Every configured feed, then feeds polled earlier that are no longer (or never were) configured."""
        states = {s.url: s for s in self.store.list_feed_states()}
        counts = self.store.article_counts_by_feed()
        configured = self.feeds()
        urls = {f.url for f in configured}
        others = [FeedConfig(url=s.url, name=s.name, category=s.category) for s in states.values() if s.url not in urls]
        out = []
        for feed in configured + others:
            s = states.get(feed.url)
            resolved = s.resolved_url if s else None
            out.append(FeedStatus(
                url=feed.url, name=feed.name or (s.name if s else None), category=feed.category,
                enabled=feed.enabled, status=("disabled" if not feed.enabled else (s.status if s else "new")),
                last_poll=s.last_poll if s else None, last_success=s.last_success if s else None,
                last_new=s.last_new if s else None, next_poll=s.next_poll if s else None,
                error=s.last_error if s else None, error_count=s.error_count if s else 0.0,
                validators_trusted=s.validators_trusted if s else True,
                articles=counts.get(feed.url, 0) + (counts.get(resolved, 0) if resolved else 0),
                page_errors=s.page_errors if s else 0, last_page_error=s.last_page_error if s else None,
                configured=feed.url in urls,
            ))
        return out

    # -- ingest ----------------------------------------------------------------------------------

    def run_once(self, progress: Progress | None = None, feeds: list[FeedConfig] | None = None) -> RunReport:
        pipe = self.pipeline(progress)
        try:
            report = pipe.run_once(feeds if feeds is not None else self.feeds())
            for domain, blocks in report.reclean_blocks.items():
                pipe.reclean(domain, blocks=blocks)
            if self._alerts is not None:  # one-shot run: send what is due before returning
                self._alerts.drain(timeout=60)
            return report
        finally:
            pipe.close()

    def reclean(self, domain: str | None = None, progress: Progress | None = None) -> int:
        pipe = self.pipeline(progress, alerts=False)  # re-cleaned articles are not new: no alerts
        try:
            return pipe.reclean(domain)
        finally:
            pipe.close()

    def purge_raw(self) -> int:
        return self.store.purge_raw(utcnow() - timedelta(days=self.settings.extract.raw_retention_days))

    # -- read ------------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20, **filters) -> SearchResult:
        return self.store.search(SearchRequest(query=query, limit=limit, **filters))

    def show(self, article_id: str) -> Article:
        article = self.store.get_article(article_id)
        if article is None:
            raise IngestError(f"no article with id {article_id!r} (ids are shown by `ingest search`)")
        return article

    def extract_file(self, path: Path, url: str | None = None) -> Extracted:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IngestError(f"{path}: cannot read: {exc.strerror}") from None
        site = self.site_profiles().get(domain_of(url)) if url else None
        ex = extract_article(data, url, self.settings.extract, site)
        # the same language detection as the pipeline: the text, reconciled with the page's declaration
        ex.language = reconcile_language(ex.text or ex.title or "", ex.language or declared_language(data), None,
                                         self.settings.enrich.min_detect_chars)
        return ex

    def site_blocks(self, domain: str) -> list[BlockStat]:
        return self.store.block_stats(domain, since=utcnow() - timedelta(days=self.settings.extract.learn_window_days))

    def set_block(self, domain: str, fingerprint: str, status: str | None) -> bool:
        return self.store.set_block_status(domain, fingerprint, status)
