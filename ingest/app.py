"""The typed Python API. The CLI and the web app are thin layers over `Ingest`.

    from ingest.app import Ingest
    from ingest.config import load_settings

    app = Ingest(load_settings("config"))
    report = app.run_once()
    for hit in app.search("Drohne AND Iran").hits:
        print(hit.title, hit.url)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.errors import IngestError, unknown_name
from ingest.models import Article, Extracted, FeedConfig, SearchResult, utcnow
from ingest.sources import feedlist
from ingest.sources.urls import check_url, domain_of
from ingest.store import BlockStat, SearchRequest, Store, open_store
from ingest.store.base import ArticleSelection

if TYPE_CHECKING:  # the pipeline pulls in trafilatura, feedparser, scipy: imported when a command needs it
    from ingest.extract import SiteProfile
    from ingest.extract.learned import LearnedBoilerplate
    from ingest.pipeline import Pipeline, Progress, RunReport

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
    resolved_url: str | None = None  # the feed found on the page when `url` is a site's page
    queued: int = 0                  # entries waiting in the pending queue (new, or page retries)
    retrying: int = 0                # of those, pages that failed for now and are tried again
    dead: int = 0                    # entries recorded dead (404/410/451, or retries used up): no article
    next_retry: datetime | None = None
    last_retry_error: str | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for k, v in data.items():
            if isinstance(v, datetime):
                data[k] = v.isoformat()
        return data


@dataclass(slots=True)
class FeedProbe:
    """What `feeds add` found at a URL before writing it into feeds.yaml."""

    url: str                     # the feed URL to store (the discovered one for a site URL)
    title: str | None
    entries: int
    discovered_from: str | None = None  # the page URL the feed was discovered on


class Ingest:
    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self._store = store
        self._site_profiles: dict[str, SiteProfile] | None = None
        self._alerts = None          # AlertEngine, created on first use when config/rules.yaml exists
        self._alerts_loaded = False
        self.stopping = threading.Event()  # set on SIGTERM/SIGINT: runs finish their batch and return

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

    def pipeline(self, progress: Progress | None = None, on_stored=None, alerts: bool = True,
                 updates: bool = True) -> Pipeline:
        """A pipeline whose stored batches go to the alert engine (unless alerts=False) and `on_stored`;
        articles stored from their page are watched for updates (unless updates=False; `ingest.updates`)."""
        from ingest.pipeline import Pipeline

        engine = self.alerts() if alerts else None
        hook = on_stored
        if engine is not None:
            def hook(articles, _extra=on_stored, _engine=engine):
                _engine.on_stored(articles)
                if _extra is not None:
                    _extra(articles)
        pipe = Pipeline(self.settings, self.store, site_profiles=self.site_profiles(), progress=progress,
                        on_stored=hook, watchlist=self.watchlist(), stop=self.stopping)
        if updates and self.settings.updates.checks:
            from ingest.updates import UpdateScheduler, coverage_state

            pipe.batch_hooks.append(UpdateScheduler(self.settings.updates, coverage_state(self.store)))
        return pipe

    @contextmanager
    def run_lock(self, wait: bool = False) -> Iterator[None]:
        """One `run` per store and shard at a time: a lock file beside the local SQLite state.

        A second run exits with one line naming the holder (or waits for it with `wait`). The lock is
        the kernel's (flock): a killed run releases it with its process, no stale file to clean up."""
        path = Path(self.settings.store.sqlite_path)
        name = path.name + (f".shard-{self.shard[0]}-of-{self.shard[1]}" if self.shard else "") + ".run.lock"
        lock_path = path.with_name(name)
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IngestError(f"{lock_path}: cannot create the run lock: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
                raise IngestError(f"{path}: another `ingest run` (pid {holder}) is using this store"
                                  + (f" shard {self.shard[0]}/{self.shard[1]}" if self.shard else "")
                                  + "; wait for it to finish (or use `ingest run --wait`)") from None
            try:  # the holder's pid, for the message a second run prints; the lock does not need it
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            except OSError:  # a full disk: the store says so, naming its file, when it is written
                pass
            yield
        finally:
            os.close(fd)  # releases the lock

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

    def retry_feed(self, url: str | None = None) -> int:
        """Reset the failure state of one feed (or all failing ones)."""
        from ingest.fetch import Fetcher
        from ingest.sources.poller import Poller

        with Fetcher(self.settings.fetch) as fetcher:
            poller = Poller(self.settings.polling, self.store, fetcher)
            targets = [url] if url else [s.url for s in self.store.list_feed_states()
                                         if s.status in ("backing_off", "failing", "gone")]
            return sum(1 for u in targets if poller.retry(u))

    def status(self) -> list[FeedStatus]:
        """Every configured feed, then feeds polled earlier that are no longer (or never were) configured."""
        states = {s.url: s for s in self.store.list_feed_states()}
        counts = self.store.article_counts_by_feed()
        queues = self.store.queue_summary()
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
                configured=feed.url in urls, resolved_url=resolved, **queues.get(feed.url, {}),
            ))
        return out

    # -- ingest ----------------------------------------------------------------------------------

    def run_once(self, progress: Progress | None = None, feeds: list[FeedConfig] | None = None,
                 wait: bool = False) -> RunReport:
        """One cycle under the run lock: poll, then store what is queued (see `ingest.pipeline`)."""
        with self.run_lock(wait):
            return self._run_once(progress, feeds)

    def _run_once(self, progress: Progress | None, feeds: list[FeedConfig] | None) -> RunReport:
        pipe = self.pipeline(progress)
        try:
            report = pipe.run_once(feeds if feeds is not None else self.feeds())
            for domain, blocks in report.reclean_blocks.items():
                if self.stopping.is_set():
                    break  # the daemon's background job or the next run re-cleans
                pipe.reclean(domain, blocks=blocks)
            self.check_updates(pipe)  # article re-checks now due (ingest.updates)
            if self._alerts is not None:  # one-shot run: rules on anything left pending, volume rules
                self._alerts.evaluate_backlog()  # checked, what is due sent, then return
                self._alerts.check_volume()
                self._alerts.drain(timeout=60)
            return report
        finally:
            pipe.close()

    # -- coverage (issue 19): backfill from sitemaps, article updates ------------------------------

    def backfill(self, source: str, since: datetime, until: datetime | None = None, limit: int | None = None,
                 alerts: bool = False, progress=None):
        """Ingest SOURCE's sitemap URLs dated in [since, until) (see `ingest.backfill`); resumable."""
        from ingest import backfill as bf

        src = bf.resolve_source(self.settings, self.store, feedlist.load_feeds(self.settings.feeds_file), source)
        pipe = self.pipeline(progress, alerts=alerts, updates=False)
        try:
            report = bf.backfill(self.settings, self.store, pipe, src, since, until, limit, progress)
            if alerts and self._alerts is not None:
                self._alerts.evaluate_backlog()
                self._alerts.drain(timeout=60)
            return report
        finally:
            pipe.close()

    def check_updates(self, pipe: Pipeline | None = None, now: datetime | None = None):
        """Do the article re-checks due by `now` (see `ingest.updates`); returns an UpdateReport."""
        from ingest.updates import UpdateChecker

        own = pipe is None
        pipe = pipe or self.pipeline()
        try:
            return UpdateChecker(pipe).run_due(now)
        finally:
            if own:
                pipe.close()

    def versions(self, article: Article) -> list[dict]:
        """Every version of a stored article, oldest first, the current one last."""
        from ingest.updates import article_versions

        return article_versions(self.store, article)

    def reclean(self, domain: str | None = None, progress: Progress | None = None) -> int:
        pipe = self.pipeline(progress, alerts=False)  # re-cleaned articles are not new: no alerts
        try:
            return pipe.reclean(domain)
        finally:
            pipe.close()

    def reindex(self, batch_size: int = 200, restart: bool = False):
        """Rebuild the token views (stems, compound parts) of every stored article from its stored text,
        resumably: yields (done, total) after each committed batch."""
        return self.store.reindex(batch_size=batch_size, restart=restart)

    def purge_raw(self) -> int:
        return self.store.purge_raw(utcnow() - timedelta(days=self.settings.extract.raw_retention_days))

    # -- retention and deletion ------------------------------------------------------------------

    def retention_plan(self) -> list[tuple[str, ArticleSelection]]:
        """(label, selection) per retention rule: one per `retention_by_source` entry, then the global
        `retention_days` for every other source."""
        st, now = self.settings.store, utcnow()
        plan = [(f"source {name}: older than {days} days",
                 ArticleSelection(older_than=now - timedelta(days=days), sources=[name]))
                for name, days in st.retention_by_source.items()]
        if st.retention_days:
            plan.append((f"older than {st.retention_days} days",
                         ArticleSelection(older_than=now - timedelta(days=st.retention_days),
                                          exclude_sources=list(st.retention_by_source))))
        return plan

    def prune(self, dry_run: bool = False) -> dict[str, int]:
        """Apply retention: articles past their age (with their raw pages, signatures and sightings),
        raw pages past `extract.raw_retention_days`, delivered ledger rows past `store.retention_days`,
        block sightings older than both the learning window and the raw-page retention. With dry_run,
        only the article counts (nothing is deleted)."""
        counts = {"articles": 0}
        for _label, selection in self.retention_plan():
            counts["articles"] += (self.store.count_selected(selection) if dry_run
                                   else self.store.delete_articles(selection))
        if dry_run:
            return counts
        ex, now = self.settings.extract, utcnow()
        counts["raw_pages"] = self.purge_raw()
        days = self.settings.store.retention_days
        keep_sightings = max(self.learned_boilerplate().window_days, ex.raw_retention_days)
        counts.update(self.store.prune_bookkeeping(
            ledger_before=now - timedelta(days=days) if days else None,
            sightings_before=now - timedelta(days=keep_sightings)))
        return counts

    # -- backend migration -----------------------------------------------------------------------

    def copy_store(self, to: str, progress: Progress | None = None, batch: int = 500) -> dict[str, int]:
        """Copy every stored article (enrichment and cluster included) and the alert ledger from this
        store into the `to` backend configured in the same settings. Idempotent and resumable: articles
        the target already holds are skipped, ledger rows are claimed once. Learned boilerplate is not
        copied; the target learns it again from new articles."""
        if to == self.settings.store.backend:
            raise IngestError(f"the store is already {to}; copy goes to the other backend")
        target_settings = self.settings.model_copy(deep=True)
        target_settings.store.backend = to  # type: ignore[assignment]
        target = open_store(target_settings.store)
        counts = {"articles": 0, "skipped": 0, "alerts": 0}
        try:
            pending: list[Article] = []

            def send() -> None:
                have = target.known_ids(a.id for a in pending)
                new = [a for a in pending if a.id not in have]
                if new:
                    target.upsert_articles(new)
                    flush = getattr(target, "flush_outbox", None)
                    if flush is not None:
                        flush()
                counts["articles"] += len(new)
                counts["skipped"] += len(pending) - len(new)
                if progress:
                    progress("article", len(pending))
                pending.clear()

            for article in self.store.iter_articles():
                pending.append(article)
                if len(pending) >= batch:
                    send()
            send()
            for record in self.store.iter_alerts():
                if target.claim_alert(record):
                    target.update_alert(record)
                    counts["alerts"] += 1
        finally:
            target.close()
        return counts

    # -- watchlists and places --------------------------------------------------------------------

    def watchlist(self):
        """config/entities.yaml as a Watchlist (empty without the file); errors name the file and key."""
        from ingest.enrich.entities import load_watchlist

        return load_watchlist(self.settings.entities_file)

    def retag(self, progress: Progress | None = None) -> int:
        """Apply the current watchlist and gazetteer to every stored article (after editing
        entities.yaml); only articles whose places or entities change are written. Returns that count."""
        from ingest.enrich.entities import tag_articles

        watchlist = self.watchlist()
        changed: list[Article] = []
        total = 0
        for article in self.store.iter_articles():
            before = (list(article.places), list(article.entities))
            tag_articles([article], watchlist)
            if (article.places, article.entities) != before:
                changed.append(article)
            if progress:
                progress("article", 1)
            if len(changed) >= 200:
                total += self.store.upsert_articles(changed)
                changed = []
        total += self.store.upsert_articles(changed) if changed else 0
        flush = getattr(self.store, "flush_outbox", None)
        if flush is not None:
            flush()
        return total

    # -- saved searches and dashboards (config/searches.yaml) -------------------------------------

    def saved_searches(self) -> list:
        from ingest import saved

        return saved.load(self.settings.searches_file)[0]

    def saved_dashboards(self) -> list:
        from ingest import saved

        return saved.load(self.settings.searches_file)[1]

    def saved_search(self, name: str):
        found = {s.name: s for s in self.saved_searches()}
        if name not in found:
            raise unknown_name("saved search", name, list(found), str(self.settings.searches_file))
        return found[name]

    def save_search(self, search) -> None:
        from ingest import saved

        saved.add(self.settings.searches_file, "searches", search)

    def save_dashboard(self, dashboard) -> None:
        from ingest import saved

        saved.add(self.settings.searches_file, "dashboards", dashboard)

    def remove_saved(self, name: str, dashboard: bool = False) -> bool:
        from ingest import saved

        return saved.remove(self.settings.searches_file, "dashboards" if dashboard else "searches", name)

    def run_saved(self, name: str, limit: int = 50, offset: int = 0) -> SearchResult:
        """The saved search's current hits (its relative date window counted from now)."""
        return self.store.search(self.saved_search(name).request(limit=limit, offset=offset))

    def saved_to_rule(self, name: str, notify: list[str] | None = None) -> str:
        """Append an alert rule with the saved search's query and filters to rules.yaml (the rule gets
        the search's name); validated like every rule, comments in rules.yaml kept."""
        from ingest.alerts.rules import append_rule

        search = self.saved_search(name)
        append_rule(self.settings.rules_file, name, search.query, search.description, notify=notify or [],
                    sources=search.sources, languages=search.languages, tags=search.tags)
        return name

    # -- operations ------------------------------------------------------------------------------

    @property
    def heartbeat_file(self) -> Path:
        """Touched by the daemon every minute; `ingest health` reads its age."""
        return Path(str(self.settings.store.sqlite_path) + ".heartbeat")

    def beat(self) -> None:
        self.heartbeat_file.touch()

    def health(self, max_age: float = 300.0) -> list[str]:
        """Problems that make this ingester unhealthy (empty when healthy): the store cannot be read, or a
        daemon's heartbeat is older than `max_age` seconds."""
        import time

        problems = []
        try:
            self.store.count_articles()
        except Exception as exc:  # noqa: BLE001 - any failure to read is the answer here
            problems.append(f"store: {exc}")
        beat = self.heartbeat_file
        if beat.exists():
            age = time.time() - beat.stat().st_mtime
            if age > max_age:
                problems.append(f"{beat}: daemon heartbeat {age:.0f} s old (more than {max_age:.0f} s)")
        return problems

    def backup(self, target: Path) -> int:
        """An online copy of the SQLite file (the whole store on SQLite; the local state on Elasticsearch)."""
        from ingest.store.sqlite import SQLiteStore

        target = Path(target)
        if target.exists():
            raise IngestError(f"{target}: exists; choose a new file (a backup never overwrites)")
        source = Path(self.settings.store.sqlite_path)
        if not source.exists():
            raise IngestError(f"{source}: no such store")
        store = SQLiteStore(str(source))
        try:
            return store.backup(target)
        finally:
            store.close()

    def unconfigured_feeds(self) -> list[str]:
        """Feeds with polling state in the store that are no longer in feeds.yaml (removed, or a demo's)."""
        configured = {f.url for f in feedlist.load_feeds(self.settings.feeds_file)}
        return [s.url for s in self.store.list_feed_states() if s.url not in configured]

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
            done = self.store.forget_feed(url)
            totals["feeds"] += done["feed_state"]
            totals["entries"] += done["entries"]
            totals["raw_pages"] += done["raw_pages"]
        return totals

    def delete(self, ids: list[str] | None = None, sources: list[str] | None = None, dry_run: bool = False) -> int:
        """Delete articles by id (unique prefixes allowed) or by source name/domain."""
        full_ids = [self.show(i).id for i in ids or []]  # resolves prefixes; unknown or ambiguous ids raise
        if not full_ids and not sources:
            raise IngestError("nothing to delete: give article ids or --source NAME")
        selection = ArticleSelection(ids=full_ids, sources=sources or [])
        return self.store.count_selected(selection) if dry_run else self.store.delete_articles(selection)

    # -- read ------------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20, **filters) -> SearchResult:
        return self.store.search(SearchRequest(query=query, limit=limit, **filters))

    def show(self, article_id: str) -> Article:
        article = self.store.get_article(article_id)
        if article is None:
            candidates = self.store.ids_with_prefix(article_id.lower(), limit=6)
            if len(candidates) > 1:
                shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
                raise IngestError(f"{article_id!r} is ambiguous: it starts {len(candidates)}"
                                  f"{'+' if len(candidates) > 5 else ''} ids ({shown}); give more characters")
            raise IngestError(f"no article with id {article_id!r} (ids are shown by `ingest search`)")
        return article

    def story(self, article: Article, limit: int = 50) -> list[Article]:
        """The other copies of this article's syndication cluster: the original first, then newest first."""
        if not article.cluster_id:
            return []
        hits = self.store.search(SearchRequest(clusters=[article.cluster_id], sort="date", limit=limit + 1)).hits
        found = {a.id: a for a in self.store.get_articles([h.id for h in hits if h.id != article.id])}
        others = [found[h.id] for h in hits if h.id in found]
        return [a for a in others if a.is_original] + [a for a in others if not a.is_original]

    def extract_file(self, path: Path, url: str | None = None) -> Extracted:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IngestError(f"{path}: cannot read: {exc.strerror}") from None
        from ingest.extract import PageTooComplex, extract_article

        site = self.site_profiles().get(domain_of(url)) if url else None
        try:
            ex = extract_article(data, url, self.settings.extract, site)
        except PageTooComplex as exc:
            raise IngestError(f"{path}: {exc}") from None
        # the same language detection as the pipeline: the text, reconciled with the page's declaration
        from ingest.enrich import declared_language, reconcile_language

        ex.language = reconcile_language(ex.text or ex.title or "", ex.language or declared_language(data), None,
                                         self.settings.enrich.min_detect_chars)
        return ex

    def learned_boilerplate(self) -> LearnedBoilerplate:
        """Learned per-site boilerplate over this store: the threshold, window and is-learned rule."""
        from ingest.extract.learned import LearnedBoilerplate

        return LearnedBoilerplate(self.settings.extract, self.store)

    def site_blocks(self, domain: str) -> list[BlockStat]:
        """The site's repeated blocks counted in the learning window (`learned_boilerplate().is_learned`
        tells which are learned)."""
        return self.store.block_stats(domain, since=self.learned_boilerplate().since())

    def set_block(self, domain: str, fingerprint: str, status: str | None) -> bool:
        return self.store.set_block_status(domain, fingerprint, status)
