"""FeedScheduler against a loopback feed: polls, reschedules from the feed state, one instance per feed,
survives failing polls, follows feed-list edits, stops cleanly."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from loopback import Reply, rss

from ingest.fetch import Fetcher
from ingest.models import FeedConfig
from ingest.sources.poller import Poller
from ingest.sources.scheduler import FeedScheduler
from ingest.store import open_backends

BODY = rss([{"title": "One", "link": "http://example.invalid/1"}])


def wait_for(predicate, timeout: float = 8.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def poller(settings):
    p = settings.polling
    p.jitter, p.min_interval, p.default_interval, p.max_interval = 0, 0.5, 1, 10
    store = open_backends(settings.store)
    fetcher = Fetcher(settings.fetch)
    yield Poller(settings.polling, store, fetcher)
    fetcher.close()
    store.close()


def make_scheduler(poller, feeds, poll=None) -> FeedScheduler:
    return FeedScheduler(poller.settings, lambda: list(feeds), poll or poller.poll, poller.state.get_feed_state,
                         workers=4)


def test_polls_and_reschedules_from_the_feed_state(server, poller):
    url = server.route("/feed.xml", Reply(body=BODY, etag='"e"', headers={"Cache-Control": "max-age=3"}))
    sched = make_scheduler(poller, [FeedConfig(url=url, name="Loop")])
    sched.start()
    try:
        assert wait_for(lambda: server.requests["/feed.xml"] == 1)
        assert wait_for(lambda: (poller.state.get_feed_state(url) or None) is not None
                        and sched.jobs()[0][1] == poller.state.get_feed_state(url).next_poll)
        state = poller.state.get_feed_state(url)
        ahead = (state.next_poll - datetime.now(UTC)).total_seconds()
        assert state.interval == 3 and ahead > 1.5  # max-age=3 asked; the 1 s default trigger was replaced
        assert sched.jobs()[0][0] == "Loop"
        assert wait_for(lambda: server.requests["/feed.xml"] >= 2)
    finally:
        sched.stop()
    times = server.times("/feed.xml")
    assert times[1] - times[0] >= 2.0  # the second poll waited for the state's next poll, not the trigger
    assert server.headers_of("/feed.xml")[1]["if-none-match"] == '"e"'


def test_one_instance_per_feed_and_clean_stop(server, poller):
    url = server.route("/slow.xml", Reply(body=BODY, delay=1.2))
    active, most, calls = [0], [0], [0]
    lock = threading.Lock()

    def poll(feed: FeedConfig) -> None:
        with lock:
            active[0] += 1
            calls[0] += 1
            most[0] = max(most[0], active[0])
        try:
            poller.poll(feed)
        finally:
            with lock:
                active[0] -= 1

    # A 0.2 s trigger against a 1.2 s poll: overlapping runs would happen without max_instances=1.
    sched = make_scheduler(poller, [FeedConfig(url=url, interval=0.2)], poll)
    sched.start()
    try:
        assert wait_for(lambda: calls[0] >= 2, timeout=10)
        assert wait_for(lambda: active[0] == 1)
    finally:
        sched.stop(wait=True)  # waits for the running poll
    assert most[0] == 1 and active[0] == 0 and not sched.scheduler.running
    after = server.requests["/slow.xml"]
    time.sleep(0.5)
    assert server.requests["/slow.xml"] == after  # nothing runs after stop


def test_a_failing_poll_does_not_kill_the_job(server, poller):
    url = server.route("/feed.xml", Reply(body=BODY))
    calls = []

    def poll(feed: FeedConfig) -> None:
        calls.append(feed.url)
        if len(calls) == 1:
            raise RuntimeError("first poll explodes")
        poller.poll(feed)

    sched = make_scheduler(poller, [FeedConfig(url=url, interval=0.5)], poll)
    sched.start()
    try:
        assert wait_for(lambda: len(calls) >= 2 and server.requests["/feed.xml"] >= 1)
    finally:
        sched.stop()


def test_feed_list_edits_are_followed(server, poller):
    feeds = [FeedConfig(url=server.url("/a.xml"), name="A")]
    load_error = [False]

    def load():
        if load_error[0]:
            raise ValueError("broken feeds.yaml")
        return list(feeds)

    sched = FeedScheduler(poller.settings, load, lambda f: None, poller.state.get_feed_state)
    sched.scheduler.start(paused=True)
    try:
        sched.sync_feeds()
        assert [n for n, _ in sched.jobs()] == ["A"]
        feeds.append(FeedConfig(url=server.url("/b.xml"), name="B"))
        feeds.append(FeedConfig(url=server.url("/c.xml"), name="C", enabled=False))
        sched.sync_feeds()
        assert sorted(n for n, _ in sched.jobs()) == ["A", "B"]
        del feeds[0]
        sched.sync_feeds()
        assert [n for n, _ in sched.jobs()] == ["B"]
        load_error[0] = True
        sched.sync_feeds()  # a bad edit keeps the running list
        assert [n for n, _ in sched.jobs()] == ["B"]
    finally:
        sched.stop()
