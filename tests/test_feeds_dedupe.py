"""Entry dedupe through the real pipeline (Ingest.run_once, feeds.yaml, SQLite file, loopback pages):
one article in several feeds is stored once with all its feeds; URL variants and GUID churn do not
create duplicates or re-fetch pages."""

from __future__ import annotations

import pytest
from loopback import Reply, article_page, rss

from ingest.app import Ingest
from ingest.models import FeedConfig, article_id
from ingest.sources.feedlist import save_feeds
from ingest.sources.urls import normalize_url

HTML = {"Content-Type": "text/html; charset=utf-8"}


def story(server, slug: str, topic: str, *aliases: str) -> str:
    paras = [f"Story {slug}: the council discussed the {topic} for several hours on Tuesday evening in the town hall.",
             f"Residents asked whether the {topic} plan of {slug} had been checked against the budget rules.",
             f"The mayor promised a written answer on the {topic} before the next session of the council."]
    page = Reply(body=article_page(f"{topic.title()} debate", paras), headers=HTML)
    for path in (f"/news/{slug}", *aliases):
        server.route(path, page)
    return server.url(f"/news/{slug}")


def page_hits(server, slug: str) -> int:
    return sum(n for path, n in server.requests.items() if path.startswith(f"/news/{slug}"))


@pytest.fixture
def app(settings):
    with Ingest(settings) as a:
        yield a


def set_feeds(app, urls: list[str]) -> None:
    save_feeds(app.settings.feeds_file, [FeedConfig(url=u) for u in urls])


def stored(app, link: str):
    return app.store.index.get_article(article_id(normalize_url(link)))


def test_same_article_in_several_feeds_is_stored_once_with_all_feeds(server, app):
    shared = story(server, "drones", "drones", "/news/drones/amp")
    variants = [shared + "?utm_source=feed1&utm_medium=rss&fbclid=x", shared + "#comments", shared + "/amp"]
    feeds = []
    for i, link in enumerate(variants):
        own = story(server, f"own{i}", f"harbour {i}")
        feeds.append(server.route(f"/feed{i}.xml", Reply(body=rss([{"title": "Drones", "link": link},
                                                                    {"title": f"Own {i}", "link": own}]))))
    set_feeds(app, feeds)
    report = app.run_once()
    assert report.stored == 4
    article = stored(app, shared)
    assert sorted(article.feed_urls) == sorted(feeds)
    assert page_hits(server, "drones") == 1  # fetched once for all three feeds
    assert app.store.index.count_articles() == 4

    # A fourth feed carrying the article later: remembered, not fetched, not stored again.
    later = server.route("/feed-late.xml", Reply(body=rss([{"title": "Drones", "link": shared + "/"}])))
    set_feeds(app, feeds + [later])
    report = app.run_once()
    assert report.stored == 0 and page_hits(server, "drones") == 1
    assert sorted(stored(app, shared).feed_urls) == sorted(feeds + [later])
    assert app.store.index.count_articles() == 4


def test_guid_churn_headline_edit_changes_the_link_not_the_article(server, app):
    old = story(server, "old-headline", "bridge")
    new = story(server, "new-headline", "bridge repairs")
    feed = server.route("/feed.xml", Reply(body=rss([{"title": "Bridge", "link": old, "guid": "urn:story:42"}])))
    set_feeds(app, [feed])
    assert app.run_once().stored == 1
    server.route("/feed.xml", Reply(body=rss([{"title": "Bridge repairs delayed", "link": new,
                                               "guid": "urn:story:42"}])))
    report = app.run_once()
    assert report.polls[0].status == "new" and report.stored == 0
    assert page_hits(server, "new-headline") == 0 and app.store.index.count_articles() == 1
    # The new link now points at the same article: another feed linking to it adds no duplicate either.
    other = server.route("/other.xml", Reply(body=rss([{"title": "Bridge", "link": new}])))
    set_feeds(app, [feed, other])
    assert app.run_once().stored == 0 and app.store.index.count_articles() == 1
    assert sorted(stored(app, old).feed_urls) == sorted([feed, other])


def test_regenerated_guids_with_the_same_link_are_no_duplicates(server, app):
    link = story(server, "tram", "tram")
    feed = server.route("/feed.xml", Reply(body=rss([{"title": "Tram", "link": link, "guid": "a-1"}])))
    set_feeds(app, [feed])
    assert app.run_once().stored == 1
    server.route("/feed.xml", Reply(body=rss([{"title": "Tram", "link": link + "?utm_campaign=y", "guid": "b-2"}])))
    assert app.run_once().stored == 0 and page_hits(server, "tram") == 1


def test_unchanged_second_cycle_fetches_nothing_but_the_feeds(server, app):
    feeds = []
    for i in range(3):
        link = story(server, f"s{i}", f"topic {i}")
        feeds.append(server.route(f"/f{i}.xml", Reply(body=rss([{"title": "T", "link": link}]), etag=f'"{i}"')))
    set_feeds(app, feeds)
    app.run_once()
    before = server.requests.total()
    report = app.run_once()
    assert [p.status for p in report.polls] == ["not_modified"] * 3
    assert server.requests.total() - before == 3
