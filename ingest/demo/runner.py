"""`ingest demo`: serve the bundled sample news site on loopback, ingest it once, show what it found.

Isolated from the user's setup: the demo writes to its own SQLite file (`data/demo.db` under
INGEST_HOME or the working directory, or `--db PATH`), reads an empty temporary config directory
unless `--config DIR` is given (so no user rules fire and no alert reaches a real channel), ignores
INGEST_* environment overrides (a configured Elasticsearch is never written to), and says so in its
output. Only the demo's own address (127.0.0.1) is allowed for fetching. Preferred ports are fixed so
a second demo run polls the same feed URLs (and is answered with 304s).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ingest.app import Ingest
from ingest.config import load_settings
from ingest.models import FeedConfig

PREFERRED_PORTS = [18081, 18082, 18083, 18084, 18085]
EXAMPLE_QUERIES = ["Drohne", '"WhatsApp-Kanal"', "Iran AND Venezuela", "energy OR Energie"]


def run_demo(args, out, emit_json, print_report) -> int:
    """The demo; `out`, `emit_json` and `print_report` are the CLI's (the demo never imports the CLI)."""
    home = Path(os.environ.get("INGEST_HOME") or ".")
    db = args.db or str(home / "data" / "demo.db")
    with tempfile.TemporaryDirectory(prefix="ingest-demo-config-") as empty_config:
        config = args.config or empty_config  # an explicit --config is used as given
        settings = load_settings(config, db, backend="sqlite", env={})
        return _run(settings, args, out, emit_json, print_report)


def _run(settings, args, out, emit_json, print_report) -> int:
    from ingest.demo.site import DemoSite

    isolation = (f"demo store {settings.store.sqlite_path}; your own store, feeds, rules and alert channels "
                 "are not used")
    settings.fetch.allow_networks = ["127.0.0.1/32"]  # the demo's own server, nothing else private
    settings.fetch.timeout_total = 4.0
    settings.fetch.timeout_read = 3.0
    settings.fetch.per_host_min_interval = 0.0
    with DemoSite(ports=PREFERRED_PORTS, timeout_feed_delay=30.0) as site, Ingest(settings) as app:
        feeds = [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds]
        if not args.json:
            out.print(isolation, markup=False)
            out.print(f"sample news site: {len(site.outlets)} outlets, {len(feeds)} feeds on "
                      + ", ".join(o.base_url for o in site.outlets))
            out.print("ingesting (one feed is malformed, one times out, one article is a 404)…")
        report = app.run_once(feeds=feeds)
        searches = {q: app.search(q, limit=3) for q in EXAMPLE_QUERIES}
        total = app.count_articles()
        if args.json:
            emit_json({
                "db": settings.store.sqlite_path, "isolated": True, "stored": report.stored, "articles_total": total,
                "feeds": [{"url": p.feed.url, "name": p.feed_name, "status": p.status, "new_entries": p.new_entries,
                           "error": p.error} for p in report.polls],
                "page_errors": report.page_errors,
                "searches": {q: {"total": r.total, "hits": [h.to_dict() for h in r.hits]} for q, r in searches.items()},
            })
            return 0
        print_report(report, as_json=False)
        out.print(f"\n{total} articles in {settings.store.sqlite_path}. Example searches:")
        for q, result in searches.items():
            out.print(f"\n  [bold]ingest search '{q}'[/bold] → {result.total} hits")
            for hit in result.hits:
                out.print(f"    {hit.title} ({hit.source})", markup=False)
                out.print(f"      {hit.snippet[:150]}", markup=False)
        db = settings.store.sqlite_path
        out.print(f"\nNext: `ingest search --db {db} 'Drohne AND Iran'`, `ingest status --db {db}` for feed health"
                  f" (the demo's feeds are not in your feeds.yaml), `ingest show --db {db} ID` for one article.",
                  markup=False)
    return 0
