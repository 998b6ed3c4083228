"""Per-host politeness, observed from the server's side: concurrency and the gap between requests."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from loopback import LoopbackServer, Reply

from ingest.config import FetchSettings
from ingest.fetch import Fetcher, HostLimiter, host_key

TOLERANCE = 0.06  # seconds: server-side arrival times jitter around the client's start times (loaded CI)


def make_fetcher(**overrides) -> Fetcher:
    values = {"allow_networks": ["127.0.0.1/32"], "timeout_read": 5.0, "timeout_total": 10.0}
    values.update(overrides)
    return Fetcher(FetchSettings(**values))


def test_per_host_concurrency_limit_holds(server):
    server.route("/slow", Reply(body=b"x", delay=0.2))
    with make_fetcher(per_host_concurrency=2, per_host_min_interval=0) as f, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: f.get(server.url(f"/slow?i={i}")), range(8)))
    assert server.requests.total() == 8
    assert server.max_active == 2


def test_minimum_gap_between_requests_to_one_host(server):
    server.route("/feed", Reply(body=b"<rss/>"))
    gap = 0.25
    with make_fetcher(per_host_concurrency=4, per_host_min_interval=gap) as f, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: f.get(server.url(f"/feed?n={i}")), range(6)))
    times = sorted(t for t, _, _ in server.log)
    assert len(times) == 6
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= gap - TOLERANCE, gaps


def test_gap_is_per_host_not_global():
    with LoopbackServer() as a, LoopbackServer() as b:
        a.route("/x", Reply(body=b"a"))
        b.route("/x", Reply(body=b"b"))
        with make_fetcher(per_host_min_interval=0.5) as f:
            f.get(a.url("/x"))
            f.get(b.url("/x"))  # another host (port): its own gap
            f.get(a.url("/x"))
            f.get(b.url("/x"))
        assert a.log[1][0] - a.log[0][0] >= 0.5 - TOLERANCE
        assert b.log[1][0] - b.log[0][0] >= 0.5 - TOLERANCE


def test_limiter_with_fake_clock_spaces_starts():
    clock = [0.0]
    starts: list[float] = []

    def sleep(s: float) -> None:
        clock[0] += s

    limiter = HostLimiter(concurrency=1, min_interval=2.0, clock=lambda: clock[0], sleep=sleep)
    for host in ("h", "h", "other", "h", "other"):
        with limiter.slot(host):
            starts.append(clock[0])
    assert starts == [0.0, 2.0, 2.0, 4.0, 4.0]  # "other" never waits for "h"


def test_host_key_distinguishes_ports():
    assert host_key("http://Example.org/feed") == "example.org"
    assert host_key("http://127.0.0.1:8080/a") != host_key("http://127.0.0.1:8081/a")


def test_gap_holds_when_threads_wake_late():
    """Busy threads make sleepers wake late; a start reserved in advance then lands right behind the
    next one (the old limiter measured 0 ms here). Starts are claimed when the thread really runs."""
    limiter = HostLimiter(concurrency=2, min_interval=0.02)
    stop = threading.Event()

    def hog() -> None:
        while not stop.is_set():
            sum(range(100_000))

    hogs = [threading.Thread(target=hog) for _ in range(4)]
    for h in hogs:
        h.start()
    starts: list[float] = []
    lock = threading.Lock()

    def job(_i: int) -> None:
        with limiter.slot("h"):
            with lock:
                starts.append(time.monotonic())
            time.sleep(0.001)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(job, range(30)))
    finally:
        stop.set()
        for h in hogs:
            h.join()
    ordered = sorted(starts)
    assert min(b - a for a, b in zip(ordered, ordered[1:], strict=False)) >= 0.01  # half the gap: thread noise
