"""Time buckets for timelines, feed activity and rule previews: hour/day/week/month in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.choices import DATE_FIELDS, INTERVALS, DateField, Interval
from ingest.models import utcnow

__all__ = ["DATE_FIELDS", "INTERVALS", "DateField", "Interval", "back", "bucket_keys", "choose_interval", "day_keys",
           "floor", "step"]


def floor(ts: datetime, interval: str) -> datetime:
    """The start of the bucket `ts` falls in."""
    ts = ts.astimezone(UTC)
    if interval == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def step(ts: datetime, interval: str) -> datetime:
    if interval == "hour":
        return ts + timedelta(hours=1)
    if interval == "day":
        return ts + timedelta(days=1)
    if interval == "week":
        return ts + timedelta(days=7)
    return (ts.replace(day=1) + timedelta(days=32)).replace(day=1)


def back(ts: datetime, interval: str) -> datetime:
    if interval == "month":
        return (ts - timedelta(days=1)).replace(day=1)
    return ts - (step(ts, interval) - ts)


def choose_interval(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "day"
    span = (end - start).total_seconds() / 86400
    if span <= 3:
        return "hour"
    if span <= 180:
        return "day"
    if span <= 1100:
        return "week"
    return "month"


def bucket_keys(found: list[datetime], since: datetime | None, until: datetime | None, interval: str,
                limit: int = 2000) -> list[datetime]:
    """Every bucket from the first to the last (zero buckets included), spanning the date filter if set.

    Steps start from a key the store returned, so buckets line up with the backend's own bucketing.
    """
    lo = floor(since, interval) if since is not None else None
    hi = floor(until - timedelta(seconds=1), interval) if until is not None else None
    anchor = min(found) if found else (lo or hi)
    if anchor is None:
        return []
    first, steps = anchor, 0
    while lo is not None and back(first, interval) >= lo and steps < limit:
        first, steps = back(first, interval), steps + 1
    last = max([*found, *([hi] if hi is not None else [])], default=anchor)
    keys: list[datetime] = []
    cur = first
    while cur <= last and len(keys) < limit:
        keys.append(cur)
        cur = step(cur, interval)
    return sorted(set(keys) | set(found))


def day_keys(days: int) -> list[datetime]:
    """The last `days` UTC days, today included, oldest first (each key the day's midnight)."""
    today = floor(utcnow(), "day")
    return [today - timedelta(days=days - 1 - i) for i in range(days)]
