"""`/metrics` in the Prometheus text exposition format (0.0.4), computed from the store on each scrape."""

from __future__ import annotations

from ingest.app import Ingest
from ingest.models import FEED_STATES, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LEDGER_SCAN = 10_000  # alert records read per scrape, most recent first (the search engines' result window)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            lab = ",".join(f'{k}="{_label(str(v))}"' for k, v in labels.items())
            num = int(value) if float(value).is_integer() else round(float(value), 3)
            self.lines.append(f"{name}{{{lab}}} {num}" if lab else f"{name} {num}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(app: Ingest) -> str:
    now = utcnow()
    w = _Writer()
    w.metric("ingest_up", "gauge", "1 when the store answered this scrape", [({"backend": app.backend}, 1)])

    status = app.status()
    by_status = dict.fromkeys(FEED_STATES, 0)
    for row in status:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    w.metric("ingest_feeds", "gauge", "Feeds by the outcome of their polling (state machine status)",
             [({"status": k}, v) for k, v in by_status.items()])
    states = app.feed_states()
    w.metric("ingest_feed_polls_total", "counter", "Polls made, summed over all feeds",
             [({}, sum(s.polls for s in states))])
    w.metric("ingest_feed_page_errors", "gauge", "Article pages that could not be fetched, summed over feeds",
             [({}, sum(s.page_errors for s in states))])
    w.metric("ingest_entries_queued", "gauge", "Feed entries waiting in the pending queue, by kind",
             [({"kind": "new"}, sum(r.queued - r.retrying for r in status)),
              ({"kind": "page_retry"}, sum(r.retrying for r in status))])
    w.metric("ingest_entries_dead", "gauge", "Entries recorded dead (404/410/451 or retries used up): no article",
             [({}, sum(r.dead for r in status))])

    w.metric("ingest_articles_stored", "gauge", "Articles in the store", [({}, app.count_articles())])
    methods = app.extraction_counts()
    w.metric("ingest_articles_by_extraction", "gauge", "Articles by where their text came from",
             [({"method": k}, n) for k, n in methods])
    w.metric("ingest_extraction_fallbacks", "gauge",
             "Articles whose text is not from the page (feed text fallback or none)",
             [({}, sum(n for k, n in methods if k != "page"))])

    size = app.outbox_size_or_none()  # the scrape still reports everything else when it cannot be read
    if size is not None:
        w.metric("ingest_outbox_size", "gauge", "Documents waiting in the local outbox for the search engine",
                 [({}, size)])

    w.metric("ingest_alert_deliveries", "gauge", "Alerts in the ledger (latest 10000) by delivery outcome",
             [({"outcome": k}, v) for k, v in app.alert_outcomes(LEDGER_SCAN).items()])

    due = [r.next_poll for r in status
           if r.next_poll is not None and r.status not in ("disabled", "gone") and r.enabled]
    overdue = [(now - t).total_seconds() for t in due if t < now]
    w.metric("ingest_scheduler_lag_seconds", "gauge", "How long the most overdue feed has waited past its next poll",
             [({}, max(overdue, default=0.0))])
    w.metric("ingest_feeds_overdue", "gauge", "Feeds whose next poll is in the past", [({}, len(overdue))])
    return w.text()
