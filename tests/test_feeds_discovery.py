"""A site URL where a feed was expected: the feed it advertises is found at the first poll.

Discovery happens at poll time, not at `feeds add` (which works offline and keeps the URL the
user gave): the first poll sees HTML, follows <link rel=alternate>, remembers the feed in the
feed state (`resolved_url`) and polls it directly from then on."""

from __future__ import annotations

import json

import pytest
from loopback import Reply, article_page, rss

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.models import FeedConfig
from ingest.sources.feedlist import save_feeds

HTML = {"Content-Type": "text/html; charset=utf-8"}


def site_page(feed_path: str) -> bytes:
    return (f"<!doctype html><html><head><title>Site</title>"
            f"<link rel='alternate' type='application/rss+xml' href='{feed_path}'></head>"
            f"<body><h1>Front page</h1></body></html>").encode()


@pytest.fixture
def site(server):
    paras = ["The regional parliament approved the new budget for schools and public transport on Friday morning.",
             "Teachers welcomed the decision, while the opposition criticised the lack of money for rural bus lines.",
             "The budget comes into force next January after the final vote of the upper chamber next month."]
    server.route("/news/budget", Reply(body=article_page("Budget approved", paras), headers=HTML))
    server.route("/", Reply(body=site_page("/feed.xml"), headers=HTML))
    server.route("/feed.xml", Reply(body=rss([{"title": "Budget approved", "link": server.url("/news/budget")}]),
                                    etag='"f1"'))
    return server


def test_site_url_in_feeds_yaml_polls_its_feed(site, settings):
    save_feeds(settings.feeds_file, [FeedConfig(url=site.url("/"), name="Site")])
    with Ingest(settings) as app:
        report = app.run_once()
        assert report.polls[0].status == "new" and report.stored == 1
        state = app.store.state.get_feed_state(site.url("/"))
        assert state.resolved_url == site.url("/feed.xml") and state.status == "working"
        row = app.status()[0]
        assert (row.status, row.articles) == ("working", 1)
        assert app.run_once().polls[0].status == "not_modified"
    assert site.requests["/"] == 1 and site.requests["/feed.xml"] == 2


def test_moved_feed_is_discovered_again(site, settings):
    save_feeds(settings.feeds_file, [FeedConfig(url=site.url("/"))])
    with Ingest(settings) as app:
        app.run_once()
        del site.routes["/feed.xml"]
        site.route("/", Reply(body=site_page("/rss2.xml"), headers=HTML))
        site.route("/rss2.xml", Reply(body=rss([{"title": "Budget approved", "link": site.url("/news/budget")}],
                                               title="Site, new feed")))
        assert app.run_once().polls[0].status == "error"  # the remembered feed is 404 now
        assert app.store.state.get_feed_state(site.url("/")).resolved_url is None
        report = app.run_once()
        assert report.polls[0].status == "new" and report.stored == 0  # same article, nothing new
        assert app.store.state.get_feed_state(site.url("/")).resolved_url == site.url("/rss2.xml")


def test_page_without_feed_links_is_a_clear_error(server, settings):
    server.route("/", Reply(body=b"<!doctype html><html><body>Just a page</body></html>", headers=HTML))
    save_feeds(settings.feeds_file, [FeedConfig(url=server.url("/"))])
    with Ingest(settings) as app:
        outcome = app.run_once().polls[0]
    assert outcome.status == "error" and "HTML page, not a feed" in outcome.error and "no feed links" in outcome.error


def test_cli_feeds_add_site_url_finds_its_feed(site, tmp_path, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0}\n"
                                          "extract: {workers: 1}\n")
    base = ["--config", str(config), "--db", str(tmp_path / "ingest.db")]
    assert main(["feeds", "add", site.url("/"), "--name", "Site", *base]) == 0
    capsys.readouterr()
    assert main(["run", "--once", "--json", *base]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stored"] == 1 and report["feeds"][0]["status"] == "new"
    assert main(["status", "--json", *base]) == 0
    row = json.loads(capsys.readouterr().out)["feeds"][0]
    assert (row["url"], row["status"], row["articles"]) == (site.url("/"), "working", 1)


def test_cli_feeds_add_reports_the_discovered_feed_and_refuses_a_page_without_one(site, server, tmp_path, capsys):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0}\n")
    base = ["--config", str(config), "--db", str(tmp_path / "ingest.db")]
    assert main(["feeds", "add", site.url("/"), *base]) == 0
    out = capsys.readouterr().out
    assert f"its feed {site.url('/feed.xml')}" in out and str(config / "feeds.yaml") in out
    server.route("/plain", Reply(body=b"<html><body><p>no feed here</p></body></html>",
                                 headers={"Content-Type": "text/html"}))
    assert main(["feeds", "add", server.url("/plain"), *base]) == 2
    err = capsys.readouterr().err
    assert "no feed links" in err and "--no-check" in err
    assert server.url("/plain") not in (config / "feeds.yaml").read_text()
