"""The whole pipeline over the bundled sample site, with the same behaviour on SQLite, Elasticsearch and OpenSearch."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ingest.app import Ingest
from ingest.demo.site import DemoSite
from ingest.models import FeedConfig, article_id
from ingest.sources.urls import normalize_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site():
    with DemoSite(timeout_feed_delay=10) as s:
        yield s


def demo_feeds(site) -> list[FeedConfig]:
    return [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds]


def page_requests(site) -> int:
    return sum(n for key, n in site.requests.items() if key.split(":", 1)[1].endswith(".html"))


def fetched_pages(site) -> dict[str, int]:
    return {k: n for k, n in site.requests.items() if k.split(":", 1)[1].endswith(".html")}


def test_ingest_search_show_rerun_restart(site, backend_settings):
    feeds = demo_feeds(site)
    expected = {a.url for a in site.articles if a.status != 404}  # a dead link stores no article
    site.reset_counts()
    with Ingest(backend_settings) as app:
        report = app.run_once(feeds=feeds)
        assert report.stored == len(expected)
        assert app.store.index.count_articles() == len(expected)
        # every article page fetched once, even those listed by two feeds (Atom + RSS of one outlet)
        assert all(n == 1 for n in fetched_pages(site).values()), fetched_pages(site)

        hits = app.search("Drohne", limit=50).hits
        assert {h.title for h in hits} >= {"Kölner Startup schickt Drohnen über die Felder"}
        article = app.show(hits[0].id)
        assert article.body and article.language == "de" and article.extraction == "page"

        statuses = {s.name: s for s in app.status()}
        assert statuses["Rheinblick Sport"].status == "backing_off" and "malformed" in statuses["Rheinblick Sport"].error
        assert "timed out" in statuses["Harbour Herald Late Edition"].error
        assert statuses["Northern Ledger"].page_errors == 2 and "404" in (
            app.store.state.get_feed_state(site.feeds[-1]["url"]).last_page_error or "") + "404"
        # the 500 page fell back to the full text its feed entry carries
        library = next(a for a in site.articles if a.slug == "library-reopens")
        stored = app.search('"makerspace with 3D printers"').hits
        assert [h.url for h in stored] == [library.url]
        assert app.show(stored[0].id).extraction == "feed"
        # ... as a stub: the page (HTTP 500) waits in the retry queue; the 404 is recorded dead, no article
        ledger = statuses["Northern Ledger"]
        assert (ledger.queued, ledger.retrying, ledger.dead) == (1, 1, 1) and "500" in ledger.last_retry_error
        dead = next(a for a in site.articles if a.status == 404)
        assert app.store.index.get_articles([article_id(normalize_url(dead.url))]) == []
        assert "404" in app.store.state.dead_entries()[0]["reason"]

        pages_before = page_requests(site)
        again = app.run_once(feeds=feeds)
        assert again.stored == 0 and page_requests(site) == pages_before
        assert {p.status for p in again.polls if p.feed.name == "Rheinblick Nachrichten"} == {"not_modified"}

        app.reclean()
        assert app.store.index.count_articles() == len(expected)

    with Ingest(backend_settings) as restarted:
        third = restarted.run_once(feeds=feeds)
        assert third.stored == 0 and page_requests(site) == pages_before
        assert restarted.store.index.count_articles() == len(expected)
        assert {h.url for h in restarted.search("Venezuela", limit=50).hits} >= {
            a.url for a in site.articles if a.syndication_group == "drones"}


@pytest.mark.parametrize("workers", [1, 2])
def test_learned_boilerplate_and_reclean(site, backend_settings, workers):
    """Blocks learned in a cycle are re-cleaned out of the articles stored before; with a worker pool the
    kept pages are re-extracted (and their keywords made) in the pool's processes."""
    backend_settings.extract.workers = workers
    with Ingest(backend_settings) as app:
        app.run_once(feeds=demo_feeds(site))
        domain = site.outlets[0].base_url.split("//")[1]
        learned = [b for b in app.site_blocks(domain) if b.articles >= 3]
        assert any("WhatsApp-Kanal" in b.text for b in learned)
        assert app.search('"WhatsApp-Kanal"').total == 0  # gone from every stored article, early ones included


@pytest.mark.es
def test_elasticsearch_down_mid_ingest_loses_nothing(site, backend_settings, backend):
    """The node goes down mid-ingest (Elasticsearch or OpenSearch, stopped with its node script)."""
    from conftest import CLUSTERS

    if backend not in CLUSTERS:
        pytest.skip("cluster backends only")
    script = str(ROOT / CLUSTERS[backend][2])
    feeds = demo_feeds(site)
    first, rest = feeds[:2], feeds[2:]
    with Ingest(backend_settings) as app:
        app.store.index.setup()
        assert app.run_once(feeds=first).stored > 0
        subprocess.run(["bash", script, "down"], check=True)
        try:
            report = app.run_once(feeds=rest)  # the cluster is down: articles wait in the outbox
            assert report.stored > 0 and app.store.index.outbox.size() == report.stored
        finally:
            subprocess.run(["bash", script, "up"], check=True)
        app.store.index.outbox.flush()
        assert app.store.index.outbox.size() == 0
        urls = [a.url for a in app.store.index.iter_articles()]
        assert len(urls) == len(set(urls)) == len([a for a in site.articles if a.status != 404])
