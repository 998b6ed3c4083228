"""`ingest run` as a daemon: the scheduler driving the pipeline, plus housekeeping jobs.

Under the run lock (one daemon or `run --once` per store and shard). At start the pending queue
left by an interrupted run is stored first; page retries that fall due are taken every minute,
independently of their feed's schedule. SIGTERM/SIGINT set the pipeline's stop flag: running jobs
finish the batch they are writing (seconds, not the rest of the cycle) and the rest stays queued.

With `websub.callback_url` set, the daemon also listens for WebSub hubs (`ingest.websub`):
polls subscribe feeds that declare a hub, a job renews the leases, pushes are stored at once.
"""

from __future__ import annotations

import logging

from ingest.app import Ingest
from ingest.models import FeedConfig
from ingest.pipeline import Pipeline
from ingest.sources.scheduler import FeedScheduler
from ingest.websub import WebSub

log = logging.getLogger("ingest.daemon")
VOLUME_CHECK_EVERY = 300.0  # seconds between two checks of the volume rules (spikes and drops)


def run_daemon(app: Ingest, wait: bool = False) -> None:
    """Poll every feed on its own schedule until SIGINT/SIGTERM."""
    with app.run_lock(wait):
        scheduler, pipeline, websub = build_daemon_with_push(app)
        try:
            if websub is not None:
                websub.start()
            # what an interrupted run left (and page retries now due) comes first
            pipeline.process_queue(f.url for f in app.feeds() if f.enabled)
            app.beat()
            log.warning("ingest daemon: %d feeds, backend %s; Ctrl-C to stop", len(app.feeds()),
                        app.settings.store.backend)
            scheduler.run_forever()
        finally:
            if websub is not None:
                websub.stop()
            pipeline.close()


def build_daemon(app: Ingest) -> tuple[FeedScheduler, Pipeline]:
    """The daemon's scheduler (poll jobs on a thread pool, housekeeping jobs) and the pipeline it drives;
    `scheduler.start()` / `stop()` run it without signal handling (tests)."""
    scheduler, pipeline, _websub = build_daemon_with_push(app)
    return scheduler, pipeline


def build_daemon_with_push(app: Ingest) -> tuple[FeedScheduler, Pipeline, WebSub | None]:
    """`build_daemon`, plus the WebSub service when websub.callback_url is set (its listener not started)."""
    pipeline = app.pipeline()
    websub = WebSub(app.settings, pipeline, app.feeds) if app.settings.websub.callback_url else None
    pending_reclean: dict[str, set[str]] = {}

    def poll(feed: FeedConfig) -> None:
        report = pipeline.poll_and_process(feed)
        if websub is not None:
            websub.on_polls(report.polls)
        for domain, blocks in report.reclean_blocks.items():
            pending_reclean.setdefault(domain, set()).update(blocks)
        for p in report.polls:
            if p.status == "error":
                log.warning("%s: %s", p.feed_name, p.error)
            elif p.new_entries:
                log.info("%s: %d new, %d stored", p.feed_name, p.new_entries, report.stored)

    def queued() -> None:
        # Entries left by an interrupted run, and page retries now due, of the configured feeds.
        report = pipeline.process_queue(f.url for f in app.feeds() if f.enabled)
        if report.stored or report.retrying or report.dead:
            log.info("queue: %d stored, %d to retry, %d dead", report.stored, report.retrying, report.dead)

    def reclean() -> None:
        # Sites that learned new boilerplate: clean their earlier articles in the background.
        while pending_reclean:
            domain, blocks = pending_reclean.popitem()
            n = pipeline.reclean(domain, blocks=blocks)
            log.info("re-cleaned %d articles of %s", n, domain)

    def updates() -> None:
        # Article re-checks now due (ingest.updates): durable rows, so a restart finds them again.
        report = app.check_updates(pipeline)
        if report.updated:
            log.info("updates: %d checked, %d articles changed", report.checked, len(report.updated))

    scheduler = FeedScheduler(
        app.settings.polling, app.feeds, poll, app.feed_state,
        workers=min(16, max(2, app.settings.fetch.concurrency)),
        extra_jobs=[(queued, 60.0), (reclean, 60.0), (updates, 60.0), (app.beat, 60.0), (app.prune, 86400.0)] + _extra_jobs(app)
        + _alert_jobs(app) + ([(websub.renew, 60.0)] if websub is not None else []),
        on_stop=app.stopping.set,
    )
    return scheduler, pipeline, websub


def _alert_jobs(app: Ingest) -> list:
    """Alert rules: config/rules.yaml re-read when it changes (the engine itself runs since app.pipeline())."""
    engine = app.alerts()
    if engine is None:
        return []
    log.warning("alerts: %d rules from %s", len(engine.rules), app.settings.rules_file)
    from ingest.alerts.engine import BACKLOG_AGE, BACKLOG_EVERY

    return [(engine.reload_if_changed, 30.0), (lambda: engine.evaluate_backlog(BACKLOG_AGE), BACKLOG_EVERY),
            (engine.check_volume, VOLUME_CHECK_EVERY)]


def _extra_jobs(app: Ingest) -> list:
    """Elasticsearch mode: flush the outbox often, roll the write index over hourly when due."""
    if not app.has_outbox():
        return []

    def flush() -> None:
        try:
            app.flush_outbox()
        except Exception as exc:  # noqa: BLE001 - the outbox keeps everything; retried on the next tick
            log.warning("outbox not flushed: %s (%s waiting)", exc, app.outbox_size_or_none())

    def rollover() -> None:
        try:
            result = app.rollover_if_due()
            if result and result["rolled_over"]:
                log.warning("rolled over to %s", result["new_index"])
        except Exception as exc:  # noqa: BLE001 - retried next hour
            log.warning("rollover check failed: %s", exc)

    return [(flush, 15.0), (rollover, 3600.0)]
