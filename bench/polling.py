#!/usr/bin/env python3
"""Feed polling at scale: 1,000 and 10,000 feeds through the real pipeline (`Ingest.run_once`).

    python bench/polling.py                      # 1,000 and 10,000 feeds, 50 hosts
    python bench/polling.py --sizes 1000 --json
    python bench/polling.py --hosts 20 --min-interval 0.01

A loopback server in a subprocess (asyncio, HTTP/1.1 keep-alive) listens on `--hosts` ports of
127.0.0.1; each port is its own host for the per-host limiter (`host_key` includes the port).
Every port serves N/hosts feeds (ETag-aware: a conditional GET gets a 304) and 5 article pages;
each feed lists 3 of its host's pages, so the cold cycle stores 5 articles per host (the
same page in several feeds is fetched once). Cycle 1 is cold (everything new), cycle 2 polls
again with nothing changed and should send one conditional request per feed and fetch no page.

Reported per cycle: wall seconds, requests the server saw (feeds, 304s, pages), requests per
feed, articles stored; per host: the highest number of requests that started within any one
second, the mean rate of the busiest host, against the configured limit 1/per_host_min_interval,
and the smallest gap between two requests to one host, seen by the client (when a request
enters the HTTP transport, recorded by a wrapper this script installs) and by the server. The
server's timestamps bunch when its single event loop is starved for CPU (on a small machine the
extraction processes of the cold cycle take the cores), so its gap can read below the limit while
the client's does not. Last, the peak RSS of this process (ru_maxrss: the server subprocess and
the extraction workers are not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timer, emit, machine, markdown_table, peak_rss_mb  # noqa: E402

from ingest.app import Ingest  # noqa: E402
from ingest.config import load_settings  # noqa: E402
from ingest.models import FeedConfig  # noqa: E402
from ingest.sources.feedlist import save_feeds  # noqa: E402

PAGES_PER_HOST = 5
ITEMS_PER_FEED = 3
TOPICS = ["harbour", "railway", "budget", "school", "hospital", "bridge", "election", "river", "museum", "airport"]


# -- the loopback server (runs in a subprocess) -----------------------------------------------------

def _rss(port: int, k: int) -> bytes:
    items = []
    for m in range(ITEMS_PER_FEED):
        j = (k + m) % PAGES_PER_HOST
        link = f"http://127.0.0.1:{port}/a/{j}"
        items.append(f"<item><title>Story {j} of host {port}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>Mon, 16 Nov 2026 {10 + j:02d}:00:00 GMT</pubDate></item>")
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Feed {k} on {port}</title>"
            f"<link>http://127.0.0.1:{port}/</link>{''.join(items)}</channel></rss>").encode()


def _page(port: int, j: int) -> bytes:
    topic = TOPICS[(port + j) % len(TOPICS)]
    paras = "".join(
        f"<p>Report {j} from site {port}: the city council debated the {topic} plan number {j * 7 + i} for "
        f"{i + 2} hours, and residents of district {port % 97} asked about costs, dates and the contractor.</p>"
        for i in range(4))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{topic.title()} {j}</title></head>"
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{topic.title()} report {j}</h1>{paras}</article>"
            f"<footer>Site {port}</footer></body></html>").encode()


def serve(hosts: int, conn) -> None:
    """Subprocess entry: listen on `hosts` ports, answer feeds/pages, keep per-port request logs."""
    log: dict[int, list[float]] = {}
    kinds: dict[str, int] = {}
    cache: dict[tuple[str, int, int], bytes] = {}

    def respond(port: int, path: str, headers: dict[bytes, bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
        if path == "/__stats":
            return 200, [("Content-Type", "application/json")], json.dumps(
                {"times": {str(p): t for p, t in log.items()}, "kinds": kinds}).encode()
        if path == "/__reset":
            log.clear()
            kinds.clear()
            return 200, [], b"reset"
        log.setdefault(port, []).append(time.monotonic())
        if path.startswith("/feed/") and path.endswith(".xml") and path[6:-4].isdigit():
            k = int(path[6:-4])
            etag = f'"v1-{port}-{k}"'
            if headers.get(b"if-none-match", b"").decode() == etag:
                kinds["feed_304"] = kinds.get("feed_304", 0) + 1
                return 304, [("ETag", etag)], b""
            kinds["feed_200"] = kinds.get("feed_200", 0) + 1
            body = cache.setdefault(("f", port, k), _rss(port, k))
            return 200, [("Content-Type", "application/rss+xml"), ("ETag", etag)], body
        if path.startswith("/a/") and path[3:].isdigit():
            kinds["page"] = kinds.get("page", 0) + 1
            body = cache.setdefault(("a", port, int(path[3:])), _page(port, int(path[3:])))
            return 200, [("Content-Type", "text/html; charset=utf-8")], body
        kinds["other"] = kinds.get("other", 0) + 1
        return 404, [], b"not found"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                parts = lines[0].split(b" ")
                headers = {}
                for line in lines[1:]:
                    if b":" in line:
                        k, v = line.split(b":", 1)
                        headers[k.strip().lower()] = v.strip()
                status, extra, body = respond(port, parts[1].decode("latin-1"), headers)
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
                out += [f"{k}: {v}" for k, v in extra]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers, ports = [], []
        for _ in range(hosts):
            holder: dict[str, int] = {}
            srv = await asyncio.start_server(lambda r, w, h=holder: handle(r, w, h["port"]), "127.0.0.1", 0,
                                             backlog=1024)
            holder["port"] = srv.sockets[0].getsockname()[1]
            servers.append(srv)
            ports.append(holder["port"])
        conn.send(ports)
        await asyncio.Event().wait()

    asyncio.run(main())


class BenchServer:
    def __init__(self, hosts: int):
        parent, child = mp.Pipe()
        self.proc = mp.get_context("spawn").Process(target=serve, args=(hosts, child), daemon=True)
        self.proc.start()
        self.ports: list[int] = parent.recv()

    def control(self, path: str) -> dict | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[0]}{path}", timeout=30) as resp:  # noqa: S310
            data = resp.read()
        return json.loads(data) if path == "/__stats" else None

    def close(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# -- measuring ---------------------------------------------------------------------------------------

SENDS: dict[int, list[float]] = {}
_SENDS_LOCK = threading.Lock()


def record_sends() -> None:
    """Note when each request enters the HTTP transport, per port (the client's side of the per-host gap)."""
    original = httpx.HTTPTransport.handle_request

    def handle_request(self, request):
        with _SENDS_LOCK:
            SENDS.setdefault(request.url.port or 80, []).append(time.monotonic())
        return original(self, request)

    httpx.HTTPTransport.handle_request = handle_request


def peak_per_second(times: list[float]) -> int:
    """Most requests that started within any one-second window."""
    window: deque[float] = deque()
    best = 0
    for t in sorted(times):
        window.append(t)
        while window[0] <= t - 1.0:
            window.popleft()
        best = max(best, len(window))
    return best


def min_gap(times: list[float]) -> float:
    ordered = sorted(times)
    return min((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=float("inf"))


def cycle(app: Ingest, server: BenchServer, n_feeds: int, limit: float) -> dict:
    server.control("/__reset")
    SENDS.clear()
    with Timer() as t:
        report = app.run_once()
    client_gap = min((min_gap(v) for v in SENDS.values()), default=float("inf"))
    stats = server.control("/__stats")
    times = stats["times"]
    kinds = stats["kinds"]
    requests = sum(len(v) for v in times.values())
    per_host_peak = max((peak_per_second(v) for v in times.values()), default=0)
    per_host_mean = max((len(v) / t.seconds for v in times.values()), default=0.0)
    smallest_gap = min((min_gap(v) for v in times.values()), default=float("inf"))
    errors = [p.error for p in report.polls if p.status == "error"]
    return {"feeds": n_feeds, "seconds": t.seconds, "requests": requests, "requests_per_feed": requests / n_feeds,
            "feed_200": kinds.get("feed_200", 0), "feed_304": kinds.get("feed_304", 0),
            "pages": kinds.get("page", 0), "other": kinds.get("other", 0), "stored": report.stored,
            "poll_errors": len(errors), "first_error": errors[0] if errors else None,
            "host_peak_rps": per_host_peak, "host_mean_rps_max": per_host_mean, "host_limit_rps": limit,
            "host_min_gap_ms_server": smallest_gap * 1000, "host_min_gap_ms_client": client_gap * 1000,
            "peak_rss_mb": peak_rss_mb()}


def run_size(server: BenchServer, n: int, args, tmp: Path) -> list[dict]:
    per_host = n // len(server.ports)
    feeds = [FeedConfig(url=f"http://127.0.0.1:{port}/feed/{k}.xml") for port in server.ports for k in range(per_host)]
    env = {"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"}
    settings = load_settings(str(tmp / f"config-{n}"), str(tmp / f"bench-{n}.db"), env=env)
    settings.fetch.per_host_min_interval = args.min_interval
    settings.fetch.per_host_concurrency = args.concurrency
    settings.extract.workers = args.workers
    save_feeds(settings.feeds_file, feeds)
    limit = 1.0 / args.min_interval if args.min_interval else float("inf")
    rows = []
    with Ingest(settings) as app:
        for name in ("cold", "unchanged"):
            r = cycle(app, server, len(feeds), limit)
            r.update({"cycle": name, "hosts": len(server.ports)})
            rows.append(r)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated feed counts")
    ap.add_argument("--hosts", type=int, default=50, help="loopback ports, each one host for the limiter")
    ap.add_argument("--min-interval", type=float, default=0.02, help="per-host minimum gap between requests (s)")
    ap.add_argument("--concurrency", type=int, default=2, help="per-host concurrent requests")
    ap.add_argument("--workers", type=int, default=0, help="extraction processes (0: one per core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    server = BenchServer(args.hosts)
    record_sends()
    results: list[dict] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(s) for s in args.sizes.split(",")):
                results += run_size(server, n, args, Path(tmp))
    finally:
        server.close()
    rows = [[r["feeds"], r["hosts"], r["cycle"], r["seconds"], r["requests"], f"{r['requests_per_feed']:.2f}",
             r["feed_304"], r["pages"], r["stored"], r["poll_errors"], r["host_peak_rps"],
             f"{r['host_mean_rps_max']:.1f}", f"{r['host_limit_rps']:g}", f"{r['host_min_gap_ms_client']:.1f}",
             f"{r['host_min_gap_ms_server']:.1f}", f"{r['peak_rss_mb']:.0f}"] for r in results]
    verdicts = []
    for r in results:
        if r["cycle"] == "unchanged":
            ok = r["requests"] <= r["feeds"] and r["pages"] == 0
            verdicts.append(f"- unchanged {r['feeds']:,}-feed cycle: {r['requests']:,} requests for {r['feeds']:,} feeds "
                            f"(ratio {r['requests_per_feed']:.2f}), {r['pages']} pages fetched: "
                            f"{'OK' if ok else 'MISSED'} (target: at most one request per feed, no page)")
    table = (f"Feed polling through Ingest.run_once ({machine()}; {args.hosts} loopback hosts, per-host gap "
             f"{args.min_interval:g} s, per-host concurrency {args.concurrency})\n\n"
             + markdown_table(["feeds", "hosts", "cycle", "seconds", "requests", "req/feed", "304s", "pages",
                               "stored", "errors", "peak req/s/host", "mean req/s/host (max)", "limit req/s/host",
                               f"min gap ms client (limit {args.min_interval * 1000:g})", "min gap ms server",
                               "peak RSS MB"], rows)
             + "\n\n" + "\n".join(verdicts))
    emit({"machine": machine(), "hosts": args.hosts, "min_interval": args.min_interval,
          "per_host_concurrency": args.concurrency, "results": results}, table, args.json)


if __name__ == "__main__":
    main()
