"""`ingest backfill`: a loopback news site whose sitemaps list 500 articles (robots.txt -> a sitemap index ->
two news sitemaps, one of them gzip), some outside the wanted dates, some on other sites, one undated.
The in-range ones are stored exactly once, a SIGKILLed real `ingest backfill` resumes without fetching
a stored page again, requests to the host keep the politeness gap, and alerts only with --alerts."""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from loopback import LoopbackServer, Reply

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.sources.sitemaps import SitemapError, discover, inflate, parse_sitemap

ROOT = Path(__file__).resolve().parent.parent
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STEP = timedelta(hours=2)          # article i was published at T0 - i * STEP
SINCE = T0 - timedelta(hours=241)  # articles 0..120 are in range
IN_RANGE = 121
TOPICS = ["harbour", "railway", "budget", "school", "hospital", "bridge", "election", "river", "museum", "airport"]


def page(i: int) -> bytes:
    topic = TOPICS[i % len(TOPICS)]
    extra = " Divers found the Zeppelinhafen wreck." if i == 3 else ""
    paras = "".join(f"<p>Dispatch {i}: the {topic} committee of ward {i * 13 + k} voted {k + i % 7 + 2} to "
                    f"{i % 5 + 1} on motion {i * 31 + k * 17} after {k + 2} hours of debate.{extra}</p>"
                    for k in range(3))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{topic} {i}</title></head>"
            f"<body><article><h1>{topic.title()} dispatch {i}</h1>{paras}</article></body></html>").encode()


def urlset(entries: list[str]) -> bytes:
    return ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
            "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>" + "".join(entries) + "</urlset>").encode()


def news_url(loc: str, when: datetime | None, title: str = "") -> str:
    news = (f"<news:news><news:publication><news:name>Harbour Times</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{when.isoformat()}</news:publication_date>"
            f"<news:title>{title}</news:title></news:news>") if when else ""
    return f"<url><loc>{loc}</loc>{news}</url>"


class NewsSite:
    """One loopback host: robots.txt, a sitemap index, two news sitemaps (the second gzip), 500 pages."""

    def __init__(self, n: int = 500):
        self.srv = LoopbackServer().__enter__()
        base = self.srv.base
        children: list[list[str]] = [[], []]
        for i in range(n):
            self.srv.route(f"/news/{i}", Reply(body=page(i), headers=HTML))
            children[i % 2].append(news_url(f"{base}/news/{i}", T0 - i * STEP, f"Dispatch {i}"))
        children[0].append(news_url("http://elsewhere.invalid/news/1", T0, "another site"))
        children[1].append("<url><loc>" + base + "/news/undated</loc></url>")
        self.srv.route("/news/undated", Reply(body=page(9999), headers=HTML))
        self.srv.route("/robots.txt", Reply(body=f"User-agent: *\nSitemap: {base}/sitemap_index.xml\n".encode()))
        self.srv.route("/sitemap_index.xml", Reply(body=(
            "<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{base}/news-1.xml</loc><lastmod>{T0.date()}</lastmod></sitemap>"
            f"<sitemap><loc>{base}/news-2.xml.gz</loc><lastmod>{T0.isoformat()}</lastmod></sitemap>"
            f"<sitemap><loc>{base}/archive-2019.xml</loc><lastmod>2019-12-31</lastmod></sitemap>"
            "</sitemapindex>").encode(), headers=XML))
        self.srv.route("/news-1.xml", Reply(body=urlset(children[0]), headers=XML))
        self.srv.route("/news-2.xml.gz", Reply(body=gzip.compress(urlset(children[1])),
                                               headers={"Content-Type": "application/x-gzip"}))
        self.feed = self.srv.url("/feed.xml")
        self.expected = {f"{base}/news/{i}" for i in range(IN_RANGE)}

    def page_requests(self) -> dict[str, int]:
        return {p: n for p, n in self.srv.request_counts().items() if p.startswith("/news/")}

    def close(self) -> None:
        self.srv.__exit__()


@pytest.fixture
def site():
    s = NewsSite()
    yield s
    s.close()


def configure(settings, site: NewsSite, rules: str | None = None):
    config = Path(settings.config_dir)
    (config / "feeds.yaml").write_text(f"feeds:\n  - url: {site.feed}\n    name: Harbour Times\n")
    if rules:
        (config / "rules.yaml").write_text(rules)
    settings.enrich.keywords = 0
    return settings


def stored_urls(app: Ingest) -> list[str]:
    return [a.url for a in app.store.index.iter_articles()]


# -- sitemaps ---------------------------------------------------------------------------------------


def test_sitemap_parsing_news_dates_gzip_and_refusals():
    sm = parse_sitemap(urlset([news_url("https://a.example/x", T0, "X"), "<url><loc>/rel</loc>"
                               "<lastmod>2026-11-02</lastmod></url>"]), "https://a.example/sitemap.xml")
    assert [(u.loc, u.when, u.title) for u in sm.urls] == [
        ("https://a.example/x", T0, "X"), ("https://a.example/rel", datetime(2026, 11, 2, tzinfo=UTC), None)]
    assert parse_sitemap(gzip.compress(urlset([news_url("https://a.example/y", T0)])), "s.gz").urls[0].loc \
        == "https://a.example/y"
    text = parse_sitemap(b"https://a.example/1\nhttps://a.example/2\n", "sitemap.txt")
    assert [u.loc for u in text.urls] == ["https://a.example/1", "https://a.example/2"]
    bomb = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><urlset><url><loc>&a;</loc></url></urlset>"
    with pytest.raises(SitemapError, match="DOCTYPE"):
        parse_sitemap(bomb, "https://a.example/evil.xml")
    with pytest.raises(SitemapError, match="exceeds 1000 bytes"):
        inflate(gzip.compress(b"<" + b" " * 1_000_000), 1000, "big.xml.gz")
    with pytest.raises(SitemapError, match="not a readable sitemap"):
        parse_sitemap(b"<urlset><url><loc>x</loc></urlset>", "broken.xml")


def test_discovery_follows_robots_and_index_and_skips_old_children(site):
    from ingest.backfill import sitemap_getter
    from ingest.config import FetchSettings
    from ingest.fetch import Fetcher

    with Fetcher(FetchSettings(allow_networks=["127.0.0.1/32"], per_host_min_interval=0)) as fetcher:
        found = discover(site.srv.base, sitemap_getter(fetcher, 10_000_000), since=SINCE)
    assert len(found.urls) == 502 and found.skipped_old == 1  # 500 + elsewhere + undated; 2019 not fetched
    assert site.srv.requests["/archive-2019.xml"] == 0 and site.srv.requests["/news-2.xml.gz"] == 1


# -- backfill end to end ------------------------------------------------------------------------------


def test_backfill_stores_the_in_range_articles_once(settings, site):
    with Ingest(configure(settings, site)) as app:
        report = app.backfill("Harbour Times", SINCE)
        assert (report.in_range, report.queued, report.stored) == (IN_RANGE, IN_RANGE, IN_RANGE)
        assert report.undated == 1 and report.other_site == 1
        urls = stored_urls(app)
        assert sorted(urls) == sorted(site.expected)
        article = app.store.index.get_article(app.search("Dispatch 3 Zeppelinhafen").hits[0].id)
        assert article.feed_urls == [site.feed] and article.source == "Harbour Times"
        assert all(n == 1 for n in site.page_requests().values())
        site.srv.requests.clear()
        again = app.backfill("Harbour Times", SINCE)  # nothing new: nothing fetched, nothing stored
        assert (again.already_stored, again.queued, again.stored) == (IN_RANGE, 0, 0)
        assert site.page_requests() == {} and app.store.index.count_articles() == IN_RANGE


def test_backfill_until_and_limit_pick_the_newest_in_range(settings, site):
    with Ingest(configure(settings, site)) as app:
        report = app.backfill(site.srv.base, SINCE, until=T0 - timedelta(hours=199), limit=5)
        assert report.in_range == 21 and report.stored == 5  # articles 100..120, newest five: 100..104
        assert sorted(stored_urls(app)) == sorted(f"{site.srv.base}/news/{i}" for i in range(100, 105))


def test_backfill_keeps_the_politeness_gap_per_host(settings, site):
    settings.fetch.per_host_min_interval = 0.2
    settings.fetch.per_host_concurrency = 1
    with Ingest(configure(settings, site)) as app:
        app.backfill("Harbour Times", SINCE, limit=15)
    arrivals = [t for t, _path, _h in site.srv.log]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) >= 15 + 4  # robots, sitemaps and pages all went through the polite fetcher
    # measured on the server side: the limiter counts the gap from when the server had the request
    assert min(gaps) >= 0.2, sorted(gaps)[:5]


def test_backfill_alerts_only_when_asked(settings, site, tmp_path):
    rules = "rules:\n  - name: wreck\n    query: Zeppelinhafen\n"
    with Ingest(configure(settings, site, rules)) as app:
        assert app.backfill("Harbour Times", SINCE, limit=10).stored == 10
        assert app.search("Zeppelinhafen").total == 1  # searchable like any article
        assert list(app.store.index.iter_alerts()) == [] and app.store.state.pending_alert_ids() == []
    settings.store.sqlite_path = str(tmp_path / "other.db")
    with Ingest(settings) as app:
        app.backfill("Harbour Times", SINCE, limit=10, alerts=True)
        assert [a.rule for a in app.store.index.iter_alerts()] == ["wreck"]


def test_backfill_cli_errors_are_one_line(settings, site, capsys):
    configure(settings, site)
    args = ["--config", settings.config_dir, "--db", settings.store.sqlite_path]
    assert main(["backfill", "No Such Feed", "--since", "2026-11-01", *args]) == 2
    assert "not a configured feed" in capsys.readouterr().err
    assert main(["backfill", "Harbour Times", "--since", "yesterday", *args]) == 2
    assert "--since 'yesterday': not a date" in capsys.readouterr().err


# -- SIGKILL and resume ----------------------------------------------------------------------------


def test_sigkilled_backfill_resumes_without_refetching_stored_pages(tmp_path, site):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        "fetch: {allow_networks: ['127.0.0.1/32'], per_host_min_interval: 0, timeout_total: 10}\n"
        "extract: {workers: 2}\nenrich: {keywords: 0}\n")
    (config / "feeds.yaml").write_text(f"feeds:\n  - url: {site.feed}\n    name: Harbour Times\n")
    db = tmp_path / "data" / "ingest.db"
    cmd = [sys.executable, "-m", "ingest", "backfill", "Harbour Times", "--since", SINCE.isoformat(), "--json",
           "--config", str(config), "--db", str(db)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stored() -> set[str]:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                return {r[0] for r in conn.execute("SELECT url FROM articles")}
        except sqlite3.Error:
            return set()

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(stored()) < 50 and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = stored()
    assert 50 <= len(before) < IN_RANGE, "the kill should land mid-run"
    site.srv.requests.clear()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert stored() == site.expected
    refetched = {p for p in site.page_requests() if site.srv.url(p) in before}
    assert refetched == set(), f"stored pages fetched again: {sorted(refetched)[:5]}"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone() == (IN_RANGE, IN_RANGE)
        assert conn.execute("SELECT count(*) FROM pending").fetchone()[0] == 0


def test_backfill_on_every_backend(backend_settings, site):
    with Ingest(configure(backend_settings, site)) as app:
        assert app.backfill("Harbour Times", SINCE, limit=10).stored == 10
        assert app.search("Zeppelinhafen").total == 1
        again = app.backfill("Harbour Times", SINCE, limit=10)
        assert (again.already_stored, again.stored) == (10, 0) and app.store.index.count_articles() == 10
