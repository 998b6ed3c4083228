"""The web app's JSON API and pages over the ingested sample site, on every backend.

The `web` fixture ingests the bundled sample site once per backend (SQLite always; Elasticsearch or OpenSearch
when INGEST_ES_URL or INGEST_OS_URL is set and a node answers there) and serves the
app through FastAPI's TestClient. test_web_browser.py reuses `ingested` to drive a real browser.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.app import Ingest
from ingest.config import Settings, load_settings
from ingest.models import FeedConfig, utcnow
from ingest.sources import feedlist
from ingest.store.base import AlertRecord

TOKEN = "test-write-token-123"
RULES = """# test rules (comments must survive edits from the web app)
rules:
  - name: drones
    query: 'Drohne* OR drone*'
    description: Drones in any language
    notify: ['json://127.0.0.1:9/hook']
  - name: energy
    query: 'Energie* OR energy'
"""
BACKENDS = ["sqlite", "elasticsearch", "opensearch"]
ENTITIES = """entities:
  - {name: Shahed drones, type: topic, aliases: [Shahed, Shahed-Drohnen]}
"""


@dataclass
class Ingested:
    app: Ingest
    settings: Settings
    feeds: list[FeedConfig]
    article_count: int


def _cluster_available(backend: str) -> str | None:
    from conftest import CLUSTERS, cluster_url

    if not os.environ.get(CLUSTERS[backend][0]) or importlib.util.find_spec(f"ingest.store.{backend}") is None:
        return None
    return cluster_url(backend)


def _settings(tmp: Path, backend: str) -> Settings:
    config = tmp / "config"
    config.mkdir(parents=True, exist_ok=True)
    s = load_settings(str(config), str(tmp / "ingest.db"), env={"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"})
    s.fetch.timeout_total = 5
    s.fetch.timeout_read = 2
    s.fetch.per_host_min_interval = 0
    s.extract.workers = 1
    s.store.backend = backend
    if backend != "sqlite":
        conf = getattr(s.store, backend)
        conf.url = _cluster_available(backend)
        conf.index_prefix = f"test-web-{uuid.uuid4().hex[:8]}"
    return s


def ingest_sample(tmp: Path, backend: str = "sqlite") -> Ingested:
    """The sample site ingested into a fresh store, its feeds configured, two rules and one alert."""
    from ingest.demo.site import DemoSite

    settings = _settings(tmp, backend)
    Path(settings.entities_file).write_text(ENTITIES, encoding="utf-8")
    app = Ingest(settings)
    with DemoSite(timeout_feed_delay=3) as site:
        feeds = [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds]
        feedlist.save_feeds(settings.feeds_file, feeds)
        app.run_once(feeds=feeds)
    Path(settings.rules_file).write_text(RULES, encoding="utf-8")
    hit = app.search("Drohne*", limit=1).hits[0]
    app.store.index.claim_alert(AlertRecord(rule="drones", story=hit.cluster_id or hit.id, article_ids=[hit.id],
                                      sources=[hit.source], title=hit.title, url=hit.url, created=utcnow()))
    refresh = getattr(app.store, "refresh", None)
    if callable(refresh):
        refresh()
    return Ingested(app=app, settings=settings, feeds=feeds, article_count=app.store.index.count_articles())


def _drop(ing: Ingested) -> None:
    if ing.settings.store.backend != "sqlite":
        store = ing.app.store
        store.index.client.indices.delete(index=f"{store.index.prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    ing.app.close()


@pytest.fixture(scope="module", params=BACKENDS)
def ingested(request, tmp_path_factory) -> Ingested:
    if request.param != "sqlite" and _cluster_available(request.param) is None:
        from conftest import CLUSTERS

        pytest.skip(f"{request.param}: set {CLUSTERS[request.param][0]} to a reachable node")
    ing = ingest_sample(tmp_path_factory.mktemp(f"web-{request.param}"), request.param)
    yield ing
    _drop(ing)


@pytest.fixture(scope="module")
def web(ingested) -> TestClient:
    from ingest.web import create_app

    with TestClient(create_app(ingested.app, write_token=TOKEN)) as client:
        yield client


def html(client: TestClient, url: str, status: int = 200) -> str:
    r = client.get(url, headers={"Accept": "text/html"})
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return r.text


# -- ops ----------------------------------------------------------------------------------------------


def test_healthz(web, ingested):
    body = web.get("/healthz").json()
    assert body == {"status": "ok", "backend": ingested.settings.store.backend, "articles": ingested.article_count}
    assert ingested.article_count > 10


def test_metrics_prometheus_text(web, ingested):
    r = web.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples["ingest_articles_stored"] == ingested.article_count
    statuses = {s.status for s in ingested.app.status()}
    assert samples['ingest_feeds{status="backing_off"}'] >= 1  # the malformed and the timing-out feed
    assert sum(v for k, v in samples.items() if k.startswith("ingest_feeds{")) == len(ingested.feeds)
    assert statuses <= {"working", "backing_off", "failing", "new", "gone", "disabled"}
    assert samples['ingest_alert_deliveries{outcome="pending"}'] == 1
    assert samples['ingest_alert_deliveries{outcome="delivered"}'] == 0
    assert samples["ingest_extraction_fallbacks"] >= 1   # the 500 page fell back to the feed text
    assert samples["ingest_scheduler_lag_seconds"] >= 0
    assert samples["ingest_feed_polls_total"] >= len(ingested.feeds)
    for line in r.text.splitlines():  # every metric is announced with HELP and TYPE
        if line.startswith("# TYPE"):
            assert line.split()[3] in ("gauge", "counter")


# -- search ---------------------------------------------------------------------------------------------


def test_api_search_shape_and_snippets(web):
    body = web.get("/api/search", params={"q": "Drohne*", "limit": 5}).json()
    assert body["total"] >= 2 and 0 < len(body["hits"]) <= 5
    for hit in body["hits"]:
        assert {"id", "url", "title", "source", "published", "snippet"} <= set(hit)
        assert hit["url"].startswith("http://127.0.0.1:")
    assert any("[" in h["snippet"] and "]" in h["snippet"] for h in body["hits"])


def test_api_search_filters_sort_and_paging(web, ingested):
    everything = web.get("/api/search", params={"limit": 1000}).json()
    assert everything["total"] == ingested.article_count == len(everything["hits"])
    german = web.get("/api/search", params={"lang": "de", "limit": 1000}).json()
    assert 0 < german["total"] < everything["total"]
    source = everything["hits"][0]["source"]
    by_source = web.get("/api/search", params={"source": source, "limit": 1000}).json()
    assert by_source["total"] >= 1 and {h["source"] for h in by_source["hits"]} == {source}
    dated = web.get("/api/search", params={"sort": "date", "limit": 1000}).json()["hits"]
    stamps = [h["published"] for h in dated if h["published"]]
    assert stamps == sorted(stamps, reverse=True)
    newest = stamps[0][:10]
    same_day = web.get("/api/search", params={"since": newest, "until": newest, "limit": 1000}).json()
    assert same_day["total"] >= 1 and all(h["published"][:10] == newest for h in same_day["hits"])
    page2 = web.get("/api/search", params={"sort": "date", "limit": 3, "offset": 3}).json()
    assert [h["id"] for h in page2["hits"]] == [h["id"] for h in dated[3:6]]
    assert web.get("/api/search", params={"offset": 10_001}).status_code == 422  # deep paging is capped
    capped = web.get("/api/search", params={"offset": 10_000, "limit": 50}).json()
    assert capped["limit"] == 0 and capped["hits"] == []
    assert web.get("/api/search", params={"since": "not-a-date"}).status_code == 400


def test_api_search_query_error_has_position(web):
    r = web.get("/api/search", params={"q": "(Drohne AND"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid query" and isinstance(body["position"], int)
    assert body["query"] == "(Drohne AND" and "position" in body["message"]


def test_csv_and_json_export(web):
    r = web.get("/api/search.csv", params={"q": "Drohne*", "limit": 100})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the umlauts as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "published", "source", "language", "title", "url", "snippet", "tags", "keywords",
                       "cluster_id", "is_original", "text"]
    total = web.get("/api/search", params={"q": "Drohne*"}).json()["total"]
    assert len(rows) - 1 == total
    assert all("[" not in row[6] or "]" not in row[6] for row in rows[1:])  # marks removed in the export
    first = web.get(f"/api/articles/{rows[1][0]}").json()
    assert rows[1][11] == first["body"] and rows[1][8] == "; ".join(first["keywords"])  # the full text
    j = web.get("/api/search", params={"q": "Drohne*", "limit": 100, "download": "1"})
    assert "attachment" in j.headers["content-disposition"] and j.json()["total"] == total


def test_article_endpoint_and_page(web):
    hit = web.get("/api/search", params={"q": "Drohne*", "limit": 1}).json()["hits"][0]
    article = web.get(f"/api/articles/{hit['id']}").json()
    assert article["id"] == hit["id"] and article["body"] and article["url"] == hit["url"]
    page = html(web, f"/articles/{hit['id']}")
    assert article["title"].split()[0] in page and hit["url"] in page
    assert web.get("/api/articles/doesnotexist").status_code == 404
    html(web, "/articles/doesnotexist", status=404)


# -- aggregates -----------------------------------------------------------------------------------------


def test_timeline_share_of_voice(web, ingested):
    queries = ["Drohne* OR drone*", "Energie* OR energy"]
    body = web.get("/api/aggregates/timeline", params={"q": queries, "interval": "day"}).json()
    assert body["interval"] == "day" and len(body["series"]) == 2
    n = len(body["buckets"])
    assert n >= 2 and len(body["totals"]) == n
    assert sum(body["totals"]) == body["total"] == ingested.article_count  # every sample article is dated
    days = [b[:10] for b in body["buckets"]]
    assert days == sorted(days) and len(set(days)) == n
    for q, series in zip(queries, body["series"], strict=True):
        assert series["query"] == q and len(series["counts"]) == n == len(series["share"])
        assert series["total"] == sum(series["counts"]) == web.get("/api/search", params={"q": q}).json()["total"]
        assert series["total"] > 0
        for c, t, s in zip(series["counts"], body["totals"], series["share"], strict=True):
            assert c <= t and s == pytest.approx(100 * c / t if t else 0, abs=0.01)
    everything = web.get("/api/aggregates/timeline").json()
    assert everything["series"] == [] and everything["total"] == ingested.article_count
    assert web.get("/api/aggregates/timeline", params={"q": "NEAR/3"}).status_code == 400
    assert web.get("/api/aggregates/timeline", params={"interval": "fortnight"}).status_code == 422


def test_facets(web, ingested):
    sources = web.get("/api/aggregates/facet", params={"field": "source", "size": 50}).json()
    assert sources["total"] == ingested.article_count
    assert sum(b["count"] for b in sources["buckets"]) == ingested.article_count  # one source per article
    langs = {b["key"] for b in web.get("/api/aggregates/facet", params={"field": "language"}).json()["buckets"]}
    assert {"de", "en"} <= langs
    orig = web.get("/api/aggregates/facet", params={"field": "is_original"}).json()["buckets"]
    assert {b["key"] for b in orig} <= {"original", "copy"} and sum(b["count"] for b in orig) == ingested.article_count
    for field in ("tags", "keywords", "domain", "extraction"):
        assert web.get("/api/aggregates/facet", params={"field": field}).json()["buckets"], field
    q = web.get("/api/aggregates/facet", params={"field": "source", "q": ["Drohne*", "energy"]}).json()
    assert q["query"] == "(Drohne*) OR (energy)" and 0 < q["total"] < ingested.article_count
    assert web.get("/api/aggregates/facet", params={"field": "body"}).status_code == 400
    assert web.get("/api/aggregates/facet", params={"field": "source", "q": 'title:"x'}).status_code == 400


# -- feeds ----------------------------------------------------------------------------------------------


def test_feed_health(web, ingested):
    body = web.get("/api/feeds", params={"days": 30}).json()
    assert len(body["days"]) == 30 and body["backend"] == ingested.settings.store.backend
    by_name = {f["name"]: f for f in body["feeds"]}
    assert set(by_name) == {f.name for f in ingested.feeds}
    assert by_name["Rheinblick Sport"]["status"] == "backing_off" and by_name["Rheinblick Sport"]["error"]
    working = [f for f in body["feeds"] if f["status"] == "working"]
    assert working and all(f["last_success"] for f in working)
    sparked = [f for f in body["feeds"] if f["activity"] is not None]
    assert sparked and all(len(f["activity"]) == 30 for f in sparked)
    assert sum(sum(f["activity"]) for f in sparked) > 0
    # per feed, not per outlet: a feed's line never counts articles another feed of its outlet brought
    assert all(sum(f["activity"]) <= f["articles"] for f in sparked)
    ledger = by_name["Northern Ledger"]  # its HTTP 500 page waits for a retry, its 404 is dead
    assert (ledger["retrying"], ledger["dead"]) == (1, 1) and "500" in ledger["last_retry_error"]
    page = html(web, "/feeds")
    assert "1 page(s) in the retry queue" in page and "1 dead link(s)" in page
    quality = web.get("/api/feeds/quality").json()
    assert quality and {"source", "articles", "fallback_share", "median_body_chars", "boilerplate_share"} <= set(
        quality[0])
    assert sum(q["articles"] for q in quality) == ingested.article_count
    assert all(0 <= q["fallback_share"] <= 1 and 0 <= q["boilerplate_share"] <= 1 for q in quality)


def test_add_feed_needs_token(web, ingested):
    feed = {"url": "http://127.0.0.1:9/new-feed.xml", "name": "New"}
    assert web.post("/api/feeds", json=feed).status_code == 401
    assert web.post("/api/feeds", json=feed, headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = web.post("/api/feeds", json=feed, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 201 and r.json()["added"] is True
    assert any(f.url == feed["url"] for f in ingested.app.feeds())
    again = web.post("/api/feeds", json=feed, headers={"X-Ingest-Token": TOKEN})
    assert again.status_code == 201 and again.json()["added"] is False
    assert web.post("/api/feeds", json={"url": "ftp://x"}, headers={"X-Ingest-Token": TOKEN}).status_code == 400
    ingested.app.remove_feed(feed["url"])


# -- rules and alerts -------------------------------------------------------------------------------------


def test_rules_alerts_and_atom(web):
    rules = web.get("/api/rules").json()
    names = [r["name"] for r in rules["rules"]]
    assert names[:2] == ["drones", "energy"]
    drones = rules["rules"][0]
    assert drones["channels"] == ["json"] and "127.0.0.1" not in str(drones)  # no channel URL is shown
    alerts = web.get("/api/alerts", params={"rule": "drones"}).json()
    assert len(alerts) == 1 and alerts[0]["delivered"] is None and alerts[0]["url"].startswith("http://127.0.0.1:")
    assert web.get("/api/alerts", params={"rule": "energy"}).json() == []
    atom = web.get("/alerts/drones.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1 and entries[0].find("a:title", ns).text == alerts[0]["title"]
    assert web.get("/alerts/energy.atom").status_code == 200   # a rule without hits: an empty feed
    assert web.get("/alerts/nosuchrule.atom").status_code == 404


def test_rule_preview(web):
    body = web.get("/api/rules/preview", params={"q": "Drohne* OR drone*", "days": 60}).json()
    assert len(body["buckets"]) == len(body["counts"]) == 60
    assert body["buckets"][-1] == utcnow().date().isoformat()
    assert body["total"] == sum(body["counts"]) and body["total"] > 0   # the sample site is recent
    assert body["examples"] and all("Drohne" in h["title"] or "rone" in h["title"] or h["snippet"]
                                    for h in body["examples"])
    r = web.get("/api/rules/preview", params={"q": "Drohne AND"})
    assert r.status_code == 400 and r.json()["position"] is not None


def test_save_rule_keeps_the_file_and_needs_token(web, ingested):
    path = Path(ingested.settings.rules_file)
    before = path.read_text(encoding="utf-8")
    rule = {"name": "harbour", "query": 'Hafen OR harbour', "description": "ports"}
    assert web.post("/api/rules", json=rule).status_code == 401
    bad = web.post("/api/rules", json={"name": "bad", "query": "(Hafen"}, headers={"X-Ingest-Token": TOKEN})
    assert bad.status_code == 400 and bad.json()["position"] is not None
    assert web.post("/api/rules", json={"name": "bad name!", "query": "x"},
                    headers={"X-Ingest-Token": TOKEN}).status_code == 422
    r = web.post("/api/rules", json=rule, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 201, r.text
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")) and "# test rules" in after  # appended, comments kept
    assert [x["name"] for x in web.get("/api/rules").json()["rules"]] == ["drones", "energy", "harbour"]
    dup = web.post("/api/rules", json=rule, headers={"X-Ingest-Token": TOKEN})
    assert dup.status_code == 400 and "already exists" in dup.json()["message"]
    # channels are validated as the CLI validates them; a bad one leaves the file as it was
    bad_channel = web.post("/api/rules", json={"name": "mailed", "query": "Hafen", "notify": ["nosuchscheme://x"]},
                           headers={"X-Ingest-Token": TOKEN})
    assert bad_channel.status_code == 400 and path.read_text(encoding="utf-8") == after
    ok = web.post("/api/rules", json={"name": "hooked", "query": "Hafen", "notify": ["json://127.0.0.1:9/h"]},
                  headers={"X-Ingest-Token": TOKEN})
    assert ok.status_code == 201
    hooked = [x for x in web.get("/api/rules").json()["rules"] if x["name"] == "hooked"][0]
    assert hooked["channels"] == ["json"]
    path.write_text(before, encoding="utf-8")


# -- pages ----------------------------------------------------------------------------------------------


def test_search_page_marks_escapes_and_pages(web):
    page = html(web, "/search?q=Drohne*")
    assert "<mark>" in page and 'id="result-count"' in page
    assert "/api/search.csv?q=Drohne%2A" in page and "download=1" in page
    total = web.get("/api/search", params={"q": "Drohne*"}).json()["total"]
    assert f'data-total="{total}"' in page
    everything = html(web, "/search?per_page=5&sort=date")
    assert 'rel="next"' in everything and "page=2" in everything
    deep = html(web, "/search?page=999999&per_page=100")   # clamped, not a 500
    assert 'aria-current="page"' in deep or "No articles" in deep


def test_search_page_query_error_inline(web):
    page = html(web, "/search?q=%28Drohne+AND", status=400)
    assert 'id="query-error"' in page and "position" in page and 'class="err-at"' in page
    html(web, "/search?since=yesterday", status=400)


def test_pages_render(web):
    dash = html(web, "/dashboard?q=Drohne*&q=energy")
    assert 'id="chart-timeline"' in dash and "/static/dashboard.js" in dash and 'value="Drohne*"' in dash
    err = html(web, "/dashboard?q=%28x", status=400)
    assert 'id="query-error"' in err
    assert "interval must be" in html(web, "/dashboard?interval=fortnight", status=400)
    feeds = html(web, "/feeds")
    assert 'id="feeds-table"' in feeds and "Rheinblick Sport" in feeds and 'class="spark"' in feeds
    assert 'id="quality-table"' in feeds and 'name="token"' in feeds
    alerts = html(web, "/alerts?preview=Drohne*")
    assert "drones" in alerts and "/alerts/drones.atom" in alerts and 'id="chart-preview"' in alerts
    docs = html(web, "/docs")
    for path in ("/api/search", "/api/aggregates/timeline", "/api/aggregates/facet", "/api/feeds", "/api/rules",
                 "/api/alerts", "/healthz", "/metrics"):
        assert f"<code>{path}</code>" in docs, path
    assert web.get("/", follow_redirects=False).headers["location"] == "/search"
    html(web, "/nowhere", status=404)


def test_no_external_assets_and_security_headers(web):
    r = web.get("/dashboard", headers={"Accept": "text/html"})
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    import re

    for page in ("/search?q=x", "/dashboard", "/feeds", "/alerts", "/docs"):
        text = web.get(page).text
        for attr in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert not attr.startswith(("http://", "https://", "//")) or "127.0.0.1" in attr, (page, attr)
        assert "<script>" not in text and "style=" not in text   # nothing inline: the CSP forbids it
    for asset in ("app.css", "charts.js", "dashboard.js", "feeds.js", "alerts.js", "search.js", "favicon.svg"):
        assert web.get(f"/static/{asset}").status_code == 200, asset
    spec = web.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/search" in spec["paths"]
    assert web.get("/redoc").status_code == 404


def test_forms_need_token(web, ingested):
    r = web.post("/feeds", data={"url": "http://127.0.0.1:9/f.xml", "token": "nope"})
    assert r.status_code == 401 and "valid write token" in r.text
    r = web.post("/feeds", data={"url": "http://127.0.0.1:9/f.xml", "name": "F", "token": TOKEN},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/feeds?msg=feed-added"
    assert "Feed added" in html(web, "/feeds?msg=feed-added")
    ingested.app.remove_feed("http://127.0.0.1:9/f.xml")
    r = web.post("/alerts/rules", data={"name": "x1", "query": "(broken", "token": TOKEN})
    assert r.status_code == 400 and 'id="query-error"' in r.text


def test_read_only_without_token(ingested, monkeypatch):
    from ingest.web import create_app

    monkeypatch.delenv(ingested.settings.web.write_token_env, raising=False)
    with TestClient(create_app(ingested.app)) as client:
        r = client.post("/api/rules", json={"name": "x", "query": "x"}, headers={"X-Ingest-Token": "anything"})
        assert r.status_code == 403 and "read-only" in r.json()["detail"]
        assert client.post("/feeds", data={"url": "http://x/", "token": ""}).status_code == 403
        assert "read-only" in client.get("/feeds").text
    monkeypatch.setenv(ingested.settings.web.write_token_env, "from-env")
    with TestClient(create_app(ingested.app)) as client:
        assert client.post("/api/feeds", json={"url": "http://x/"}, headers={"X-Ingest-Token": "nope"}).status_code == 401


def test_dates_outside_data_give_empty_charts(web):
    future = (utcnow() + timedelta(days=400)).date().isoformat()
    body = web.get("/api/aggregates/timeline", params={"q": "Drohne*", "since": future}).json()
    assert body["total"] == 0 and body["series"][0]["total"] == 0
    assert web.get("/api/aggregates/facet", params={"field": "source", "since": future}).json()["buckets"] == []


def test_alerts_page_tells_delivered_from_no_channel(web, ingested):
    store = ingested.app.store
    now = utcnow()
    quiet = AlertRecord(rule="energy", story="story-quiet", article_ids=["x1"], sources=["A"], title="Quiet story",
                        url="https://a.example/1", created=now, delivered=now)
    sent = AlertRecord(rule="drones", story="story-sent", article_ids=["x2"], sources=["B"], title="Sent story",
                       url="https://b.example/2", created=now, delivered=now, channels_done=["rules[0].notify[0]"])
    for rec in (quiet, sent):
        store.index.claim_alert(rec)
        store.index.update_alert(rec)
    page = html(web, "/alerts")
    quiet_row = page[page.index("Quiet story"):][:600]
    sent_row = page[page.index("Sent story"):][:600]
    assert "recorded, no channel" in quiet_row and "delivered" not in quiet_row.split("</tr>")[0]
    assert "delivered to 1 channel" in sent_row


# -- saved searches -------------------------------------------------------------------------------------


def test_saved_search_from_the_search_page_has_feeds_and_becomes_a_rule(web, ingested):
    import xml.etree.ElementTree as ET

    from ingest.cli.main import main

    searches = Path(ingested.settings.searches_file)
    rules_path = Path(ingested.settings.rules_file)
    rules_before = rules_path.read_text(encoding="utf-8")
    filters = "q=Drohne%2A&lang=de&sort=date"
    assert web.post("/searches", data={"name": "drones-de", "filters": filters}).status_code == 401  # no token
    r = web.post("/searches", data={"name": "drones-de", "filters": filters, "token": TOKEN,
                                    "description": "German drones"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/searches?msg=search-saved"
    page = html(web, "/searches")
    assert 'data-name="drones-de"' in page and "/searches/drones-de.atom" in page
    # the stable URL opens the search with its filters
    r = web.get("/searches/drones-de", follow_redirects=False)
    assert r.status_code == 302 and "q=Drohne%2A" in r.headers["location"] and "lang=de" in r.headers["location"]
    expected = web.get("/api/search", params={"q": "Drohne*", "lang": "de", "limit": 50}).json()
    # Atom and JSON feeds carry the same hits
    feed = ET.fromstring(web.get("/searches/drones-de.atom").text)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = {e.find("a:id", ns).text.rsplit(":", 1)[1] for e in feed.findall("a:entry", ns)}
    assert ids == {h["id"] for h in expected["hits"]} and ids
    jf = web.get("/searches/drones-de.json")
    assert jf.headers["content-type"].startswith("application/feed+json")
    assert {i["id"] for i in jf.json()["items"]} == ids and "<mark>" in jf.json()["items"][0]["content_html"]
    assert web.get("/searches/nope.atom").status_code == 404
    # the CLI sees it (same file)
    base = ["--config", ingested.settings.config_dir, "--db", ingested.settings.store.sqlite_path]
    assert main(["searches", "list", "--json", *base]) == 0
    # one action: the saved search becomes a rule with its query and filters, after the preview page
    preview = html(web, "/alerts?preview=Drohne%2A&search=drones-de")
    assert 'name="search" value="drones-de"' in preview
    r = web.post("/alerts/rules", data={"query": "Drohne*", "search": "drones-de", "name": "drones-de",
                                        "token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303
    rule = [x for x in web.get("/api/rules").json()["rules"] if x["name"] == "drones-de"][0]
    assert rule["query"] == "Drohne*" and rule["filters"]["languages"] == ["de"]
    assert "# test rules" in rules_path.read_text(encoding="utf-8")  # comments kept
    rules_path.write_text(rules_before, encoding="utf-8")
    searches.unlink()
