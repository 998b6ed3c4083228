"""Status: per-feed health (`ingest status`, the feeds page, /api/feeds), the heartbeat and `ingest health`,
extraction quality per source, and the numbers `/metrics` reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ingest.app.base import AppBase
from ingest.app.feeds import FeedsMixin
from ingest.app.timeline import day_keys
from ingest.models import FeedConfig
from ingest.store import SearchRequest
from ingest.store.websub import subscriptions_by_feed


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
    websub: dict | None = None       # the feed's WebSub subscription (state, hub, expires, pushes), if any

    def to_dict(self) -> dict:
        data = asdict(self)
        for k, v in data.items():
            if isinstance(v, datetime):
                data[k] = v.isoformat()
        return data


class StatusMixin(FeedsMixin, AppBase):
    def status(self) -> list[FeedStatus]:
        """Every configured feed, then feeds polled earlier that are no longer (or never were) configured."""
        states = {s.url: s for s in self.store.state.list_feed_states()}
        counts = self.store.index.article_counts_by_feed()
        queues = self.store.state.queue_summary()
        pushes = subscriptions_by_feed(self.settings.store.sqlite_path)
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
                configured=feed.url in urls, resolved_url=resolved, websub=pushes.get(feed.url),
                **queues.get(feed.url, {}),
            ))
        return out

    def feed_health(self, days: int = 30) -> dict:
        """Every feed's state with the articles per day it brought (by feed URL: two feeds of one outlet
        get a line each) over the last `days` days (1 to 180; today included)."""
        days = min(max(days, 1), 180)
        keys = day_keys(days)
        rows = self.status()
        feeds = []
        for row in rows:
            data = row.to_dict()
            activity = None
            if row.articles:
                urls = [row.url] + ([row.resolved_url] if row.resolved_url else [])
                req = SearchRequest(feeds=urls, since=keys[0], until=keys[-1] + timedelta(days=1))
                hist = dict(self.store.index.histogram(req, "day", "published"))
                activity = [hist.get(k, 0) for k in keys]
            data["source"] = row.name if activity is not None else None
            data["activity"] = activity
            feeds.append(data)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return {"backend": self.settings.store.backend, "days": [k.date().isoformat() for k in keys],
                "outbox": self.outbox_size_or_none(), "by_status": counts, "feeds": feeds}

    def outbox_size_or_none(self) -> int | None:
        """The outbox size for a health page: None without an outbox or when it cannot be read."""
        try:
            return self.outbox_size()
        except Exception:  # noqa: BLE001 - a health page must render even when the outbox cannot be read
            return None

    def source_quality(self) -> list[dict]:
        return [{"source": q.source, "articles": q.articles, "fallback_share": q.fallback_share,
                 "median_body_chars": q.median_body_chars, "boilerplate_share": q.boilerplate_share,
                 "access": q.access}
                for q in self.store.index.source_quality()]

    def count_articles(self) -> int:
        return self.store.index.count_articles()

    def reindex_pending(self) -> bool:
        """An interrupted `ingest reindex` (or an upgrade) left articles without their token views."""
        return self.store.index.reindex_pending()

    def extraction_counts(self) -> list[tuple[str, int]]:
        """Articles by where their text came from (page, feed, none)."""
        return self.store.index.facet(SearchRequest(), "extraction", 20)

    def alert_outcomes(self, scan: int) -> dict[str, int]:
        """The latest `scan` alerts of the ledger by delivery outcome: delivered, pending, failed."""
        retry_max = self.settings.alerts.retry_max
        counts = {"delivered": 0, "pending": 0, "failed": 0}
        for rec in self.store.index.list_alerts(limit=scan):
            if rec.delivered is not None:
                counts["delivered"] += 1
            elif rec.attempts > retry_max:
                counts["failed"] += 1
            else:
                counts["pending"] += 1
        return counts

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
            self.store.index.count_articles()
        except Exception as exc:  # noqa: BLE001 - any failure to read is the answer here
            problems.append(f"store: {exc}")
        beat = self.heartbeat_file
        if beat.exists():
            age = time.time() - beat.stat().st_mtime
            if age > max_age:
                problems.append(f"{beat}: daemon heartbeat {age:.0f} s old (more than {max_age:.0f} s)")
        return problems

    def probe(self) -> tuple[int | None, str | None]:
        """(articles, None) when the store answers, (None, the exception's type name) when not (/healthz)."""
        try:
            return self.store.index.count_articles(), None
        except Exception as exc:  # noqa: BLE001 - report, don't crash the probe
            return None, type(exc).__name__
