"""The query language on a real SQLite file: hit sets, ranking, collapse, filters, safety."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.errors import QueryError
from ingest.models import Article
from ingest.query import Field, Near, Or, Phrase, Term, parse
from ingest.store import open_sqlite
from ingest.store.base import SearchRequest
from ingest.store.sqlite.query import compile_sqlite


def art(id, title, body, lang="de", source="Rheinblick", domain="rheinblick.test", day=10, tags=(),
        keywords=(), cluster=None, original=True) -> Article:
    return Article(id=id, url=f"https://{domain}/{id}", title=title, body=body, source=source, domain=domain,
                   published=datetime(2026, 11, day, 10, tzinfo=UTC) if day else None,
                   indexed=datetime(2026, 11, 20, 10, tzinfo=UTC), language=lang, tags=list(tags),
                   keywords=list(keywords), content_hash=id, cluster_id=cluster, is_original=original)


ARTICLES = [
    art("de-title", "Drohnen über Kiew", "Die Luftabwehr meldete Abschüsse in der Nacht.", day=12,
        tags=["Ukraine"], cluster="c-kiew", original=False),
    art("de-body", "Nacht in Kiew", "Über der Stadt wurden Drohnen gesichtet, sagte die Luftabwehr.", day=11,
        source="Seeblatt", domain="seeblatt.test", cluster="c-kiew"),
    art("de-copy", "Nacht in Kiew", "Keine besonderen Vorkommnisse.", day=13, cluster="c-kiew", original=False),
    art("de-fuss", "Fußball am Abend", "Das Fußball-Spiel endete unentschieden.", day=9, tags=["Fußball"]),
    art("en-drone", "Drone delivers parcels", "A drone delivered parcels in Leeds.", lang="en",
        source="Harbour Herald", domain="news.harbour.test", day=8, tags=["Technology"], keywords=["drone"]),
    art("en-iran", "Iran sends drones", "Officials said Shahed drones were sent to Venezuela.", lang="en",
        source="Harbour Herald", domain="harbour.test", day=14, tags=["Iran"]),
    art("nolang", "Drones seen", "Drones were seen over the airport.", lang=None, source="Wire",
        domain="wire.test", day=None),
]


@pytest.fixture
def store(tmp_path):
    s = open_sqlite(tmp_path / "t.db")
    s.index.upsert_articles(ARTICLES)
    yield s
    s.close()


def ids(store, query, **kw) -> set[str]:
    result = store.index.search(SearchRequest(query=query, limit=100, **kw))
    assert result.total == len(result.hits)
    return {h.id for h in result.hits}


@pytest.mark.parametrize(("query", "expected"), [
    ("Drohne", {"de-title", "de-body"}),
    ("drones", {"en-drone", "en-iran", "nolang"}),
    ("drone", {"en-drone", "en-iran"}),
    ('"Drohnen"', {"de-title", "de-body"}),
    ('"Drohne"', set()),
    ("Fussball", {"de-fuss"}),
    ('"Fussball Spiel"', {"de-fuss"}),
    ("Fuss*", {"de-fuss"}),
    ("Fus*", {"de-fuss"}),
    ("uber", {"de-title", "de-body"}),
    ("Kiew NEAR/0 Drohne", set()),  # "Drohnen über Kiew": one word between
    ("Kiew NEAR/1 Drohne", {"de-title"}),
    ('"Kiew Drohnen"~1', {"de-title"}),
    ("Stadt NEAR/2 Drohnen*", {"de-body"}),
    ("(Kiew OR Stadt) NEAR/3 (Drohne OR drone)", {"de-title", "de-body"}),
    ("title:Drohne", {"de-title"}),
    ("body:Drohne", {"de-body"}),
    ("title:(Drohne OR Fußball)", {"de-title", "de-fuss"}),
    ("title:(Kiew -Drohne)", {"de-body", "de-copy"}),
    ("title:(-Drohne)", {"de-body", "de-copy", "de-fuss", "en-drone", "en-iran", "nolang"}),
    ("-Kiew", {"de-fuss", "en-drone", "en-iran", "nolang"}),
    ("NOT lang:de", {"en-drone", "en-iran", "nolang"}),
    ("lang:de -Kiew", {"de-fuss"}),
    ("Kiew OR lang:en", {"de-title", "de-body", "de-copy", "en-drone", "en-iran"}),
    ("source:seeblatt", {"de-body"}),
    ("domain:harbour.test", {"en-drone", "en-iran"}),
    ("domain:news.harbour.test", {"en-drone"}),
    ("domain:arbour.test", set()),
    ("tag:fußball", {"de-fuss"}),
    ("tag:(Iran OR Technology)", {"en-drone", "en-iran"}),
    ("keyword:drone", {"en-drone"}),
    ("published:[2026-11-11 TO 2026-11-12]", {"de-title", "de-body"}),
    ("NOT published:<2026-11-12", {"de-title", "de-copy", "en-iran", "nolang"}),
    ("indexed:2026-11-20 Drohne", {"de-title", "de-body"}),
])
def test_hits(store, query, expected):
    assert ids(store, query) == expected


def test_request_filters_combine_with_the_query(store):
    assert ids(store, "drones OR Drohne", languages=["en"]) == {"en-drone", "en-iran"}
    assert ids(store, "drones OR Drohne", sources=["Seeblatt"]) == {"de-body"}
    assert ids(store, "drones OR Drohne", tags=["ukraine"]) == {"de-title"}
    assert ids(store, "drones OR Drohne", since=datetime(2026, 11, 12, tzinfo=UTC)) == {"de-title", "en-iran"}
    assert ids(store, "drones OR Drohne", until=datetime(2026, 11, 12, tzinfo=UTC)) == {"de-body", "en-drone"}
    assert ids(store, "", languages=["de"]) == {"de-title", "de-body", "de-copy", "de-fuss"}


def test_ids_restrict_to_a_batch_for_alerts(store):
    assert ids(store, "drones OR Drohne", ids=["de-body", "en-iran", "de-fuss"]) == {"de-body", "en-iran"}
    assert ids(store, "drones", ids=[]) == set()
    assert store.index.match_rules({"drones": "drones", "kiew": "Kiew NEAR/1 Drohne", "none": "Fußball"},
                             ["de-title", "de-body", "nolang"]) == {"drones": ["nolang"], "kiew": ["de-title"]}


def test_compile_sqlite_for_a_batch(store):
    cond, params, rank = compile_sqlite(parse("(Drohne OR drones) -lang:en"))
    batch = ["de-title", "en-iran", "nolang", "de-fuss"]
    marks = ",".join("?" * len(batch))
    rows = store.index.query(f"SELECT a.id FROM articles a WHERE ({cond}) AND a.id IN ({marks}) ORDER BY a.id",
                       params + batch)
    assert [r["id"] for r in rows] == ["de-title", "nolang"]
    assert rank and "NOT" not in rank and "lang" not in rank


def test_relevance_ranks_title_matches_first_and_keyword_only_hits_last(store):
    hits = store.index.search(SearchRequest(query="Drohne OR lang:en")).hits
    assert [h.id for h in hits][:2] == ["de-title", "de-body"]
    assert hits[0].score > hits[1].score > 0
    assert {h.id for h in hits[2:]} == {"en-drone", "en-iran"}
    assert all(h.score == 0.0 for h in hits[2:])


def test_sort_by_date_and_paging(store):
    request = SearchRequest(query="drones OR Drohne", sort="date", limit=2)
    result = store.index.search(request)
    assert result.total == 5
    assert [h.id for h in result.hits] == ["en-iran", "de-title"]
    request.offset = 2
    assert [h.id for h in store.index.search(request).hits] == ["de-body", "en-drone"]
    request.offset = 4
    assert [h.id for h in store.index.search(request).hits] == ["nolang"]  # no date: last


def test_collapse_shows_each_story_by_its_original(store):
    result = store.index.search(SearchRequest(query="Kiew", collapse=True))
    assert result.total == 1
    (hit,) = result.hits
    assert hit.cluster_id == "c-kiew" and hit.cluster_size == 3
    assert hit.id == "de-body"  # the original (earliest copy), though another copy has Kiew in its title
    (hit,) = store.index.search(SearchRequest(query="Drohne", collapse=True)).hits
    assert (hit.id, hit.cluster_size) == ("de-body", 2)
    result = store.index.search(SearchRequest(query="Kiew", collapse=True, sort="date"))
    assert [(h.id, h.cluster_size) for h in result.hits] == [("de-body", 3)]
    copies = store.index.search(SearchRequest(clusters=["c-kiew"], sort="date"))  # the story's copies, newest first
    assert [h.id for h in copies.hits] == ["de-copy", "de-title", "de-body"]
    result = store.index.search(SearchRequest(query="Drohne OR drones", collapse=True))
    assert result.total == 4  # c-kiew (2 matching copies) + en-drone + en-iran + nolang
    sizes = {h.cluster_id or h.id: h.cluster_size for h in result.hits}
    assert sizes == {"c-kiew": 2, "en-drone": 1, "en-iran": 1, "nolang": 1}
    assert store.index.search(SearchRequest(query="Drohne OR drones", collapse=True, limit=1, offset=1)).total == 4


def test_snippets_mark_inflected_matches(store):
    (hit,) = store.index.search(SearchRequest(query="title:Kiew Drohne -title:Drohne")).hits
    assert hit.id == "de-body"
    assert "[Drohnen]" in hit.snippet


def test_values_never_become_sql(store):
    evil = "x' OR '1'='1"
    cond, params, _ = compile_sqlite(Field("source", Term(evil)))
    assert evil not in cond and params == [evil.lower()]
    assert ids(store, f'source:"{evil}"') == set()
    assert ids(store, 'domain:"%"') == set()  # LIKE wildcards are escaped
    assert ids(store, "source:_eeblatt*") == set()
    # FTS5 syntax inside words stays literal text
    for query in ['"NEAR(a b)"', '"title : x"', "AND*x OR", 'Kiew "OR" Drohne', "'; DROP TABLE articles; --"]:
        try:
            store.index.search(SearchRequest(query=query))
        except QueryError:
            pass
    cond, params, rank = compile_sqlite(Phrase(('a"b', "NOT")))
    assert '"a""b not"' in params[0] or '"a""b NOT"' in params[0]
    store.index.query(f"SELECT count(*) FROM articles a WHERE {cond}", params)
    assert store.index.count_articles() == len(ARTICLES)


def test_near_expansion_is_bounded():
    words = tuple(Term(f"wort{i}") for i in range(30))
    node = Near(Or(words), Or(words), 3)
    with pytest.raises(QueryError, match="combinations"):
        compile_sqlite(node)


def test_invalid_query_raises_query_error(store):
    with pytest.raises(QueryError) as info:
        store.index.search(SearchRequest(query="titel:Kiew"))
    assert info.value.position == 0


def test_relevance_window_scores_the_newest_matches_and_pages_reach_every_hit(tmp_path):
    """With `sqlite_rank_window` N, bm25 ranks the newest N text matches; older matches follow them,
    newest first, and paging past the window still reaches every hit exactly once."""
    store = open_sqlite(tmp_path / "w.db", rank_window=4)
    # Ingest order = rowid order: the strongest match ("drone" in title and body, 3 times) comes first,
    # so it is the oldest and falls outside a window of 4.
    strong = art("old-strong", "Drone drone", "Drone drone drone everywhere.", lang="en", day=1)
    weak = [art(f"new-{i}", f"Report {i}", f"A drone was seen near site {i} among many other words here.",
                lang="en", day=2 + i) for i in range(7)]
    store.index.upsert_articles([strong, *weak])
    full = open_sqlite(tmp_path / "w.db", rank_window=0)       # same file, everything scored
    try:
        assert full.index.search(SearchRequest(query="drone", limit=1)).hits[0].id == "old-strong"
        first = store.index.search(SearchRequest(query="drone", limit=4))
        assert first.total == 8
        assert {h.id for h in first.hits} == {"new-3", "new-4", "new-5", "new-6"}  # the newest four
        seen = []
        for offset in range(0, 8, 3):
            seen += [h.id for h in store.index.search(SearchRequest(query="drone", limit=3, offset=offset)).hits]
        assert sorted(seen) == sorted(["old-strong", *[f"new-{i}" for i in range(7)]])   # each once
    finally:
        store.close()
        full.close()
