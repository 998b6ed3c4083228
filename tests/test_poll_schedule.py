"""Adaptive schedule per feed: observed rate, bounds, the publisher's hints, jitter."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta

import pytest
from loopback import Reply, rss

from ingest.fetch import Fetcher
from ingest.models import FeedConfig, FetchResponse, ParsedFeed
from ingest.sources.poller import Poller, interleave_by_host, publisher_min_interval
from ingest.store import open_backends

T0 = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def dated_items(n: int, spacing: timedelta, newest: datetime = T0, prefix: str = "s") -> list[dict]:
    return [{"title": f"{prefix}{i}", "link": f"http://example.invalid/{prefix}/{i}",
             "pubDate": email.utils.format_datetime(newest - i * spacing, usegmt=True)} for i in range(n)]


@pytest.fixture
def poller(settings):
    p = settings.polling
    p.jitter, p.min_interval, p.max_interval, p.default_interval = 0, 60, 7200, 900
    store = open_backends(settings.store)
    fetcher = Fetcher(settings.fetch)
    yield Poller(settings.polling, store, fetcher)
    fetcher.close()
    store.close()


def interval_after(poller, url: str, feed: FeedConfig | None = None) -> float:
    poller.poll(feed or FeedConfig(url=url))
    return poller.state.get_feed_state(url).interval


def age(poller, url: str, seconds: float) -> None:
    """Pretend the last success was `seconds` ago (the test does not wait for real)."""
    state = poller.state.get_feed_state(url)
    state.last_success -= timedelta(seconds=seconds)
    poller.state.save_feed_state(state)


def test_first_poll_follows_the_spacing_of_entries_then_backs_off_to_the_max(server, poller):
    url = server.route("/feed.xml", Reply(body=rss(dated_items(10, timedelta(hours=1))), etag='"1"'))
    assert interval_after(poller, url) == 3600
    seen = [interval_after(poller, url) for _ in range(5)]  # 304s: nothing new
    assert seen == [4320, 5184, 6220.8, 7200, 7200]


def test_rate_of_new_entries_drives_the_interval(server, poller):
    url = server.url("/feed.xml")
    published = T0 - timedelta(days=1)
    entries: list[dict] = []

    def publish(n: int) -> None:
        nonlocal published
        for _ in range(n):
            published += timedelta(minutes=1)
            entries.insert(0, {"title": f"e{len(entries)}", "link": f"http://example.invalid/{len(entries)}",
                               "pubDate": email.utils.format_datetime(published, usegmt=True)})
        server.route("/feed.xml", Reply(body=rss(entries[:20])))

    publish(1)
    poller.poll(FeedConfig(url=url))
    state = poller.state.get_feed_state(url)
    assert state.interval == 900  # a single entry: no spacing to learn from, the default stays
    intervals = []
    for _ in range(4):  # two new entries per interval: poll twice as often
        age(poller, url, poller.state.get_feed_state(url).interval)
        publish(2)
        intervals.append(interval_after(poller, url))
    assert intervals == sorted(intervals, reverse=True) and intervals[-1] < 500
    steady = []
    for _ in range(3):  # one new entry per interval: stays put
        age(poller, url, poller.state.get_feed_state(url).interval)
        publish(1)
        steady.append(interval_after(poller, url))
    assert steady[0] == pytest.approx(intervals[-1], rel=0.01) and steady[-1] == pytest.approx(steady[0], rel=0.01)
    for _ in range(10):  # a flood: bounded below
        age(poller, url, poller.state.get_feed_state(url).interval)
        publish(20)
        last = interval_after(poller, url)
    assert last == 60


def test_fixed_interval_wins_over_the_rate(server, poller):
    url = server.route("/feed.xml", Reply(body=rss(dated_items(10, timedelta(hours=5)))))
    assert interval_after(poller, url, FeedConfig(url=url, interval=300)) == 300


@pytest.mark.parametrize("channel,headers,expected", [
    ("<ttl>100</ttl>", {}, 6000),
    ("<ttl>1000</ttl>", {}, 7200),  # asked beyond max: max
    ('<sy:updatePeriod xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">hourly</sy:updatePeriod>'
     '<sy:updateFrequency xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">1</sy:updateFrequency>', {}, 3600),
    ("", {"Cache-Control": "public, max-age=5000"}, 5000),
    ("", {"Cache-Control": "s-maxage=99999, max-age=1200"}, 1200),
    ("", {"Retry-After": "4000"}, 4000),
])
def test_publisher_hints_raise_the_interval(server, poller, channel, headers, expected):
    body = rss(dated_items(10, timedelta(minutes=2)), extra_channel=channel)  # entries alone: 120 s
    url = server.route("/feed.xml", Reply(body=body, headers=headers))
    assert interval_after(poller, url) == expected


def test_expires_header_raises_the_interval(server, poller):
    expires = email.utils.formatdate(time.time() + 3 * 3600, usegmt=True)
    url = server.route("/feed.xml", Reply(body=rss(dated_items(10, timedelta(minutes=2))),
                                          headers={"Expires": expires}))
    assert 7100 <= interval_after(poller, url) <= 7200  # 3 h asked, bounded by max 2 h


def test_feed_ttl_still_applies_on_304_and_to_fixed_intervals(server, poller):
    url = server.route("/feed.xml", Reply(body=rss(dated_items(3, timedelta(minutes=1)), extra_channel="<ttl>60</ttl>"),
                                          etag='"t"'))
    feed = FeedConfig(url=url, interval=300)
    assert interval_after(poller, url, feed) == 3600
    assert interval_after(poller, url, feed) == 3600  # 304: the body (and its <ttl>) is not seen again
    assert poller.state.get_feed_state(url).publisher_interval == 3600


def test_jitter_spreads_next_polls_within_bounds(server, poller):
    poller.settings.jitter = 30
    waits = set()
    for i in range(8):
        url = server.route(f"/f{i}.xml", Reply(body=rss(dated_items(10, timedelta(minutes=20)))))
        poller.poll(FeedConfig(url=url))
        state = poller.state.get_feed_state(url)
        wait = (state.next_poll - state.last_poll).total_seconds()
        assert state.interval == 1200 and 1170 <= wait <= 1230
        waits.add(round(wait, 3))
    assert len(waits) > 1


def test_jitter_never_undercuts_what_the_publisher_asked(server, poller):
    poller.settings.jitter = 300
    for i in range(5):
        url = server.route(f"/f{i}.xml", Reply(body=rss(dated_items(3, timedelta(minutes=1))),
                                               headers={"Cache-Control": "max-age=3000"}))
        poller.poll(FeedConfig(url=url))
        state = poller.state.get_feed_state(url)
        assert 3000 <= (state.next_poll - state.last_poll).total_seconds() <= 3300


def test_publisher_min_interval_unit():
    now = time.time()
    resp = FetchResponse(url="u", final_url="u", status=200, content=b"",
                         headers={"cache-control": "no-cache", "expires": "0", "retry-after": "garbage"})
    assert publisher_min_interval(resp, None, now) == 0
    parsed = ParsedFeed(title=None, site_url=None, language=None, entries=[], ttl_seconds=600)
    assert publisher_min_interval(None, parsed, now) == 600


def test_feeds_are_interleaved_by_host():
    feeds = [FeedConfig(url=f"http://{h}.invalid/{i}") for h in "aab" for i in range(2)]
    order = [f.url for f in interleave_by_host(feeds)]
    assert order[:2] == ["http://a.invalid/0", "http://b.invalid/0"] and sorted(order) == sorted(f.url for f in feeds)
