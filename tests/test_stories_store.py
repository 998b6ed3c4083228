"""Stories stored and searchable on both backends: `story_id` round-trips, the `stories` filter finds a
story's reports, search collapses by story (one hit per story, its first report), the story page shows
the timeline, outlets, first report and latest development, escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from ingest.app import Ingest
from ingest.models import Article
from ingest.store import SearchRequest


def art(i: str, title: str, day: int, source: str, story: str, cluster: str | None = None,
        original: bool = True) -> Article:
    return Article(id=i, url=f"https://{source.lower()}.test/{i}", title=title,
                   body=f"{title}. Der Streik im Hafen von Lindenau geht weiter, sagt die Gewerkschaft ({i}).",
                   source=source, domain=f"{source.lower()}.test", language="de",
                   published=datetime(2026, 11, day, 9, tzinfo=UTC), indexed=datetime(2026, 11, 20, tzinfo=UTC),
                   content_hash=i, cluster_id=cluster or i, is_original=original, story_id=story)


@pytest.fixture
def app(backend_settings):
    application = Ingest(backend_settings)
    application.store.index.upsert_articles([
        art("s1", "Hafenarbeiter streiken in Lindenau", 10, "Agentur", "s1", cluster="c1"),
        art("s1copy", "Hafenarbeiter streiken in Lindenau", 10, "Kurier", "s1", cluster="c1", original=False),
        art("s2", "Hafenstreik: Schiffe warten vor Lindenau", 11, "Bote", "s1"),
        art("s3", "Streik im Hafen beendet <script>alert(1)</script>", 13, "Agentur", "s1"),
        art("t1", "Hafen Lindenau baut neues Terminal", 12, "Bote", "t1"),
    ])
    flush = (application.store.index.outbox.flush if application.store.index.outbox else None)
    if flush:
        flush()
    yield application
    application.close()


def test_story_id_round_trips_and_filters(app):
    assert app.show("s2").story_id == "s1"
    hits = app.store.index.search(SearchRequest(stories=["s1"], sort="date", limit=10)).hits
    assert sorted(h.id for h in hits) == ["s1", "s1copy", "s2", "s3"]
    assert {h.story_id for h in hits} == {"s1"}


def test_search_collapses_by_story(app):
    for sort in ("relevance", "date"):
        result = app.store.index.search(SearchRequest(query="Hafen OR Hafenarbeiter OR Hafenstreik", collapse_story=True,
                                                sort=sort))
        assert sorted(h.id for h in result.hits) == ["s1", "t1"], sort
        assert result.total == 2
        by_id = {h.id: h for h in result.hits}
        assert by_id["s1"].cluster_size == 4 and by_id["t1"].cluster_size == 1


def test_web_search_page_collapses_by_story(app):
    from ingest.web import create_app

    q = "Hafen OR Hafenarbeiter OR Hafenstreik"
    with TestClient(create_app(app)) as web:
        every = web.get("/search", params={"q": q}, headers={"Accept": "text/html"})
        stories = web.get("/search", params={"q": q, "story": "1"}, headers={"Accept": "text/html"})
    assert every.status_code == stories.status_code == 200
    shown = lambda html: {i for i in ("s1", "s1copy", "s2", "s3", "t1") if f'href="/articles/{i}"' in html}  # noqa: E731
    assert shown(every.text) == {"s1", "s1copy", "s2", "s3", "t1"}
    assert shown(stories.text) == {"s1", "t1"}  # one hit per story, shown by its first report
    assert 'name="story" value="1" checked' in stories.text


def test_story_page_shows_timeline_outlets_first_and_latest(app):
    from ingest.web import create_app

    with TestClient(create_app(app)) as web:
        page = web.get("/stories/s1", headers={"Accept": "text/html"})
        missing = web.get("/stories/nope", headers={"Accept": "text/html"})
    assert page.status_code == 200 and missing.status_code == 404
    html = page.text
    first = html[html.index('id="first-report"'):html.index('id="latest-development"')]
    latest = html[html.index('id="latest-development"'):html.index('id="outlets"')]
    timeline = html[html.index('id="timeline"'):]
    assert "/articles/s1" in first and "/articles/s3" in latest
    assert timeline.index("/articles/s1") < timeline.index("/articles/s2") < timeline.index("/articles/s3")
    assert "/articles/t1" not in html
    for outlet in ("Agentur · 2", "Kurier · 1", "Bote · 1"):
        assert outlet in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_cli_search_collapse_story(tmp_path, capsys):
    import json

    from ingest.cli.main import main
    from ingest.config import load_settings

    settings = load_settings(str(tmp_path / "config"))
    settings.store.sqlite_path = str(tmp_path / "s.db")
    with Ingest(settings) as application:
        application.store.index.upsert_articles([art("s1", "Hafenarbeiter streiken", 10, "Agentur", "s1"),
                                           art("s2", "Hafenstreik geht weiter", 11, "Bote", "s1"),
                                           art("t1", "Hafen baut Terminal", 12, "Bote", "t1")])
    base = ["--config", str(tmp_path / "config"), "--db", str(tmp_path / "s.db")]
    assert main(["search", "Hafen OR Hafenstreik OR Hafenarbeiter", "--json", "--collapse-story", *base]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((h["id"], h["story_id"], h["cluster_size"]) for h in hits) == [("s1", "s1", 2), ("t1", "t1", 1)]
    assert main(["search", "Hafen OR Hafenstreik OR Hafenarbeiter", "--json", *base]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_a_version_4_sqlite_file_gains_story_id(tmp_path):
    import sqlite3

    from ingest.config import load_settings

    settings = load_settings(str(tmp_path / "config"))
    settings.store.sqlite_path = str(tmp_path / "old.db")
    with Ingest(settings) as application:
        application.store.index.upsert_articles([art("o1", "Hafenarbeiter streiken", 10, "Agentur", "o1")])
    db = sqlite3.connect(tmp_path / "old.db")  # as the previous version left it
    db.executescript("DROP INDEX articles_story; ALTER TABLE articles DROP COLUMN story_id; "
                     "UPDATE meta SET value = '4' WHERE key = 'schema_version';")
    db.close()
    with Ingest(settings) as application:
        assert application.show("o1").story_id is None          # stored before stories existed
        application.store.index.upsert_articles([art("o2", "Hafenstreik geht weiter", 11, "Bote", "o1")])
        assert application.show("o2").story_id == "o1"
        assert [h.id for h in application.store.index.search(SearchRequest(stories=["o1"])).hits] == ["o2"]
