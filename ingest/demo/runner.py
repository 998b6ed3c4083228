"""`ingest demo`: serve the bundled sample news site on loopback, ingest it once, show what it found.

Only the demo's own address (127.0.0.1) is allowed for fetching; the user's feeds.yaml
is not touched. Preferred ports are fixed so a second demo run polls the same feed URLs
(and is answered with 304s).
"""

from __future__ import annotations

from ingest.app import Ingest
from ingest.config import load_settings
from ingest.models import FeedConfig

PREFERRED_PORTS = [18081, 18082, 18083, 18084, 18085]
EXAMPLE_QUERIES = ["Drohne", '"WhatsApp-Kanal"', "Iran AND Venezuela", "energy OR Energie"]


def run_demo(args, out, emit_json) -> int:
    from ingest.demo.site import DemoSite

    settings = load_settings(args.config, args.db)
    settings.fetch.allow_networks = ["127.0.0.1/32"]  # the demo's own server, nothing else private
    settings.fetch.timeout_total = 4.0
    settings.fetch.timeout_read = 3.0
    settings.fetch.per_host_min_interval = 0.0
    with DemoSite(ports=PREFERRED_PORTS, timeout_feed_delay=30.0) as site, Ingest(settings) as app:
        feeds = [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds]
        if not args.json:
            out.print(f"sample news site: {len(site.outlets)} outlets, {len(feeds)} feeds on "
                      + ", ".join(o.base_url for o in site.outlets))
            out.print("ingesting (one feed is malformed, one times out, one article is a 404)…")
        report = app.run_once(feeds=feeds)
        searches = {q: app.search(q, limit=3) for q in EXAMPLE_QUERIES}
        total = app.store.count_articles()
        if args.json:
            emit_json({
                "db": settings.store.sqlite_path, "stored": report.stored, "articles_total": total,
                "feeds": [{"url": p.feed.url, "name": p.feed_name, "status": p.status, "new_entries": p.new_entries,
                           "error": p.error} for p in report.polls],
                "page_errors": report.page_errors,
                "searches": {q: {"total": r.total, "hits": [h.to_dict() for h in r.hits]} for q, r in searches.items()},
            })
            return 0
        from ingest.cli.main import print_report

        print_report(report, as_json=False)
        out.print(f"\n{total} articles in {settings.store.sqlite_path}. Example searches:")
        for q, result in searches.items():
            out.print(f"\n  [bold]ingest search '{q}'[/bold] → {result.total} hits")
            for hit in result.hits:
                out.print(f"    {hit.title} ({hit.source})", markup=False)
                out.print(f"      {hit.snippet[:150]}", markup=False)
        out.print("\nNext: `ingest status` for feed health, `ingest show ID` for one article.")
    return 0
