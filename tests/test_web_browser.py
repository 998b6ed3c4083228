"""End to end in a real browser: Debian's chromium driven by Playwright's Python package.

The sample site is ingested, the web app runs with uvicorn on a free loopback port, and the test
searches, opens an article, and checks that the dashboard's charts were drawn with the API's numbers.
Screenshots go to test-output/. Needs /usr/bin/chromium-headless-shell or /usr/bin/chromium (scripts/install-browser.sh); skipped
without it, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from ingest.web.live import CHROMIUM

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"
QUERIES = ["Drohne* OR drone*", "Energie* OR energy"]
TOKEN = "browser-write-token"


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} missing in CI: run scripts/install-browser.sh")
        pytest.skip(f"{CHROMIUM} missing: run scripts/install-browser.sh")
    from playwright.sync_api import sync_playwright
    from test_web_api import ingest_sample

    from ingest.web import create_app
    from ingest.web.live import launch_chromium, serve_in_thread

    tmp = tmp_path_factory.mktemp("web-browser")
    ingested = ingest_sample(tmp, "sqlite")
    OUT.mkdir(exist_ok=True)
    with serve_in_thread(create_app(ingested.app, write_token=TOKEN)) as base, sync_playwright() as pw:
        context = launch_chromium(pw, str(tmp / "chromium-profile"))
        try:
            yield base, context, ingested
        finally:
            context.close()
            ingested.app.close()


@pytest.fixture
def page(browser_site):
    base, context, _ = browser_site
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    host = urlsplit(base).netloc

    def on_request(req):
        if not req.url.startswith(("data:", "about:")) and urlsplit(req.url).netloc != host:
            problems.append(f"request outside the app: {req.url}")

    page.on("request", on_request)
    page.problems = problems
    yield page
    page.close()


def api(base: str, path: str, **params):
    r = httpx.get(base + path, params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def test_search_and_article(browser_site, page):
    base, _, _ = browser_site
    page.goto(base + "/search")
    page.fill("#q", "Drohne*")
    page.press("#q", "Enter")
    page.wait_for_selector("#result-count")
    expected = api(base, "/api/search", q="Drohne*")["total"]
    assert expected > 0
    assert page.get_attribute("#result-count", "data-total") == str(expected)
    assert page.locator(".hit").count() == min(expected, 20)
    assert page.locator(".snippet mark").count() > 0
    # the date histogram of the matches is drawn from the timeline API, with its numbers
    page.wait_for_selector("#chart-histogram[data-total] svg")
    timeline = api(base, "/api/aggregates/timeline", q="Drohne*")
    assert page.get_attribute("#chart-histogram", "data-total") == str(sum(timeline["series"][0]["counts"])) != "0"
    page.screenshot(path=str(OUT / "search.png"), full_page=True)
    # "Create alert" opens the rule preview of this very query
    page.click("#create-alert")
    page.wait_for_selector("#chart-preview[data-total]")
    assert page.input_value("input[name=preview]") == "Drohne*"
    page.go_back()
    page.wait_for_selector("#result-count")

    # a facet checkbox narrows the results
    page.locator("input[name=lang][value=de]").check()
    page.click("text=Apply filters")
    page.wait_for_selector("#result-count")
    german = api(base, "/api/search", q="Drohne*", lang="de")["total"]
    assert page.get_attribute("#result-count", "data-total") == str(german)

    title = page.locator(".hit-title a").first.inner_text()
    page.locator(".hit-title a").first.click()
    page.wait_for_selector("article.article h1")
    assert page.locator("article.article h1").inner_text() == title
    assert page.locator(".article-body p").count() > 0
    assert page.locator("a:has-text('Open original')").get_attribute("href").startswith("http://127.0.0.1:")

    assert page.problems == []
    page.goto(base + "/search")
    page.fill("#q", "(Drohne AND")
    page.press("#q", "Enter")
    page.wait_for_selector("#query-error")
    assert "position" in page.inner_text("#query-error")
    assert page.locator("#query-error .err-at").count() == 1
    # the page itself answers 400 (chromium logs that); nothing else may go wrong
    assert [p for p in page.problems if "status of 400" not in p] == []


def test_dashboard_charts_match_the_api(browser_site, page):
    base, _, ingested = browser_site
    page.goto(f"{base}/dashboard?{httpx.QueryParams([('q', q) for q in QUERIES])}")
    page.wait_for_selector("#chart-timeline[data-state=ready]")
    for field in ("source", "tags", "keywords", "language", "is_original", "places", "entities"):
        page.wait_for_selector(f"[data-facet={field}][data-state=ready]")

    timeline = api(base, "/api/aggregates/timeline", q=QUERIES)
    lines = page.locator("#chart-timeline path.series-line")
    assert lines.count() == len(QUERIES)
    drawn = [float(lines.nth(i).get_attribute("data-total")) for i in range(lines.count())]
    assert drawn == [s["total"] for s in timeline["series"]] and all(t > 0 for t in drawn)
    assert all(int(lines.nth(i).get_attribute("data-points")) == len(timeline["buckets"]) for i in range(2))
    assert page.get_attribute("#chart-timeline", "data-total") == str(timeline["total"])
    assert page.inner_text("#kpi-total") == f"{timeline['total']:,}"
    assert page.locator("#chart-sov rect.bar").count() == len(QUERIES)

    sources = api(base, "/api/aggregates/facet", field="source", size=10, q=QUERIES)
    bars = page.locator("#chart-source rect.bar")
    assert bars.count() == len(sources["buckets"]) > 0
    shown = [(bars.nth(i).get_attribute("data-key"), int(bars.nth(i).get_attribute("data-value")))
             for i in range(bars.count())]
    assert shown == [(b["key"], b["count"]) for b in sources["buckets"]]
    for field in ("tags", "keywords", "language", "places", "entities"):
        expected = api(base, "/api/aggregates/facet", field=field, size=10 if field != "language" else 8, q=QUERIES)
        assert page.locator(f"[data-facet={field}] rect.bar").count() == len(expected["buckets"]) > 0, field
    places = api(base, "/api/aggregates/facet", field="places", size=10, q=QUERIES)["buckets"]
    assert {"IR", "VE"} <= {b["key"] for b in places}                         # the sample's Iran/Venezuela story
    assert "Venezuela" in page.inner_text("#chart-places")                    # codes shown by name
    segments = page.locator("[data-facet=is_original] rect.bar")
    assert segments.count() >= 1
    assert sum(int(segments.nth(i).get_attribute("data-value")) for i in range(segments.count())) == api(
        base, "/api/aggregates/facet", field="is_original", q=QUERIES)["total"]

    # share of voice: the same lines in % of all articles per bucket
    page.click("button[data-mode=share]")
    points = page.locator("#chart-timeline g.series[data-series='0'] circle.pt")
    assert points.count() > 0
    shares = dict(zip(timeline["buckets"], timeline["series"][0]["share"], strict=True))
    for i in range(points.count()):
        pt = points.nth(i)
        assert float(pt.get_attribute("data-value")) == pytest.approx(shares[pt.get_attribute("data-bucket")])
    page.hover("#chart-timeline svg", position={"x": 400, "y": 120})
    assert page.locator("#chart-timeline .chart-tip").is_visible()
    page.click("button[data-mode=counts]")
    page.mouse.move(0, 0)

    page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
    assert ingested.article_count > 0
    assert page.problems == []


def test_dashboard_form_and_range(browser_site, page):
    base, _, _ = browser_site
    page.goto(base + "/dashboard")
    page.wait_for_selector("#chart-timeline[data-state=ready]")
    assert page.locator("#chart-timeline path.series-line").count() == 1   # all articles
    page.fill("#query-list .query-row input", "Drohne*")
    page.click("#add-query")
    page.locator("#query-list .query-row input").nth(1).fill("energy")
    page.click("button:has-text('Update')")
    page.wait_for_selector("#chart-timeline[data-state=ready]")
    assert page.locator("#chart-timeline path.series-line").count() == 2
    assert "q=Drohne" in page.url and "q=energy" in page.url
    page.click("a.chip:has-text('All time')")
    page.wait_for_selector("#chart-timeline[data-state=ready]")
    page.goto(base + "/dashboard?q=Drohne*&since=2001-01-01&until=2001-01-31")
    page.wait_for_selector("#chart-timeline[data-state=empty]")
    assert page.problems == []


def test_feed_health_and_rule_preview(browser_site, page):
    base, _, _ = browser_site
    page.goto(base + "/feeds")
    page.wait_for_selector("#feeds-table .spark svg")
    health = api(base, "/api/feeds")
    with_activity = [f for f in health["feeds"] if f["activity"] is not None]
    assert page.locator("#feeds-table .spark svg path.spark-line").count() == len(with_activity) > 0
    assert page.locator("#feeds-table .badge-backing_off").count() >= 1
    widths = page.locator("#quality-table .meter span").evaluate_all("els => els.map(e => e.style.width)")
    assert widths and all(w.endswith("%") for w in widths)
    page.screenshot(path=str(OUT / "feeds.png"), full_page=True)

    page.goto(base + "/alerts?preview=Drohne*+OR+drone*&days=30")
    page.wait_for_selector("#chart-preview[data-state=ready]")
    preview = api(base, "/api/rules/preview", q="Drohne* OR drone*", days=30)
    cols = page.locator("#chart-preview rect.col")
    assert cols.count() == 30
    assert sum(int(cols.nth(i).get_attribute("data-value")) for i in range(30)) == preview["total"] > 0
    assert page.locator("#preview-examples li").count() == len(preview["examples"])
    assert page.locator("a.atom[href='/alerts/drones.atom']").count() == 1
    page.screenshot(path=str(OUT / "alerts.png"), full_page=True)
    assert page.problems == []


def test_saved_search_from_the_search_page_to_feeds_cli_and_rule(browser_site, page, capsys):
    """Save a search on the search page; it shows on /searches and in the CLI, its Atom and JSON feeds
    answer, and "Make alert" turns it into a rule after the preview."""
    import xml.etree.ElementTree as ET

    from ingest.cli.main import main

    base, _, ingested = browser_site
    page.goto(base + "/search?q=Drohne%2A&lang=de")
    page.wait_for_selector("#result-count")
    page.click("#save-search summary")
    page.fill("#save-search input[name=name]", "drones-de")
    page.fill("#save-search input[name=token]", TOKEN)
    page.click("#save-search button[type=submit]")
    page.wait_for_selector("tr.saved-search[data-name=drones-de]")
    page.screenshot(path=str(OUT / "saved-searches.png"), full_page=True)
    atom = httpx.get(base + "/searches/drones-de.atom", timeout=10)
    assert atom.status_code == 200 and ET.fromstring(atom.text).tag.endswith("feed")
    assert httpx.get(base + "/searches/drones-de.json", timeout=10).json()["items"]
    cfg = ["--config", ingested.settings.config_dir, "--db", ingested.settings.store.sqlite_path]
    capsys.readouterr()
    assert main(["searches", "list", "--json", *cfg]) == 0
    assert '"name": "drones-de"' in capsys.readouterr().out
    page.click("tr.saved-search[data-name=drones-de] .make-alert")
    page.wait_for_selector("#chart-preview[data-total]")          # the preview comes first
    page.fill("form[action='/alerts/rules'] input[name=token]", TOKEN)
    page.click("form[action='/alerts/rules'] button[type=submit]")
    page.wait_for_selector("#rule-drones-de")
    rules = {r["name"]: r for r in api(base, "/api/rules")["rules"]}
    assert rules["drones-de"]["query"] == "Drohne*" and rules["drones-de"]["filters"]["languages"] == ["de"]
    assert page.problems == []
