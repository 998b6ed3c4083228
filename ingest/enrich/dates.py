"""Published date: page metadata, feed entry, HTTP Last-Modified, reconciled; implausible dates rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def plausible(value: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value < EARLIEST or value > now + FUTURE_SLACK:
        return None
    return value


def reconcile_published(page: datetime | None, feed: datetime | None, http: datetime | None = None,
                        now: datetime | None = None) -> datetime | None:
    """The feed's timestamp is precise (time of day, zone); the page date often only a day.

    Prefer the feed date when both name the same day (or the page has no time), else the page's,
    then the HTTP date.
    """
    now = now or datetime.now(UTC)
    page, feed, http = plausible(page, now), plausible(feed, now), plausible(http, now)
    if page and feed:
        page_has_time = (page.hour, page.minute, page.second) != (0, 0, 0)
        if abs(page - feed) <= timedelta(days=1) or not page_has_time:
            return feed
        return page
    return page or feed or http
