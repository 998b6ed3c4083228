#!/usr/bin/env python3
"""WebSub push latency: from the hub's delivery POST to the article being searchable.

    python bench/websub.py                        # SQLite, 30 pushes
    python bench/websub.py --pushes 100 --json
    INGEST_ES_URL=http://127.0.0.1:9200 python bench/websub.py --backend elasticsearch

A loopback site serves an Atom feed that declares a loopback hub (tests/websub_hub.py) and one
article page per push. The daemon's pieces run as `ingest run` wires them (`build_daemon_with_push`:
pipeline, callback listener): a first poll subscribes, the hub verifies, then each push delivers
a feed document with one new entry, signed with the subscription's secret. Measured per push:
the hub's POST until the callback answered (the entry is queued durably by then), and until a
search for a word only that article contains finds it (searched every 10 ms). Pushes are
sequential (one at a time) with `--gap` seconds between them.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import StaticSite, emit, machine, markdown_table, median, percentile  # noqa: E402
from websub_hub import Hub, atom  # noqa: E402

from ingest.app import Ingest  # noqa: E402
from ingest.config import load_settings  # noqa: E402
from ingest.daemon import build_daemon_with_push  # noqa: E402

WORDS = ("Regierung Haushalt Debatte Opposition Kommune Verkehr Schule Hafen Energie Klima Gericht Polizei "
         "Wahl Stadtrat Bahn Brücke Wohnung Miete Gewerkschaft Tarif Krankenhaus Pflege Umwelt Wasser").split()


def page(i: int, rng: random.Random) -> tuple[str, bytes]:
    """(unique word, an article page of ~6 paragraphs containing it once)."""
    token = f"pushmarker{i:05d}q"
    paras = [" ".join(rng.choice(WORDS) for _ in range(40)) + "." for _ in range(6)]
    paras[3] += f" Stichwort {token}."
    body = "".join(f"<p>{p}</p>" for p in paras)
    html = (f"<!doctype html><html lang='de'><head><meta charset='utf-8'><title>Meldung {i}</title></head>"
            f"<body><article><h1>Meldung {i}</h1>{body}</article></body></html>")
    return token, html.encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(backend: str, pushes: int, gap: float) -> dict:
    rng = random.Random(7)
    site = StaticSite()
    tmp = Path(tempfile.mkdtemp(prefix="bench-websub-"))
    (tmp / "config").mkdir()
    port = free_port()
    env = {"INGEST_ALLOW_NETWORKS": "127.0.0.1/32", "INGEST_WEBSUB__CALLBACK_URL": f"http://127.0.0.1:{port}/websub",
           "INGEST_WEBSUB__LISTEN": f"127.0.0.1:{port}", "INGEST_FETCH__PER_HOST_MIN_INTERVAL": "0"}
    settings = load_settings(str(tmp / "config"), str(tmp / "ingest.db"), backend=backend, env=env)
    prefix = None
    if backend != "sqlite":
        conf = getattr(settings.store, backend)
        conf.url = os.environ.get("INGEST_ES_URL" if backend == "elasticsearch" else "INGEST_OS_URL", conf.url)
        prefix = conf.index_prefix = f"bench-websub-{uuid.uuid4().hex[:8]}"
    hub = Hub(lease=3600)
    feed_url = site.base + "/feed.atom"
    token, html = page(0, rng)
    site.routes["/p/0"] = ("text/html; charset=utf-8", html)
    site.routes["/feed.atom"] = ("application/atom+xml",
                                 atom(feed_url, hub.url, [("urn:0", "Meldung 0", site.base + "/p/0")]))
    settings.feeds_file.write_text(f"feeds:\n  - url: {feed_url}\n")
    delivered, searchable = [], []
    with Ingest(settings) as app:
        _scheduler, pipeline, websub = build_daemon_with_push(app)
        assert websub is not None
        websub.start()
        try:
            websub.on_polls(pipeline.run_once(app.feeds()).polls)
            hub.wait_verified(1)
            for i in range(1, pushes + 1):
                token, html = page(i, rng)
                link = f"{site.base}/p/{i}"
                site.routes[f"/p/{i}"] = ("text/html; charset=utf-8", html)
                doc = atom(feed_url, hub.url, [(f"urn:{i}", f"Meldung {i}", link)])
                start = time.perf_counter()
                status = hub.push(feed_url, doc)
                delivered.append(time.perf_counter() - start)
                if status != 202:
                    raise SystemExit(f"push {i}: the callback answered {status}")
                deadline = start + 30
                while app.search(token).total == 0:
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"push {i}: not searchable after 30 s")
                    time.sleep(0.01)
                searchable.append(time.perf_counter() - start)
                time.sleep(gap)
        finally:
            websub.stop()
            pipeline.close()
            if prefix:
                app.store.client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    hub.close()
    site.close()
    return {"backend": backend, "pushes": pushes,
            "delivered_ms": {"median": median(delivered) * 1000, "p95": percentile(delivered, 95) * 1000},
            "searchable_ms": {"median": median(searchable) * 1000, "p95": percentile(searchable, 95) * 1000,
                              "max": max(searchable) * 1000}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "elasticsearch", "opensearch"])
    ap.add_argument("--pushes", type=int, default=30)
    ap.add_argument("--gap", type=float, default=0.2, help="seconds between two pushes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.backend, args.pushes, args.gap)
    table = markdown_table(
        ["backend", "pushes", "delivery answered p50 / p95 ms", "searchable p50 / p95 / max ms"],
        [[r["backend"], r["pushes"], f"{r['delivered_ms']['median']:.0f} / {r['delivered_ms']['p95']:.0f}",
          f"{r['searchable_ms']['median']:.0f} / {r['searchable_ms']['p95']:.0f} / {r['searchable_ms']['max']:.0f}"]])
    emit({**r, "machine": machine()}, f"{table}\n\n{machine()}", args.json)


if __name__ == "__main__":
    main()
