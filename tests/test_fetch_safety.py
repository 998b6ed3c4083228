"""Safe fetching against loopback servers that misbehave on purpose.

Every address contacted is 127.0.0.1. Refusals by the SSRF guard (127.0.0.2, ::1, localhost,
2130706433) happen before any connection is opened, which the tests check as well.
"""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
import zlib

import pytest
from loopback import Reply

from ingest.config import FetchSettings
from ingest.errors import FetchError
from ingest.fetch import Fetcher, HostLimiter, parse_retry_after


def make_fetcher(**overrides) -> Fetcher:
    values = {"allow_networks": ["127.0.0.1/32"], "timeout_connect": 1.0, "timeout_read": 2.0,
              "timeout_total": 5.0, "per_host_min_interval": 0.0}
    values.update(overrides)
    return Fetcher(FetchSettings(**values))


@pytest.fixture
def fetcher():
    with make_fetcher() as f:
        yield f


def fetch_error(fetcher: Fetcher, url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    return info.value


# -- timeouts -------------------------------------------------------------------------------------

def test_connect_timeout_on_a_full_accept_queue():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    pending = []
    for _ in range(4):  # fill the accept queue; further SYNs are dropped, so connect() hangs
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        pending.append(s)
    try:
        with make_fetcher(timeout_connect=0.3) as f:
            err = fetch_error(f, f"http://127.0.0.1:{port}/feed.xml")
        assert err.kind == "timeout"
    finally:
        for s in pending:
            s.close()
        listener.close()


def test_read_timeout_when_the_server_never_answers(server):
    url = server.route("/slow", Reply(body=b"late", delay=3))
    with make_fetcher(timeout_read=0.3) as f:
        err = fetch_error(f, url)
    assert err.kind == "timeout"


def test_total_deadline_cuts_off_a_trickling_server(server):
    # One byte every 50 ms never trips the read timeout; only the total deadline stops it.
    url = server.route("/trickle", Reply(body=b"<rss>" + b"x" * 400 + b"</rss>", trickle=0.05))
    with make_fetcher(timeout_read=2.0, timeout_total=0.6) as f:
        err = fetch_error(f, url)
    assert err.kind == "timeout" and "total" in str(err)
    assert server.completed["/trickle"] == 0  # given up while the body was still coming


def test_refused_connection_is_a_network_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with make_fetcher() as f:
        err = fetch_error(f, f"http://127.0.0.1:{port}/")
    assert err.kind == "network"


# -- size caps ------------------------------------------------------------------------------------

def test_declared_size_over_cap_is_refused_before_reading(server, fetcher):
    url = server.route("/big", Reply(body=b"x" * 5000))
    err = fetch_error(fetcher, url, max_bytes=1000)
    assert err.kind == "too_large" and "declared" in str(err)


def test_undeclared_size_over_cap_stops_at_the_cap(server, fetcher):
    url = server.route("/big", Reply(body=b"x" * 50_000, no_length=True))
    err = fetch_error(fetcher, url, max_bytes=10_000)
    assert err.kind == "too_large"


def test_gzip_bomb_is_refused_after_decompression(server):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    url = server.route("/bomb.xml", Reply(body=bomb, encoding="gzip"))
    tracemalloc.start()
    try:
        with make_fetcher(max_bytes=10_000_000) as f:
            err = fetch_error(f, url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.kind == "too_large" and "after decompression" in str(err)
    assert peak < 25_000_000  # stopped at the 10 MB cap, never holding the 50 MB


def test_deflate_bomb_raw_and_wrapped_are_refused(server, fetcher):
    data = b"\0" * 5_000_000
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    server.route("/raw", Reply(body=raw.compress(data) + raw.flush(), encoding="deflate"))
    server.route("/wrapped", Reply(body=zlib.compress(data, 9), encoding="deflate"))
    for path in ("/raw", "/wrapped"):
        assert fetch_error(fetcher, server.url(path), max_bytes=1_000_000).kind == "too_large"


def test_compressed_bodies_are_decoded(server, fetcher):
    doc = "<rss><channel><title>Grüße</title></channel></rss>".encode()
    server.route("/gz", Reply(body=doc, gzip_body=True))
    server.route("/two-members", Reply(body=gzip.compress(doc[:10]) + gzip.compress(doc[10:]), encoding="gzip"))
    server.route("/deflate", Reply(body=zlib.compress(doc), encoding="deflate"))
    for path in ("/gz", "/two-members", "/deflate"):
        assert fetcher.get(server.url(path)).content == doc, path


def test_unsupported_encoding_and_corrupt_gzip_are_errors(server, fetcher):
    server.route("/br", Reply(body=b"\x1b\x00\x00", encoding="br"))
    server.route("/corrupt", Reply(body=b"\x1f\x8b\x08\x00garbage-not-deflate", encoding="gzip"))
    assert "Content-Encoding" in str(fetch_error(fetcher, server.url("/br")))
    assert fetch_error(fetcher, server.url("/corrupt")).kind == "network"


# -- redirects ------------------------------------------------------------------------------------

def test_redirect_chain_is_followed_up_to_the_limit(server):
    for i in range(6):
        server.route(f"/r{i}", Reply(status=302, headers={"Location": f"/r{i + 1}"}))
    server.route("/r6", Reply(body=b"<rss/>"))
    with make_fetcher(max_redirects=6) as f:
        resp = f.get(server.url("/r0"))
        assert resp.final_url == server.url("/r6") and resp.content == b"<rss/>"
    with make_fetcher(max_redirects=3) as f:
        err = fetch_error(f, server.url("/r0"))
    assert err.kind == "redirect" and "more than 3" in str(err)


def test_redirect_loop_is_detected(server, fetcher):
    server.route("/a", Reply(status=301, headers={"Location": server.url("/b")}))
    server.route("/b", Reply(status=307, headers={"Location": "/a"}))
    err = fetch_error(fetcher, server.url("/a"))
    assert err.kind == "redirect" and "loop" in str(err)
    assert server.requests["/a"] == 1 and server.requests["/b"] == 1


def test_redirect_without_location_is_an_http_error(server, fetcher):
    server.route("/nowhere", Reply(status=302))
    err = fetch_error(fetcher, server.url("/nowhere"))
    assert err.kind == "http" and err.status == 302


# -- SSRF guard -----------------------------------------------------------------------------------

def test_loopback_refused_when_nothing_is_allowed(server):
    url = server.route("/feed.xml", Reply(body=b"<rss/>"))
    with make_fetcher(allow_networks=[]) as f:
        for target in (url, f"http://localhost:{server.port}/feed.xml", f"http://2130706433:{server.port}/feed.xml",
                       f"http://[::ffff:127.0.0.1]:{server.port}/feed.xml"):
            err = fetch_error(f, target)
            assert err.kind == "refused" and "private/loopback" in str(err), target
    assert server.requests["/feed.xml"] == 0


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/inner", "http://[::1]:{port}/inner",
                                    "http://0.0.0.0:{port}/inner", "file:///etc/passwd"])
def test_redirect_from_allowed_server_to_refused_address(server, fetcher, target):
    location = target.format(port=server.port)
    url = server.route("/hop", Reply(status=302, headers={"Location": location}))
    server.route("/inner", Reply(body=b"secret"))
    err = fetch_error(fetcher, url)
    assert err.kind == "refused", err
    assert server.requests["/hop"] == 1 and server.requests["/inner"] == 0


def test_pinned_address_keeps_the_host_header(server, fetcher):
    url = server.route("/feed.xml", Reply(body=b"<rss/>"))
    fetcher.get(url)
    assert server.headers_of("/feed.xml")[0]["host"] == f"127.0.0.1:{server.port}"


def test_user_agent_carries_the_contact_url(server):
    url = server.route("/feed.xml", Reply(body=b"<rss/>"))
    with make_fetcher(user_agent="ingest-test/1.0", contact_url="https://example.org/bot") as f:
        f.get(url)
    ua = server.headers_of("/feed.xml")[0]["user-agent"]
    assert ua == "ingest-test/1.0 (+https://example.org/bot)"


# -- status codes and Retry-After -----------------------------------------------------------------

def test_http_errors_carry_their_status(server, fetcher):
    server.route("/gone", Reply(status=410))
    err = fetch_error(fetcher, server.url("/gone"))
    assert err.kind == "http" and err.status == 410 and err.retry_after is None


def test_429_defers_the_whole_host(server):
    server.route("/a.xml", Reply(status=429, headers={"Retry-After": "120"}))
    server.route("/b.xml", Reply(body=b"<rss/>"))
    with make_fetcher() as f:
        err = fetch_error(f, server.url("/a.xml"))
        assert err.status == 429 and err.retry_after == 120
        other = fetch_error(f, server.url("/b.xml"))  # same host: not asked at all
        assert other.kind == "deferred" and other.retry_after > 100
    assert server.requests["/b.xml"] == 0


def test_503_with_http_date_retry_after(server):
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
    server.route("/busy", Reply(status=503, headers={"Retry-After": when}))
    with make_fetcher() as f:
        err = fetch_error(f, server.url("/busy"))
        assert err.status == 503 and 500 < err.retry_after <= 600
        assert f.limiter.blocked_for(f"127.0.0.1:{server.port}") > 500


def test_short_retry_after_waits_instead_of_failing():
    clock = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    limiter = HostLimiter(concurrency=1, min_interval=0, clock=lambda: clock[0], sleep=sleep)
    limiter.defer("h", 3)
    with limiter.slot("h"):
        pass
    assert slept == [3]


def test_parse_retry_after_forms():
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 5 ") == 5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 60) == 0


# -- robots.txt (article pages only) -----------------------------------------------------------

def test_robots_txt_respected_for_pages_when_enabled(server):
    server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n"))
    server.route("/private/a", Reply(body=b"<html>secret</html>"))
    server.route("/public/a", Reply(body=b"<html>ok</html>"))
    with make_fetcher(respect_robots=True) as f:
        assert fetch_error(f, server.url("/private/a"), check_robots=True).kind == "refused"
        assert f.get(server.url("/public/a"), check_robots=True).content == b"<html>ok</html>"
        assert f.get(server.url("/private/a")).status == 200  # feeds (no check_robots) are not subject to it
    assert server.requests["/robots.txt"] == 1 and server.requests["/private/a"] == 1


def test_robots_txt_ignored_when_disabled_or_missing(server):
    server.route("/page", Reply(body=b"<html>ok</html>"))
    with make_fetcher(respect_robots=False) as f:
        f.get(server.url("/page"), check_robots=True)
    assert server.requests["/robots.txt"] == 0
    with make_fetcher(respect_robots=True) as f:  # 404 robots.txt: everything allowed
        assert f.get(server.url("/page"), check_robots=True).status == 200
    assert server.requests["/robots.txt"] == 1
