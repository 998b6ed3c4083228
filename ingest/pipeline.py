"""The refresh flow, top to bottom: poll feeds -> new entries -> fetch pages -> extract -> enrich -> store.

One `Pipeline` per process. `run_once` polls every feed concurrently, then streams all new
entries through the stages: pages are fetched by a thread pool and each goes to the extraction
process pool (extraction and per-article enrichment) the moment it arrives; finished articles are
stored in batches of `STORE_BATCH` while the next pages are still being fetched and extracted, so
network waits, CPU work and writes overlap, and at most `window` pages are held in memory. The
scheduler calls `poll_and_process` for one feed at a time.

Crash safety: an entry is recorded as seen only after its article is stored, and article
writes are idempotent upserts keyed on the normalized URL, so a run interrupted anywhere
resumes without losing or duplicating anything.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import timedelta

from ingest.config import EnrichSettings, Settings
from ingest.enrich import (
    Clusterer,
    content_hash,
    count_mentions,
    extract_keywords,
    minhash,
    published_with_precision,
    reconcile_language,
    to_bytes,
)
from ingest.enrich.dedupe import from_bytes
from ingest.enrich.language import declared_language
from ingest.errors import FetchError, StoreUnavailable
from ingest.extract import SiteProfile, extract_article, extract_feed_content
from ingest.fetch import Fetcher
from ingest.models import Access, Article, Extracted, FeedConfig, FeedEntry, article_id, utcnow
from ingest.sources.poller import Poller, PollOutcome, interleave_by_host
from ingest.sources.urls import domain_of, normalize_url, strip_tracking
from ingest.store import Store

log = logging.getLogger("ingest.pipeline")
PERMANENT_STATUSES = {400, 401, 403, 404, 410, 451}
# An article without access markup is a teaser when its text is under this share of its source's median
# length, once the source has enough articles to know what its median is.
TEASER_SHARE, TEASER_MIN_ARTICLES, TEASER_MIN_MEDIAN, MEDIAN_TTL = 0.25, 5, 600, 600.0
STORE_BATCH = 50          # articles per store write (and per alert evaluation)
WINDOW_PER_WORKER = 32    # pages fetched but not yet stored, per extraction process
Progress = Callable[[str, int], None]


@dataclass(slots=True)
class PageJob:
    """One new feed entry on its way to becoming an article."""

    entry: FeedEntry
    feed_name: str
    article_id: str
    keys: list[str]
    html: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    error: str | None = None
    extracted: Extracted | None = None
    analysis: Analysis | None = None
    also: list[FeedEntry] = field(default_factory=list)  # the same article through other feeds this cycle


@dataclass(slots=True)
class RunReport:
    polls: list[PollOutcome] = field(default_factory=list)
    stored: int = 0
    fallbacks: int = 0
    page_errors: list[str] = field(default_factory=list)
    duplicates: int = 0
    reclean_blocks: dict[str, set[str]] = field(default_factory=dict)  # domain -> newly learned blocks

    @property
    def reclean_domains(self) -> list[str]:
        return list(self.reclean_blocks)

    @property
    def new_entries(self) -> int:
        return sum(p.new_entries for p in self.polls)


def entry_keys(entry: FeedEntry) -> list[str]:
    """Keys under which an entry counts as seen: its normalized link, and its GUID within its feed."""
    keys = ["u:" + normalize_url(entry.link)]
    if entry.guid:
        keys.append(f"g:{entry.feed_url}|{entry.guid}")
    return keys


@dataclass(slots=True)
class Analysis:
    """Everything computed per article that needs no shared state: done in the worker processes."""

    language: str | None
    keywords: list[str]
    mentions: dict[str, int]
    content_hash: str
    signature: bytes | None


def analyze(ex: Extracted, title: str, declared_language: str | None, tags: list[str],
            settings: EnrichSettings) -> Analysis:
    body = ex.text
    language = reconcile_language(body or title, ex.language, declared_language, settings.min_detect_chars)
    return Analysis(
        language=language,
        keywords=extract_keywords(body, language, tags, settings.keywords, title=title,
                                  exclude=[ex.author, ex.sitename]),
        mentions=count_mentions(title, body, language, settings.watch_terms),
        content_hash=content_hash(body) if body else "",
        signature=to_bytes(minhash(body)) if body else None,
    )


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


def _extract_job(html: bytes, url: str, site: SiteProfile | None, tags: list[str],
                 content_type: str | None, entry_title: str | None, entry_language: str | None,
                 entry_summary: str | None = None, settings: Settings | None = None) -> tuple[Extracted, Analysis]:
    """Runs in a worker process (module-level so it pickles): extraction and per-article enrichment."""
    settings = settings or _WORKER_SETTINGS
    assert settings is not None, "worker not initialised"
    ex = extract_article(html, url, settings.extract, site, tags, content_type, feed_title=entry_title,
                         feed_summary=entry_summary)
    ex.language = ex.language or declared_language(html)  # <html lang>: trafilatura does not report it
    title = (ex.title or entry_title or url).strip()
    merged = list(dict.fromkeys(ex.tags + [t for t in tags if t not in ex.tags]))
    return ex, analyze(ex, title, entry_language, merged, settings.enrich)


class Pipeline:
    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher | None = None,
                 site_profiles: dict[str, SiteProfile] | None = None, progress: Progress | None = None,
                 on_stored: Callable[[list[Article]], None] | None = None):
        self.settings = settings
        self.store = store
        self.fetcher = fetcher or Fetcher(settings.fetch)
        self.poller = Poller(settings.polling, store, self.fetcher)
        self.site_profiles = site_profiles or {}
        self.progress = progress or (lambda kind, n: None)
        self.on_stored = on_stored
        self.stop = threading.Event()
        self._pool: Executor | None = None
        self._clusterer: Clusterer | None = None
        self._learned: dict[str, set[str]] = {}
        self._medians: tuple[float, dict[str, tuple[int, int]]] | None = None  # (when, source -> (n, median))
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.fetcher.close()

    @property
    def workers(self) -> int:
        return self.settings.extract.workers or os.cpu_count() or 1

    def _extract_pool(self) -> Executor | None:
        """The extraction processes, started (and their models loaded) on first use."""
        if self.workers <= 1:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker,
                                             initargs=(self.settings,))
            for _ in range(self.workers):  # start every worker now: they load while feeds are polled
                self._pool.submit(int)
        return self._pool

    # -- the flow --------------------------------------------------------------------------------

    def run_once(self, feeds: list[FeedConfig]) -> RunReport:
        """Poll every enabled feed once and store what is new."""
        self._medians = None  # per-source median lengths (teaser detection) are read afresh each cycle
        report = RunReport()
        feeds = [f for f in feeds if f.enabled]
        by_id: dict[str, PageJob] = {}
        outcomes: dict[str, PollOutcome] = {}
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(feeds)))) as polls:
            # Round-robin over hosts: the pollers do not all queue behind one host's politeness gap.
            for outcome in polls.map(self._poll_safely, interleave_by_host(feeds)):
                outcomes[outcome.feed.url] = outcome
                if outcome.entries and len(outcomes) < len(feeds):
                    self._extract_pool()  # entries to look at: the workers start while the rest is polled
                self.progress("feed", 1)
        for outcome in (outcomes[f.url] for f in feeds if f.url in outcomes):  # report in feeds.yaml order
            report.polls.append(outcome)
            for job in self._new_jobs(outcome):
                if job.article_id in by_id:  # one article, several feeds: fetched once, all feeds kept
                    by_id[job.article_id].also.append(job.entry)
                else:
                    by_id[job.article_id] = job
        self.poller.finish_cycle(report.polls)
        self._process(list(by_id.values()), report)
        return report

    def poll_and_process(self, feed: FeedConfig) -> RunReport:
        """One scheduled job: poll one feed, store its new articles. Never raises."""
        report = RunReport()
        outcome = self._poll_safely(feed)
        report.polls.append(outcome)
        try:
            self._process(self._new_jobs(outcome), report)
        except Exception as exc:  # noqa: BLE001 - a job must never die; the error is shown in status
            log.exception("processing %s failed", feed.url)
            report.page_errors.append(f"{feed.url}: {exc}")
        return report

    def _poll_safely(self, feed: FeedConfig) -> PollOutcome:
        if self.stop.is_set():
            return PollOutcome(feed=feed, status="skipped")
        return self.poller.poll(feed)

    def _new_jobs(self, outcome: PollOutcome) -> list[PageJob]:
        """Entries not seen before; an article already stored via another feed gains this feed."""
        entries = outcome.entries
        if not entries:
            return []
        keyed = [(e, entry_keys(e)) for e in entries]
        known = self.store.known_entries(k for _, keys in keyed for k in keys)
        jobs, seen_now = [], set()
        for entry, keys in keyed:
            hit = next((known[k] for k in keys if k in known), None)
            if hit:
                missing = [k for k in keys if k not in known]
                if missing:  # same article through another feed, or GUID churn: remember, never re-fetch
                    self.store.record_entries(entry.feed_url, [(k, hit) for k in missing])
                    self.store.add_feed_url(hit, entry.feed_url)
                continue
            aid = article_id(normalize_url(entry.link))
            if aid in seen_now:
                continue
            seen_now.add(aid)
            jobs.append(PageJob(entry=entry, feed_name=outcome.feed_name, article_id=aid, keys=keys))
        outcome.new_entries = len(jobs)
        return jobs

    def _process(self, jobs: list[PageJob], report: RunReport) -> None:
        for batch in self._fetched_and_extracted(jobs):
            self._store_batch(batch, report)

    def _store_batch(self, jobs: list[PageJob], report: RunReport) -> None:
        for job in jobs:
            self._fallback(job)
            self._analyse_feed_text(job)
        same = self.store.find_same_bodies([(domain_of(j.entry.link), j.analysis.content_hash) for j in jobs
                                            if j.analysis is not None and j.analysis.content_hash])
        articles = [a for a in (self._to_article(j, report, same) for j in jobs) if a is not None]
        self._cluster(articles, {j.article_id: j.analysis.signature for j in jobs if j.analysis})
        self.store.upsert_articles(articles)
        with self.store.batch():  # the many small bookkeeping writes in one commit
            self._remember(jobs, articles)
            self._record_page_errors(jobs)
            learned = self._learn(jobs)
        report.stored += len(articles)
        report.fallbacks += sum(1 for a in articles if a.extraction != "page")
        report.page_errors += [j.error for j in jobs if j.error]
        for domain, fps in learned.items():
            report.reclean_blocks.setdefault(domain, set()).update(fps)
        for job in jobs:  # stored (the raw page kept by the store when configured): free the memory,
            job.html = job.extracted = job.analysis = None  # a cycle may hold thousands of these jobs
        if self.on_stored and articles:
            self.on_stored(articles)

    def _record_page_errors(self, jobs: list[PageJob]) -> None:
        """Article pages that failed are counted on their feed, so `ingest status` shows them."""
        failed: dict[str, list[PageJob]] = {}
        for job in jobs:
            if job.error:
                failed.setdefault(job.entry.feed_url, []).append(job)
        for feed_url, fjobs in failed.items():
            state = self.store.get_feed_state(feed_url)
            if state is None:
                continue
            state.page_errors += len(fjobs)
            state.last_page_error = (fjobs[-1].error or "")[:300]
            self.store.save_feed_state(state)

    # -- stages ----------------------------------------------------------------------------------

    def _fetch_page(self, job: PageJob) -> None:
        if self.stop.is_set():
            job.error = "stopped before fetch"
            return
        try:
            resp = self.fetcher.get(job.entry.link, check_robots=True)
            job.html, job.final_url = resp.content, resp.final_url
            job.content_type = resp.header("content-type")
        except FetchError as exc:
            job.error = str(exc)
        finally:
            self.progress("page", 1)

    def _fetched_and_extracted(self, jobs: list[PageJob]) -> Iterator[list[PageJob]]:
        """Fetch and extract as a stream; yield the finished jobs in batches of `STORE_BATCH`.

        A fetched page goes straight to the extraction pool, so fetching, extraction and the
        caller's writes overlap. At most `window` pages are in flight (fetched or being fetched,
        not yet handed back).
        """
        if not jobs:
            return
        pool = self._extract_pool() if len(jobs) >= 4 else None
        window = max(STORE_BATCH, WINDOW_PER_WORKER * self.workers)
        done: queue.SimpleQueue[tuple[int, PageJob]] = queue.SimpleQueue()

        def finished(index: int, job: PageJob, future: Future) -> None:
            try:
                job.extracted, job.analysis = future.result()
            except Exception as exc:  # noqa: BLE001 - a page that breaks a worker must not stop the cycle
                log.warning("extraction of %s failed: %s", job.entry.link, exc)
                job.error = f"extraction failed: {type(exc).__name__}: {exc}"[:300]
            done.put((index, job))

        def fetch(index: int, job: PageJob) -> None:
            try:
                self._fetch_page(job)
                if job.html and pool is not None:
                    future = self._submit_extraction(pool, job)
                    if future is not None:
                        future.add_done_callback(lambda f, i=index, j=job: finished(i, j, f))
                        return
            except Exception as exc:  # noqa: BLE001 - never lose a job: it is reported and retried later
                job.error = job.error or f"{type(exc).__name__}: {exc}"[:300]
            done.put((index, job))

        # Results come back in completion order; they are handed on in feed order (a reorder buffer
        # within the window), so which copy of a story is "first seen" does not depend on timing.
        ready: dict[int, PageJob] = {}
        batch: list[PageJob] = []
        started = emitted = 0
        with ThreadPoolExecutor(max_workers=self.settings.fetch.concurrency) as fetchers:
            while emitted < len(jobs):
                while started < len(jobs) and started - emitted < window:
                    fetchers.submit(fetch, started, jobs[started])
                    started += 1
                index, job = done.get()
                if job.html and job.extracted is None and pool is None and not job.error:
                    self._extract_here(job)
                ready[index] = job
                while emitted in ready:
                    batch.append(ready.pop(emitted))
                    emitted += 1
                    if len(batch) >= STORE_BATCH or emitted == len(jobs):
                        yield batch
                        batch = []

    def _extraction_args(self, job: PageJob) -> tuple:
        return (job.html, job.final_url or job.entry.link, self._site(job.entry.link), job.entry.categories,
                job.content_type, job.entry.title, job.entry.language, job.entry.summary)

    def _submit_extraction(self, pool: Executor, job: PageJob) -> Future | None:
        try:
            return pool.submit(_extract_job, *self._extraction_args(job))
        except BrokenProcessPool:  # a worker died (out of memory, a crash in a parser): start afresh
            log.warning("extraction pool broken; restarting it")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            self._extract_here(job)
            return None

    def _extract_here(self, job: PageJob) -> None:
        try:
            job.extracted, job.analysis = _extract_job(*self._extraction_args(job), settings=self.settings)
        except Exception as exc:  # noqa: BLE001 - see `finished`
            log.warning("extraction of %s failed: %s", job.entry.link, exc)
            job.error = f"extraction failed: {type(exc).__name__}: {exc}"[:300]

    def _site(self, url: str) -> SiteProfile:
        domain = domain_of(url)
        base = self.site_profiles.get(domain)
        learned = self.learned_for(domain)
        if base is None:
            return SiteProfile(domain=domain, learned=learned)
        return SiteProfile(domain=domain, prune_xpaths=base.prune_xpaths, drop_patterns=base.drop_patterns,
                           learned=learned | base.learned)

    def learned_for(self, domain: str) -> set[str]:
        with self._lock:
            cached = self._learned.get(domain)
        if cached is not None:
            return cached
        # The store is asked outside our lock: the store's own lock may be held by a thread
        # that is waiting for ours (the main thread writing a batch asks for learned blocks).
        since = utcnow() - timedelta(days=self.settings.extract.learn_window_days)
        try:
            stats = self.store.block_stats(domain, since=since, min_articles=self.settings.extract.learn_min_articles)
        except StoreUnavailable:  # search engine down: clean with the rules alone, ask again later
            return set()
        learned = {s.fingerprint for s in stats
                   if s.status == "pinned" or (s.status != "rejected"
                                               and s.articles >= self.settings.extract.learn_min_articles)}
        with self._lock:
            return self._learned.setdefault(domain, learned)

    def _fallback(self, job: PageJob) -> None:
        """Use the feed's own content when the page failed or yielded less than it."""
        page = job.extracted
        if page is not None and page.blocked:  # a bot challenge or consent wall is an error, never the article
            job.error = job.error or f"blocked page: {page.blocked}"
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

    @staticmethod
    def _title_and_tags(job: PageJob) -> tuple[str, list[str]]:
        ex, entry = job.extracted, job.entry
        title = (ex.title or entry.title or entry.link).strip()
        return title, list(dict.fromkeys(ex.tags + [c for c in entry.categories if c not in ex.tags]))

    def _analyse_feed_text(self, job: PageJob) -> None:
        """Feed text that replaced the page (see `_fallback`) is analysed here, not in a worker."""
        if job.extracted is not None and job.analysis is None:
            title, tags = self._title_and_tags(job)
            job.analysis = analyze(job.extracted, title, job.entry.language, tags, self.settings.enrich)

    def _to_article(self, job: PageJob, report: RunReport, same_bodies: dict[tuple[str, str], str]
                    ) -> Article | None:
        """The stored record from one extraction and its analysis (done in the worker, or here for feed
        text). `same_bodies` maps (site, content hash) to the article already holding that text; this
        batch's articles are added to it, so two URLs with one body in one batch are stored once too."""
        ex, entry = job.extracted, job.entry
        if ex is None:
            return None
        if job.error and job.html is None and ex.method == "none" and self._is_temporary(job.error):
            return None  # page unreachable for now and nothing to show: retried on a later poll
        if ex.blocked and ex.method == "none":
            return None  # nothing but a challenge or consent page (recorded as the page's error)
        domain = domain_of(entry.link)
        title, tags = self._title_and_tags(job)
        a = job.analysis
        if a.content_hash:
            same = same_bodies.setdefault((domain, a.content_hash), job.article_id)
            if same != job.article_id:  # same text under another URL of this site
                report.duplicates += 1
                job.article_id = same
                return None
        published, precision = published_with_precision(ex.published, ex.published_precision,
                                                        entry.published or entry.updated)
        source = self._source_name(job, ex, domain)
        return Article(
            id=job.article_id, url=strip_tracking(entry.link), fetched_url=job.final_url or entry.link, title=title, body=ex.text, source=source,
            domain=domain, feed_urls=list(dict.fromkeys([entry.feed_url] + [e.feed_url for e in job.also])),
            canonical_url=ex.canonical_url, author=ex.author or entry.author,
            published=published, published_precision=precision, access=self._access(ex, source), indexed=utcnow(),
            language=a.language,
            tags=tags, keywords=a.keywords, captions=ex.captions, mentions=a.mentions, content_hash=a.content_hash,
            extraction=ex.method, boilerplate_chars=sum(len(r) for r in ex.removed), raw_chars=ex.raw_chars,
            guid=entry.guid, summary=entry.summary,
        )

    def _access(self, ex: Extracted, source: str) -> str:
        """The page's own access marking; otherwise a teaser when the text is much shorter than the
        source's median article (a metered or registration wall without markup), else free."""
        if ex.access != Access.UNKNOWN or ex.method != "page" or not ex.text:
            return ex.access
        now = time.monotonic()
        if self._medians is None or now - self._medians[0] > MEDIAN_TTL:
            try:
                self._medians = (now, {q.source: (q.articles, q.median_body_chars) for q in self.store.source_quality()})
            except StoreUnavailable:
                self._medians = (now, {})
        articles, median = self._medians[1].get(source, (0, 0))
        if articles >= TEASER_MIN_ARTICLES and median >= TEASER_MIN_MEDIAN and len(ex.text) < TEASER_SHARE * median:
            return Access.TEASER
        return Access.FREE

    @staticmethod
    def _source_name(job: PageJob, ex: Extracted, domain: str) -> str:
        """The outlet: the feed's name (configured or its title); else the page's site name; else the domain."""
        if job.feed_name and not job.feed_name.startswith(("http://", "https://")):
            return job.feed_name
        site = (ex.sitename or "").strip()
        return site if site and site != domain and " " in site or site.isalpha() else domain

    @staticmethod
    def _is_temporary(error: str) -> bool:
        return not any(f"HTTP {s}" in error for s in PERMANENT_STATUSES)

    def _cluster(self, articles: list[Article], signatures: dict[str, bytes | None]) -> None:
        if self._clusterer is None:
            self._clusterer = Clusterer(self.settings.enrich.cluster_threshold)
            for c in self.store.cluster_candidates(utcnow() - timedelta(days=14)):
                self._clusterer.add_existing(c.id, c.domain, c.published, c.cluster_id, c.signature)
        self._clusterer.forget_before(utcnow() - timedelta(days=14), min_interval=3600)
        touched: dict[str, list[str]] = {}
        for a in articles:
            signature = signatures.get(a.id)
            sig = from_bytes(signature) if a.body and signature else None
            if sig is None:  # no text to compare: a cluster of its own
                a.cluster_id, a.is_original = a.cluster_id or a.id, True
                continue
            a.cluster_id = self._clusterer.assign(a.id, a.domain, a.published, sig)
            self.store.save_signature(a.id, a.domain, a.published, a.cluster_id, signature)
            touched.setdefault(a.cluster_id, []).append(a.id)
        by_id = {a.id: a for a in articles}
        stored_members: list[tuple[list[str], str, str]] = []
        for cluster_id in touched:
            members = self._clusterer.cluster_of(cluster_id)
            if len(members) < 2:
                continue
            original = self._clusterer.original_of(cluster_id)  # earliest published; ties: the first seen
            for m in members:
                if m.id in by_id:
                    by_id[m.id].is_original = m.id == original
            stored_members.append(([m.id for m in members if m.id not in by_id], cluster_id, original))
        self.store.set_clusters([u for u in stored_members if u[0]])

    def _remember(self, jobs: list[PageJob], articles: list[Article]) -> None:
        stored = {a.id for a in articles}
        keep_raw = self.settings.extract.keep_raw
        for job in jobs:
            if job.article_id in stored or (job.extracted and job.extracted.method == "none" and job.error
                                            and not self._is_temporary(job.error)):
                if keep_raw and job.html and job.article_id in stored:
                    self.store.save_raw(job.article_id, job.html, job.content_type)
                self.store.record_entries(job.entry.feed_url, [(k, job.article_id) for k in job.keys])
                for other in job.also:
                    self.store.record_entries(other.feed_url, [(k, job.article_id) for k in entry_keys(other)])
            elif job.article_id not in stored and job.extracted and job.extracted.method != "none":
                # Exact duplicate of another URL on the same site: remember the entry against the kept article.
                self.store.record_entries(job.entry.feed_url, [(k, job.article_id) for k in job.keys])
                self.store.add_feed_url(job.article_id, job.entry.feed_url)

    def _learn(self, jobs: list[PageJob]) -> dict[str, set[str]]:
        """Record each article's paragraph fingerprints; return the blocks each domain newly learned."""
        grown: dict[str, set[str]] = {}
        by_domain: dict[str, list[PageJob]] = {}
        for job in jobs:
            if job.extracted and job.extracted.method == "page" and job.extracted.fingerprints:
                by_domain.setdefault(domain_of(job.entry.link), []).append(job)
        for domain, djobs in by_domain.items():
            try:
                self.store.record_blocks(domain, [(j.article_id, j.extracted.fingerprints) for j in djobs])
            except StoreUnavailable:
                log.warning("boilerplate sightings of %s not recorded: store unavailable", domain)
                continue
            before = self.learned_for(domain)
            with self._lock:
                self._learned.pop(domain, None)
            new = self.learned_for(domain) - before
            if new:
                grown[domain] = new
        return grown

    # -- re-cleaning -----------------------------------------------------------------------------

    def _reclean_targets(self, domain: str | None, blocks: set[str] | None):
        if domain and blocks:  # only the articles a newly learned block was seen in
            for article_id in sorted(self.store.block_article_ids(domain, blocks)):
                article = self.store.get_article(article_id)
                if article is not None:
                    yield article
        else:
            yield from self.store.iter_articles(domain)

    def reclean(self, domain: str | None = None, progress: Progress | None = None,
                blocks: set[str] | None = None) -> int:
        """Re-extract stored articles from their kept raw pages with today's rules. Never re-fetches.

        With `blocks` (fingerprints a site just learned), only the articles those blocks were seen in.
        """
        with self._lock:
            self._learned.clear()
        changed: list[Article] = []
        total = 0
        for article in self._reclean_targets(domain, blocks):
            raw = self.store.get_raw(article.id)
            if raw is None or article.extraction != "page":
                continue
            ex = extract_article(raw[0], article.url, self.settings.extract, self._site(article.url),
                                 article.tags, raw[1])
            if ex.text and ex.text != article.body:
                article.body = ex.text
                article.captions = ex.captions or article.captions
                article.tags = list(dict.fromkeys(article.tags + ex.tags))
                article.boilerplate_chars = sum(len(r) for r in ex.removed)
                article.content_hash = content_hash(ex.text)
                article.keywords = extract_keywords(ex.text, article.language, article.tags,
                                                    self.settings.enrich.keywords)
                changed.append(article)
            (progress or self.progress)("reclean", 1)
            if len(changed) >= 200:
                total += self.store.upsert_articles(changed)
                changed = []
        return total + self.store.upsert_articles(changed)


def feeds_by_url(feeds: Iterable[FeedConfig]) -> dict[str, FeedConfig]:
    return {f.url: f for f in feeds}
