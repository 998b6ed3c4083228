"""The refresh flow, top to bottom: poll feeds -> queue new entries -> fetch pages -> extract/enrich -> store -> alerts.

This module holds only the flow: what runs when, on which thread or process, and what is written in
which transaction. The stages own their logic: polling and the queue's entries in `ingest.sources`,
politeness in `ingest.fetch`, cleaning and learned boilerplate in `ingest.extract`
(`extract/learned.py`: which blocks a site has learned, learning from a stored batch, what to
re-clean), per-article analysis, access and source naming in `ingest.enrich.analysis`, story
clusters in `ingest.enrich.clusters`, stories (follow-ups across days) in `ingest.enrich.stories`, the alert rules behind the `on_stored` hook in `ingest.alerts`.
The code reads in the order below; re-cleaning (stored raw pages -> extract -> enrich -> store) is
the last section: it runs in the worker pool when one is running (after a cycle, in the daemon).

One `Pipeline` per process, with one extraction pool (`ingest.workers`), started on first use.

1. Poll (`_poll_all`): every feed concurrently, interleaved by host. A poll that finds new entries
   saves the feed's state (validators, body hash) and queues the entries in ONE transaction of the
   local SQLite state (`LocalState.save_poll`, whatever the index).
2. Take the queue (`_queued_jobs`): the due queued entries of the polled feeds in queue order,
   leftovers of an interrupted run and page retries first, at most `polling.max_entries_per_poll`
   per feed per cycle (the rest stay queued for the next cycles, never dropped). One article
   reached through several feeds is one job, fetched once.
3. Fetch (`_dispatch`): one queue per host, served round-robin (`HostQueues`): a page is handed to
   a fetch thread only when its host may be asked, so one slow or strict host holds up nobody
   and N hosts give N times one host's polite rate. At most `window` pages are in flight.
4. Extract and enrich each page in the worker pool as soon as it arrives: a page over
   `extract.time_limit` has its worker replaced; a crash or panic fails that page only.
5. Store (`_store_batch`) in batches of `STORE_BATCH`: in ONE local-state transaction
   (`state.batch()`) the articles get their story clusters and stories and are written (SQLite index: same file
   and connection) or put in the outbox (Elasticsearch/OpenSearch: sent after the commit) with their
   pending-alert records, their entries are marked seen and taken off the queue, failed pages are
   rescheduled or recorded dead, and the pages' paragraphs are counted for learned boilerplate (what a site newly learned is in the report, for
   the caller to re-clean). Then the alert hook (`on_stored`) sees the batch.

Crash safety: a feed's validators advance only together with its queued entries, and an entry
leaves the queue only together with its stored article, so a process killed anywhere (SIGKILL
included) loses nothing and stores nothing twice (article writes are upserts keyed on the
normalized URL); only the pages in flight at that moment are fetched again.

Page failures: transient ones (timeouts, connection errors, 5xx, 429) keep the entry queued and
are retried with exponential backoff (`polling.page_retry_base`, doubling, at most
`page_retry_max`, honouring Retry-After) up to `polling.page_retries` times, independently of the
feed; meanwhile the feed's own text, if any, is stored as a stub that the page replaces once it
succeeds. Dead pages (404/410/451) store no article: the entry is recorded dead with its reason.
Other refusals (401/403, too large, blocked) use the feed's text or are recorded dead too.

Errors: an error in one feed's poll or one page's processing is recorded on that feed or entry
and the run goes on. Only a store that cannot be written (`StoreError`, e.g. a full disk) stops
the run; what was not stored stays queued.

Stopping (`stop`, set on SIGTERM/SIGINT): no new fetch starts, the batch being written is
finished, the rest stays queued for the next run.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ingest.config import Settings
from ingest.enrich.analysis import (
    AccessJudge,
    Analysis,
    analyze,
    article_title,
    bare_analysis,
    merged_tags,
    reanalyze,
    source_name,
)
from ingest.enrich.clusters import StoryClusters
from ingest.enrich.dates import published_with_precision
from ingest.enrich.entities import tag_articles
from ingest.enrich.keywords import extract_keywords
from ingest.enrich.language import declared_language, reconcile_language
from ingest.enrich.stories import Stories
from ingest.errors import FetchError, StoreError
from ingest.extract import SiteProfile, extract_article, extract_feed_content
from ingest.extract.learned import LearnedBoilerplate
from ingest.fetch import Fetcher, host_key
from ingest.fetch.politeness import HostQueues
from ingest.models import Article, Extracted, FeedConfig, FeedEntry, PageOutcome, PendingEntry, utcnow
from ingest.sources.poller import Poller, PollOutcome, PollStatus, interleave_by_host
from ingest.sources.urls import domain_of, strip_tracking
from ingest.store import Backends, SearchRequest
from ingest.workers import WorkerPool, WorkerStopped

log = logging.getLogger("ingest.pipeline")
DEAD_STATUSES = {404, 410, 451}
STORE_BATCH = 50          # articles per store write (and per alert evaluation)
STOP_GRACE = 3.0          # seconds a stopping run still collects pages already being extracted
WINDOW_PER_WORKER = 32    # pages fetched but not yet stored, per extraction process
RECLEAN_AHEAD = 4         # kept pages handed to each worker ahead of the one being written back
Progress = Callable[[str, int], None]

__all__ = ["Pipeline", "Progress", "RunReport"]


class PageFailure(StrEnum):
    """Why a page gave no article, as far as retrying is concerned."""

    TRANSIENT = "transient"  # timeout, connection error, 5xx, 429: try again later
    REFUSED = "refused"      # 400/401/403, too large, blocked, extraction failed: the feed's text or nothing
    DEAD = "dead"            # 404/410/451: no article


def classify_page_error(exc: FetchError) -> PageFailure:
    if exc.status in DEAD_STATUSES:
        return PageFailure.DEAD
    if exc.kind in ("network", "timeout", "deferred") or (exc.status is not None
                                                         and (exc.status >= 500 or exc.status == 429)):
        return PageFailure.TRANSIENT
    return PageFailure.REFUSED


@dataclass(slots=True)
class PageJob:
    """One queued entry (plus the same article's entries from other feeds) on its way to an article."""

    pending: PendingEntry
    article_id: str
    also: list[PendingEntry] = field(default_factory=list)  # the same article through other feeds
    index: int = 0
    html: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    validators: tuple[str | None, str | None] = (None, None)  # the page's (ETag, Last-Modified): update re-checks
    error: str | None = None
    failure: PageFailure | None = None
    retry_after: float | None = None
    extracted: Extracted | None = None
    analysis: Analysis | None = None
    outcome: PageOutcome | None = None
    duplicate_of: str | None = None  # the same text is stored under another URL of the site
    skipped: bool = False            # not processed (the run is stopping): stays queued as it was

    @property
    def entry(self) -> FeedEntry:
        return self.pending.entry

    @property
    def feed_name(self) -> str:
        return self.pending.feed_name

    @property
    def entries(self) -> list[PendingEntry]:
        return [self.pending, *self.also]


@dataclass(slots=True)
class RunReport:
    polls: list[PollOutcome] = field(default_factory=list)
    stored: int = 0
    fallbacks: int = 0
    page_errors: list[str] = field(default_factory=list)
    duplicates: int = 0
    retrying: int = 0     # pages that failed for now and wait in the retry queue
    dead: int = 0         # entries recorded dead (no article)
    left_queued: int = 0  # entries not processed this cycle (cap per feed, or stopped): next cycle
    reclean_blocks: dict[str, set[str]] = field(default_factory=dict)  # domain -> newly learned blocks

    @property
    def new_entries(self) -> int:
        return sum(p.new_entries for p in self.polls)


_WORKER_SETTINGS: Settings | None = None  # set once per worker process by `_init_worker`


def _init_worker(settings: Settings) -> None:
    """Worker start: keep the settings (sent once, not with every page) and load the models now,
    while the feeds are polled, rather than on the first article."""
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    try:
        reconcile_language("warm up the language model with a sentence", None, None, 0)
        extract_keywords("Warm up the keyword extractor. Warm up.", "en", [], 1)
    except Exception:  # noqa: BLE001 - only a warm-up: the first article loads them instead
        log.debug("worker warm-up failed", exc_info=True)


@dataclass(slots=True)
class PageInput:
    """What a worker needs to extract and analyse one fetched page (sent to the worker process)."""

    html: bytes
    url: str
    site: SiteProfile | None
    tags: list[str]  # the feed entry's categories
    content_type: str | None
    entry_title: str | None
    entry_language: str | None
    entry_summary: str | None = None


def _extract_job(page: PageInput, settings: Settings | None = None) -> tuple[Extracted, Analysis]:
    """Runs in a worker process (module-level so it pickles): extraction and per-article enrichment."""
    settings = settings or _WORKER_SETTINGS
    assert settings is not None, "worker not initialised"
    ex = extract_article(page.html, page.url, settings.extract, page.site, page.tags, page.content_type,
                         feed_title=page.entry_title, feed_summary=page.entry_summary)
    ex.language = ex.language or declared_language(page.html)  # <html lang>: trafilatura does not report it
    title = article_title(ex, page.entry_title, page.url)
    return ex, analyze(ex, title, page.entry_language, merged_tags(ex.tags, page.tags), settings.enrich)


def failure_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class StoryReports:
    """The stored reports story assignment starts from (`ingest.enrich.stories.StoryLedger`): the
    latest `limit` articles published since `since`, through the index's own search (both backends)."""

    def __init__(self, store: Backends) -> None:
        self.index = store.index

    def story_candidates(self, since: datetime, limit: int) -> list[Article]:
        hits = self.index.search(SearchRequest(since=since, sort="date", limit=limit)).hits
        return self.index.get_articles([h.id for h in hits])


MALLOC_ARENAS = 2  # glibc's default is 8 per core: each fetch thread's freed pages stay in its own arena
MMAP_THRESHOLD = 128 * 1024  # bytes: a page-sized buffer is mapped and unmapped, never kept in a heap


@functools.cache
def tune_malloc() -> bool:
    """glibc malloc settings for a long cycle (once per process; nothing when MALLOC_ARENA_MAX or
    MALLOC_MMAP_THRESHOLD_ is set, nor off glibc).

    Every article passes through the main process as ~170 KiB of bytes and its decoded text. glibc
    raises its mmap threshold to the largest block freed so far, so after the first page those
    buffers come from the heaps, where the freed ones stay scattered between small objects that live
    on: the peak RSS of a 10,000-article cycle grew with every thousand articles though Python held
    little of it (bench/pipeline.py). A fixed threshold keeps them mapped (returned on free), and two
    arenas instead of one per thread keep the rest together. The application sets this when it builds
    its pipeline."""
    if os.environ.get("MALLOC_ARENA_MAX") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-8, MALLOC_ARENAS) and libc.mallopt(-3, MMAP_THRESHOLD))  # M_ARENA_MAX, M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


class Pipeline:
    def __init__(self, settings: Settings, store: Backends, fetcher: Fetcher | None = None,
                 site_profiles: dict[str, SiteProfile] | None = None, progress: Progress | None = None,
                 on_stored: Callable[[list[Article]], None] | None = None, stop: threading.Event | None = None,
                 watchlist=None):
        tune_malloc()
        self.settings = settings
        self.watchlist = watchlist  # config/entities.yaml (ingest.enrich.entities.Watchlist), or None
        self.store = store  # both seams: the few writes that touch both (cluster changes)
        self.state = store.state  # feed state, entries, the queue, raw pages, signatures
        self.index = store.index  # articles, search, learned blocks
        self.fetcher = fetcher or Fetcher(settings.fetch)
        self.poller = Poller(settings.polling, store, self.fetcher)
        self.site_profiles = site_profiles or {}
        self.progress = progress or (lambda kind, n: None)
        self.on_stored = on_stored
        self.stop = stop or threading.Event()
        self._store_failed = threading.Event()  # a poll could not write the store: skip the other polls
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self.learned = LearnedBoilerplate(settings.extract, store.index)  # extract: learned boilerplate per site
        self.clusters = StoryClusters(settings.enrich, store)       # enrich: copies of one story
        self.stories = Stories(settings.enrich, StoryReports(store))  # enrich: follow-ups across days
        self.access = AccessJudge(store.index.source_quality)             # enrich: free or teaser by the median
        self._lock = threading.Lock()
        self._inflight: set[str] = set()  # article ids being processed (daemon: several jobs at once)
        # Called inside each batch's transaction with (jobs written, articles stored): the update
        # re-check schedule (ingest.updates) is written with the articles it watches.
        self.batch_hooks: list[Callable[[list[PageJob], list[Article]], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._pool_lock:
            if self._pool:
                self._pool.shutdown(wait=True, kill_running=True)
                self._pool = None
        self.fetcher.close()

    @property
    def window(self) -> int:
        """Pages fetched and not yet stored, at most: two batches (one written while the next fills) or more."""
        return max(2 * STORE_BATCH, WINDOW_PER_WORKER * self.workers)

    @property
    def workers(self) -> int:
        return self.settings.extract.workers or os.cpu_count() or 1

    def _extract_pool(self) -> WorkerPool | None:
        """The one extraction pool of this pipeline, started (its models loading) on first use."""
        if self.workers <= 1:
            return None
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers, _init_worker, (self.settings,), self.settings.extract.time_limit)
            return self._pool

    # -- the flow --------------------------------------------------------------------------------

    def run_once(self, feeds: list[FeedConfig]) -> RunReport:
        """Poll every enabled feed once, then store what is queued for them (new, left over, retries)."""
        self.access.reset()  # per-source median lengths (teaser detection) are read afresh each cycle
        report = RunReport()
        feeds = [f for f in feeds if f.enabled]
        self._poll_all(feeds, report)
        self._process(self._queued_jobs([f.url for f in feeds]), report)
        self._count_left(report, {f.url for f in feeds})
        return report

    def _count_left(self, report: RunReport, feed_urls: set[str]) -> None:
        """Entries still queued for the next cycle (beyond the per-feed cap, or not reached before a stop)."""
        summary = self.state.queue_summary()
        report.left_queued = sum(v["queued"] - v["retrying"] for url, v in summary.items() if url in feed_urls)

    def poll_and_process(self, feed: FeedConfig) -> RunReport:
        """One scheduled job: poll one feed, store what is queued for it. Raises only StoreError."""
        report = RunReport()
        report.polls.append(self._poll_safely(feed))
        self._process(self._queued_jobs([feed.url]), report)
        return report

    def process_queue(self, feed_urls: Iterable[str] | None = None) -> RunReport:
        """Store what is queued and due (left by an interrupted run, page retries), without polling."""
        report = RunReport()
        self._process(self._queued_jobs(list(feed_urls) if feed_urls is not None else None), report)
        return report

    def _poll_all(self, feeds: list[FeedConfig], report: RunReport) -> None:
        outcomes: dict[str, PollOutcome] = {}
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(feeds)))) as polls:
            try:
                # Round-robin over hosts: the pollers do not all queue behind one host's politeness gap.
                for outcome in polls.map(self._poll_safely, interleave_by_host(feeds)):
                    outcomes[outcome.feed.url] = outcome
                    if outcome.new_entries and len(outcomes) < len(feeds):
                        self._extract_pool()  # entries to fetch: the workers start while the rest is polled
                    self.progress("feed", 1)
            except StoreError:
                self._store_failed.set()  # the store cannot be written: the remaining polls are skipped
                raise
        report.polls = [outcomes[f.url] for f in feeds if f.url in outcomes]  # in feeds.yaml order
        self.poller.finish_cycle(report.polls)

    def _poll_safely(self, feed: FeedConfig) -> PollOutcome:
        if self.stop.is_set() or self._store_failed.is_set():
            return PollOutcome(feed=feed, status=PollStatus.SKIPPED)
        return self.poller.poll(feed)

    def _queued_jobs(self, feed_urls: list[str] | None) -> list[PageJob]:
        """Due queued entries of these feeds (all feeds: None), one job per article, interleaved by host.

        Feeds in the given order, each feed's entries in queue order: which copy of a syndicated story
        is seen first does not depend on which poll finished first."""
        rank = {url: i for i, url in enumerate(feed_urls or [])}
        rows = self.state.pending_entries(due=utcnow(), per_feed=self.settings.polling.max_entries_per_poll)
        if feed_urls is not None:
            rows = sorted((r for r in rows if r.feed_url in rank), key=lambda r: (rank[r.feed_url], r.seq))
        rows = self._settle_known(rows)
        by_id: dict[str, PageJob] = {}
        with self._lock:
            for row in rows:
                if row.article_id in self._inflight:
                    continue
                if row.article_id in by_id:  # one article, several feeds: fetched once, all feeds kept
                    by_id[row.article_id].also.append(row)
                else:
                    by_id[row.article_id] = PageJob(pending=row, article_id=row.article_id)
            self._inflight.update(by_id)
        jobs = interleave_jobs(list(by_id.values()))
        for i, job in enumerate(jobs):
            job.index = i
        return jobs

    def _settle_known(self, rows: list[PendingEntry]) -> list[PendingEntry]:
        """Rows whose article was stored meanwhile through another feed (the daemon polls feeds in
        parallel) are taken off the queue without a fetch; the rest are returned. A stub waiting for
        its page is not settled: its own keys are known."""
        with self._lock:
            candidates = [r for r in rows if not r.stub and r.article_id not in self._inflight]
        known = self.state.known_entries(k for r in candidates for k in r.keys)
        settled = [r for r in candidates if any(k in known for k in r.keys)]
        if not settled:
            return rows
        with self.state.batch():
            for r in settled:
                target = next(known[k] for k in r.keys if k in known)
                self.state.record_entries(r.entry.feed_url, [(k, target) for k in r.keys if k not in known])
                self.index.add_feed_url(target, r.entry.feed_url)
            self.state.settle_entries(settled, [], [])
        gone = {id(r) for r in settled}
        return [r for r in rows if id(r) not in gone]

    def _process(self, jobs: list[PageJob], report: RunReport) -> None:
        try:
            for batch in self._fetched_and_extracted(jobs):
                self._store_batch(batch, report)
        finally:
            with self._lock:
                self._inflight.difference_update(j.pending.article_id for j in jobs)

    # -- fetch and extract: a stream ------------------------------------------------------------

    def _fetched_and_extracted(self, jobs: list[PageJob]) -> Iterator[list[PageJob]]:
        """Fetch and extract as a stream; yield the finished jobs in batches of `STORE_BATCH`.

        A fetched page goes straight to the extraction pool, so fetching, extraction and the
        caller's writes overlap. At most `window` pages are fetched and not yet stored (what a crash
        would fetch again). Jobs come back in completion
        order (a slow host never holds up the rest); each batch is sorted into queue order. When
        `stop` is set, what finishes within `STOP_GRACE` is yielded and the rest is left queued.
        """
        if not jobs:
            return
        pool = self._extract_pool()
        window = threading.Semaphore(self.window)
        done: queue.SimpleQueue[PageJob] = queue.SimpleQueue()
        halt = threading.Event()
        dispatcher = threading.Thread(target=self._dispatch, args=(jobs, pool, window, done, halt),
                                      name="fetch-dispatch", daemon=True)
        dispatcher.start()
        batch: list[PageJob] = []
        received = 0
        stop_by = None
        try:
            while received < len(jobs):
                if self.stop.is_set():  # collect what is being extracted for a moment, then leave the rest queued
                    stop_by = stop_by or time.monotonic() + STOP_GRACE
                    if time.monotonic() > stop_by:
                        break
                try:
                    job = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                received += 1
                if job.html and job.extracted is None and job.failure is None and pool is None and not job.skipped:
                    self._extract_here(job)
                batch.append(job)
                if len(batch) >= STORE_BATCH:
                    yield sorted(batch, key=lambda j: j.index)
                    release(window, len(batch))  # stored: room for as many new pages
                    batch = []
            if batch:
                yield sorted(batch, key=lambda j: j.index)
        finally:
            halt.set()
        for job in jobs[received:] if received < len(jobs) else []:
            job.skipped = job.skipped or job.outcome is None

    def _dispatch(self, jobs: list[PageJob], pool: WorkerPool | None, window: threading.Semaphore,
                  done: queue.SimpleQueue[PageJob], halt: threading.Event) -> None:
        """Hand pages to fetch threads, one host queue after the other, each when its host may be asked."""
        fetch = self.settings.fetch
        hosts = HostQueues(fetch.per_host_concurrency, fetch.per_host_min_interval,
                           overrides=self.fetcher.politeness)
        for job in jobs:
            hosts.put(host_key(job.entry.link), job)
        free = threading.Semaphore(fetch.concurrency)
        work: queue.SimpleQueue[tuple[str, PageJob] | None] = queue.SimpleQueue()
        threads = [threading.Thread(target=self._fetch_worker, args=(work, free, hosts, pool, done), daemon=True,
                                    name=f"fetch-{i}") for i in range(min(fetch.concurrency, len(jobs)))]
        for t in threads:
            t.start()
        try:
            while len(hosts):
                if self.stop.is_set() or halt.is_set():
                    for job in hosts.drain():
                        job.skipped = True
                        done.put(job)
                    return
                if not window.acquire(timeout=0.2):
                    continue
                if not free.acquire(timeout=0.2):
                    window.release()
                    continue
                host, item, wait = hosts.take()
                if host is None or not isinstance(item, PageJob):  # no host may be asked yet
                    free.release()
                    window.release()
                    time.sleep(min(wait, 0.02))
                    continue
                work.put((host, item))
        finally:
            for _ in threads:
                work.put(None)

    def _fetch_worker(self, work: queue.SimpleQueue[tuple[str, PageJob] | None], free: threading.Semaphore,
                      hosts: HostQueues, pool: WorkerPool | None, done: queue.SimpleQueue[PageJob]) -> None:
        while (item := work.get()) is not None:
            host, job = item
            try:
                self._fetch_page(job)
            finally:
                hosts.finished(host)
                free.release()
            try:
                if job.html and job.failure is None and pool is not None:
                    future = self._submit_extraction(pool, job)
                    if future is not None:
                        future.add_done_callback(functools.partial(self._extracted, job, done=done))
                        continue
            except Exception as exc:  # noqa: BLE001 - never lose a job: it comes back with its error
                job.error, job.failure = f"{job.entry.link}: {failure_text(exc)}", PageFailure.REFUSED
            done.put(job)

    def _fetch_page(self, job: PageJob) -> None:
        if self.stop.is_set():
            job.skipped = True
            return
        if not self.fetcher.profiles.fetch_pages(job.pending.feed_url, job.entry.link):
            self.progress("page", 1)
            return  # the feed's profile says `fetch_pages: false`: its own text is the article (`_fallback`)
        try:
            resp = self.fetcher.get(job.entry.link, check_robots=True, feed=job.pending.feed_url)
            job.html, job.final_url = resp.content, resp.final_url
            job.content_type = resp.header("content-type")
            job.validators = (resp.header("etag"), resp.header("last-modified"))
        except FetchError as exc:
            job.error, job.failure, job.retry_after = str(exc), classify_page_error(exc), exc.retry_after
        except Exception as exc:  # noqa: BLE001 - a bug or a hostile URL fails this entry, not the run
            log.warning("fetching %s failed: %s", job.entry.link, failure_text(exc))
            job.error, job.failure = f"{job.entry.link}: {failure_text(exc)}", PageFailure.REFUSED
        finally:
            self.progress("page", 1)

    def _extracted(self, job: PageJob, future: Future, done: queue.SimpleQueue[PageJob]) -> None:
        try:
            if future.cancelled():
                job.skipped = True
            else:
                job.extracted, job.analysis = future.result()
        except WorkerStopped:
            job.skipped = True  # the run is stopping: the entry stays queued as it was
        except Exception as exc:  # noqa: BLE001 - worker timeout, crash or panic: this page only
            log.warning("extraction of %s failed: %s", job.entry.link, exc)
            job.error, job.failure = f"{job.entry.link}: extraction failed: {exc}"[:300], PageFailure.REFUSED
        done.put(job)

    def _site(self, url: str) -> SiteProfile:
        """The site's config profile with the blocks it has learned: what the walker removes there."""
        domain = domain_of(url)
        return self.learned.site_profile(domain, self.site_profiles.get(domain))

    def _page_input(self, job: PageJob) -> PageInput:
        return PageInput(job.html or b"", job.final_url or job.entry.link, self._site(job.entry.link),
                         job.entry.categories, job.content_type, job.entry.title, job.entry.language,
                         job.entry.summary)

    def _submit_extraction(self, pool: WorkerPool, job: PageJob) -> Future | None:
        try:
            return pool.submit(_extract_job, self._page_input(job))
        except RuntimeError:  # the pool is shutting down (stop): extract here rather than lose the page
            self._extract_here(job)
            return None

    def _extract_here(self, job: PageJob) -> None:
        try:
            job.extracted, job.analysis = _extract_job(self._page_input(job), settings=self.settings)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - panics in native code are BaseExceptions
            log.warning("extraction of %s failed: %s", job.entry.link, failure_text(exc))
            job.error, job.failure = f"{job.entry.link}: extraction failed: {failure_text(exc)}", PageFailure.REFUSED

    # -- store -----------------------------------------------------------------------------------

    def _store_batch(self, jobs: list[PageJob], report: RunReport) -> None:
        """Decide each job's outcome, then write articles, seen entries and the queue in one transaction."""
        jobs = [j for j in jobs if not j.skipped]
        if not jobs:
            return
        for job in jobs:
            self._fallback(job)
            job.outcome = self._decide(job)
            if self._wants_article(job):
                self._analyse_feed_text(job)
        writing = [j for j in jobs if self._wants_article(j)]
        same = self.index.find_same_bodies([(domain_of(j.entry.link), j.analysis.content_hash) for j in writing
                                            if j.analysis is not None and j.analysis.content_hash])
        articles = [a for a in (self._to_article(j, report, same) for j in writing) if a is not None]
        tag_articles(articles, self.watchlist)  # places and watchlist entities
        self.clusters.load()  # the window's signatures read (and old ones made again) outside the transaction
        with self.state.batch():  # articles, entries seen, the queue and pending alert evaluations: one commit
            self.clusters.assign(articles, {j.article_id: j.analysis.signature for j in writing if j.analysis})
            self.stories.assign(articles)
            self.index.upsert_articles(articles, alert_pending=self.on_stored is not None)  # rules: alerts/engine
            self._remember(writing, articles)
            for hook in self.batch_hooks:
                hook(writing, articles)
            self._settle(jobs)
            self._record_page_errors(jobs)
            learned = self.learned.learn((domain_of(j.entry.link), j.article_id, j.extracted) for j in writing)
        report.stored += len(articles)
        report.fallbacks += sum(1 for a in articles if a.extraction != "page")
        report.page_errors += [j.error for j in jobs if j.error]
        report.retrying += sum(1 for j in jobs if j.outcome is PageOutcome.RETRY)
        report.dead += sum(1 for j in jobs if j.outcome is PageOutcome.DEAD)
        for domain, fps in learned.items():
            report.reclean_blocks.setdefault(domain, set()).update(fps)
        for job in jobs:  # stored (the raw page kept by the store when configured): free the memory,
            job.html = job.extracted = job.analysis = None  # a cycle may hold thousands of these jobs
        if self.on_stored and articles:
            self.on_stored(articles)

    def _fallback(self, job: PageJob) -> None:
        """Use the feed's own content when the page failed or yielded less than it."""
        page = job.extracted
        if page is not None and page.blocked:  # a bot challenge or consent wall is an error, never the article
            job.error = job.error or f"blocked page: {page.blocked}"
            job.failure = job.failure or PageFailure.REFUSED  # like 401/403: the feed's text, else dead
        min_chars = self.settings.extract.fallback_min_chars
        if page is not None and page.method == "page" and len(page.text) >= min_chars:
            return
        feed_html = job.entry.content or job.entry.summary
        if feed_html:
            feed = extract_feed_content(feed_html, job.entry.link, self.settings.extract,
                                        self._site(job.entry.link), job.entry.categories)
            if feed.text and (page is None or len(feed.text) > len(page.text)):
                if page is not None:  # keep the page's metadata, take the feed's text
                    feed.title, feed.author = page.title or feed.title, page.author or feed.author
                    feed.published, feed.tags = page.published or feed.published, page.tags or feed.tags
                job.extracted, job.analysis = feed, None
                return
        if job.extracted is None:
            job.extracted = Extracted(text="", method="none", tags=list(job.entry.categories))
            job.analysis = None

    def _decide(self, job: PageJob) -> PageOutcome:
        """Stored, retried later, or dead: see the module docstring."""
        has_text = job.extracted is not None and job.extracted.method == "feed"
        if job.failure is None:
            return PageOutcome.STORED
        if job.failure is PageFailure.DEAD:
            return PageOutcome.DEAD
        if job.failure is PageFailure.REFUSED:
            return PageOutcome.STORED if has_text else PageOutcome.DEAD
        if job.pending.attempts < self.settings.polling.page_retries:
            return PageOutcome.RETRY
        return PageOutcome.STORED if has_text or job.pending.stub else PageOutcome.DEAD

    @staticmethod
    def _wants_article(job: PageJob) -> bool:
        """An article is written for a stored outcome, and for a retry when the feed's text makes a first stub."""
        if job.outcome is PageOutcome.STORED:
            return job.failure is None or not job.pending.stub  # a stub once stored stays until the page comes
        return (job.outcome is PageOutcome.RETRY and not job.pending.stub
                and job.extracted is not None and job.extracted.method == "feed")

    def _analyse_feed_text(self, job: PageJob) -> None:
        """Feed text that replaced the page (see `_fallback`) is analysed here, not in a worker."""
        ex = job.extracted
        if ex is not None and job.analysis is None:
            title, tags = self._title_and_tags(job, ex)
            try:
                job.analysis = analyze(ex, title, job.entry.language, tags, self.settings.enrich)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - a panic in a native library: store without keywords
                log.warning("enrichment of %s failed: %s", job.entry.link, failure_text(exc))
                job.analysis = bare_analysis(ex, job.entry.language)

    @staticmethod
    def _title_and_tags(job: PageJob, ex: Extracted) -> tuple[str, list[str]]:
        return article_title(ex, job.entry.title, job.entry.link), merged_tags(ex.tags, job.entry.categories)

    def _to_article(self, job: PageJob, report: RunReport, same_bodies: dict[tuple[str, str], str]
                    ) -> Article | None:
        """The stored record from one extraction and its analysis (done in the worker, or here for feed
        text). `same_bodies` maps (site, content hash) to the article already holding that text; this
        batch's articles are added to it, so two URLs with one body in one batch are stored once too."""
        ex, entry, a = job.extracted, job.entry, job.analysis
        if ex is None or a is None:
            return None
        if ex.blocked and ex.method == "none":
            return None  # nothing but a challenge or consent page (recorded as the page's error)
        domain = domain_of(entry.link)
        title, tags = self._title_and_tags(job, ex)
        if a.content_hash:
            same = same_bodies.setdefault((domain, a.content_hash), job.article_id)
            if same != job.article_id:  # same text under another URL of this site
                report.duplicates += 1
                job.duplicate_of = same
                return None
        published, precision = published_with_precision(ex.published, ex.published_precision,
                                                        entry.published or entry.updated)
        source = source_name(job.feed_name, ex.sitename, domain)
        return Article(
            id=job.article_id, url=strip_tracking(entry.link), fetched_url=job.final_url or entry.link, title=title,
            body=ex.text, source=source,
            domain=domain, feed_urls=list(dict.fromkeys(p.entry.feed_url for p in job.entries)),
            canonical_url=ex.canonical_url, author=ex.author or entry.author,
            published=published, published_precision=precision, access=self.access.judge(ex, source), indexed=utcnow(),
            language=a.language,
            tags=tags, keywords=a.keywords, captions=ex.captions, mentions=a.mentions, content_hash=a.content_hash,
            extraction=ex.method, boilerplate_chars=sum(len(r) for r in ex.removed), raw_chars=ex.raw_chars,
            guid=entry.guid, summary=entry.summary,
        )

    def _remember(self, jobs: list[PageJob], articles: list[Article]) -> None:
        """Mark the entries of written jobs seen (against the article that holds their text) and keep raw pages."""
        stored = {a.id for a in articles}
        keep_raw = self.settings.extract.keep_raw
        for job in jobs:
            target = job.duplicate_of or job.article_id
            if target not in stored and not job.duplicate_of:
                continue
            if keep_raw and job.html and job.article_id in stored:
                self.state.save_raw(job.article_id, job.html, job.content_type)
            for p in job.entries:
                self.state.record_entries(p.entry.feed_url, [(k, target) for k in p.keys])
            if job.duplicate_of:  # exact duplicate of another URL on the same site: the kept article gains the feed
                for p in job.entries:
                    self.index.add_feed_url(target, p.entry.feed_url)

    def _settle(self, jobs: list[PageJob]) -> None:
        """Take finished entries off the queue; reschedule retries; record dead entries with the reason."""
        done, retry, dead = [], [], []
        now = utcnow()
        polling = self.settings.polling
        for job in jobs:
            if job.outcome is PageOutcome.RETRY:
                attempts = job.pending.attempts + 1
                wait = min(polling.page_retry_base * 2 ** (attempts - 1), polling.page_retry_max)
                wait = max(wait, min(job.retry_after or 0.0, polling.page_retry_max))
                stub = job.pending.stub or self._wants_article(job)
                for p in job.entries:
                    p.attempts, p.next_try, p.last_error, p.stub = attempts, now + timedelta(seconds=wait), job.error, stub
                retry += job.entries
            elif job.outcome is PageOutcome.DEAD:
                reason = job.error or "no text"
                if job.failure is PageFailure.TRANSIENT:
                    reason = f"gave up after {job.pending.attempts + 1} tries: {reason}"
                dead += [(p, reason) for p in job.entries]
            else:
                done += job.entries
        self.state.settle_entries(done, retry, dead)

    def _record_page_errors(self, jobs: list[PageJob]) -> None:
        """Article pages that failed are counted on their feed, so `ingest status` shows them."""
        failed: dict[str, list[PageJob]] = {}
        for job in jobs:
            if job.error:
                failed.setdefault(job.pending.feed_url, []).append(job)
        for feed_url, fjobs in failed.items():
            state = self.state.get_feed_state(feed_url)
            if state is None:
                continue
            state.page_errors += len(fjobs)
            state.last_page_error = (fjobs[-1].error or "")[:300]
            self.state.save_feed_state(state)

    # -- re-cleaning -----------------------------------------------------------------------------

    def reclean(self, domain: str | None = None, progress: Progress | None = None,
                blocks: set[str] | None = None) -> int:
        """Re-extract stored articles from their kept raw pages with today's rules. Never re-fetches.

        With `blocks` (fingerprints a site just learned), only the articles those blocks were seen in.
        When this pipeline's worker pool is running (after a cycle, in the daemon), the pages are
        re-extracted and their keywords made there, `RECLEAN_AHEAD` per worker at a time, beside this
        thread rather than in it; a page that fails there keeps its stored article as it is.
        """
        self.learned.forget()
        pool = self._pool if self.workers > 1 else None  # a pool already started; none is started for this
        ahead: deque[tuple[Article, Future]] = deque()
        batch = _RecleanBatch(self)
        for article in self.learned.reclean_targets(domain, blocks):
            raw = self.state.get_raw(article.id)
            if raw is None or article.extraction != "page":
                continue
            job = RecleanInput(raw[0], article.url, raw[1], self._site(article.url), article.tags, article.body,
                               article.language)
            future = _submit_reclean_to(pool, job)
            if future is None:
                batch.add(article, _reclean_job(job, self.settings))
            else:
                ahead.append((article, future))
                while len(ahead) > RECLEAN_AHEAD * self.workers:
                    batch.add_future(*ahead.popleft())
            (progress or self.progress)("reclean", 1)
        while ahead:
            batch.add_future(*ahead.popleft())
        return batch.flush()


def _submit_reclean_to(pool: WorkerPool | None, job: RecleanInput) -> Future | None:
    """The job in the pool; None when there is no pool or it is shutting down (re-clean here instead)."""
    if pool is None:
        return None
    try:
        return pool.submit(_reclean_job, job)
    except RuntimeError:
        return None


class _RecleanBatch:
    """Re-cleaned articles whose text changed, written to the index 200 at a time."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe, self.total = pipe, 0
        self.changed: list[Article] = []

    def add_future(self, article: Article, future: Future) -> None:
        try:
            self.add(article, future.result())
        except Exception as exc:  # noqa: BLE001 - worker timeout, crash or panic: the stored article stays
            log.warning("re-cleaning %s failed: %s", article.url, failure_text(exc))

    def add(self, article: Article, result: tuple[Extracted, list[str] | None]) -> None:
        ex, keywords = result
        if keywords is None:  # the text did not change
            return
        reanalyze(article, ex, self.pipe.settings.enrich, self.pipe.watchlist, keywords)
        self.changed.append(article)
        if len(self.changed) >= 200:
            self.flush()

    def flush(self) -> int:
        self.total += self.pipe.index.upsert_articles(self.changed)
        self.changed = []
        return self.total


@dataclass(slots=True)
class RecleanInput:
    """A stored article's kept raw page and what re-cleaning it needs (sent to a worker process)."""

    html: bytes
    url: str
    content_type: str | None
    site: SiteProfile | None
    tags: list[str]
    body: str
    language: str | None


def _reclean_job(job: RecleanInput, settings: Settings | None = None) -> tuple[Extracted, list[str] | None]:
    """Re-extraction of a kept page (in a worker when the pool runs), and the keywords of its new text;
    None for the keywords when the text did not change (nothing to write)."""
    settings = settings or _WORKER_SETTINGS
    assert settings is not None, "worker not initialised"
    ex = extract_article(job.html, job.url, settings.extract, job.site, job.tags, job.content_type)
    if not ex.text or ex.text == job.body:
        return ex, None
    tags = list(dict.fromkeys(job.tags + ex.tags))
    return ex, extract_keywords(ex.text, job.language, tags, settings.enrich.keywords)


def release(semaphore: threading.Semaphore, n: int) -> None:
    for _ in range(n):
        semaphore.release()


def interleave_jobs(jobs: list[PageJob]) -> list[PageJob]:
    """Queue order within each host, hosts taken in turn: a deterministic order that spreads hosts."""
    groups: dict[str, list[PageJob]] = {}
    for job in jobs:
        groups.setdefault(host_key(job.entry.link), []).append(job)
    out: list[PageJob] = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        out += [g[i] for g in groups.values() if i < len(g)]
    return out
