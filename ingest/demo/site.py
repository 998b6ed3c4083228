"""The bundled sample news site: four fictional outlets, each on its own loopback port.

    with DemoSite() as site:
        for feed in site.feeds: print(feed["name"], feed["url"])

Stories come from `content/*.yaml` (see `stories.py`), pages and feeds from `render.py`.
Pages carry the boilerplate real news pages carry *inside* the article container (messenger
promos, share prompts, "related" teasers, tag runs glued together, captions printed twice,
photo credits between paragraphs, ad markers, cookie notes), identical on every article of
an outlet. Feeds answer conditional GETs (ETag / Last-Modified -> 304).

Edge cases (see `DemoSite.edge_cases`): a malformed feed (Rheinblick Sport), a feed that never
answers in time (Harbour Herald Late Edition), an article page that 404s and one that fails
with 500 whose feed entry carries the full text (both Northern Ledger), a working page whose
feed entry also carries the full text (Harbour Herald), and Alpenpost served as ISO-8859-1.
Standard library only; `python -m ingest.demo` serves it in the foreground.
"""

from __future__ import annotations

import hashlib
import signal
import socket
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingest.demo import render
from ingest.demo.stories import load_outlets, load_stories

REFERENCE_DATE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the stories' "today"; dates are stored absolute
PREFERRED_PORTS = [18081, 18082, 18083, 18084]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MALFORMED_MODIFIED = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


@dataclass
class Outlet:
    key: str
    name: str
    language: str
    charset: str = "utf-8"
    base_url: str = ""
    url_pattern: str = "/{section}/{slug}.html"
    feeds: list[dict] = field(default_factory=list)  # path, name, format, kind, items
    body: dict[str, str] = field(default_factory=dict)  # boilerplate strings inside the body container
    chrome: dict = field(default_factory=dict)  # page chrome outside it


@dataclass
class DemoArticle:
    outlet: str
    slug: str
    url: str
    lang: str
    title: str
    author: str
    published: datetime
    paragraphs: list[str]  # true body paragraphs in order, subheadings as their own items
    subheadings: list[str] = field(default_factory=list)
    lead: str = ""
    tags: list[str] = field(default_factory=list)
    caption: str = ""
    credit: str = ""
    boilerplate: list[str] = field(default_factory=list)  # every boilerplate line inside the body container
    syndication_group: str | None = None
    status: int = 200
    feed_content: str | None = None  # full text (HTML) in the feed entry, if the feed carries it
    section: str = ""
    related: list[tuple[str, str]] = field(default_factory=list)  # (title, url) teasers shown in the body

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3] if self.url.count("/") >= 3 else self.url

    @property
    def body_text(self) -> list[str]:
        """The article as a reader sees it: lead, then paragraphs and subheadings."""
        return [self.lead, *self.paragraphs]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse lookup of the address (HTTPServer does one)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request, client_address) -> None:
        pass  # clients dropping keep-alive connections are not worth a traceback


class DemoSite:
    """One ThreadingHTTPServer per outlet on 127.0.0.1, serving pages and feeds from memory."""

    def __init__(self, ports: list[int] | None = None, timeout_feed_delay: float = 30.0):
        self.ports = ports
        self.timeout_feed_delay = timeout_feed_delay
        specs = load_outlets()
        self._stories = load_stories(specs)
        self.outlets = [Outlet(s.key, s.name, s.language, s.charset, "", s.url, [dict(f) for f in s.feeds],
                               dict(s.body), dict(s.chrome)) for s in specs]
        self.articles: list[DemoArticle] = []
        self.feeds: list[dict] = []
        self.requests: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._order: dict[str, list[DemoArticle]] = {}  # per outlet, newest first (published ones on top)
        self._by_path: dict[tuple[str, str], DemoArticle] = {}
        self._modified: dict[str, datetime] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> DemoSite:
        try:
            for i, outlet in enumerate(self.outlets):
                server = self._bind(outlet, self.ports[i] if self.ports and i < len(self.ports) else 0)
                outlet.base_url = f"http://127.0.0.1:{server.server_address[1]}"
                self._servers.append(server)
        except BaseException:
            self.stop()
            raise
        self._build()
        for server in self._servers:
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                 name=f"demo-site-{server.server_address[1]}")
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop every server promptly, waking a sleeping timeout-feed request and closing open connections."""
        self._stopping.set()
        stoppers = [threading.Thread(target=s.shutdown, daemon=True) for s in self._servers if self._threads]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(timeout=2)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for server in self._servers:
            server.server_close()
        self._servers.clear()
        self._threads.clear()

    def _bind(self, outlet: Outlet, port: int) -> ThreadingHTTPServer:
        handler = self._handler(outlet)
        try:
            return _Server(("127.0.0.1", port), handler)
        except OSError:
            if not port:
                raise
            return _Server(("127.0.0.1", 0), handler)  # preferred port busy: any free one

    # -- content --------------------------------------------------------------------------------

    def _outlet(self, key: str) -> Outlet:
        for o in self.outlets:
            if o.key == key:
                return o
        raise KeyError(f"no outlet {key!r}; outlets: {[o.key for o in self.outlets]}")

    def _url(self, outlet: Outlet, section: str, slug: str, published: datetime) -> str:
        return outlet.base_url + outlet.url_pattern.format(
            section=section, slug=slug, yyyy=f"{published:%Y}", mon=MONTHS[published.month - 1], dd=f"{published:%d}")

    def _build(self) -> None:
        articles = []
        for s in self._stories:
            o = self._outlet(s.outlet)
            articles.append(DemoArticle(
                outlet=o.key, slug=s.slug, url=self._url(o, s.section, s.slug, s.published), lang=o.language,
                title=s.title, author=s.author, published=s.published, paragraphs=s.paragraphs,
                subheadings=s.subheadings, lead=s.lead, tags=list(s.tags), caption=s.caption, credit=s.credit,
                syndication_group=s.syndication, status=s.status, section=s.section))
            if s.feed_content:
                articles[-1].feed_content = render.full_text_html(articles[-1])
        articles.sort(key=lambda a: a.published, reverse=True)
        with self._lock:
            self.articles = articles
            for o in self.outlets:
                self._order[o.key] = [a for a in articles if a.outlet == o.key]
                newest = max((a.published for a in self._order[o.key]), default=REFERENCE_DATE)
                self._modified[o.key] = newest.astimezone(UTC).replace(microsecond=0)
            for a in articles:
                self._by_path[(a.outlet, a.path)] = a
                a.related = self._related_for(a)
                a.boilerplate = render.boilerplate_lines(a, self._outlet(a.outlet)) if a.status == 200 else []
            self.feeds = [{"name": f["name"], "url": o.base_url + f["path"], "format": f["format"], "kind": f["kind"],
                           "outlet": o.key} for o in self.outlets for f in o.feeds]

    def _related_for(self, a: DemoArticle) -> list[tuple[str, str]]:
        """Four teasers from the same outlet: the stories published just before this one (wrapping)."""
        pool = [x for x in self._order.get(a.outlet, []) if x.status == 200]
        if a in pool:
            start = pool.index(a) + 1
        else:
            start = 0
        ring = pool[start:] + pool[:start]
        picks = [x for x in ring if x.url != a.url and not (a.syndication_group and x.syndication_group
                                                              == a.syndication_group)]
        return [(x.title, x.url) for x in picks[:4]]

    def article(self, url: str) -> DemoArticle | None:
        with self._lock:
            return next((a for a in self.articles if a.url == url), None)

    def outlet_articles(self, key: str) -> list[DemoArticle]:
        """The outlet's articles in feed order (newest first, runtime-published ones on top)."""
        with self._lock:
            return list(self._order.get(key, []))

    def make_article(self, outlet: str, slug: str, title: str, paragraphs: list[str], *, lead: str = "",
                     tags: list[str] | None = None, author: str = "Redaktion", published: datetime | None = None,
                     section: str = "", subheadings: list[str] | None = None, caption: str = "", credit: str = "",
                     status: int = 200, feed_content: str | None = None,
                     syndication_group: str | None = None) -> DemoArticle:
        """A new article for `publish()`, with its URL on the outlet (not served until published).

        `published` defaults to one hour after the newest story on the site (no clock involved)."""
        o = self._outlet(outlet)
        if published is None:
            with self._lock:
                published = max((a.published for a in self.articles), default=REFERENCE_DATE) + timedelta(hours=1)
        section = section or ("aktuell" if o.language == "de" else "news")
        return DemoArticle(outlet=o.key, slug=slug, url=self._url(o, section, slug, published), lang=o.language,
                           title=title, author=author, published=published, paragraphs=list(paragraphs),
                           subheadings=list(subheadings or []), lead=lead, tags=list(tags or []), caption=caption,
                           credit=credit, syndication_group=syndication_group, status=status,
                           feed_content=feed_content, section=section)

    def publish(self, article: DemoArticle) -> None:
        """Add an article at runtime: it tops its outlet's feeds, whose ETag and Last-Modified change."""
        o = self._outlet(article.outlet)
        with self._lock:
            if not article.url:
                article.url = self._url(o, article.section or "news", article.slug, article.published)
            if any(a.url == article.url for a in self.articles):
                raise ValueError(f"already published: {article.url}")
            article.lang = article.lang or o.language
            if article.published.tzinfo is None:
                raise ValueError("published must be timezone-aware")
            if not article.related:
                article.related = self._related_for(article)
            if not article.boilerplate and article.status == 200:
                article.boilerplate = render.boilerplate_lines(article, o)
            self.articles.insert(0, article)
            self._order[o.key].insert(0, article)
            self._by_path[(o.key, article.path)] = article
            self._modified[o.key] = max(self._modified[o.key] + timedelta(seconds=1),
                                        article.published.astimezone(UTC).replace(microsecond=0))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    @property
    def edge_cases(self) -> dict[str, str]:
        """URLs of the deliberate failures, by name."""
        feeds = {f["kind"]: f["url"] for f in self.feeds if f["kind"] != "ok"}
        with self._lock:
            arts = list(self.articles)
        return {"malformed_feed": feeds.get("malformed", ""), "timeout_feed": feeds.get("timeout", ""),
                "page_404": next((a.url for a in arts if a.status == 404), ""),
                "page_500_with_feed_content": next((a.url for a in arts if a.status == 500), ""),
                "page_ok_with_feed_content": next((a.url for a in arts if a.status == 200 and a.feed_content), "")}

    # -- responses ------------------------------------------------------------------------------

    def _feed_document(self, outlet: Outlet, feed: dict) -> tuple[str, datetime]:
        with self._lock:
            items = list(self._order[outlet.key])
            modified = self._modified[outlet.key]
        if feed["kind"] == "malformed":
            return render.malformed(outlet, feed), MALFORMED_MODIFIED
        if feed.get("items") not in (None, "all", "none"):
            items = [a for a in items if a.section == feed["items"]]
        make = render.atom if feed["format"] == "atom" else render.rss
        return make(outlet, feed, items, modified), modified

    def _page(self, outlet: Outlet, path: str) -> tuple[int, str]:
        with self._lock:
            article = self._by_path.get((outlet.key, path))
            order = list(self._order[outlet.key])
        if path in ("/", "/index.html"):
            return 200, render.render_index(outlet, [a for a in order if a.status == 200])
        if article is None or article.status == 404:
            return 404, render.error_page(404, outlet.language)
        if article.status != 200:
            return article.status, render.error_page(article.status, outlet.language)
        most_read = [a for a in order if a.status == 200 and a is not article][::3][:5]
        return 200, render.render_page(article, outlet, most_read)

    def _handler(self, outlet: Outlet) -> type[BaseHTTPRequestHandler]:
        return type(f"{outlet.key}Handler", (OutletHandler,), {"site": self, "outlet": outlet})


class OutletHandler(BaseHTTPRequestHandler):
    """One outlet's HTTP handler; `_handler` makes a subclass bound to its site and outlet."""

    site: DemoSite
    outlet: Outlet
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return f"{self.outlet.key}-cms/1.0"

    timeout = 30  # idle keep-alive connections

    def log_message(self, *args) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.site._lock:
            self.site._connections.add(self.connection)

    def finish(self) -> None:
        with self.site._lock:
            self.site._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server API
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        with self.site._lock:
            self.site.requests[f"{self.outlet.key}:{path}"] += 1
        feed = next((f for f in self.outlet.feeds if f["path"] == path), None)
        if feed is not None:
            if feed["kind"] == "timeout" and self.site._stopping.wait(self.site.timeout_feed_delay):
                self.close_connection = True  # shutting down: drop the request unanswered
                return
            text, modified = self.site._feed_document(self.outlet, feed)
            return self._feed(text, modified, feed["format"], head)
        if path == "/robots.txt":
            return self._send(200, "text/plain; charset=utf-8", b"User-agent: *\nDisallow: /intern/\n", head)
        status, html = self.site._page(self.outlet, path)
        self._send(status, f"text/html; charset={self.outlet.charset}", self._encode(html), head)

    def _encode(self, text: str) -> bytes:
        return text.encode(self.outlet.charset, "xmlcharrefreplace")  # ISO-8859-1: „“ etc. as &#...;

    def _feed(self, text: str, modified: datetime, fmt: str, head: bool) -> None:
        data = self._encode(text)
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        validators = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if self._not_modified(etag, modified):
            return self._send(304, None, b"", head, validators)
        ctype = f"application/{'atom' if fmt == 'atom' else 'rss'}+xml; charset={self.outlet.charset}"
        self._send(200, ctype, data, head, validators)

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if not ims:
            return False
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since

    def _send(self, status: int, ctype: str | None, data: bytes, head: bool,
              headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if not head and status != 304:
                self.wfile.write(data)
        except OSError:
            self.close_connection = True


def serve(ports: list[int] | None = None, timeout_feed_delay: float = 30.0) -> None:
    """Run the site in the foreground until Ctrl-C."""
    with DemoSite(ports=ports or PREFERRED_PORTS, timeout_feed_delay=timeout_feed_delay) as site:
        print(f"sample news site: {len(site.outlets)} outlets, {len(site.articles)} articles")
        for o in site.outlets:
            print(f"  {o.name:<24} {o.base_url}  ({o.language}, {o.charset})")
        print("feeds:")
        for feed in site.feeds:
            print(f"  {feed['url']:<40} {feed['format']:<5} {feed['kind']:<9} {feed['name']}")
        print("edge cases:")
        for name, url in site.edge_cases.items():
            print(f"  {name:<28} {url}")
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():  # before saying Ctrl-C works
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        print("Ctrl-C stops the site.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
