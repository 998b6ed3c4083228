"""Published date: page metadata, feed entry and HTTP Last-Modified reconciled; implausible dates rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ingest.enrich.dates import plausible, reconcile_published

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def day(y, m, d):
    """A page date without a time of day, as trafilatura returns it."""
    return datetime(y, m, d, tzinfo=UTC)


def test_implausible_dates_are_rejected():
    assert plausible(datetime(1970, 1, 1, tzinfo=UTC), NOW) is None          # epoch zero placeholder
    assert plausible(datetime(1994, 12, 31, tzinfo=UTC), NOW) is None
    assert plausible(NOW + timedelta(days=3), NOW) is None                   # scheduled / mistyped
    assert plausible(datetime(2099, 1, 1, tzinfo=UTC), NOW) is None
    assert plausible(NOW + timedelta(hours=5), NOW) == NOW                   # zone error: clamped to now
    assert plausible(datetime(2026, 11, 18, 9, 0), NOW) == datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # naive = UTC


def test_rejected_candidates_fall_through_to_the_next_source():
    feed = datetime(2026, 11, 18, 8, 30, tzinfo=UTC)
    assert reconcile_published(datetime(2099, 1, 1, tzinfo=UTC), feed, now=NOW) == feed
    assert reconcile_published(datetime(1970, 1, 1, tzinfo=UTC), None, http=feed, now=NOW) == feed
    assert reconcile_published(None, datetime(1970, 1, 1, tzinfo=UTC), now=NOW) is None


def test_date_only_page_and_feed_on_that_day_feed_time_wins():
    feed = datetime(2026, 11, 18, 9, 30, tzinfo=CET)
    assert reconcile_published(day(2026, 11, 18), feed, now=NOW) == feed


def test_date_only_page_in_local_time_and_feed_in_utc_the_evening_before():
    # 00:30 in Berlin on the 18th is 23:30 UTC on the 17th: the same publication
    feed = datetime(2026, 11, 17, 23, 30, tzinfo=UTC)
    assert reconcile_published(day(2026, 11, 18), feed, now=NOW) == feed


def test_page_with_time_and_date_only_feed_page_wins():
    page = datetime(2026, 11, 17, 16, 45, tzinfo=CET)
    assert reconcile_published(page, day(2026, 11, 17), now=NOW) == page


def test_both_precise_and_close_feed_wins():
    page = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    feed = datetime(2026, 11, 18, 9, 5, tzinfo=UTC)
    assert reconcile_published(page, feed, now=NOW) == feed


def test_disagreement_takes_the_earlier():
    # the feed stamps its build time on every entry; the page knows the real day
    page = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    feed = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    assert reconcile_published(page, feed, now=NOW) == page
    # the page shows its "updated" date; the feed kept the first publication
    assert reconcile_published(day(2026, 11, 16), datetime(2026, 11, 12, 6, 0, tzinfo=UTC), now=NOW) \
        == datetime(2026, 11, 12, 6, 0, tzinfo=UTC)


def test_single_sources_and_http_as_last_resort():
    page, feed = day(2026, 11, 16), datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
    http = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    assert reconcile_published(page, None, http, now=NOW) == page
    assert reconcile_published(None, feed, http, now=NOW) == feed
    assert reconcile_published(None, None, http, now=NOW) == http
    assert reconcile_published(None, None, None, now=NOW) is None


def test_default_now_is_the_current_time():
    assert reconcile_published(None, datetime.now(UTC) + timedelta(days=30)) is None


# -- issue 13: zone and precision ------------------------------------------------------------------------

def test_published_keeps_the_zone_and_says_how_precise_it_is():
    from datetime import timedelta, timezone

    from ingest.enrich.dates import published_with_precision

    now = datetime(2026, 3, 5, tzinfo=UTC)
    berlin = datetime(2026, 3, 2, 8, 15, tzinfo=timezone(timedelta(hours=1)))
    value, precision = published_with_precision(berlin, "time", None, now=now)
    assert value.isoformat() == "2026-03-02T08:15:00+01:00" and precision == "time"
    # a date-only page and a feed with a time of day that day: the feed's time, precision time
    feed = datetime(2026, 3, 2, 6, 40, tzinfo=UTC)
    value, precision = published_with_precision(datetime(2026, 3, 2, tzinfo=UTC), "day", feed, now=now)
    assert value == feed and precision == "time"
    # only a date anywhere: recorded as a day, not as a time
    value, precision = published_with_precision(datetime(2026, 3, 2, tzinfo=UTC), "day", None, now=now)
    assert value.date().isoformat() == "2026-03-02" and precision == "day"
    assert published_with_precision(None, None, None, now=now) == (None, None)
