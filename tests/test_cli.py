"""The CLI end to end against a loopback site and a real SQLite file: --json outputs, errors, feed list."""

from __future__ import annotations

import json

import pytest
from loopback import Reply, article_page, rss

from ingest.cli.main import main

PARAS = [
    "The parliament debated the export of surveillance drones to Iran for more than four hours on Tuesday evening.",
    "Opposition speakers said the licences had been granted without the consultation the law requires for such sales.",
    "The ministry replied that every licence had been checked against the current sanctions list before approval.",
]


@pytest.fixture
def site(server):
    items = []
    for i, topic in enumerate(["drones", "harbour", "election"]):
        # Each story its own text: paragraphs shared by 3+ pages of a site would be learned as boilerplate.
        paras = [f"{p[:-1]}, reporters covering the {topic} file noted in story {i}." for p in PARAS]
        server.route(f"/news/{i}", Reply(body=article_page(f"Story about {topic}", paras),
                                         headers={"Content-Type": "text/html; charset=utf-8"}))
        items.append({"title": f"Story about {topic}", "link": server.url(f"/news/{i}"), "categories": ["Politics"]})
    server.route("/feed.xml", Reply(body=rss(items), etag='"feed-v1"',
                                    headers={"Content-Type": "application/rss+xml"}))
    server.route("/broken.xml", Reply(body=b"<rss><channel><title>x</title><item><title>unclosed"))
    return server


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INGEST_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("INGEST_EXTRACT__WORKERS", "1")
    base = ["--config", str(tmp_path / "config"), "--db", str(tmp_path / "ingest.db")]

    def call(*argv):
        return run(capsys, argv[0], *argv[1:], *base) if argv[0] not in ("feeds", "sites") else \
            run(capsys, argv[0], argv[1], *argv[2:], *base)
    return call


def test_run_search_show_status_json(cli, site):
    assert cli("feeds", "add", site.url("/feed.xml"), "--name", "Loopback News")[0] == 0
    code, _, err = cli("feeds", "add", site.url("/broken.xml"), "--name", "Broken")
    assert code == 2 and "malformed" in err and "--no-check" in err  # the probe says why
    assert cli("feeds", "add", site.url("/broken.xml"), "--name", "Broken", "--no-check")[0] == 0
    code, out, _ = cli("run", "--once", "--json")
    assert code == 4  # partial failure: the broken feed failed, the other one was ingested
    report = json.loads(out)
    assert report["stored"] == 3
    statuses = {f["name"]: f["status"] for f in report["feeds"]}
    assert statuses == {"Loopback News": "new", "Broken": "error"}

    code, out, _ = cli("search", "harbour", "--json")
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(hits) == 1
    assert {"id", "url", "title", "source", "published", "score", "snippet"} <= set(hits[0])
    assert hits[0]["source"] == "Loopback News" and "[harbour]" in hits[0]["snippet"]

    code, out, _ = cli("show", hits[0]["id"], "--json")
    article = json.loads(out)
    assert "consultation the law requires" in article["body"]
    assert article["extraction"] == "page" and article["language"] == "en" and "Politics" in article["tags"]

    code, out, _ = cli("status", "--json")
    feeds = {f["name"]: f for f in json.loads(out)["feeds"]}
    assert feeds["Loopback News"]["status"] == "working" and feeds["Loopback News"]["articles"] == 3
    assert feeds["Broken"]["status"] == "backing_off" and "malformed" in feeds["Broken"]["error"]


def test_second_run_is_304_and_fetches_no_page(cli, site):
    cli("feeds", "add", site.url("/feed.xml"))
    assert site.requests["/feed.xml"] == 1  # `feeds add` probes the URL once
    cli("run", "--once", "--json")
    pages_before = sum(n for p, n in site.requests.items() if p.startswith("/news/"))
    code, out, _ = cli("run", "--once", "--json")
    report = json.loads(out)
    assert report["stored"] == 0 and report["feeds"][0]["status"] == "not_modified"
    assert sum(n for p, n in site.requests.items() if p.startswith("/news/")) == pages_before == 3
    assert site.requests["/feed.xml"] == 3  # probe + two polls


def test_extract_json_several_files(cli, tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    a.write_bytes(article_page("First page", PARAS))
    b.write_bytes(article_page("Second page", list(reversed(PARAS))))
    code, out, _ = cli("extract", str(a), str(b), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["file"] for r in rows] == [str(a), str(b)]
    assert all({"title", "text", "tags", "language", "published"} <= set(r) for r in rows)
    assert PARAS[1] in rows[0]["text"]


def test_errors_are_one_line_without_traceback(cli, tmp_path):
    code, out, err = cli("show", "doesnotexist")
    assert code != 0 and err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("extract", str(tmp_path / "missing.html"))
    assert code != 0 and "missing.html" in err and "Traceback" not in err
    code, _, err = cli("run", "--once")
    assert code != 0 and "no feeds configured" in err


def test_feeds_opml_round_trip(cli, tmp_path):
    opml = tmp_path / "in.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
      <outline text="Politik"><outline text="A" title="A" type="rss" xmlUrl="https://a.example.org/feed"/>
      <outline text="B" type="rss" xmlUrl="https://b.example.org/rss"/></outline>
      <outline text="C" type="rss" xmlUrl="https://c.example.org/atom"/></body></opml>""")
    assert cli("feeds", "import-opml", str(opml))[0] == 0
    code, out, _ = cli("feeds", "list", "--json")
    feeds = [json.loads(line) for line in out.splitlines()]
    assert [(f["url"], f["category"]) for f in feeds] == [
        ("https://a.example.org/feed", "Politik"), ("https://b.example.org/rss", "Politik"),
        ("https://c.example.org/atom", None)]
    code, out, _ = cli("feeds", "export-opml")
    assert 'xmlUrl="https://b.example.org/rss"' in out and 'text="Politik"' in out
    assert cli("feeds", "remove", "https://c.example.org/atom")[0] == 0
    code, out, _ = cli("feeds", "list", "--json")
    assert len(out.splitlines()) == 2


def test_loopback_refused_without_allow(tmp_path, capsys, monkeypatch, site):
    monkeypatch.delenv("INGEST_ALLOW_NETWORKS", raising=False)
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "d.db")]
    assert main(["feeds", "add", site.url("/feed.xml"), *base]) == 2  # the probe is refused too
    assert "private/loopback" in capsys.readouterr().err
    main(["feeds", "add", site.url("/feed.xml"), "--no-check", *base])
    capsys.readouterr()
    main(["run", "--once", "--json", *base])
    report = json.loads(capsys.readouterr().out)
    assert report["feeds"][0]["status"] == "error" and "private/loopback" in report["feeds"][0]["error"]
    assert site.requests["/feed.xml"] == 0
