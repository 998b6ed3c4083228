"""The query language gives exactly the expected hits, on SQLite and on Elasticsearch.

The table (conformance/queries.yaml) runs against the hand-written corpus (conformance/corpus.yaml)
through `store.index.search`, on every backend of the `backend` fixture (tests/conftest.py): SQLite always;
Elasticsearch when a node answers at INGEST_ES_URL (default http://127.0.0.1:9200), else skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import yaml

from ingest.models import Article
from ingest.query import parse, to_text
from ingest.store.base import SearchRequest

HERE = Path(__file__).parent / "conformance"
CORPUS = yaml.safe_load((HERE / "corpus.yaml").read_text(encoding="utf-8"))
QUERIES = yaml.safe_load((HERE / "queries.yaml").read_text(encoding="utf-8"))
COMPOUND_CORPUS = yaml.safe_load((HERE / "compounds_corpus.yaml").read_text(encoding="utf-8"))
COMPOUND_QUERIES = yaml.safe_load((HERE / "compounds_queries.yaml").read_text(encoding="utf-8"))


def _at(day: date | None, hour: int) -> datetime | None:
    return datetime.combine(day, time(hour), tzinfo=UTC) if day else None


def corpus_articles(corpus: dict | None = None) -> list[Article]:
    out = []
    for key, a in (corpus or CORPUS).items():
        published = _at(a["published"], 10)
        indexed = _at(a.get("indexed") or a["published"], 11)
        out.append(Article(
            id=key, url=f"https://{a['domain']}/{key}", title=a["title"], body=a["body"], source=a["source"],
            domain=a["domain"], published=published, indexed=indexed, language=a["lang"], tags=a["tags"],
            keywords=a["keywords"], content_hash=key, cluster_id=key, access=a.get("access", "unknown")))
    return out


@pytest.fixture
def loaded(store):
    store.index.upsert_articles(corpus_articles())
    if store.index.outbox:
        store.index.outbox.flush()
    return store


def test_table_is_large_enough_and_consistent():
    assert len(CORPUS) >= 30
    assert len(QUERIES) >= 40
    assert all(set(case) <= {"query", "expect", "why"} for case in QUERIES)
    assert all(set(case["expect"]) <= set(CORPUS) for case in QUERIES)
    assert len({case["query"] for case in QUERIES}) == len(QUERIES), "duplicate queries"


@pytest.fixture
def loaded_compounds(store):
    store.index.upsert_articles(corpus_articles(COMPOUND_CORPUS))
    if store.index.outbox:
        store.index.outbox.flush()
    return store


@pytest.mark.parametrize("case", QUERIES + COMPOUND_QUERIES, ids=lambda c: c["query"])
def test_canonical_text_parses_to_the_same_query(case):
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    node = parse(case["query"], now=now)
    assert parse(to_text(node), now=now) == node


def test_conformance(loaded, backend):
    _check(loaded, backend, QUERIES)


def test_compound_conformance(loaded_compounds, backend):
    """Compounds, quotation marks, spellings and other languages (compounds_*.yaml)."""
    assert len(COMPOUND_QUERIES) >= 40 and all(set(c["expect"]) <= set(COMPOUND_CORPUS) for c in COMPOUND_QUERIES)
    _check(loaded_compounds, backend, COMPOUND_QUERIES)


def test_whole_words_rank_above_compound_parts(loaded_compounds, backend):
    """Hits that contain the word itself come before hits that have it only inside a compound."""
    hits = loaded_compounds.index.search(SearchRequest(query="Rat", limit=10)).hits
    assert [h.id for h in hits] == ["k4", "k3"]
    hits = loaded_compounds.index.search(SearchRequest(query="Drohne", limit=10)).hits
    assert hits[-1].id == "k1", [h.id for h in hits]


def _check(store, backend, queries) -> None:
    failures = []
    for case in queries:
        result = store.index.search(SearchRequest(query=case["query"], limit=100))
        got = {h.id for h in result.hits}
        if got != set(case["expect"]) or result.total != len(case["expect"]):
            failures.append(f"{case['query']!r}: expected {sorted(case['expect'])}, got {sorted(got)} "
                            f"(total {result.total})")
    assert not failures, f"{backend}: {len(failures)} of {len(queries)} queries differ:\n" + "\n".join(failures)
