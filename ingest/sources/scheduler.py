"""Scheduling with APScheduler 3: one job per feed, rescheduled from the feed's state after each poll.

Jobs run with max_instances=1 (a slow feed never overlaps itself), coalesce=True (missed
runs collapse into one) and an explicit misfire grace time. The feed list is re-read
periodically so `ingest feeds add` takes effect without a restart. SIGINT/SIGTERM stop
the scheduler and call `on_stop` (the pipeline's stop flag): running jobs finish the batch they
are writing; anything not stored stays queued and is picked up on the next start.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ingest.config import PollingSettings
from ingest.errors import IngestError
from ingest.models import FeedConfig, FeedState

log = logging.getLogger("ingest.scheduler")


class FeedScheduler:
    def __init__(self, settings: PollingSettings, load_feeds: Callable[[], list[FeedConfig]],
                 poll: Callable[[FeedConfig], None], feed_state: Callable[[str], FeedState | None],
                 workers: int = 8, extra_jobs: list[tuple[Callable[[], None], float]] | None = None,
                 on_stop: Callable[[], None] | None = None):
        self.settings = settings
        self.load_feeds = load_feeds
        self.poll = poll
        self.feed_state = feed_state
        self.extra_jobs = extra_jobs or []
        self.on_stop = on_stop or (lambda: None)  # tells running jobs to wrap up (the pipeline's stop flag)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": settings.misfire_grace_time},
            timezone=UTC,
        )
        self.stopped = threading.Event()
        self._feeds: dict[str, FeedConfig] = {}

    def _job_id(self, url: str) -> str:
        return "feed:" + url

    def _run_feed(self, url: str) -> None:
        feed = self._feeds.get(url)
        if feed is None or self.stopped.is_set():
            return
        try:
            self.poll(feed)
        except IngestError as exc:  # the store cannot be written (disk full): one line, retried next time
            log.error("%s: %s", url, exc)
        except Exception:  # noqa: BLE001 - a job never dies; the poller records errors in the feed state
            log.exception("job for %s failed", url)
        try:
            self._reschedule(url)
        except JobLookupError:  # the feed was removed from the list while it was being polled
            pass
        except Exception:  # noqa: BLE001 - the job keeps its interval trigger and runs again
            log.exception("rescheduling %s failed", url)

    def _reschedule(self, url: str) -> None:
        """Next run from the feed's state (its adaptive interval, backoff, Retry-After), at least 1 s ahead."""
        if self.stopped.is_set():
            return
        state = self.feed_state(url)
        job = self.scheduler.get_job(self._job_id(url))
        if job is None or state is None or state.next_poll is None:
            return
        interval = max(self.settings.min_interval, state.interval or self.settings.default_interval)
        job.reschedule(IntervalTrigger(seconds=interval, jitter=self.settings.jitter, timezone=UTC))
        job.modify(next_run_time=max(state.next_poll, datetime.now(UTC) + timedelta(seconds=1)))

    def sync_feeds(self) -> None:
        """Add jobs for new feeds, remove jobs of removed or disabled feeds."""
        try:
            feeds = {f.url: f for f in self.load_feeds() if f.enabled}
        except Exception as exc:  # noqa: BLE001 - a bad edit of feeds.yaml keeps the old list running
            log.error("feed list not reloaded: %s", exc)
            return
        for url in set(self._feeds) - set(feeds):
            job = self.scheduler.get_job(self._job_id(url))
            if job:
                job.remove()
        for url, feed in feeds.items():
            if url in self._feeds and self.scheduler.get_job(self._job_id(url)):
                continue
            state = self.feed_state(url)
            interval = feed.interval or (state.interval if state and state.interval else self.settings.default_interval)
            first = state.next_poll if state and state.next_poll else datetime.now(UTC)
            self.scheduler.add_job(self._run_feed, IntervalTrigger(seconds=interval, jitter=self.settings.jitter,
                                                                   timezone=UTC),
                                   args=[url], id=self._job_id(url), name=feed.name or url,
                                   next_run_time=max(first, datetime.now(UTC)), replace_existing=True)
        self._feeds = feeds

    def start(self) -> None:
        self.sync_feeds()
        self.scheduler.add_job(self.sync_feeds, IntervalTrigger(seconds=60, timezone=UTC), id="sync-feeds")
        for i, (func, seconds) in enumerate(self.extra_jobs):
            self.scheduler.add_job(func, IntervalTrigger(seconds=seconds, timezone=UTC), id=f"extra-{i}")
        self.scheduler.start()

    def stop(self, wait: bool = True) -> None:
        self.stopped.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def run_forever(self) -> None:
        """Block until SIGINT/SIGTERM, then shut down cleanly."""
        def handle(signum, _frame):
            log.info("signal %s: finishing running jobs", signum)
            self.on_stop()
            self.stopped.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
        self.start()
        while not self.stopped.wait(0.5):
            pass
        self.stop(wait=True)

    def jobs(self) -> list[tuple[str, datetime | None]]:
        return [(j.name, j.next_run_time) for j in self.scheduler.get_jobs() if j.id.startswith("feed:")]
