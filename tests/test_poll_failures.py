"""Failure handling: weighted counts, linear capped backoff, Retry-After/429 per host, gone, own outage,
`ingest feeds retry`, and hostile feeds that must not stop the others."""

from __future__ import annotations

import gzip
import json
import socket

import pytest
from loopback import LoopbackServer, Reply, rss

import ingest.sources.poller as poller_mod
from ingest.app import Ingest
from ingest.cli.main import main
from ingest.fetch import Fetcher
from ingest.models import FeedConfig
from ingest.sources.feedlist import save_feeds
from ingest.sources.poller import OutageDetector, Poller
from ingest.store import open_backends


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_of(state) -> float:
    return (state.next_poll - state.last_poll).total_seconds()


@pytest.fixture
def poller(settings):
    settings.polling.jitter = 0
    settings.polling.backoff_step = 100
    settings.polling.backoff_max = 450
    settings.fetch.timeout_read = 0.3
    store = open_backends(settings.store)
    fetcher = Fetcher(settings.fetch)
    yield Poller(settings.polling, store, fetcher)
    fetcher.close()
    store.close()


GOOD = rss([{"title": "Fine", "link": "http://example.invalid/fine"}])


def test_failures_are_weighted_and_back_off_linearly_with_a_cap(server, poller):
    server.route("/hard", Reply(status=403))
    server.route("/soft", Reply(status=500))
    server.route("/slow", Reply(body=GOOD, delay=2))
    expected = {"/hard": (2.0, [200, 400, 450]), "/soft": (1.0, [100, 200, 300]), "/slow": (0.5, [50, 100, 150])}
    for path, (weight, waits) in expected.items():
        feed = FeedConfig(url=server.url(path))
        seen = []
        for i in range(3):
            outcome = poller.poll(feed)
            state = poller.state.get_feed_state(feed.url)
            assert outcome.status == "error" and state.error_count == weight * (i + 1)
            assert state.last_error and state.next_poll is not None  # a reason and a next try, always
            seen.append(wait_of(state))
        assert seen == waits, path
    assert poller.state.get_feed_state(server.url("/hard")).status == "failing"  # 6.0 reached
    assert poller.state.get_feed_state(server.url("/soft")).status == "backing_off"


def test_success_resets_the_count(server, poller):
    url = server.route("/feed.xml", Reply(status=500))
    poller.poll(FeedConfig(url=url))
    server.route("/feed.xml", Reply(body=GOOD))
    poller.poll(FeedConfig(url=url))
    state = poller.state.get_feed_state(url)
    assert (state.status, state.error_count, state.last_error) == ("working", 0.0, None)


def test_410_is_gone_at_once_and_not_polled_again(server, poller):
    url = server.route("/feed.xml", Reply(status=410))
    poller.poll(FeedConfig(url=url))
    state = poller.state.get_feed_state(url)
    assert state.status == "gone" and "410" in state.last_error and 450 <= wait_of(state) < 452
    outcome = poller.poll(FeedConfig(url=url))
    assert outcome.status == "skipped" and "not polled before" in outcome.error
    assert server.requests["/feed.xml"] == 1
    assert poller.retry(url)
    assert poller.poll(FeedConfig(url=url)).status == "error" and server.requests["/feed.xml"] == 2


def test_repeated_404_becomes_gone(server, poller):
    poller.settings.gone_after_404 = 3
    url = server.url("/missing.xml")
    states = []
    for _ in range(3):
        poller.poll(FeedConfig(url=url))
        states.append(poller.state.get_feed_state(url).status)
    assert states == ["backing_off", "backing_off", "gone"]
    assert "404 3 times" in poller.state.get_feed_state(url).last_error


def test_a_success_between_404s_restarts_the_404_count(server, poller):
    poller.settings.gone_after_404 = 2
    url = server.url("/flaky.xml")
    poller.poll(FeedConfig(url=url))
    server.route("/flaky.xml", Reply(body=GOOD))
    poller.poll(FeedConfig(url=url))
    del server.routes["/flaky.xml"]
    poller.poll(FeedConfig(url=url))
    assert poller.state.get_feed_state(url).status == "backing_off"


def test_429_retry_after_defers_the_host_and_spares_its_other_feeds(server, poller):
    a = server.route("/a.xml", Reply(status=429, headers={"Retry-After": "300"}))
    b = server.route("/b.xml", Reply(body=GOOD))
    assert poller.poll(FeedConfig(url=a)).error_kind == "http"
    state_a = poller.state.get_feed_state(a)
    assert state_a.status == "backing_off" and state_a.error_count == 1.0 and wait_of(state_a) >= 300
    outcome_b = poller.poll(FeedConfig(url=b))
    assert outcome_b.error_kind == "deferred" and server.requests["/b.xml"] == 0  # not hammered
    state_b = poller.state.get_feed_state(b)
    assert state_b.error_count == 0 and "waiting for the host" in state_b.last_error and wait_of(state_b) >= 250
    # Both wait out the Retry-After even when polled again in this process (or by `run --once`)
    assert poller.poll(FeedConfig(url=a)).status == "skipped"
    assert poller.poll(FeedConfig(url=b)).status == "skipped"
    assert server.requests["/a.xml"] == 1 and server.requests["/b.xml"] == 0


def test_retry_after_longer_than_backoff_wins(server, poller):
    url = server.route("/busy.xml", Reply(status=503, headers={"Retry-After": "400"}))
    poller.poll(FeedConfig(url=url))
    assert 400 <= wait_of(poller.state.get_feed_state(url)) < 402


def test_internal_error_is_recorded_not_raised(server, poller, monkeypatch):
    url = server.route("/feed.xml", Reply(body=GOOD))

    def explode(*_args, **_kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(poller_mod, "parse_feed", explode)
    outcome = poller.poll(FeedConfig(url=url))
    assert outcome.status == "error" and outcome.error_kind == "internal" and "parser bug" in outcome.error
    assert poller.state.get_feed_state(url).status == "backing_off"


def test_store_failure_while_recording_does_not_escape(server, poller, monkeypatch):
    def broken(_url):
        raise OSError("disk gone")

    monkeypatch.setattr(poller.state, "get_feed_state", broken)
    outcome = poller.poll(FeedConfig(url=server.url("/x")))
    assert outcome.status == "error" and "disk gone" in outcome.error


# -- own outage ------------------------------------------------------------------------------------

def write_feeds(settings, urls: list[str]) -> None:
    save_feeds(settings.feeds_file, [FeedConfig(url=u) for u in urls])


def test_own_outage_is_not_counted_against_feeds(settings):
    urls = [f"http://127.0.0.1:{closed_port()}/feed.xml" for _ in range(5)]  # five hosts, all unreachable
    write_feeds(settings, urls)
    with Ingest(settings) as app:
        report = app.run_once()
        assert all(p.error_kind == "network" for p in report.polls)
        for url in urls:
            state = app.store.state.get_feed_state(url)
            assert state.error_count == 0 and state.status == "new"
            assert "local connectivity" in state.last_error
            assert wait_of(state) <= settings.polling.min_interval


def test_one_host_down_is_that_hosts_failure(settings, server):
    port = closed_port()
    down = [f"http://127.0.0.1:{port}/feed{i}.xml" for i in range(5)]  # one big publisher, five feeds
    with LoopbackServer() as other:
        up = [server.route("/ok.xml", Reply(body=GOOD)), other.route("/ok.xml", Reply(body=GOOD))]
        write_feeds(settings, down + up)
        with Ingest(settings) as app:
            app.run_once()
            for url in down:
                state = app.store.state.get_feed_state(url)
                assert state.error_count == 0.5 and state.status == "backing_off"


def test_outage_detector_counts_hosts_in_a_window():
    d = OutageDetector(share=0.8, window=100, min_hosts=3)
    for host in ("a", "b"):
        d.record(host, True, now=0)
    assert not d.in_outage(now=1)  # too few hosts to tell
    d.record("c", True, now=2)
    assert d.in_outage(now=3)
    d.record("c", False, now=4)
    assert not d.in_outage(now=5)
    for _ in range(10):  # one host failing over and over is still one host
        d.record("a", True, now=6)
    assert not d.in_outage(now=7)
    assert not d.in_outage(now=500)  # everything aged out


# -- `ingest feeds retry` through the CLI ------------------------------------------------------------

def test_cli_feeds_retry_resets_a_gone_feed(server, tmp_path, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0}\n"
                                          "extract: {workers: 1}\n")
    base = ["--config", str(config), "--db", str(tmp_path / "ingest.db")]
    url = server.route("/feed.xml", Reply(status=410))
    main(["feeds", "add", url, "--no-check", *base])
    main(["run", "--once", "--json", *base])
    capsys.readouterr()
    main(["status", "--json", *base])
    row = json.loads(capsys.readouterr().out)["feeds"][0]
    assert row["status"] == "gone" and "410" in row["error"] and row["next_poll"]
    main(["run", "--once", "--json", *base])  # gone: not asked again
    assert json.loads(capsys.readouterr().out)["feeds"][0]["status"] == "skipped"
    assert server.requests["/feed.xml"] == 1
    assert main(["feeds", "retry", url, *base]) == 0
    assert "reset 1 feed" in capsys.readouterr().out
    main(["status", "--json", *base])
    row = json.loads(capsys.readouterr().out)["feeds"][0]
    assert row["status"] == "new" and row["error"] is None and row["error_count"] == 0
    server.route("/feed.xml", Reply(body=GOOD))
    main(["run", "--once", "--json", *base])
    assert json.loads(capsys.readouterr().out)["feeds"][0]["status"] == "new"
    assert server.requests["/feed.xml"] == 2


# -- hostile feeds never stop the others -----------------------------------------------------------

BOMB = gzip.compress(b"\0" * 20_000_000)
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
          b"<rss><channel><title>&b;</title></channel></rss>")


def test_hostile_feeds_do_not_stop_the_good_one(server, settings, monkeypatch):
    settings.fetch.max_bytes = 5_000_000
    settings.fetch.timeout_total = 1
    page = (b"<html><head><title>Good story</title></head><body><article><p>"
            + b"A long enough paragraph about the harbour and its new cranes. " * 10 + b"</p></article></body></html>")
    server.route("/story", Reply(body=page, headers={"Content-Type": "text/html; charset=utf-8"}))
    good = server.route("/good.xml", Reply(body=rss([{"title": "Good story", "link": server.url("/story")}])))
    hostile = {
        "/laughs.xml": Reply(body=LAUGHS),
        "/bomb.xml": Reply(body=BOMB, encoding="gzip"),
        "/trickle.xml": Reply(body=GOOD, trickle=0.05),
        "/page.html": Reply(body=b"<!doctype html><html><body>No feed here</body></html>"),
        "/garbage.xml": Reply(body=b"\x00\xff" * 500),
        "/deep.json": Reply(body=b"[" * 50_000 + b"]" * 50_000, headers={"Content-Type": "application/json"}),
        "/error.xml": Reply(status=500),
        "/loop.xml": Reply(status=302, headers={"Location": "/loop.xml"}),
        "/internal.xml": Reply(body=GOOD),
    }
    for path, reply in hostile.items():
        server.route(path, reply)
    real_parse = poller_mod.parse_feed

    def parse(data, url, content_type=None):
        if url.endswith("/internal.xml"):
            raise RecursionError("boom")  # stands for any bug a hostile document might trigger
        return real_parse(data, url, content_type)

    monkeypatch.setattr(poller_mod, "parse_feed", parse)
    write_feeds(settings, [server.url(p) for p in hostile] + [good])
    with Ingest(settings) as app:
        report = app.run_once()
        by_url = {p.feed.url: p for p in report.polls}
        assert by_url[good].status == "new" and report.stored == 1
        for path in hostile:
            outcome = by_url[server.url(path)]
            assert outcome.status == "error" and outcome.error, path
        assert "entit" in by_url[server.url("/laughs.xml")].error
        assert by_url[server.url("/bomb.xml")].error_kind == "too_large"
        assert by_url[server.url("/trickle.xml")].error_kind == "timeout"
        assert "HTML page" in by_url[server.url("/page.html")].error
        assert by_url[server.url("/loop.xml")].error_kind == "redirect"
        assert by_url[server.url("/internal.xml")].error_kind == "internal"
        assert all(app.store.state.get_feed_state(server.url(p)).last_error for p in hostile)
