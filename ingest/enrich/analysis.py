"""Per-article analysis: what the pipeline adds to one extracted article before it is stored.

    analysis = analyze(extracted, title, entry.language, tags, settings.enrich)  # in a worker process
    source = source_name(feed_name, extracted.sitename, domain)
    access = AccessJudge(index.source_quality).judge(extracted, source)

`analyze` needs no shared state, so it runs in the extraction workers next to `extract_article`:
language (the text reconciled with the page's and the feed's declaration), keywords, watch-term
mentions, the content hash (exact duplicates within a site) and the MinHash signature (copies of one
story across sites, assigned in `clusters.py`). A native library that panics on one text costs that
article its keywords, not the article (`bare_analysis`).

What reads the index lives here too, behind a callable: `AccessJudge` turns the page's own access
marking into free or teaser by the source's median article length (a metered or registration wall
without markup gives a much shorter body), with the medians read at most every `MEDIAN_TTL` seconds.

`source_name` names the outlet; `article_title` and `merged_tags` are the title and tags every
step agrees on; `reanalyze` refreshes a stored article whose text was cleaned again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from ingest.config import EnrichSettings
from ingest.enrich.dedupe import content_hash, minhash, to_bytes
from ingest.enrich.entities import Watchlist, tag_articles
from ingest.enrich.keywords import extract_keywords
from ingest.enrich.language import reconcile_language
from ingest.enrich.mentions import count_mentions
from ingest.errors import StoreUnavailable
from ingest.models import Access, Article, Extracted

# An article without access markup is a teaser when its text is under this share of its source's median
# length, once the source has enough articles to know what its median is.
TEASER_SHARE, TEASER_MIN_ARTICLES, TEASER_MIN_MEDIAN, MEDIAN_TTL = 0.25, 5, 600, 600.0


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


def bare_analysis(ex: Extracted, language: str | None) -> Analysis:
    """What is left when analysis failed on a text: its hash (duplicates), no keywords, no signature."""
    body = ex.text
    return Analysis(language=language, keywords=[], mentions={}, content_hash=content_hash(body) if body else "",
                    signature=None)


def article_title(ex: Extracted, entry_title: str | None, url: str) -> str:
    """The page's title, else the feed entry's, else the URL."""
    return (ex.title or entry_title or url).strip()


def merged_tags(page_tags: list[str], feed_tags: Iterable[str]) -> list[str]:
    """The page's tags, then the feed entry's categories the page does not have; no repeats."""
    return list(dict.fromkeys(page_tags + [t for t in feed_tags if t not in page_tags]))


def source_name(feed_name: str | None, sitename: str | None, domain: str) -> str:
    """The outlet: the feed's name (configured or its title); else the page's site name; else the domain."""
    if feed_name and not feed_name.startswith(("http://", "https://")):
        return feed_name
    site = (sitename or "").strip()
    return site if site and site != domain and " " in site or site.isalpha() else domain


class SourceMedian(Protocol):
    """One source's article count and median body length (the index's `SourceQuality`)."""

    @property
    def source(self) -> str: ...
    @property
    def articles(self) -> int: ...
    @property
    def median_body_chars(self) -> int: ...


class AccessJudge:
    """Access of an article: the page's own marking; otherwise a teaser when the text is much shorter
    than the source's median article (a metered or registration wall without markup), else free."""

    def __init__(self, source_quality: Callable[[], Iterable[SourceMedian]]) -> None:
        self._source_quality = source_quality
        self._medians: tuple[float, dict[str, tuple[int, int]]] | None = None  # (when, source -> (n, median))

    def reset(self) -> None:
        """Read the medians afresh on the next judgement (each cycle)."""
        self._medians = None

    def judge(self, ex: Extracted, source: str) -> str:
        if ex.access != Access.UNKNOWN or ex.method != "page" or not ex.text:
            return ex.access
        articles, median = self._median_of(source)
        if articles >= TEASER_MIN_ARTICLES and median >= TEASER_MIN_MEDIAN and len(ex.text) < TEASER_SHARE * median:
            return Access.TEASER
        return Access.FREE

    def _median_of(self, source: str) -> tuple[int, int]:
        now = time.monotonic()
        if self._medians is None or now - self._medians[0] > MEDIAN_TTL:
            try:
                self._medians = (now, {q.source: (q.articles, q.median_body_chars) for q in self._source_quality()})
            except StoreUnavailable:  # the index is down: judge without medians until the next read
                self._medians = (now, {})
        return self._medians[1].get(source, (0, 0))


def reanalyze(article: Article, ex: Extracted, settings: EnrichSettings, watchlist: Watchlist | None,
              keywords: list[str] | None = None) -> None:
    """A stored article whose page was cleaned again: its new text, and what is computed from it
    (`keywords`: made already, in the worker that re-extracted the page)."""
    article.body = ex.text
    article.captions = ex.captions or article.captions
    article.tags = list(dict.fromkeys(article.tags + ex.tags))
    article.boilerplate_chars = sum(len(r) for r in ex.removed)
    article.content_hash = content_hash(ex.text)
    article.keywords = keywords if keywords is not None else extract_keywords(ex.text, article.language, article.tags,
                                                                              settings.keywords)
    tag_articles([article], watchlist)
