#!/usr/bin/env python3
"""Screenshots of the web app over the bundled sample site, offline, with Debian's chromium.

    .venv/bin/python scripts/screenshot.py               # docs/screenshots/dashboard.png
    .venv/bin/python scripts/screenshot.py --all         # + search, feeds, alerts
    .venv/bin/python scripts/screenshot.py --out /tmp/s  # elsewhere

Ingests the sample site into a temporary store, serves the app on a free loopback port, and drives
/usr/bin/chromium (scripts/install-browser.sh) headless through Playwright's Python package.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ["Drohne* OR drone*", "Strom OR Gas OR Energie* OR energy OR oil OR Heizöl", "Iran OR Venezuela"]
PAGES = {
    "dashboard": "/dashboard?" + urlencode([("q", q) for q in QUERIES]),
    "search": "/search?" + urlencode({"q": "Drohne* OR drone*"}),
    "feeds": "/feeds",
    "alerts": "/alerts?" + urlencode({"preview": "Drohne* OR drone*", "days": "30"}),
}
READY = {"dashboard": "#chart-timeline[data-state=ready]", "search": "#result-count",
         "feeds": "#feeds-table .spark svg", "alerts": "#chart-preview[data-state=ready]"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="output folder")
    parser.add_argument("--all", action="store_true", help="also search, feeds and alerts")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from ingest.app import Ingest
    from ingest.config import load_settings
    from ingest.demo.site import DemoSite
    from ingest.models import FeedConfig
    from ingest.sources import feedlist
    from ingest.web import create_app
    from ingest.web.live import CHROMIUM, launch_chromium, serve_in_thread

    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} missing (run scripts/install-browser.sh)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        settings = load_settings(str(config), str(Path(tmp) / "demo.db"), env={"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"})
        settings.fetch.per_host_min_interval = 0
        settings.fetch.timeout_read = 2
        settings.fetch.timeout_total = 5
        (config / "rules.yaml").write_text(
            "rules:\n  - name: drones\n    query: 'Drohne* OR drone*'\n"
            "  - name: energy-prices\n    query: '(Strom OR Gas OR energy) AND (Preis* OR price*)'\n", encoding="utf-8")
        with Ingest(settings) as app:
            with DemoSite(timeout_feed_delay=3) as site:
                feeds = [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds]
                feedlist.save_feeds(settings.feeds_file, feeds)
                report = app.run_once(feeds=feeds)
            print(f"ingested {report.stored} sample articles", file=sys.stderr)
            names = list(PAGES) if args.all else ["dashboard"]
            with serve_in_thread(create_app(app)) as base, sync_playwright() as pw:
                context = launch_chromium(pw, str(Path(tmp) / "profile"), width=args.width, height=900)
                page = context.new_page()
                for name in names:
                    page.goto(base + PAGES[name])
                    page.wait_for_selector(READY[name], timeout=15_000)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(300)
                    target = out / f"{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(target, file=sys.stderr)
                context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
