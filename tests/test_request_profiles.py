"""Per-feed and per-site request profiles (issue 19, item 1): user agent, headers, cookies, proxy,
fetch_pages, politeness; secrets from the environment or files never shown."""

from __future__ import annotations

import json
import logging

import pytest
from loopback import LoopbackServer, Reply, article_page, rss

from ingest.app import Ingest
from ingest.cli.main import main
from ingest.config import FetchSettings
from ingest.errors import ConfigError, FetchError
from ingest.fetch import Fetcher
from ingest.sources.feedlist import load_feeds
from ingest.sources.profile import ProfileBook, parse_profile

SECRET = "s3cr3t-session-7f2a9c"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) ProfileTest/1.0"
BODY = ["Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen, nach langer Debatte.",
        "Die Opposition kritisierte die Kürzungen bei den Bibliotheken und Schwimmbädern scharf.",
        "Der Kämmerer verteidigte den Plan als notwendig, um die Schulden bis 2030 zu halten."]


def picky(ok: Reply):
    """A site behind a bot filter: 403 unless the browser UA, the consent header and the session cookie come."""
    def handler(req) -> Reply:
        cookie = req.headers.get("Cookie") or ""
        if (req.headers.get("User-Agent") == BROWSER and req.headers.get("X-Consent") == "granted"
                and f"session={SECRET}" in cookie and "consent=yes" in cookie):
            return ok
        return Reply(status=403, body=b"forbidden")
    return handler


def _site(server: LoopbackServer) -> str:
    page = server.route("/news/haushalt", picky(Reply(body=article_page("Haushalt beschlossen", BODY),
                                                      headers={"Content-Type": "text/html; charset=utf-8"})))
    feed = rss([{"title": "Haushalt beschlossen", "link": page}])
    return server.route("/feed.xml", picky(Reply(body=feed, headers={"Content-Type": "application/rss+xml"})))


PROFILE = f"""    profile:
      user_agent: "{BROWSER}"
      headers: {{X-Consent: granted}}
      cookies:
        consent: "yes"
        session: ${{TEST_SESSION}}
"""


def test_site_refusing_the_default_agent_is_ingested_once_the_feed_has_the_profile(
        settings, server, monkeypatch, caplog, capsys, tmp_path):
    monkeypatch.setenv("TEST_SESSION", SECRET)
    url = _site(server)
    settings.feeds_file.write_text(f"feeds:\n  - url: {url}\n    name: Picky\n", encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    with Ingest(settings) as app:
        report = app.run_once()
        assert report.polls[0].status == "error" and "403" in report.polls[0].error
        assert app.search("Haushalt").total == 0

    settings.feeds_file.write_text(f"feeds:\n  - url: {url}\n    name: Picky\n{PROFILE}", encoding="utf-8")
    with Ingest(settings) as app:
        report = app.run_once()
        assert report.stored == 1, report
        hits = app.search("Kämmerer")
        assert hits.total == 1 and "Schwimmbädern" in app.store.index.get_article(hits.hits[0].id).body
    page_headers = server.headers_of("/news/haushalt")[-1]
    assert page_headers["user-agent"] == BROWSER and f"session={SECRET}" in page_headers["cookie"]

    args = ["--config", str(settings.config_dir), "--db", settings.store.sqlite_path]
    assert main(["feeds", "list", "--json", *args]) == 0
    listed = capsys.readouterr().out
    shown = json.loads(listed.strip().splitlines()[0])["profile"]
    assert shown["cookies"] == {"consent": "yes", "session": "***"}
    assert shown["user_agent"] == BROWSER and shown["headers"] == {"X-Consent": "granted"}
    assert main(["status", "--json", *args]) == 0
    status = capsys.readouterr().out
    assert SECRET not in listed and SECRET not in status
    assert SECRET not in caplog.text
    logging.getLogger("ingest.test").warning("cookie header was session=%s", SECRET)  # the scrubber masks it
    assert SECRET not in caplog.records[-1].getMessage()


def test_profile_errors_are_one_line_naming_file_feed_and_key(config_dir, tmp_path, monkeypatch, capsys):
    feeds = config_dir / "feeds.yaml"
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    feeds.write_text("feeds:\n  - url: http://a.example/rss\n    profile:\n      cookies: {sid: \"${NOT_SET_ANYWHERE}\"}\n")
    with pytest.raises(ConfigError) as err:
        load_feeds(feeds)
    assert str(err.value) == (f"{feeds}: feeds[0] (http://a.example/rss).profile.cookies.sid: "
                              "environment variable NOT_SET_ANYWHERE is not set")
    cases = {
        "headers: {Host: evil.example}": "profile.headers.Host: this header is set by the fetcher",
        "headers: {User-Agent: x}": "use user_agent",
        "proxy: socks5://p.example:1080": "profile.proxy: expected http://",
        "politeness: {concurrency: 0}": "profile.politeness.concurrency: expected a whole number",
        "fetch_pages: maybe": "profile.fetch_pages: expected true or false",
        "cookies: {sid: {file: missing.txt}}": "profile.cookies.sid: cannot read secret file",
        "agent: x": "profile.agent: unknown key",
    }
    for text, expected in cases.items():
        feeds.write_text(f"feeds:\n  - url: http://a.example/rss\n    profile:\n      {text}\n")
        assert main(["feeds", "list", "--config", str(config_dir), "--db", str(tmp_path / "x.db")]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: {feeds}: feeds[0] (http://a.example/rss).")
        assert expected in lines[0], lines[0]


def test_secret_from_a_file_is_registered_and_masked(tmp_path):
    (tmp_path / "token.txt").write_text("file-token-91d3e\n")
    profile = parse_profile({"headers": {"Authorization": {"file": "token.txt"}}, "proxy": "http://u:pw-8812@p.example:3128"},
                            str(tmp_path / "feeds.yaml"), "feeds[0].profile", env={}, scope=("a.example",))
    assert profile.request_headers("http://a.example/x")["Authorization"] == "file-token-91d3e"
    assert "Authorization" not in profile.request_headers("http://other.example/x")  # secrets stay on their host
    assert profile.shown() == {"headers": {"Authorization": "***"}, "proxy": "http://***@p.example:3128"}
    from ingest.redact import redact

    assert redact("token file-token-91d3e and pw-8812") == "token *** and ***"


def test_fetch_pages_off_stores_the_feed_text_without_asking_for_pages(settings, server):
    page = server.route("/a/1", Reply(body=article_page("Eins", BODY)))
    feed = server.route("/feed.xml", Reply(body=rss([{"title": "Eins", "link": page, "description": " ".join(BODY)}]),
                                           headers={"Content-Type": "application/rss+xml"}))
    settings.feeds_file.write_text(f"feeds:\n  - url: {feed}\n    profile: {{fetch_pages: false}}\n")
    with Ingest(settings) as app:
        assert app.run_once().stored == 1
        hit = app.search("Kämmerer").hits[0]
        assert app.store.index.get_article(hit.id).extraction == "feed"
    assert server.requests["/a/1"] == 0


def test_site_request_section_applies_to_pages_and_the_feed_entry_wins(settings, server):
    page = server.route("/a/1", Reply(body=article_page("Eins", BODY)))
    feed = server.route("/feed.xml", Reply(body=rss([{"title": "Eins", "link": page}]),
                                           headers={"Content-Type": "application/rss+xml"}))
    (settings.sites_dir).mkdir()
    (settings.sites_dir / "local.yaml").write_text(
        f"domain: 127.0.0.1:{server.port}\nrequest:\n  user_agent: SiteAgent/1\n  headers: {{X-Site: yes-site}}\n"
        "  cookies: {site_consent: granted}\n")
    settings.feeds_file.write_text(f"feeds:\n  - url: {feed}\n    profile: {{user_agent: FeedAgent/2}}\n")
    with Ingest(settings) as app:
        assert app.run_once().stored == 1
    for path in ("/feed.xml", "/a/1"):
        sent = server.headers_of(path)[-1]
        assert sent["user-agent"] == "FeedAgent/2" and sent["x-site"] == "yes-site", (path, sent)
        assert sent["cookie"] == "site_consent=granted"


def test_cookies_do_not_follow_a_redirect_to_another_host(settings):
    with LoopbackServer() as first, LoopbackServer(host="127.0.0.1") as second:
        target = second.route("/landing", Reply(body=b"ok"))
        moved = first.route("/moved", Reply(status=302, headers={"Location": target.replace("127.0.0.1", "localhost")}))
        profile = parse_profile({"user_agent": "UA/1", "cookies": {"sid": "${S}"}}, "feeds.yaml", "feeds[0].profile",
                                env={"S": "cookie-secret-1"}, scope=("127.0.0.1",))
        with Fetcher(settings.fetch) as fetcher:
            assert fetcher.get(moved, profile=profile).content == b"ok"
        assert "sid=cookie-secret-1" in first.headers_of("/moved")[0]["cookie"]
        landed = second.headers_of("/landing")[0]
        assert "cookie" not in landed and landed["user-agent"] == "UA/1"


def test_proxy_is_used_and_is_checked_by_the_ssrf_guard(settings, server):
    server.route("/feed.xml", Reply(body=b"direct"))
    with LoopbackServer() as proxy:
        absolute = server.url("/feed.xml")
        proxy.route(absolute, Reply(body=b"via proxy"))
        profile = parse_profile({"proxy": f"http://user:${{P}}@127.0.0.1:{proxy.port}"}, "feeds.yaml",
                                "feeds[0].profile", env={"P": "proxy-pw-5521"})
        with Fetcher(settings.fetch) as fetcher:
            assert fetcher.get(absolute, profile=profile).content == b"via proxy"
        assert proxy.requests[absolute] == 1 and server.requests["/feed.xml"] == 0
        assert "proxy-authorization" in proxy.headers_of(absolute)[0]
        # without loopback allowed, a proxy on loopback is refused before anything is sent
        strict = Fetcher(FetchSettings())
        with strict, pytest.raises(FetchError) as err:
            strict.get("http://93.184.216.34/feed.xml", profile=profile)
        assert err.value.kind == "refused" and "proxy" in str(err.value) and "proxy-pw-5521" not in str(err.value)
        assert proxy.requests.total() == 1


def test_politeness_override_spaces_requests_to_the_feeds_host(settings, server):
    pages = [server.route(f"/p/{i}", Reply(body=article_page(f"Seite {i}", [f"{p} (Teil {i}, Nummer {i * 7})"
                                                                             for p in BODY[i:] + BODY[:i]])))
             for i in range(3)]
    feed = server.route("/feed.xml", Reply(body=rss([{"title": f"Seite {i}", "link": p} for i, p in enumerate(pages)]),
                                           headers={"Content-Type": "application/rss+xml"}))
    settings.feeds_file.write_text(
        f"feeds:\n  - url: {feed}\n    profile: {{politeness: {{min_interval: 0.4, concurrency: 1}}}}\n")
    with Ingest(settings) as app:
        assert app.run_once().stored == 3
    times = sorted(t for t, p, _ in server.log)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.35, gaps  # the global setting is 0 (conftest)
    assert server.max_active == 1


def test_profile_book_resolution_prefers_the_feed_and_merges_headers():
    site = parse_profile({"user_agent": "Site", "headers": {"A": "site", "B": "site"}, "politeness": {"min_interval": 3}},
                         "sites/x.yaml", "request", env={}, scope=("example.org",))
    feed = parse_profile({"headers": {"b": "feed"}, "politeness": {"concurrency": 1}}, "feeds.yaml", "feeds[0].profile",
                         env={}, scope=("news.example.org",))
    book = ProfileBook({"example.org": site}, [("https://news.example.org/rss", feed)])
    eff = book.effective("https://www.example.org/a", "https://news.example.org/rss")
    assert eff.request_headers("https://www.example.org/a") == {"A": "site", "b": "feed", "User-Agent": "Site"}
    assert book.politeness("news.example.org").concurrency == 1
    assert book.politeness("news.example.org").min_interval == 3
    assert book.politeness("other.net") is None


def test_opml_round_trip_carries_the_profile_in_freshrss_attributes(config_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_SESSION", SECRET)
    feeds = config_dir / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: http://a.example/rss\n    name: A\n{PROFILE}      fetch_pages: false\n")
    from ingest.config import load_settings

    settings = load_settings(str(config_dir), str(tmp_path / "x.db"), env={})
    with Ingest(settings) as app:
        opml = app.export_opml()
    assert 'xmlns:frss="https://freshrss.org/opml"' in opml and f'frss:CURLOPT_USERAGENT="{BROWSER}"' in opml
    assert "frss:CURLOPT_COOKIE=\"consent=yes; session=${TEST_SESSION}\"" in opml and SECRET not in opml
    (tmp_path / "feeds.opml").write_text(opml)
    other = tmp_path / "other"
    other.mkdir()
    settings2 = load_settings(str(other), str(tmp_path / "y.db"), env={})
    with Ingest(settings2) as app:
        assert app.import_opml(tmp_path / "feeds.opml") == 1
        (feed,) = app.feeds()
    assert feed.profile.user_agent == BROWSER and feed.profile.cookies["session"].text == SECRET
    assert feed.profile.cookies["session"].secret and feed.profile.headers["X-Consent"].text == "granted"
    assert feed.profile.fetch_pages is None  # no OPML convention: stays in feeds.yaml
    written = (other / "feeds.yaml").read_text()
    assert "${TEST_SESSION}" in written and SECRET not in written


def test_debug_logs_of_a_run_never_carry_the_profile_secrets(settings, server):
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = _site(server)
    settings.feeds_file.write_text(f"feeds:\n  - url: {url}\n{PROFILE}      proxy: \"http://u:${{TEST_PROXY_PW}}@127.0.0.1:9\"\n"
                                   "      fetch_pages: false\n", encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "INGEST_ALLOW_NETWORKS": "127.0.0.1/32", "TEST_SESSION": SECRET,
           "TEST_PROXY_PW": "proxy-pw-7781"}
    run = subprocess.run([sys.executable, "-m", "ingest", "run", "--once", "--log-level", "debug", "--config",
                          settings.config_dir, "--db", settings.store.sqlite_path], env=env, cwd=str(root),
                         capture_output=True, text=True, timeout=120)
    assert "127.0.0.1:9" in run.stderr + run.stdout  # the (closed) proxy port was tried and the failure reported
    status = subprocess.run([sys.executable, "-m", "ingest", "status", "--json", "--config", settings.config_dir,
                             "--db", settings.store.sqlite_path], env=env, cwd=str(root), capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0 and "proxy" in status.stdout
    for text in (run.stdout, run.stderr, status.stdout, status.stderr):
        assert SECRET not in text and "proxy-pw-7781" not in text
