#!/usr/bin/env python3
"""`ingest backfill` over a loopback news site: URLs discovered and ingested per second, against the
politeness floor.

    python bench/backfill.py                          # 500 listed URLs, 300 in range; gaps 0 and 0.05 s
    python bench/backfill.py --urls 2000 --in-range 1000 --gaps 0.02 --json

The site (one host, http.server in this process) serves robots.txt -> a sitemap index -> two news
sitemaps (the second gzip), listing `--urls` article pages with distinct text, of which the newest
`--in-range` fall in the backfill's date range. Per politeness gap (`fetch.per_host_min_interval`,
per_host_concurrency 1 so the gap is the only limit) a fresh store is backfilled with the real
`Ingest.backfill` (discovery, selection, queue, fetch, extraction, enrichment, store on SQLite).

Reported: sitemap discovery (documents, URLs listed, seconds, URLs/s), ingest (articles stored,
seconds, articles/s), the floor 1/gap (the most one host may give), and the smallest gap between two
requests the server saw. Also the parse rate of one 50,000-URL news sitemap (the protocol's limit).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.app import Ingest  # noqa: E402
from ingest.backfill import sitemap_getter  # noqa: E402
from ingest.config import load_settings  # noqa: E402
from ingest.fetch import Fetcher  # noqa: E402
from ingest.sources.sitemaps import discover, parse_sitemap  # noqa: E402

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
TOPICS = ["harbour", "railway", "budget", "school", "hospital", "bridge", "election", "river", "museum", "airport"]


def page(i: int) -> bytes:
    topic = TOPICS[i % len(TOPICS)]
    paras = "".join(f"<p>Dispatch {i}: the {topic} committee of ward {i * 13 + k} voted {k + i % 7 + 2} to "
                    f"{i % 5 + 1} on motion {i * 31 + k * 17} after {k + 2} hours of debate in the town hall.</p>"
                    for k in range(4))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{topic} {i}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{topic.title()} dispatch {i}</h1>{paras}"
            f"</article><footer>Harbour Times</footer></body></html>").encode()


def urlset(base: str, ids: list[int]) -> bytes:
    rows = "".join(f"<url><loc>{base}/news/{i}</loc><news:news><news:publication_date>"
                   f"{(T0 - timedelta(hours=i)).isoformat()}</news:publication_date></news:news></url>" for i in ids)
    return ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
            f"xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{rows}</urlset>").encode()


class Site:
    def __init__(self, urls: int):
        self.arrivals: list[float] = []
        self.paths: list[str] = []
        site = self
        self.docs: dict[str, tuple[bytes, str]] = {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                site.arrivals.append(time.monotonic())
                site.paths.append(self.path)
                body, ctype = site.docs.get(self.path, (b"not found", "text/plain"))
                if self.path.startswith("/news/"):
                    body, ctype = page(int(self.path.rsplit("/", 1)[1])), "text/html; charset=utf-8"
                self.send_response(200 if self.path in site.docs or self.path.startswith("/news/") else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        base = self.base
        self.docs["/robots.txt"] = (f"Sitemap: {base}/sitemap_index.xml\n".encode(), "text/plain")
        self.docs["/sitemap_index.xml"] = ((
            "<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{base}/news-1.xml</loc></sitemap><sitemap><loc>{base}/news-2.xml.gz</loc></sitemap>"
            "</sitemapindex>").encode(), "application/xml")
        self.docs["/news-1.xml"] = (urlset(base, list(range(0, urls, 2))), "application/xml")
        self.docs["/news-2.xml.gz"] = (gzip.compress(urlset(base, list(range(1, urls, 2)))), "application/x-gzip")
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def serve(urls: int, conn) -> None:
    """The site in its own process (so its arrival times are not skewed by the ingester's GIL)."""
    site = Site(urls)
    conn.send(site.base)
    conn.recv()  # stop
    site.close()
    conn.send((site.arrivals, site.paths))


class RemoteSite:
    def __init__(self, urls: int):
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("fork").Process(target=serve, args=(urls, child), daemon=True)
        self.proc.start()
        self.base = self.conn.recv()
        self.arrivals: list[float] = []
        self.paths: list[str] = []

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.send("stop")
            self.arrivals, self.paths = self.conn.recv()
            self.proc.join(5)


def run(urls: int, in_range: int, gap: float) -> dict:
    site = RemoteSite(urls)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config"
            config.mkdir()
            (config / "feeds.yaml").write_text(f"feeds:\n  - url: {site.base}/feed.xml\n    name: Harbour Times\n")
            settings = load_settings(str(config), str(Path(tmp) / "ingest.db"),
                                     env={"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"})
            settings.fetch.per_host_min_interval = gap
            settings.fetch.per_host_concurrency = 1
            settings.extract.workers = 2
            since = T0 - timedelta(hours=in_range - 0.5)
            with Ingest(settings) as app, Fetcher(settings.fetch) as fetcher:
                app.pipeline(updates=False).close()  # imports and the store opened: not part of the figures
                started = time.monotonic()
                discover(site.base, sitemap_getter(fetcher, 50_000_000), since=since)
                discovery = time.monotonic() - started
                time.sleep(gap)
                started = time.monotonic()
                report = app.backfill("Harbour Times", since)
                total = time.monotonic() - started
        site.close()
        gaps = [b - a for a, b in zip(site.arrivals, site.arrivals[1:], strict=False)]
        ingest_s = max(1e-9, total - discovery)  # the backfill discovers again: about the same time
        return {"gap_s": gap, "sitemaps": report.sitemaps, "listed": report.discovered,
                "discovery_s": round(discovery, 3), "discovered_per_s": round(report.discovered / discovery, 1),
                "stored": report.stored, "ingest_s": round(ingest_s, 2),
                "stored_per_s": round(report.stored / ingest_s, 1),
                "floor_per_s": round(1 / gap, 1) if gap else None,
                "min_server_gap_s": round(min(gaps), 4) if gaps else None}
    finally:
        site.close()


def parse_rate(n: int = 50_000) -> dict:
    data = urlset("https://news.example", list(range(n)))
    started = time.perf_counter()
    sm = parse_sitemap(data, "https://news.example/sitemap.xml")
    took = time.perf_counter() - started
    return {"sitemap_urls": len(sm.urls), "bytes": len(data), "parse_s": round(took, 3),
            "parsed_per_s": round(len(sm.urls) / took)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--urls", type=int, default=500)
    ap.add_argument("--in-range", type=int, default=300)
    ap.add_argument("--gaps", type=float, nargs="+", default=[0.0, 0.05])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [run(args.urls, args.in_range, g) for g in args.gaps]
    parsed = parse_rate()
    if args.json:
        print(json.dumps({"runs": rows, "parse": parsed}))
        return
    print(f"backfill over one loopback host: {args.urls} URLs listed, {args.in_range} in range (SQLite, 2 extraction workers)")
    print(f"{'gap s':>6} {'sitemaps':>8} {'listed':>7} {'disc. s':>8} {'URLs/s':>8} {'stored':>7} {'ingest s':>9} "
          f"{'art./s':>7} {'floor/s':>8} {'min gap s':>10}")
    for r in rows:
        print(f"{r['gap_s']:>6} {r['sitemaps']:>8} {r['listed']:>7} {r['discovery_s']:>8} {r['discovered_per_s']:>8} "
              f"{r['stored']:>7} {r['ingest_s']:>9} {r['stored_per_s']:>7} {str(r['floor_per_s']):>8} "
              f"{str(r['min_server_gap_s']):>10}")
    print(f"parse one {parsed['sitemap_urls']}-URL news sitemap ({parsed['bytes'] / 1e6:.1f} MB): "
          f"{parsed['parse_s']} s, {parsed['parsed_per_s']} URLs/s")


if __name__ == "__main__":
    main()
