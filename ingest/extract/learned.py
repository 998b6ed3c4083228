"""Learned boilerplate: a paragraph printed on many articles of one site is the site's, not the article's.

    learned = LearnedBoilerplate(settings.extract, index)
    site = learned.site_profile("example.org", config_profile)   # what the walker removes there
    grown = learned.learn(stored_pages)                          # after a batch is stored
    for article in learned.reclean_targets(domain, grown[domain]): ...

Every stored page's paragraph fingerprints (`blocks.fingerprint`, all blocks but the first) are
recorded per site with the article they were seen in (the index's block ledger). A block is
*learned* (`is_learned`) when an editor pinned it (`ingest sites pin`), or when it was seen in at
least `extract.learn_min_articles` articles of the site within the last `extract.learn_window_days`
days and nobody rejected it (`ingest sites reject`). The walker removes learned blocks (never the
lead, never the first block) and a deck line at the top only when it is learned.

`LearnedBoilerplate` is the one owner of that rule: the per-site cache of learned fingerprints
(`for_site`: read whole on first use, after `forget` and when older than `REFRESH_EVERY`, so an
editor's pin or reject from another process and blocks ageing out of the window are seen within
that time; `learn` updates it from the counts of the batch's own blocks only, so a stored batch
costs the same on a site with ten thousand known blocks as on a new one), the predicate (`is_learned`), learning from a
stored batch (`learn`, which returns the blocks each site newly learned so the caller can re-clean
that site's earlier articles), and the re-clean plan (`reclean_targets`: only the articles a newly
learned block was seen in, or every stored article of a site). The pipeline, the application layer
(`sites show`, `prune`) and through them the CLI, web and daemon use it. Changing the threshold or
the window is one setting each (`extract.learn_min_articles`, `extract.learn_window_days`) and this
module.

The ledger is reached through `BlockLedger`, the few index methods this needs, so the extract stage
imports no store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ingest.config import ExtractSettings
from ingest.errors import StoreUnavailable
from ingest.extract.sites import SiteProfile
from ingest.models import Article, BlockStatus, Extracted, utcnow

log = logging.getLogger("ingest.extract.learned")

REFRESH_EVERY = 60.0  # seconds a site's learned set is trusted before it is read whole again


class BlockSighting(Protocol):
    """One block of a site as the ledger counts it (the store's `BlockStat`)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def articles(self) -> int: ...
    @property
    def status(self) -> str | None: ...


class BlockLedger(Protocol):
    """The index methods learned boilerplate reads and writes."""

    def record_blocks(self, domain: str, sightings: list[tuple[str, list[tuple[str, str]]]]) -> None: ...
    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1,
                    fingerprints: Collection[str] | None = None) -> Sequence[BlockSighting]: ...
    def block_article_ids(self, domain: str, fingerprints: set[str]) -> set[str]: ...
    def get_article(self, article_id: str) -> Article | None: ...
    def iter_articles(self, domain: str | None = None) -> Iterator[Article]: ...


class LearnedBoilerplate:
    """The learned blocks of every site, cached per site; thread-safe."""

    def __init__(self, settings: ExtractSettings, ledger: BlockLedger) -> None:
        self.min_articles = settings.learn_min_articles
        self.window_days = settings.learn_window_days
        self._ledger = ledger
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}  # domain -> (read at, learned fingerprints)
        self._lock = threading.Lock()

    def is_learned(self, block: BlockSighting) -> bool:
        """Pinned, or seen often enough in the window and not rejected."""
        return block.status == BlockStatus.PINNED or (block.status != BlockStatus.REJECTED
                                                      and block.articles >= self.min_articles)

    def since(self) -> datetime:
        """The start of the learning window: sightings before it no longer count."""
        return utcnow() - timedelta(days=self.window_days)

    def for_site(self, domain: str) -> frozenset[str]:
        """The fingerprints the site has learned (empty while the index is unavailable: rules alone)."""
        with self._lock:
            cached = self._cache.get(domain)
        if cached is not None and time.monotonic() - cached[0] < REFRESH_EVERY:
            return cached[1]
        # The ledger is asked outside our lock: the store's own lock may be held by a thread
        # that is waiting for ours (the main thread writing a batch asks for learned blocks).
        read_at = time.monotonic()
        try:
            stats = self._ledger.block_stats(domain, since=self.since(), min_articles=self.min_articles)
        except StoreUnavailable:  # search engine down: clean with the rules alone, ask again later
            return frozenset()
        learned = frozenset(s.fingerprint for s in stats if self.is_learned(s))
        with self._lock:
            self._cache[domain] = (read_at, learned)
        return learned

    def _recount(self, domain: str, fingerprints: set[str]) -> frozenset[str]:
        """The site's learned set after a batch: the cached set with the batch's own blocks counted
        afresh (learned now, or no longer: rejected meanwhile)."""
        before = self.for_site(domain)  # cached by `learn`
        stats = self._ledger.block_stats(domain, since=self.since(), min_articles=self.min_articles,
                                         fingerprints=fingerprints)
        after = (before - fingerprints) | {s.fingerprint for s in stats if self.is_learned(s)}
        with self._lock:
            read_at = self._cache.get(domain, (time.monotonic(), before))[0]
            self._cache[domain] = (read_at, after)
        return after

    def forget(self, domain: str | None = None) -> None:
        """Drop the cache of one site (all sites: None); the next `for_site` reads the ledger."""
        with self._lock:
            if domain is None:
                self._cache.clear()
            else:
                self._cache.pop(domain, None)

    def site_profile(self, domain: str, base: SiteProfile | None = None) -> SiteProfile:
        """What the walker knows about the site: its config profile (if any) plus its learned blocks."""
        learned = self.for_site(domain)
        if base is None:
            return SiteProfile(domain=domain, learned=set(learned))
        return SiteProfile(domain=domain, prune_xpaths=base.prune_xpaths, drop_patterns=base.drop_patterns,
                           learned=set(learned) | base.learned)

    def learn(self, pages: Iterable[tuple[str, str, Extracted | None]]) -> dict[str, set[str]]:
        """Record the paragraph fingerprints of stored pages [(domain, article id, extraction)]; return
        the blocks each site newly learned. Feed text and failed pages teach nothing."""
        by_domain: dict[str, list[tuple[str, list[tuple[str, str]]]]] = {}
        for domain, article_id, ex in pages:
            if ex is not None and ex.method == "page" and ex.fingerprints:
                by_domain.setdefault(domain, []).append((article_id, ex.fingerprints))
        grown: dict[str, set[str]] = {}
        for domain, sightings in by_domain.items():
            before = self.for_site(domain)  # what the batch was cleaned with (read before it counts)
            try:
                self._ledger.record_blocks(domain, sightings)
            except StoreUnavailable:
                log.warning("boilerplate sightings of %s not recorded: store unavailable", domain)
                continue
            try:
                new = self._recount(domain, {fp for _, blocks in sightings for fp, _ in blocks}) - before
            except StoreUnavailable:
                log.warning("boilerplate counts of %s not read: store unavailable", domain)
                continue
            if new:
                grown[domain] = set(new)
        return grown

    def reclean_targets(self, domain: str | None, blocks: set[str] | None = None) -> Iterator[Article]:
        """The stored articles to clean again: with a site and the blocks it just learned, only the
        articles those blocks were seen in; otherwise every article of the site (all sites: None)."""
        if domain and blocks:
            for article_id in sorted(self._ledger.block_article_ids(domain, blocks)):
                article = self._ledger.get_article(article_id)
                if article is not None:
                    yield article
        else:
            yield from self._ledger.iter_articles(domain)
