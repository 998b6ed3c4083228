"""Published date: page metadata, feed entry and HTTP Last-Modified, reconciled.

Rules (`reconcile_published`):

1. Implausible values are dropped: before `EARLIEST` (1995: epoch-zero and "0001-01-01" placeholders
   of broken CMSs), or later than `now` plus `FUTURE_SLACK` (wrong time zones stay within a day;
   anything further is a scheduled or mistyped date). Values inside the slack are clamped to `now`:
   nothing is published after we saw it. Naive values are taken as UTC.
2. Page and feed agree when they name the same moment give or take time-zone confusion (one
   day), or, for a page date without a time of day ("2026-11-18", what most pages expose), when
   the feed's instant falls on that calendar day in some time zone (-14 h .. +38 h). Then the
   more precise one wins: the feed's time stamp unless only the page has a time of day.
3. When they disagree, the earlier wins: a feed stamping its build time on every entry and a page
   showing "updated" instead of "published" both err late; copying an older date is rarer.
4. With only one of page and feed, that one; with neither, HTTP Last-Modified (a modification
   time, so the weakest); with nothing, None (the article still has `indexed`, the ingest time).
5. The result keeps the time zone it was given in, and its precision (`published_with_precision`):
   "time" when the value carries a time of day, "day" when only a date was given anywhere (stored
   as that day's midnight UTC with precision "day", never passed off as a time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
AGREE = timedelta(days=1)
DAY_BEFORE, DAY_AFTER = timedelta(hours=14), timedelta(hours=38)  # a local calendar day, any zone


def plausible(value: datetime | None, now: datetime) -> datetime | None:
    """`value` as an aware datetime, or None when it cannot be a publication date."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value < EARLIEST or value > now + FUTURE_SLACK:
        return None
    return min(value, now)


def has_time(value: datetime) -> bool:
    """False for a bare date, which parsers turn into midnight UTC."""
    return (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0) \
        or value.utcoffset() not in (None, timedelta(0))


def agree(page: datetime, feed: datetime) -> bool:
    if has_time(page):
        return abs(page - feed) <= AGREE
    day = page.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - DAY_BEFORE <= feed <= day + DAY_AFTER


def published_with_precision(page: datetime | None, page_precision: str | None, feed: datetime | None,
                             http: datetime | None = None, now: datetime | None = None
                             ) -> tuple[datetime | None, str | None]:
    """`reconcile_published` plus the precision of the result ("day" or "time"): the page says whether
    its value had a time of day; a feed or HTTP value has one unless it is a bare midnight UTC."""
    if page is not None and page_precision == "day":
        page = page.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
    value = reconcile_published(page, feed, http, now)
    if value is None:
        return None, None
    if page is not None and value == plausible(page, now or datetime.now(UTC)):
        return value, page_precision or ("time" if has_time(value) else "day")
    return value, "time" if has_time(value) else "day"


def reconcile_published(page: datetime | None, feed: datetime | None, http: datetime | None = None,
                        now: datetime | None = None) -> datetime | None:
    """Publication time from the page's metadata, the feed entry and HTTP Last-Modified (module docstring)."""
    now = now or datetime.now(UTC)
    page, feed, http = plausible(page, now), plausible(feed, now), plausible(http, now)
    if page and feed:
        if agree(page, feed):
            return page if has_time(page) and not has_time(feed) else feed
        return min(page, feed)
    return page or feed or http
