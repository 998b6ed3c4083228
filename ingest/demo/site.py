"""The bundled sample news site: four fictional outlets, each on its own loopback port.

    with DemoSite() as site:
        for feed in site.feeds: print(feed["name"], feed["url"])

Pages carry the boilerplate real news pages carry *inside* the article container (messenger
promos, share prompts, "related" teasers, tag runs glued together, captions printed twice,
photo credits, ads, cookie notes), so cleaning has something to do. Edge cases: a malformed
feed, a feed that never answers in time, an article page that 404s and one that fails with
500 (its feed entry carries the full text), and one outlet served as ISO-8859-1.
`python -m ingest.demo` serves it in the foreground.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingest.demo.content import STORIES


@dataclass
class Outlet:
    key: str
    name: str
    language: str
    charset: str = "utf-8"
    base_url: str = ""


OUTLETS = [
    Outlet("rheinblick", "Rheinblick Nachrichten", "de"),
    Outlet("alpenpost", "Alpenpost", "de", charset="iso-8859-1"),
    Outlet("harbour", "Harbour Herald", "en"),
    Outlet("ledger", "Northern Ledger", "en"),
]

PROMOS = {  # identical on every article of an outlet, as on real sites (per-site learning sees them)
    "rheinblick": ["Mit WhatsApp immer auf dem neuesten Stand bleiben!",
                   "Abonnieren Sie unseren WhatsApp-Kanal, um die Neuigkeiten direkt auf Ihr Handy zu erhalten …",
                   "Beitrag teilen"],
    "alpenpost": ["Folgen Sie der Alpenpost auf Telegram und verpassen Sie keine Eilmeldung mehr.",
                  "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten. Einverstanden"],
    "harbour": ["Follow us on Telegram for breaking news",
                "Sign up to our morning newsletter and get the day's top stories in your inbox.",
                "Share this article"],
    "ledger": ["Join our WhatsApp channel for the latest news from the North",
               "Get our free daily briefing: sign up here"],
}
RELATED = {"rheinblick": "Das könnte Sie auch interessieren", "alpenpost": "Mehr zum Thema",
           "harbour": "Related articles", "ledger": "Read more:"}
TAGS_HEAD = {"rheinblick": "Verwendete Schlagwörter", "alpenpost": "Themen:", "harbour": "Topics:", "ledger": "Tags:"}
AD = {"rheinblick": "Anzeige", "alpenpost": "Anzeige", "harbour": "Advertisement", "ledger": "Advertisement"}


@dataclass
class DemoArticle:
    outlet: str
    slug: str
    url: str
    lang: str
    title: str
    author: str
    published: datetime
    paragraphs: list[str]
    subheadings: list[str]
    lead: str
    tags: list[str]
    caption: str
    credit: str
    boilerplate: list[str] = field(default_factory=list)
    syndication_group: str | None = None
    status: int = 200
    feed_content: str | None = None

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3]

    @property
    def body_text(self) -> list[str]:
        """The article as a reader sees it: lead, then paragraphs and subheadings."""
        return [self.lead] + self.paragraphs


def _articles(outlets: dict[str, Outlet]) -> list[DemoArticle]:
    out: list[DemoArticle] = []
    for story in STORIES:
        for outlet_key in [story["outlet"], *story.get("copies", [])]:
            outlet = outlets[outlet_key]
            title = story["title"] if outlet_key == story["outlet"] else "Bericht: " + story["title"] \
                if outlet.language == "de" else "Report: " + story["title"]
            paras = [p[3:] if p.startswith("## ") else p for p in story["paragraphs"]]
            out.append(DemoArticle(
                outlet=outlet_key, slug=story["slug"], url=f"{outlet.base_url}/{_section(story)}/{story['slug']}.html",
                lang=outlet.language, title=title, author=story["author"],
                published=datetime.fromisoformat(story["published"]), paragraphs=paras,
                subheadings=[p[3:] for p in story["paragraphs"] if p.startswith("## ")], lead=story["lead"],
                tags=list(story["tags"]), caption=story["caption"], credit=story["credit"],
                syndication_group=story.get("synd")))
    ledger = outlets["ledger"]
    out.append(DemoArticle(
        outlet="ledger", slug="council-budget-gap", url=f"{ledger.base_url}/news/council-budget-gap.html",
        lang="en", title="Council faces budget gap of twelve million", author="Kate Byrne",
        published=datetime.fromisoformat("2026-11-18T07:00:00+00:00"), paragraphs=[], subheadings=[],
        lead="The borough must find savings of twelve million pounds next year.", tags=["Council", "Budget"],
        caption="", credit="", status=404))
    out.append(DemoArticle(
        outlet="ledger", slug="library-reopens", url=f"{ledger.base_url}/news/library-reopens.html",
        lang="en", title="Central library reopens after two-year refurbishment", author="Ian McLeod",
        published=datetime.fromisoformat("2026-11-17T09:00:00+00:00"),
        paragraphs=["The central library reopened on Monday after a two-year refurbishment that cost nine million "
                    "pounds. Visitors queued around the block before the doors opened at nine.",
                    "The building now has a rooftop reading room, a makerspace with 3D printers and a children's "
                    "floor with a small theatre. The original Victorian staircase was restored by local craftsmen.",
                    "Librarians said more than two thousand people signed up for new cards on the first day."],
        subheadings=[], lead="The central library has reopened its doors to readers.",
        tags=["Libraries", "Culture"], caption="", credit="", status=500))
    out[-1].feed_content = "".join(f"<p>{escape(p)}</p>" for p in [out[-1].lead, *out[-1].paragraphs])
    for a in out:
        a.boilerplate = _boilerplate_lines(a)
    return out


def _section(story: dict) -> str:
    return {"de": "nachrichten", "en": "news"}[{"rheinblick": "de", "alpenpost": "de"}.get(story["outlet"], "en")]


def _boilerplate_lines(a: DemoArticle) -> list[str]:
    return [*PROMOS[a.outlet], RELATED[a.outlet], TAGS_HEAD[a.outlet], "".join(a.tags), a.credit, AD[a.outlet]]


# -- page templates (a different CMS look per outlet) -------------------------------------------


def _teasers(a: DemoArticle, all_articles: list[DemoArticle]) -> list[DemoArticle]:
    same = [x for x in all_articles if x.outlet == a.outlet and x.slug != a.slug and x.status == 200]
    start = sum(ord(c) for c in a.slug) % max(1, len(same))
    return (same[start:] + same[:start])[:3]


def _paras_html(a: DemoArticle, story_paragraphs: list[str], credit_after: int) -> str:
    parts = []
    for i, p in enumerate(story_paragraphs):
        if p.startswith("## "):
            parts.append(f"<h2>{escape(p[3:])}</h2>")
        else:
            parts.append(f"<p>{escape(p)}</p>")
        if i == credit_after and a.credit:
            parts.append(f'<p class="credit">{escape(a.credit)}</p>')
        if i == 1:
            parts.append(f'<div class="ad-slot"><span>{AD[a.outlet]}</span></div>')
    return "\n".join(parts)


def _story_paragraphs(a: DemoArticle) -> list[str]:
    for s in STORIES:
        if s["slug"] == a.slug:
            return s["paragraphs"]
    return a.paragraphs


def render_page(a: DemoArticle, outlet: Outlet, all_articles: list[DemoArticle]) -> str:
    teasers = _teasers(a, all_articles)
    paras = _paras_html(a, _story_paragraphs(a), credit_after=1)
    tag_links = "".join(f'<a href="/thema/{escape(t)}" rel="tag">{escape(t)}</a>' for t in a.tags)
    teaser_items = "".join(f'<li><a href="{escape(t.url)}">{escape(t.title)}</a></li>' for t in teasers)
    promos = PROMOS[a.outlet]
    meta = (f'<meta charset="{outlet.charset}"><title>{escape(a.title)} | {escape(outlet.name)}</title>'
            f'<meta property="og:title" content="{escape(a.title)}">'
            f'<meta property="og:site_name" content="{escape(outlet.name)}">'
            f'<meta name="author" content="{escape(a.author)}">'
            f'<meta property="article:published_time" content="{a.published.isoformat()}">'
            + "".join(f'<meta property="article:tag" content="{escape(t)}">' for t in a.tags)
            + f'<meta name="description" content="{escape(a.lead)}"><link rel="canonical" href="{escape(a.url)}">')
    figure = (f'<figure><img src="/img/{a.slug}.jpg" alt=""><figcaption>{escape(a.caption)}</figcaption></figure>'
              if a.caption else "")
    nav = ('<nav class="main-nav"><ul>' + "".join(f"<li><a href='/{s}'>{s.title()}</a></li>"
                                                   for s in ("politik", "wirtschaft", "sport", "kultur", "lokales"))
           + "</ul></nav>")
    if a.outlet == "rheinblick":  # WordPress-like
        body = (f'<article class="post"><header><h1 class="entry-title">{escape(a.title)}</h1>'
                f'<p class="byline">Von {escape(a.author)} · {a.published:%d.%m.%Y, %H:%M} Uhr</p></header>'
                f'<div class="entry-content"><p class="lead"><strong>{escape(a.lead)}</strong></p>{figure}{paras}'
                f'<p class="wp-caption-text">{escape(a.caption)}</p>'
                f'<p><strong>{escape(promos[0])}</strong></p><p>{escape(promos[1])}</p>'
                f'<div class="share"><p>{escape(promos[2])}</p></div>'
                f'<h3>{RELATED[a.outlet]}</h3><ul class="related">{teaser_items}</ul>'
                f'<h3>{TAGS_HEAD[a.outlet]}</h3><p class="tags">{tag_links}</p></div></article>')
    elif a.outlet == "alpenpost":  # Drupal-like
        body = (f'<div class="node node--type-article"><h1 class="page-title"><span>{escape(a.title)}</span></h1>'
                f'<div class="field field--name-field-lead"><p>{escape(a.lead)}</p></div>'
                f'<div class="field field--name-body">{figure}<div class="cookie-note"><p>{escape(promos[1])}</p></div>'
                f'{paras}<p>{escape(a.caption)}</p><p class="promo">{escape(promos[0])}</p>'
                f'<div class="more"><h4>{RELATED[a.outlet]}</h4><ul>{teaser_items}</ul></div>'
                f'<div class="field--name-field-tags"><span>{TAGS_HEAD[a.outlet]}</span>{tag_links}</div></div>'
                f'<div class="author">{escape(a.author)}</div></div>')
    elif a.outlet == "harbour":  # custom CMS
        body = (f'<main><article itemscope itemtype="https://schema.org/NewsArticle">'
                f'<h1 itemprop="headline">{escape(a.title)}</h1><p class="standfirst">{escape(a.lead)}</p>'
                f'<section class="story-body">{figure}<p class="caption-repeat">{escape(a.caption)}</p>{paras}'
                f'<aside class="promo"><p>{escape(promos[0])}</p></aside><p>{escape(promos[1])}</p>'
                f'<p class="share">{escape(promos[2])}</p><h2>{RELATED[a.outlet]}</h2><ul>{teaser_items}</ul>'
                f'<p class="topics">{TAGS_HEAD[a.outlet]} {tag_links}</p></section></article></main>')
    else:  # ledger: schema.org body
        body = (f'<div class="article"><h1>{escape(a.title)}</h1>'
                f'<div itemprop="articleBody"><p class="intro">{escape(a.lead)}</p>{paras}<p><em>{escape(promos[0])}</em></p>'
                f'<p>{RELATED[a.outlet]} {" ".join(f"<a href={escape(t.url)!r}>{escape(t.title)}</a>" for t in teasers)}</p>'
                f'{figure}<p>{escape(a.caption)}</p><p>{escape(promos[1])}</p>'
                f'<p class="tags">{TAGS_HEAD[a.outlet]} {tag_links}</p></div></div>')
    side = ('<aside class="sidebar"><h3>Meistgelesen</h3><ol>' if outlet.language == "de"
            else '<aside class="sidebar"><h3>Most read</h3><ol>')
    side += "".join(f'<li><a href="{escape(t.url)}">{escape(t.title)}</a></li>' for t in teasers) + "</ol></aside>"
    footer = (f'<footer><p>© 2026 {escape(outlet.name)}</p><a href="/impressum">Impressum</a> '
              f'<a href="/datenschutz">Datenschutz</a></footer>')
    banner = ('<div id="cookie-banner">Diese Website verwendet Cookies. <button>OK</button></div>'
              if outlet.language == "de" else '<div id="cookie-banner">We use cookies. <button>Accept</button></div>')
    return (f'<!DOCTYPE html><html lang="{outlet.language}"><head>{meta}</head><body>{banner}'
            f'<header class="site"><a href="/" class="logo">{escape(outlet.name)}</a>{nav}</header>'
            f"{body}{side}{footer}</body></html>")


# -- feeds --------------------------------------------------------------------------------------


def _rss(outlet: Outlet, articles: list[DemoArticle], title_suffix: str = "") -> str:
    items = []
    for a in articles:
        cats = "".join(f"<category>{escape(t)}</category>" for t in a.tags)
        content = f"<content:encoded><![CDATA[{a.feed_content}]]></content:encoded>" if a.feed_content else ""
        items.append(f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
                     f"<guid isPermaLink='false'>{outlet.key}-{a.slug}</guid>"
                     f"<pubDate>{format_datetime(a.published)}</pubDate><dc:creator>{escape(a.author)}</dc:creator>"
                     f"{cats}<description>{escape(a.lead)}</description>{content}</item>")
    return (f'<?xml version="1.0" encoding="{outlet.charset}"?>'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>{escape(outlet.name + title_suffix)}</title><link>{outlet.base_url}/</link>"
            f"<language>{outlet.language}</language><ttl>15</ttl>{''.join(items)}</channel></rss>")


def _atom(outlet: Outlet, articles: list[DemoArticle]) -> str:
    entries = []
    for a in articles:
        cats = "".join(f'<category term="{escape(t)}"/>' for t in a.tags)
        content = f'<content type="html">{escape(a.feed_content)}</content>' if a.feed_content else ""
        entries.append(f"<entry><title>{escape(a.title)}</title><link rel='alternate' href='{escape(a.url)}'/>"
                       f"<id>tag:{outlet.key}.example,2026:{a.slug}</id><updated>{a.published.isoformat()}</updated>"
                       f"<published>{a.published.isoformat()}</published><author><name>{escape(a.author)}</name></author>"
                       f"{cats}<summary>{escape(a.lead)}</summary>{content}</entry>")
    updated = max((a.published for a in articles), default=datetime(2026, 11, 1)).isoformat()
    return (f'<?xml version="1.0" encoding="{outlet.charset}"?><feed xmlns="http://www.w3.org/2005/Atom" '
            f'xml:lang="{outlet.language}"><title>{escape(outlet.name)}</title>'
            f"<link rel='self' href='{outlet.base_url}/atom.xml'/><id>{outlet.base_url}/</id>"
            f"<updated>{updated}</updated>{''.join(entries)}</feed>")


MALFORMED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Rheinblick Sport</title>'
             '<item><title>Derby am Samstag<link>http://example.invalid/derby</item><item><title>Unvollst')


# -- server -------------------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # clients closing keep-alive connections are not errors worth a traceback


class DemoSite:
    def __init__(self, ports: list[int] | None = None, timeout_feed_delay: float = 30.0):
        self.ports = ports
        self.timeout_feed_delay = timeout_feed_delay
        self.outlets = [Outlet(o.key, o.name, o.language, o.charset) for o in OUTLETS]
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self.articles: list[DemoArticle] = []
        self.feeds: list[dict] = []

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> DemoSite:
        for i, outlet in enumerate(self.outlets):
            server = self._bind(outlet, self.ports[i] if self.ports and i < len(self.ports) else 0)
            outlet.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            self._servers.append(server)
        by_key = {o.key: o for o in self.outlets}
        self.articles = _articles(by_key)
        self.feeds = self._feed_list(by_key)
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _bind(self, outlet: Outlet, port: int) -> ThreadingHTTPServer:
        handler = self._handler(outlet)
        try:
            server = _QuietServer(("127.0.0.1", port), handler)
        except OSError:
            server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        return server

    def _feed_list(self, outlets: dict[str, Outlet]) -> list[dict]:
        r, a, h, le = (outlets[k].base_url for k in ("rheinblick", "alpenpost", "harbour", "ledger"))
        return [
            {"name": "Rheinblick Nachrichten", "url": f"{r}/feed.xml", "format": "rss", "kind": "ok"},
            {"name": "Rheinblick Sport", "url": f"{r}/sport/feed.xml", "format": "rss", "kind": "malformed"},
            {"name": "Alpenpost", "url": f"{a}/atom.xml", "format": "atom", "kind": "ok"},
            {"name": "Alpenpost (RSS)", "url": f"{a}/rss.xml", "format": "rss", "kind": "ok"},
            {"name": "Harbour Herald", "url": f"{h}/rss", "format": "rss", "kind": "ok"},
            {"name": "Harbour Herald Late Edition", "url": f"{h}/late/feed", "format": "rss", "kind": "timeout"},
            {"name": "Northern Ledger", "url": f"{le}/atom.xml", "format": "atom", "kind": "ok"},
        ]

    # -- content --------------------------------------------------------------------------------

    def article(self, url: str) -> DemoArticle | None:
        return next((a for a in self.articles if a.url == url), None)

    def publish(self, article: DemoArticle) -> None:
        with self._lock:
            self.articles.insert(0, article)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def outlet_articles(self, key: str) -> list[DemoArticle]:
        with self._lock:
            items = [a for a in self.articles if a.outlet == key]
        return sorted(items, key=lambda a: a.published, reverse=True)

    def _feed_body(self, outlet: Outlet, path: str) -> str | None:
        items = self.outlet_articles(outlet.key)
        if outlet.key == "rheinblick" and path == "/feed.xml":
            return _rss(outlet, items)
        if outlet.key == "rheinblick" and path == "/sport/feed.xml":
            return MALFORMED
        if outlet.key == "alpenpost" and path == "/atom.xml":
            return _atom(outlet, items)
        if outlet.key == "alpenpost" and path == "/rss.xml":
            return _rss(outlet, items)
        if outlet.key == "harbour" and path == "/rss":
            return _rss(outlet, items)
        if outlet.key == "ledger" and path == "/atom.xml":
            return _atom(outlet, items)
        return None

    def _handler(self, outlet: Outlet):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                path = self.path.split("?")[0]
                with site._lock:
                    site.requests[f"{outlet.key}:{path}"] += 1
                if outlet.key == "harbour" and path == "/late/feed":
                    site._stopping.wait(site.timeout_feed_delay)
                    return self._send(503, "text/plain", b"too late")
                feed = site._feed_body(outlet, path)
                if feed is not None:
                    return self._feed(feed)
                article = next((a for a in site.outlet_articles(outlet.key) if a.path == path), None)
                if article is None or article.status == 404:
                    return self._send(404, "text/html", b"<html><body><h1>Seite nicht gefunden</h1></body></html>")
                if article.status == 500:
                    return self._send(500, "text/html", b"<html><body>Internal Server Error</body></html>")
                html = render_page(article, outlet, site.articles)
                return self._send(200, f"text/html; charset={outlet.charset}", html.encode(outlet.charset, "replace"))

            def _feed(self, text: str):
                data = text.encode(outlet.charset, "replace")
                etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ctype = "application/atom+xml" if text.lstrip("<?xml").find("<feed") >= 0 else "application/rss+xml"
                self._send(200, f"{ctype}; charset={outlet.charset}", data, {"ETag": etag})

            def _send(self, status: int, ctype: str, data: bytes, headers: dict | None = None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def serve(ports: list[int] | None = None) -> None:
    """Run the site in the foreground until Ctrl-C."""
    import time

    with DemoSite(ports=ports or [18081, 18082, 18083, 18084]) as site:
        for feed in site.feeds:
            print(f"{feed['name']:<30} {feed['url']}  ({feed['kind']})")
        print("Ctrl-C stops the site.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
