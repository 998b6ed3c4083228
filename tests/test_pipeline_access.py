"""Issue 13 through the whole pipeline (loopback site, real store): the lead outside the body is stored
and searchable, `access` is paywalled / teaser / free, a bot challenge or consent wall is an error and
never an article, `url` loses its tracking parameters and `fetched_url` keeps them, `published` keeps
the page's time and zone."""

from __future__ import annotations

from pathlib import Path

from loopback import Reply, article_page, rss

from ingest.app import Ingest
from ingest.models import FeedConfig
from ingest.sources.feedlist import save_feeds
from ingest.store.base import SearchRequest

PAGES = Path(__file__).parent / "fixtures" / "clean2" / "pages"
LONG = ["The harbour authority approved a new ferry terminal on the east quay on Monday evening after a long debate.",
        "Construction is expected to take two years and will cost about forty million, most of it from the port.",
        "Residents of the old town had asked for a quieter site, but the council said the east quay was the only option.",
        "Ferries to the islands will keep using the old terminal until the new one opens in the spring of next year.",
        "The operator promised electric shore power for every berth, so that ships no longer run engines in port.",
        "Fishermen, who use the east quay today, will move to a new pier in the north basin built at the same time.",
        "The council will publish the final design in June and hold two public meetings before work begins."]
CHALLENGE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-browser-verification'>"
             b"<p>Checking your browser before accessing the site.</p></div>"
             b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script></body></html>")


def test_pipeline_access_blocked_pages_urls_and_leads(settings, server):
    items = []
    for i in range(6):  # six normal articles: the source's median length
        path = f"/news/{i}"
        server.route(path, Reply(body=article_page(f"Ferry terminal story {i}", [f"Part {i}: {p}" for p in LONG]),
                                 headers={"Content-Type": "text/html"}))
        items.append({"link": server.url(path) + "?utm_source=rss&utm_campaign=feed", "title": f"Ferry terminal story {i}"})
    server.route("/short", Reply(body=article_page("Ferry fares", ["Fares for the island ferries rise by ten percent in May, the operator said."])))
    items.append({"link": server.url("/short"), "title": "Ferry fares"})
    server.route("/challenge", Reply(status=200, body=CHALLENGE, headers={"Content-Type": "text/html"}))
    items.append({"link": server.url("/challenge"), "title": "Challenged"})
    for name in ("01-de1-lead-class", "22-de1-wordpress"):
        server.route(f"/{name}", Reply(body=(PAGES / f"{name}.html").read_bytes(), headers={"Content-Type": "text/html"}))
        items.append({"link": server.url(f"/{name}"), "title": "Iran schickt neue Kampfdrohnen nach Russland"})
    server.route("/feed.xml", Reply(body=rss(items)))
    save_feeds(settings.feeds_file, [FeedConfig(url=server.url("/feed.xml"), name="Loopback")])

    with Ingest(settings) as app:
        report = app.run_once()
        by_path = {a.fetched_url.split("/", 3)[3]: a for a in app.store.index.iter_articles()}
        assert "challenge" not in by_path, "a bot challenge is never an article"
        assert any("blocked page: bot challenge" in e for e in report.page_errors) or \
            "blocked page" in (app.store.state.get_feed_state(server.url("/feed.xml")).last_page_error or "")

        first = by_path["news/0?utm_source=rss&utm_campaign=feed"]
        assert first.url == server.url("/news/0") and first.access == "free"
        assert by_path["01-de1-lead-class"].body.startswith("Der Iran hat nach Erkenntnissen westlicher Geheimdienste")
        assert by_path["01-de1-lead-class"].published.isoformat() == "2026-03-02T08:15:00+01:00"
        assert by_path["22-de1-wordpress"].access == "paywalled"
        assert "Weiterlesen mit Rheinpost Plus" not in by_path["22-de1-wordpress"].body
        hits = app.store.index.search(SearchRequest(query="Geheimdienste AND NOT access:paywalled")).hits
        assert [h.url for h in hits] == [server.url("/01-de1-lead-class")]


def test_a_short_unmarked_article_is_a_teaser_once_the_source_has_a_median(settings, server):
    items = []
    for i in range(6):
        server.route(f"/a{i}", Reply(body=article_page(f"Terminal story {i}", [f"Part {i}: {p}" for p in LONG])))
        items.append({"link": server.url(f"/a{i}"), "title": f"Terminal story {i}"})
    server.route("/feed.xml", Reply(body=rss(items)))
    save_feeds(settings.feeds_file, [FeedConfig(url=server.url("/feed.xml"), name="Loopback")])
    with Ingest(settings) as app:
        app.run_once()
        short = [LONG[0] + " More in our print edition."]
        server.route("/short", Reply(body=article_page("Ferry fares rise", short)))
        server.route("/feed.xml", Reply(body=rss([*items, {"link": server.url("/short"), "title": "Ferry fares rise"}])))
        app.run_once()
        access = {a.title: a.access for a in app.store.index.iter_articles()}
    assert access["Ferry fares rise"] == "teaser"
    assert {v for k, v in access.items() if k != "Ferry fares rise"} == {"free"}


def test_consent_wall_is_blocked_a_short_privacy_story_is_not():
    from ingest.config import ExtractSettings
    from ingest.extract import extract_article

    wall = (b"<html><head><title>Before you continue</title></head><body><div class='consent'><h1>We value your privacy</h1>"
            b"<p>We and our partners use cookies and similar technologies to store and access information on your device. "
            b"By clicking Accept all you agree to our use of cookies for personalised ads and content.</p>"
            b"<button>Accept all</button></div></body></html>")
    got = extract_article(wall, "https://x.example/a", ExtractSettings())
    assert got.blocked == "consent wall" and got.text == "" and got.method == "none"
    brief = ("<html><head><title>Bußgeld gegen Versandhändler</title></head><body><article><h1>Bußgeld gegen "
             "Versandhändler</h1><p>Die Datenschutzbehörde hat gegen einen Versandhändler ein Bußgeld von 1,2 Millionen "
             "Euro verhängt. Das Unternehmen habe Cookies ohne Einwilligung der Kunden gesetzt und Daten an "
             "Werbenetzwerke weitergegeben, teilte die Behörde mit.</p><p>Der Händler kündigte an, gegen den Bescheid "
             "zu klagen.</p></article></body></html>").encode()
    got = extract_article(brief, "https://x.example/b", ExtractSettings())
    assert got.blocked is None and got.text.startswith("Die Datenschutzbehörde")
