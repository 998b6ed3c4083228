"""A syndicated story on both backends: collapsed search shows it by its original, however a copy
ranked; the article page of a copy links its original and the other copies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from ingest.app import Ingest
from ingest.models import Article
from ingest.store import SearchRequest


def art(i: str, title: str, body: str, day: int, source: str, original: bool) -> Article:
    return Article(id=i, url=f"https://{source.lower()}.test/{i}", title=title, body=body, source=source,
                   domain=f"{source.lower()}.test", language="de", published=datetime(2026, 11, day, 9, tzinfo=UTC),
                   indexed=datetime(2026, 11, 20, tzinfo=UTC), content_hash=i, cluster_id="story-1",
                   is_original=original)


@pytest.fixture
def app(backend_settings):
    application = Ingest(backend_settings)
    application.store.index.upsert_articles([
        art("orig", "Hafen bleibt geschlossen", "Der Streik der Hafenarbeiter dauert an.", 10, "Agentur", True),
        art("copy1", "Streik: Hafen bleibt zu, Hafenarbeiter streiken", "Der Streik der Hafenarbeiter dauert an. "
            "Hafen Hafen.", 11, "Kurier", False),
        art("copy2", "Hafen geschlossen", "Der Streik der Hafenarbeiter dauert an.", 12, "Bote", False),
    ])
    flush = (application.store.index.outbox.flush if application.store.index.outbox else None)
    if flush:
        flush()
    yield application
    application.close()


def test_collapsed_story_is_shown_by_its_original(app):
    for sort in ("relevance", "date"):
        result = app.store.index.search(SearchRequest(query="Hafen", collapse=True, sort=sort))
        assert [(h.id, h.cluster_size) for h in result.hits] == [("orig", 3)], sort
    copies = app.story(app.show("copy2"))
    assert [a.id for a in copies] == ["orig", "copy1"]  # the original first, then newest first


def test_article_page_of_a_copy_links_the_story(app):
    from ingest.web import create_app

    with TestClient(create_app(app)) as web:
        page = web.get("/articles/copy2", headers={"Accept": "text/html"}).text
    story = page[page.index('id="story"'):]
    assert "this is a copy" in page and story.index("/articles/orig") < story.index("/articles/copy1")
    assert "original</span>" in story
