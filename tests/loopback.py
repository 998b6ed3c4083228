"""A real HTTP server on 127.0.0.1 whose routes can misbehave on purpose.

    with LoopbackServer() as srv:
        srv.route("/feed.xml", Reply(body=b"<rss>...", headers={"ETag": '"1"'}))
        srv.route("/slow", Reply(body=b"x" * 100, trickle=0.5))
        url = srv.url("/feed.xml")
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds before the status line
    trickle: float = 0.0        # seconds between single bytes of the body
    etag: str | None = None     # honour If-None-Match with 304
    gzip_body: bool = False
    lie_304: bool = False       # answer 304 to any conditional request, whatever the content
    encoding: str | None = None  # body is already encoded this way: sent as is with Content-Encoding
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since equal to it gets a 304
    no_length: bool = False     # no Content-Length: the body ends when the connection closes


Handler = Callable[[BaseHTTPRequestHandler], Reply]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # clients hanging up early is what the tests do
        pass


class LoopbackServer:
    def request_counts(self) -> dict[str, int]:
        """A copy of the per-path request counts, safe to iterate while requests arrive."""
        with self._active_lock:
            return dict(self.requests)

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: Counter[str] = Counter()
        self.log: list[tuple[float, str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.active = 0             # requests being answered right now
        self.max_active = 0         # the most requests answered at once
        self.completed: Counter[str] = Counter()  # bodies sent to the end, per path
        self._active_lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                path = self.path
                with server._active_lock:
                    server.requests[path] += 1
                    server.log.append((time.monotonic(), path, dict(self.headers)))
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    route = server.routes.get(path) or server.routes.get(path.split("?")[0])
                    if route is None:
                        reply = Reply(status=404, body=b"not found")
                    elif callable(route):
                        reply = route(self)
                    else:
                        reply = route
                    self._send(reply)
                finally:
                    with server._active_lock:
                        server.active -= 1

            def _send(self, reply: Reply):
                if reply.delay and server.stopping.wait(reply.delay):
                    return
                conditional = self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
                if ((reply.lie_304 and conditional) or (reply.etag and self.headers.get("If-None-Match") == reply.etag)
                        or (reply.last_modified and not reply.etag
                            and self.headers.get("If-Modified-Since") == reply.last_modified)):
                    self.send_response(304)
                    if reply.etag:
                        self.send_header("ETag", reply.etag)
                    if reply.last_modified:
                        self.send_header("Last-Modified", reply.last_modified)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = gzip.compress(reply.body) if reply.gzip_body else reply.body
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                if reply.last_modified:
                    self.send_header("Last-Modified", reply.last_modified)
                if reply.gzip_body:
                    self.send_header("Content-Encoding", "gzip")
                elif reply.encoding:
                    self.send_header("Content-Encoding", reply.encoding)
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if reply.trickle:
                        for i in range(len(body)):
                            if server.stopping.wait(reply.trickle):
                                return
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(body)
                    server.completed[self.path] += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _QuietServer((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def times(self, path: str) -> list[float]:
        """Arrival times (time.monotonic) of the requests for one path, in order."""
        return [t for t, p, _ in self.log if p == path]

    def headers_of(self, path: str) -> list[dict[str, str]]:
        """Request headers (names lower-cased) of every request for one path, in order."""
        return [{k.lower(): v for k, v in h.items()} for _, p, h in self.log if p == path]

    def route(self, path: str, reply: Reply | Handler) -> str:
        self.routes[path] = reply
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(items: list[dict], title: str = "Test feed", extra_channel: str = "") -> bytes:
    """A small RSS 2.0 document from dicts with link, title, guid?, description?, pubDate?, categories?."""
    parts = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
             f"<link>http://example.invalid/</link>{extra_channel}"]
    for it in items:
        cats = "".join(f"<category>{c}</category>" for c in it.get("categories", []))
        parts.append(f"<item><title>{it['title']}</title><link>{it['link']}</link>"
                     f"<guid>{it.get('guid', it['link'])}</guid>"
                     f"<description>{it.get('description', '')}</description>"
                     f"<pubDate>{it.get('pubDate', 'Mon, 16 Nov 2026 10:00:00 GMT')}</pubDate>{cats}</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def article_page(title: str, paragraphs: list[str], extra: str = "") -> bytes:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{ps}{extra}</article>"
            f"<footer>© Test</footer></body></html>").encode()
