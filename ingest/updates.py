"""Article updates: fresh articles are re-checked for a while, and a material change keeps the old version.

Schedule (`settings.updates`): an article stored from its page is watched for `window` seconds after
it was first stored, with `checks` re-checks at growing intervals (check i of n is due at
window * (2^i - 1) / (2^n - 1): for 24 h and 3 checks after 3.4 h, 10.3 h and 24 h; news changes most
in its first hours). The schedule rows are written in the same transaction as the articles
(`Pipeline.batch_hooks`), so a crash never leaves a stored article unwatched, and a due re-check is
a durable row until it is done. `checks: 0` turns updates off. Backfilled articles are not watched.

A re-check (`UpdateChecker.run_due`: the daemon every minute, `run --once` at the end) is a
conditional GET with the ETag/Last-Modified the page had (through the guarded fetcher, polite per
host). 304, an error, or a page whose text did not change materially only advance the schedule; 404/410/451
end the watch. The page is extracted again with today's rules (the same extraction and enrichment
as the pipeline), and a *material* change is one where
  - the title differs (whitespace aside), or
  - the text differs beyond whitespace, punctuation and case (`normalized`),
and an empty or blocked extraction is never a change (a broken page must not replace the article).
Then, in one transaction: the previous version is kept (`ingest.store.coverage`: time, title, text
hash, the full text and a summary such as "+2/-1 sentences, title changed"), and the article is
re-indexed with the new text, keeping its id, cluster and first-seen time. The alert rules see the
new version like a newly stored article: the ledger's claim per (rule, story) means a rule that now
matches alerts once, and a rule that already alerted for this story does not alert again.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ingest.enrich import content_hash
from ingest.enrich.entities import tag_articles
from ingest.errors import FetchError, StoreUnavailable
from ingest.models import Article, utcnow
from ingest.pipeline import DEAD_STATUSES, PageInput, PageJob, _extract_job, failure_text
from ingest.store.coverage import CoverageState, UpdateCheck, Version, seams

if TYPE_CHECKING:
    from ingest.config import UpdateSettings
    from ingest.pipeline import Pipeline
    from ingest.store import Backends

log = logging.getLogger("ingest.updates")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def check_offsets(window: float, checks: int) -> list[float]:
    """Seconds after first seen at which each re-check is due (growing intervals, the last at `window`)."""
    if checks <= 0 or window <= 0:
        return []
    total = 2 ** checks - 1
    return [window * (2 ** i - 1) / total for i in range(1, checks + 1)]


def normalized(text: str) -> str:
    """The words of a text, case-folded, without punctuation or whitespace differences."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", text or "")).casefold().split())


def sentences(text: str) -> list[str]:
    return [normalized(s) for s in _SENTENCE_END.split(text or "") if normalized(s)]


def change_summary(old_title: str, old_body: str, new_title: str, new_body: str) -> str | None:
    """What changed materially, e.g. "+2/-1 sentences, title changed"; None when nothing did."""
    parts = []
    if normalized(old_body) != normalized(new_body):
        added = removed = 0
        matcher = difflib.SequenceMatcher(a=sentences(old_body), b=sentences(new_body), autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                removed += i2 - i1
                added += j2 - j1
        parts.append(f"+{added}/-{removed} sentences")
    if " ".join((old_title or "").split()) != " ".join((new_title or "").split()):
        parts.append("title changed")
    return ", ".join(parts) or None


class UpdateScheduler:
    """The pipeline's batch hook: watch the articles just stored from their page."""

    def __init__(self, settings: UpdateSettings, state: CoverageState):
        self.offsets = check_offsets(settings.window, settings.checks)
        self.state = state

    def __call__(self, jobs: list[PageJob], articles: list[Article]) -> None:
        if not self.offsets:
            return
        stored = {a.id for a in articles}
        now = utcnow()
        self.state.schedule(
            UpdateCheck(article_id=j.article_id, url=j.final_url or j.entry.link, etag=j.validators[0],
                        last_modified=j.validators[1], first_seen=now, checks=0,
                        next_check=now + timedelta(seconds=self.offsets[0]))
            for j in jobs if j.article_id in stored and j.html and j.extracted is not None
            and j.extracted.method == "page")


@dataclass(slots=True)
class UpdateReport:
    checked: int = 0
    not_modified: int = 0
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)  # article ids with a new version
    errors: list[str] = field(default_factory=list)
    ended: int = 0  # watches ended (window over, page gone, article deleted)


class UpdateChecker:
    """Due re-checks, done with a pipeline's fetcher, extraction settings, site rules and alert hook."""

    def __init__(self, pipeline: Pipeline, store: Backends):
        self.pipe = pipeline
        self.settings = pipeline.settings
        self.state = CoverageState(store)
        self.local, self.index = seams(store)
        self.offsets = check_offsets(self.settings.updates.window, self.settings.updates.checks)

    def run_due(self, now: datetime | None = None) -> UpdateReport:
        """Every re-check due by `now` (default: the current time), in batches; never raises but StoreError."""
        report = UpdateReport()
        now = now or utcnow()
        while not self.pipe.stop.is_set():
            due = self.state.due(now, self.settings.updates.batch)
            if not due:
                break
            for check in due:
                if self.pipe.stop.is_set():
                    break
                self._check(check, now, report)
        return report

    def _next(self, check: UpdateCheck) -> datetime | None:
        check.checks += 1
        if check.checks >= len(self.offsets):
            return None
        return check.first_seen + timedelta(seconds=self.offsets[check.checks])

    def _check(self, check: UpdateCheck, now: datetime, report: UpdateReport) -> None:
        report.checked += 1
        article = self.index.get_article(check.article_id)
        if article is None:
            self.state.checked(check, None)
            report.ended += 1
            return
        headers = {}
        if check.etag:
            headers["If-None-Match"] = check.etag
        if check.last_modified:
            headers["If-Modified-Since"] = check.last_modified
        try:
            resp = self.pipe.fetcher.get(check.url, headers=headers, check_robots=True)
        except FetchError as exc:
            report.errors.append(str(exc))
            gone = exc.status in DEAD_STATUSES
            self.state.checked(check, None if gone else self._next(check))
            report.ended += gone
            return
        if resp.status == 304:
            report.not_modified += 1
            self.state.checked(check, self._next(check))
            return
        check.etag, check.last_modified = resp.header("etag"), resp.header("last-modified")
        try:
            changed = self._compare(article, resp.content, resp.final_url, resp.header("content-type"), now)
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one page's extraction must not stop the re-checks
            report.errors.append(f"{check.url}: {failure_text(exc)}")
            changed = None
        with self.local.batch():  # the old version, the new text and the schedule: one commit
            if changed is not None:
                previous, updated = changed
                self.state.add_version(article.id, previous.seen, now, previous.title, previous.text_hash,
                                       previous.body, previous.change)
                self.index.upsert_articles([updated], alert_pending=self.pipe.on_stored is not None)
            self.state.checked(check, self._next(check))
        if changed is None:
            report.unchanged += 1
            return
        report.updated.append(article.id)
        log.info("article %s updated: %s", article.id, changed[0].change)
        if self.pipe.on_stored is not None:
            self.pipe.on_stored([changed[1]])

    def _compare(self, article: Article, html: bytes, url: str, content_type: str | None,
                 now: datetime) -> tuple[Version, Article] | None:
        """(the version being replaced, the updated article) when the page changed materially, else None."""
        page = PageInput(html, url, self.pipe._site(article.url), article.tags, content_type, article.title,
                         article.language, article.summary)
        ex, analysis = _extract_job(page, settings=self.settings)
        if not ex.text or ex.blocked:
            return None
        title = (ex.title or article.title).strip()
        change = change_summary(article.title, article.body, title, ex.text)
        if change is None:
            return None
        earlier = self.state.versions(article.id)
        seen = earlier[-1].replaced if earlier else article.indexed
        previous = Version(version=len(earlier) + 1, seen=seen, replaced=now, title=article.title,
                           text_hash=article.content_hash or content_hash(article.body), body=article.body,
                           change=change)
        article.title, article.body = title, ex.text
        article.content_hash = analysis.content_hash
        article.keywords, article.mentions = analysis.keywords, analysis.mentions
        article.language = analysis.language or article.language
        article.captions = ex.captions or article.captions
        article.tags = list(dict.fromkeys(article.tags + ex.tags))
        article.boilerplate_chars, article.raw_chars = sum(len(r) for r in ex.removed), ex.raw_chars
        tag_articles([article], self.pipe.watchlist)
        if self.settings.extract.keep_raw:
            self.local.save_raw(article.id, html, content_type)
        return previous, article


def article_versions(store, article: Article) -> list[dict]:
    """Every version of an article, oldest first, the current one last (`ingest show ID --versions`)."""
    earlier = CoverageState(store).versions(article.id)
    rows = [v.to_dict() | {"current": False} for v in earlier]
    seen = earlier[-1].replaced if earlier else article.indexed
    rows.append({"version": len(earlier) + 1, "seen": seen.isoformat(), "replaced": None, "title": article.title,
                 "text_hash": article.content_hash or content_hash(article.body), "change": None,
                 "text": article.body, "current": True})
    return rows


def coverage_state(store) -> CoverageState:
    return CoverageState(store)
