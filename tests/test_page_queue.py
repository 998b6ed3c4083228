"""The pending queue between polling and storing: page retries, stubs upgraded, dead links, the entries
cap, per-entry and per-feed failures that never stop the run, host queues served in turn."""

from __future__ import annotations

import pytest
from loopback import Reply, article_page, rss

import ingest.pipeline as pipeline_mod
from ingest.app import Ingest
from ingest.fetch.politeness import HostQueues
from ingest.models import FeedConfig
from ingest.sources.feedlist import save_feeds

HTML = {"Content-Type": "text/html; charset=utf-8"}
PARAS = ["The harbour authority approved the new container terminal after a two-year review of its plans.",
         "Construction starts in spring; the operator expects the first ships to berth there in three years.",
         "Residents of the old port district asked for noise barriers and fewer night-time truck journeys.",
         "The council will publish the traffic study next month and hold a public hearing in the town hall."]
FULL = " ".join(PARAS)


class Flaky:
    """A page that fails `failures` times with `status`, then answers with the article."""

    def __init__(self, failures: int, status: int = 500, title: str = "Terminal approved"):
        self.left, self.status, self.title = failures, status, title

    def __call__(self, _handler) -> Reply:
        if self.left > 0:
            self.left -= 1
            return Reply(status=self.status, body=b"try later")
        return Reply(body=article_page(self.title, PARAS), headers=HTML)


def one_feed(server, items: list[dict], path: str = "/feed.xml") -> FeedConfig:
    url = server.route(path, Reply(body=rss(items), etag='"1"', headers={"Content-Type": "application/rss+xml"}))
    return FeedConfig(url=url, name="Port News")


def test_page_failing_twice_then_succeeding_is_stored_with_full_text(server, backend_settings):
    backend_settings.polling.page_retry_base = 0  # due again at the next run
    server.route("/terminal", Flaky(2))
    feed = one_feed(server, [{"title": "Terminal approved", "link": server.url("/terminal"),
                              "description": "The harbour authority approved the new container terminal."}])
    with Ingest(backend_settings) as app:
        first = app.run_once(feeds=[feed])
        assert first.stored == 1 and first.retrying == 1  # the feed's summary, as a stub
        [hit] = app.search("terminal").hits
        stub = app.show(hit.id)
        assert stub.extraction == "feed" and stub.body.startswith("The harbour authority")
        row = app.status()[0] if app.status()[0].url == feed.url else None
        assert row is not None and (row.queued, row.retrying) == (1, 1) and "500" in row.last_retry_error

        second = app.run_once(feeds=[feed])
        assert second.retrying == 1 and app.show(hit.id).extraction == "feed"

        third = app.run_once(feeds=[feed])
        article = app.show(hit.id)
        assert third.stored == 1 and article.extraction == "page" and PARAS[3] in article.body
        assert app.store.index.count_articles() == 1 and app.status()[0].queued == 0
        assert app.run_once(feeds=[feed]).stored == 0
    assert server.requests["/terminal"] == 3


def test_dead_links_store_no_article_and_are_not_fetched_again(server, backend_settings):
    for path, status in (("/gone", 410), ("/missing", 404), ("/legal", 451)):
        server.route(path, Reply(status=status))
    server.route("/fine", Reply(body=article_page("Terminal approved", PARAS), headers=HTML))
    feed = one_feed(server, [{"title": p, "link": server.url(p), "description": "A summary of the story."}
                             for p in ("/gone", "/missing", "/legal", "/fine")])
    with Ingest(backend_settings) as app:
        report = app.run_once(feeds=[feed])
        assert report.stored == 1 and report.dead == 3
        assert app.store.index.count_articles() == 1
        assert sorted(d["reason"].rsplit(" ", 1)[-1] for d in app.store.state.dead_entries()) == ["404", "410", "451"]
        assert app.status()[0].dead == 3
        app.store.state.save_feed_state(app.store.state.get_feed_state(feed.url))
        server.routes["/feed.xml"].etag = '"2"'  # the feed changes: its dead entries are still known
        assert app.run_once(feeds=[feed]).stored == 0
    assert all(server.requests[p] == 1 for p in ("/gone", "/missing", "/legal", "/fine"))


def test_retries_end_after_the_limit(server, settings):
    settings.polling.page_retry_base = 0
    settings.polling.page_retries = 2
    server.route("/down", Reply(status=503, headers={"Retry-After": "0"}))
    server.route("/down-with-summary", Reply(status=502))
    feed = one_feed(server, [{"title": "Down", "link": server.url("/down")},
                             {"title": "Down too", "link": server.url("/down-with-summary"),
                              "description": "The council met on Monday."}])
    with Ingest(settings) as app:
        reports = [app.run_once(feeds=[feed]) for _ in range(4)]
        assert [r.retrying for r in reports] == [2, 2, 0, 0]
        assert reports[2].dead == 1  # no text at all: dead, with the reason
        [dead] = app.store.state.dead_entries()
        assert dead["url"].endswith("/down") and "gave up after 3 tries" in dead["reason"]
        [hit] = app.search("council").hits  # the stub stays the article
        assert app.show(hit.id).extraction == "feed" and app.store.index.count_articles() == 1
    assert server.requests["/down"] == 3 and server.requests["/down-with-summary"] == 3


def test_guid_that_is_not_a_url_is_never_fetched(server, settings):
    body = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><link>http://x.invalid/</link>"
            b"<item><title>Numbered</title><guid>12345</guid><description>No link here.</description></item>"
            b"<item><title>Linked</title><link>" + server.url("/ok").encode() + b"</link></item>"
            b"</channel></rss>")
    server.route("/ok", Reply(body=article_page("Terminal approved", PARAS), headers=HTML))
    feed_url = server.route("/feed.xml", Reply(body=body, headers={"Content-Type": "application/rss+xml"}))
    with Ingest(settings) as app:
        report = app.run_once(feeds=[FeedConfig(url=feed_url)])
        assert report.stored == 1
    assert server.requests["/12345"] == 0 and server.requests["/ok"] == 1


def test_entries_beyond_the_cap_wait_for_the_next_cycles(server, settings):
    settings.polling.max_entries_per_poll = 10
    items = []
    for n in range(25):
        server.route(f"/a/{n}", Reply(body=article_page(f"Story {n}", [f"Story {n}: {p}" for p in PARAS]), headers=HTML))
        items.append({"title": f"Story {n}", "link": server.url(f"/a/{n}")})
    feed = one_feed(server, items)
    with Ingest(settings) as app:
        stored = []
        for _ in range(3):
            report = app.run_once(feeds=[feed])
            stored.append(report.stored)
        assert stored == [10, 10, 5] and app.store.index.count_articles() == 25
        assert report.left_queued == 0
    assert server.requests["/feed.xml"] == 3 and all(server.requests[f"/a/{n}"] == 1 for n in range(25))


def test_a_bad_feed_url_does_not_stop_the_others(server, settings):
    server.route("/ok", Reply(body=article_page("Terminal approved", PARAS), headers=HTML))
    good = one_feed(server, [{"title": "Terminal", "link": server.url("/ok")},
                             {"title": "Bad port", "link": "http://127.0.0.1:99999/story"}])
    bad = [FeedConfig(url="http://127.0.0.1:99999/feed"), FeedConfig(url="http://[::1/feed")]
    save_feeds(settings.feeds_file, bad + [good])
    with Ingest(settings) as app:
        report = app.run_once()
        by_url = {p.feed.url: p for p in report.polls}
        assert by_url[good.url].status == "new" and report.stored == 1
        assert all(by_url[f.url].status == "error" and by_url[f.url].error for f in bad)
        assert report.dead == 1 and "99999" in app.store.state.dead_entries()[0]["url"]


def test_hung_extraction_is_replaced_and_the_article_falls_back_to_feed_text(server, settings, monkeypatch):
    settings.extract.workers = 2
    settings.extract.time_limit = 2
    real = pipeline_mod.extract_article

    def extract(html, url, *args, **kwargs):
        if url and "/stuck" in url:
            import time

            time.sleep(3600)  # stands for a page that keeps the parser busy for ever
        return real(html, url, *args, **kwargs)

    monkeypatch.setattr(pipeline_mod, "extract_article", extract)  # inherited by the forked workers
    server.route("/stuck", Reply(body=article_page("Stuck", PARAS), headers=HTML))
    server.route("/stuck-too", Reply(body=article_page("Stuck", PARAS), headers=HTML))
    items = [{"title": "Stuck", "link": server.url("/stuck"), "description": FULL},
             {"title": "Stuck too", "link": server.url("/stuck-too")}] + stories(server, 6)
    feed = one_feed(server, items)
    with Ingest(settings) as app:
        report = app.run_once(feeds=[feed])
        assert report.stored == 7 and report.dead == 1
        stuck = next(h for h in app.search("harbour", limit=20).hits if h.url.endswith("/stuck"))
        assert app.show(stuck.id).extraction == "feed"  # over the time limit: the feed's text instead
        [dead] = app.store.state.dead_entries()  # ... or, without feed text, recorded with the reason
        assert dead["url"].endswith("/stuck-too") and "longer than 2s" in dead["reason"]


def test_a_text_that_made_the_keyword_library_panic_costs_nothing(server, settings):
    """`'word ' * 100000` made yake-rust panic (pyo3's PanicException derives from BaseException) and
    ended the run. Enrichment input is bounded now (ingest.limits) and a panic is caught per
    article (tests/test_hostile.py); here the whole run: every article stored, nothing lost."""
    settings.extract.workers = 2
    server.route("/panic", Reply(body=article_page("Words", ["word " * 100_000]), headers=HTML))
    feed = one_feed(server, [{"title": "Words", "link": server.url("/panic")}] + stories(server, 4))
    with Ingest(settings) as app:
        report = app.run_once(feeds=[feed])
        assert report.stored == 5 and report.dead == 0
        assert app.store.index.get_article(next(h.id for h in app.search("title:Words").hits)) is not None


def stories(server, n: int) -> list[dict]:
    items = []
    for i in range(n):
        server.route(f"/a/{i}", Reply(body=article_page(f"Story {i}", [f"Story {i}: {p}" for p in PARAS]), headers=HTML))
        items.append({"title": f"Story {i}", "link": server.url(f"/a/{i}")})
    return items


def test_host_queues_serve_hosts_in_turn_within_their_limits():
    now = [0.0]
    queues = HostQueues(concurrency=2, min_interval=0.5, clock=lambda: now[0])
    for host in ("a", "b", "c"):
        for n in range(3):
            queues.put(host, f"{host}{n}")
    taken = [queues.take()[1] for _ in range(4)]
    assert taken == ["a0", "b0", "c0", None]  # each host's gap: nothing more before 0.5 s
    now[0] = 0.5
    assert [queues.take()[1] for _ in range(3)] == ["a1", "b1", "c1"]
    now[0] = 1.0
    assert queues.take()[1] is None  # two of each host out: its concurrency is used up
    queues.finished("b")
    assert queues.take()[:2] == ("b", "b2") and len(queues) == 2
    assert sorted(queues.drain()) == ["a2", "c2"] and len(queues) == 0


@pytest.mark.parametrize("hosts", [1, 10])
def test_host_queues_rate_grows_with_hosts(hosts):
    """Handed out over 10 simulated seconds: one host gives 1/gap items per second, N hosts N times that."""
    now = [0.0]
    queues = HostQueues(concurrency=2, min_interval=0.5, clock=lambda: now[0])
    for n in range(1000):
        queues.put(f"h{n % hosts}", n)
    handed = 0
    while now[0] < 10.0:
        host, item, wait = queues.take()
        if item is None:
            now[0] += wait if wait != float("inf") else 0.01
            continue
        queues.finished(host)  # the request is answered at once
        handed += 1
    assert handed == 20 * hosts


def test_one_extraction_pool_however_many_threads_ask(settings):
    from concurrent.futures import ThreadPoolExecutor

    from ingest.pipeline import Pipeline
    from ingest.store import open_backends

    settings.extract.workers = 2
    store = open_backends(settings.store)
    pipe = Pipeline(settings, store)
    try:
        with ThreadPoolExecutor(8) as threads:  # the daemon's jobs asking at once
            pools = list(threads.map(lambda _: pipe._extract_pool(), range(16)))
        assert len({id(p) for p in pools}) == 1
        assert pools[0].submit(sum, [1, 2, 3]).result(timeout=60) == 6
        assert len(pools[0].pids()) == 2
    finally:
        pipe.close()
        store.close()


def test_an_article_stored_through_another_feed_meanwhile_is_not_fetched_again(server, settings):
    """The daemon polls feeds in parallel: two feeds may queue one article before either stores it."""
    from ingest.pipeline import Pipeline
    from ingest.store import open_backends

    server.route("/shared", Reply(body=article_page("Terminal approved", PARAS), headers=HTML))
    a = one_feed(server, [{"title": "Shared", "link": server.url("/shared")}], "/a.xml")
    b = one_feed(server, [{"title": "Shared", "link": server.url("/shared")}], "/b.xml")
    store = open_backends(settings.store)
    pipe = Pipeline(settings, store)
    try:
        assert pipe.poller.poll(a).new_entries == 1 and pipe.poller.poll(b).new_entries == 1
        assert pipe.process_queue([a.url]).stored == 1
        assert pipe.process_queue([b.url]).stored == 0
        assert store.state.pending_entries() == []
        [article] = list(store.index.iter_articles())
        assert sorted(article.feed_urls) == sorted([a.url, b.url])
    finally:
        pipe.close()
        store.close()
    assert server.requests["/shared"] == 1
