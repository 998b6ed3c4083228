"""Issue 13 end to end in the store, on SQLite and Elasticsearch: a lead found outside the body
container is searchable, a word printed with soft hyphens is found, `access` is stored, shown in hits
and filterable with `access:`, `published` keeps its zone and precision, `url` is the URL without
tracking parameters beside the fetched one."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.config import ExtractSettings
from ingest.extract import extract_article
from ingest.models import Article
from ingest.sources.urls import strip_tracking
from ingest.store.base import SearchRequest

PAGES = Path(__file__).parent / "fixtures" / "clean2" / "pages"


def stored(name: str, aid: str) -> tuple[Article, dict]:
    exp = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    ex = extract_article((PAGES / f"{name}.html").read_bytes(), exp["url"], ExtractSettings(),
                         content_type=exp["content_type"])
    return Article(id=aid, url=strip_tracking(exp["url"]), fetched_url=exp["url"], title=ex.title or "",
                   body=ex.text, source="Fixtures", domain="fixtures.example", language=exp["language"],
                   published=ex.published, published_precision=ex.published_precision, access=ex.access), exp


def flushed(store) -> None:
    if store.index.outbox:
        store.index.outbox.flush()


def hits(store, query: str) -> set[str]:
    return {h.id for h in store.index.search(SearchRequest(query=query, limit=50)).hits}


def test_lead_soft_hyphens_access_and_times_in_the_store(store):
    issue, _ = stored("01-de1-lead-class", "issue")
    soft, _ = stored("37-de2-nextjs", "soft")
    paywalled, _ = stored("22-de1-wordpress", "paywalled")
    evening, _ = stored("02-en1-wordpress", "evening")
    day_only, _ = stored("06-it1-sommario", "dayonly")
    store.index.upsert_articles([issue, soft, paywalled, evening, day_only])
    flushed(store)

    # "Geheimdienste" and "Kaspische" are only in the lead, which sits outside the body container
    assert "Geheimdienste" not in issue.body.split("\n\n", 1)[1]
    assert hits(store, "Geheimdienste") == {"issue", "paywalled"}
    assert "issue" in hits(store, "Iran AND Kaspische AND NOT Venezuela")
    # printed as Mit&shy;tel&shy;alterliche ...: stored and found as one word
    assert "mittelalterlichen" in soft.body and "\u00ad" not in soft.body
    assert "soft" in hits(store, "mittelalterlichen") and "soft" in hits(store, '"mittelalterlichen Stadtmauer"')

    assert hits(store, "access:paywalled") == {"paywalled"}
    assert "paywalled" not in hits(store, "Iran -access:paywalled")
    result = store.index.search(SearchRequest(query="Geheimdienste access:paywalled"))
    assert [(h.id, h.access) for h in result.hits] == [("paywalled", "paywalled")]

    got = {h.id: h for h in store.index.search(SearchRequest(query="", limit=50)).hits}
    assert got["evening"].published.isoformat() == "2026-03-02T22:40:00-05:00"
    assert got["evening"].published_precision == "time"
    assert got["dayonly"].published_precision == "day"
    again = store.index.get_article("evening")
    assert again.published.isoformat() == "2026-03-02T22:40:00-05:00"
    assert again.url == "https://www.harbourtimes.example/2026/03/en1-wordpress.html"
    assert "utm_source" in again.fetched_url and again.access == "unknown"


def test_access_is_counted_per_source(store):
    articles = [stored("22-de1-wordpress", "a")[0], stored("23-en2-chapo", "b")[0], stored("28-pt1-sommario", "c")[0]]
    store.index.upsert_articles(articles)
    flushed(store)
    (quality,) = store.index.source_quality()
    assert quality.access == {"free": 1, "paywalled": 2}
