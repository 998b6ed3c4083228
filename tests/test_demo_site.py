"""The bundled sample news site, over real HTTP on loopback: content, feeds, conditional GET, edge cases."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import feedparser
import lxml.html
import pytest

from ingest.demo.site import REFERENCE_DATE, DemoArticle, DemoSite

BODY = {"rheinblick": "//div[@class='entry-content']", "alpenpost": "//div[contains(@class, 'field--name-body')]",
        "harbour": "//section[@class='story-body']", "ledger": "//div[@itemprop='articleBody']"}


def get(url: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback demo site
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def feed_spec(site, feed: dict) -> dict:
    outlet = next(o for o in site.outlets if o.key == feed["outlet"])
    return next(f for f in outlet.feeds if f["path"] == path_of(feed["url"]))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def site():
    with DemoSite(timeout_feed_delay=30) as s:
        yield s


@pytest.fixture(scope="module")
def pages(site):
    out = {}
    for a in site.articles:
        if a.status == 200:
            status, headers, body = get(a.url)
            assert status == 200, a.url
            out[a.url] = (headers, body)
    return out


# -- content ----------------------------------------------------------------------------------------


def test_outlets_articles_and_dates(site):
    ports = {o.base_url for o in site.outlets}
    assert len(site.outlets) >= 3 and len(ports) == len(site.outlets)
    assert all(re.fullmatch(r"http://127\.0\.0\.1:\d+", o.base_url) for o in site.outlets)
    assert {o.language for o in site.outlets} == {"de", "en"}
    assert len(site.articles) >= 36
    assert len({a.url for a in site.articles}) == len(site.articles)
    for a in site.articles:
        assert isinstance(a, DemoArticle) and a.url.startswith(next(o.base_url for o in site.outlets
                                                                    if o.key == a.outlet))
        assert a.published.tzinfo is not None
        assert REFERENCE_DATE - timedelta(days=21) <= a.published <= REFERENCE_DATE
        assert a.title and a.author and a.lead and a.lang in ("de", "en")
        if a.status == 200:
            assert 4 <= len(a.paragraphs) <= 10 and 3 <= len(a.tags) <= 6, a.slug
            assert a.caption and a.credit and a.boilerplate
            assert all(h in a.paragraphs for h in a.subheadings)
    assert sum(1 for a in site.articles if a.subheadings) >= 8
    assert site.article(site.articles[3].url) is site.articles[3] and site.article("http://nowhere/") is None


def test_syndicated_stories_share_their_body(site):
    groups = defaultdict(list)
    for a in site.articles:
        if a.syndication_group:
            groups[a.syndication_group].append(a)
    assert len(groups) >= 3
    for name, copies in groups.items():
        assert len({a.outlet for a in copies}) >= 2, name
        assert len({a.lang for a in copies}) == 1, name
        assert len({a.title for a in copies}) == len(copies), f"{name}: copies keep their own headline"
        shortest = min((a.paragraphs for a in copies), key=len)
        for a in copies:
            assert a.paragraphs[: len(shortest)] == shortest, name


def test_edge_cases_are_declared(site):
    kinds = {f["kind"] for f in site.feeds}
    assert kinds == {"ok", "malformed", "timeout"}
    assert {f["format"] for f in site.feeds} == {"rss", "atom"}
    for o in site.outlets:  # every outlet has an RSS feed that works
        assert any(f["outlet"] == o.key and f["format"] == "rss" and f["kind"] == "ok" for f in site.feeds)
    statuses = {a.status for a in site.articles}
    assert statuses == {200, 404, 500}
    edge = site.edge_cases
    assert all(edge.values()), edge
    assert site.article(edge["page_500_with_feed_content"]).feed_content
    assert site.article(edge["page_ok_with_feed_content"]).feed_content


# -- feeds --------------------------------------------------------------------------------------------


def test_feeds_list_the_expected_entries(site):
    by_format = {}
    for feed in (f for f in site.feeds if f["kind"] == "ok"):
        status, headers, body = get(feed["url"])
        assert status == 200 and headers["ETag"] and headers["Last-Modified"]
        assert headers["Content-Type"].startswith(f"application/{feed['format']}+xml")
        parsed = feedparser.parse(body)
        assert not parsed.bozo, (feed["url"], parsed.get("bozo_exception"))
        assert parsed.version.startswith("atom" if feed["format"] == "atom" else "rss20")
        assert parsed.feed.title == feed["name"]
        spec = feed_spec(site, feed)
        expected = [a for a in site.outlet_articles(feed["outlet"]) if spec["items"] in ("all", a.section)]
        assert [e.link for e in parsed.entries] == [a.url for a in expected]
        for entry, a in zip(parsed.entries, expected, strict=True):
            assert entry.title == a.title and entry.id and entry.published_parsed
            assert [t.term for t in entry.tags] == a.tags
            assert squash(entry.summary) == a.lead
            assert bool(entry.get("content")) == bool(a.feed_content)
        by_format.setdefault(feed["outlet"], {})[feed["format"]] = [e.link for e in parsed.entries]
    assert any(len(f) == 2 and f["rss"] == f["atom"] for f in by_format.values()), "one outlet: RSS and Atom alike"


def test_feed_full_text_for_the_fallback_cases(site):
    for key in ("page_ok_with_feed_content", "page_500_with_feed_content"):
        article = site.article(site.edge_cases[key])
        feed = next(f for f in site.feeds if f["outlet"] == article.outlet and feed_spec(site, f)["items"] == "all")
        entry = next(e for e in feedparser.parse(get(feed["url"])[2]).entries if e.link == article.url)
        text = squash(lxml.html.fromstring(entry.content[0].value).text_content())
        assert all(p in text for p in article.paragraphs) and article.lead in text


def test_conditional_get_answers_304(site):
    feed = site.feeds[0]
    site.reset_counts()
    status, headers, _ = get(feed["url"])
    assert status == 200
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert get(feed["url"], {"If-None-Match": etag})[0] == 304
    assert get(feed["url"], {"If-None-Match": f'"stale", W/{etag}'})[0] == 304
    assert get(feed["url"], {"If-Modified-Since": modified})[0] == 304
    assert get(feed["url"], {"If-None-Match": '"stale"', "If-Modified-Since": modified})[0] == 200
    older = format_datetime(datetime(2026, 10, 1, tzinfo=UTC), usegmt=True)
    assert get(feed["url"], {"If-Modified-Since": older})[0] == 200
    status, headers, body = get(feed["url"], {"If-None-Match": etag})
    assert body == b"" and headers["ETag"] == etag
    assert site.requests[f"{feed['outlet']}:{path_of(feed['url'])}"] == 7


def test_malformed_feed_is_bozo_without_entries(site):
    status, _, body = get(site.edge_cases["malformed_feed"])
    assert status == 200
    parsed = feedparser.parse(body)
    assert parsed.bozo and parsed.entries == []


def test_404_and_500_pages(site):
    assert get(site.edge_cases["page_404"])[0] == 404
    assert get(site.edge_cases["page_500_with_feed_content"])[0] == 500
    base = site.outlets[0].base_url
    assert get(base + "/politik/gibt-es-nicht.html")[0] == 404
    assert get(base + "/")[0] == 200 and get(base + "/robots.txt")[0] == 200


def test_request_counter(site):
    a = site.articles[5]
    site.reset_counts()
    get(a.url)
    get(a.url + "?utm_source=feed")
    assert site.requests[f"{a.outlet}:{a.path}"] == 2 and sum(site.requests.values()) == 2


# -- pages -----------------------------------------------------------------------------------------------


def test_pages_carry_boilerplate_inside_the_body(site, pages):
    layouts = set()
    for a in site.articles:
        if a.status != 200:
            continue
        headers, raw = pages[a.url]
        outlet = next(o for o in site.outlets if o.key == a.outlet)
        assert headers["Content-Type"] == f"text/html; charset={outlet.charset}"
        doc = lxml.html.document_fromstring(raw.decode(outlet.charset))
        assert doc.get("lang") == a.lang
        container = doc.xpath(BODY[a.outlet])
        assert len(container) == 1, a.url
        body = squash(container[0].text_content())
        for line in [*a.paragraphs, *a.boilerplate]:
            assert line in body, (a.url, line)
        assert "".join(a.tags) in body  # tag links glued together
        assert squash(doc.text_content()).count(a.caption) == 2  # under the image and again in the body
        for h in a.subheadings:
            assert h in [squash(x.text_content()) for x in container[0].xpath(".//h2")]
        meta = {m.get("property") or m.get("name"): m.get("content") for m in doc.xpath("//meta")}
        assert meta["og:title"] == a.title and meta["author"] == a.author and meta["description"] == a.lead
        assert datetime.fromisoformat(meta["article:published_time"]) == a.published
        assert [m.get("content") for m in doc.xpath("//meta[@property='article:tag']")] == a.tags
        assert doc.xpath("//link[@rel='canonical']/@href") == [a.url]
        page = squash(doc.text_content())
        for chrome in (outlet.chrome["most_read"], outlet.chrome["cookie"]):  # page chrome, outside the body
            assert chrome in page and chrome not in body
        layouts.add(container[0].get("class") or container[0].get("itemprop"))
    assert len(layouts) == len(site.outlets)


def test_promos_are_identical_across_an_outlet(site):
    for outlet in site.outlets:
        arts = [a for a in site.articles if a.outlet == outlet.key and a.status == 200]
        assert len(arts) >= 5
        for promo in outlet.body.values():
            if promo.endswith(":") and outlet.key == "rheinblick":
                continue  # "Lesen Sie auch:" is followed by a teaser headline
            assert all(promo in a.boilerplate for a in arts), promo


def test_glued_tag_run_of_the_drone_story(site, pages):
    a = next(a for a in site.articles if a.outlet == "rheinblick" and a.slug.startswith("drohnen"))
    doc = lxml.html.document_fromstring(pages[a.url][1].decode("utf-8"))
    assert "DrohnenExportIranTechnologieUSAVenezuela" in doc.xpath(BODY["rheinblick"])[0].text_content()
    for line in ("Mit WhatsApp immer auf dem neuesten Stand bleiben!", "Beitrag teilen",
                 "Das könnte Sie auch interessieren", "Verwendete Schlagwörter", "Foto: dpa/Ahmad Karimi", "Anzeige"):
        assert line in a.boilerplate


def test_iso_8859_1_outlet(site, pages):
    outlet = next(o for o in site.outlets if o.charset == "iso-8859-1")
    a = next(a for a in site.articles if a.outlet == outlet.key and a.status == 200 and "ü" in a.lead + a.title
             + "".join(a.paragraphs))
    raw = pages[a.url][1]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b'<meta charset="iso-8859-1">' in raw
    feed = next(f for f in site.feeds if f["outlet"] == outlet.key and f["kind"] == "ok")
    status, headers, body = get(feed["url"])
    assert headers["Content-Type"].endswith("charset=iso-8859-1") and body.startswith(
        b'<?xml version="1.0" encoding="iso-8859-1"?>')
    assert any("ü" in e.title for e in feedparser.parse(body).entries)


# -- runtime changes and lifecycle --------------------------------------------------------------------------


def test_publish_tops_the_feeds_and_changes_validators():
    with DemoSite() as site:
        feeds = [f for f in site.feeds if f["outlet"] == "alpenpost"]
        before = {f["url"]: get(f["url"])[1] for f in feeds}
        article = site.make_article("alpenpost", "foehnsturm-schaeden", "Föhnsturm deckt Dächer ab",
                                    ["Orkanböen haben in der Nacht mehrere Dächer im Tal beschädigt.",
                                     "Die Feuerwehr rückte zu mehr als vierzig Einsätzen aus.",
                                     "Verletzt wurde nach ersten Angaben niemand.",
                                     "Am Nachmittag soll der Wind deutlich nachlassen."],
                                    lead="Ein Föhnsturm hat in der Nacht Schäden angerichtet.",
                                    tags=["Wetter", "Sturm", "Feuerwehr"], caption="Ein abgedecktes Dach.",
                                    credit="Bild: Alpenpost/Leser")
        site.publish(article)
        assert site.article(article.url) is article and article.boilerplate
        for feed in feeds:
            old = before[feed["url"]]
            assert get(feed["url"], {"If-None-Match": old["ETag"]})[0] == 200
            assert get(feed["url"], {"If-Modified-Since": old["Last-Modified"]})[0] == 200
            status, headers, body = get(feed["url"])
            assert headers["ETag"] != old["ETag"] and headers["Last-Modified"] != old["Last-Modified"]
            assert feedparser.parse(body).entries[0].link == article.url
            assert get(feed["url"], {"If-None-Match": headers["ETag"]})[0] == 304
        status, _, raw = get(article.url)
        assert status == 200 and "Orkanböen" in raw.decode("iso-8859-1")
        with pytest.raises(ValueError):
            site.publish(article)


def test_timeout_feed_and_quick_shutdown():
    site = DemoSite(timeout_feed_delay=30).__enter__()
    url = site.edge_cases["timeout_feed"]
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        get(url, timeout=0.5)
    waiting: list[object] = []
    worker = threading.Thread(target=lambda: waiting.append(_try_get(url, timeout=60)), daemon=True)
    worker.start()
    time.sleep(0.3)  # the request is now sleeping in the handler
    started = time.monotonic()
    site.__exit__(None, None, None)
    worker.join(timeout=15)
    assert not worker.is_alive() and waiting, "the sleeping request was released by the shutdown"
    assert time.monotonic() - started < 10
    assert site.requests[f"harbour:{path_of(url)}"] == 2


def _try_get(url: str, timeout: float):
    try:
        return get(url, timeout=timeout)[0]
    except (OSError, urllib.error.URLError) as exc:
        return exc


def test_preferred_ports_and_fallback():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    free_port = free.getsockname()[1]
    free.close()
    try:
        with DemoSite(ports=[free_port, busy.getsockname()[1]]) as site:
            assert site.outlets[0].base_url == f"http://127.0.0.1:{free_port}"
            assert site.outlets[1].base_url != f"http://127.0.0.1:{busy.getsockname()[1]}"
            assert get(site.feeds[0]["url"])[0] == 200
    finally:
        busy.close()


def test_python_m_ingest_demo_serves_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "ingest.demo", "--ports", "0,0,0,0", "--delay", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        urls = re.findall(r"http://127\.0\.0\.1:\d+/\S+", "".join(lines))
        feed_url = next(u for u in urls if u.endswith("/feed.xml"))
        assert get(feed_url)[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
