"""Shared helpers for the benchmarks: the real pages, loopback sites, timing and table output.

Benchmarks read `../shared/benchmarks/article-extraction/` (181 real news pages) when present and
fall back to the bundled sample site otherwise. Nothing here is part of the test suite.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INGEST_SHARED", ROOT.parent / "shared"))
DATASET = SHARED / "benchmarks" / "article-extraction"

sys.path.insert(0, str(ROOT))


def real_pages(limit: int | None = None) -> list[tuple[str, bytes]]:
    """(item id, html bytes) of the shared benchmark pages; the sample site's pages when absent."""
    files = sorted((DATASET / "html").glob("*.html.gz")) if DATASET.exists() else []
    if files:
        return [(f.name.split(".")[0], gzip.decompress(f.read_bytes())) for f in files[:limit]]
    return demo_pages(limit)


def demo_pages(limit: int | None = None) -> list[tuple[str, bytes]]:
    import urllib.request

    from ingest.demo.site import DemoSite

    pages = []
    with DemoSite() as site:
        for a in site.articles:
            if a.status != 200:
                continue
            with urllib.request.urlopen(a.url, timeout=10) as resp:  # noqa: S310 - loopback demo site
                pages.append((a.slug, resp.read()))
    return pages[:limit]


def dataset_name() -> str:
    return "shared/article-extraction (181 real pages)" if DATASET.exists() else "bundled sample site"


def peak_rss_mb(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024.0


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def machine() -> str:
    return f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib()} GiB, Python {platform.python_version()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.machine()


def _memory_gib() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        return f"{kib / 2**20:.0f}"
    except (OSError, ValueError, IndexError):
        return "?"


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def fmt(v) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(result: dict, table: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(table)


class StaticSite:
    """Loopback HTTP server answering from a dict path -> (content type, bytes); ETag-aware for feeds."""

    def __init__(self, routes: dict[str, tuple[str, bytes]] | None = None):
        self.routes = routes or {}
        self.hits = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                site.hits += 1
                route = site.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                ctype, body = route
                etag = f'"{hash(body) & 0xffffffff:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss_feed(title: str, items: list[tuple[str, str]]) -> bytes:
    from xml.sax.saxutils import escape

    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
                   f"<pubDate>Mon, 16 Nov 2026 10:00:00 GMT</pubDate></item>" for t, u in items)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(title)}</title>"
            f"<link>http://127.0.0.1/</link>{body}</channel></rss>").encode()
