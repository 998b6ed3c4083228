"""The query language gives exactly the expected hits, on SQLite and on Elasticsearch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ingest.models import Article
from ingest.store.base import SearchRequest

HERE = Path(__file__).parent / "conformance"
CORPUS = yaml.safe_load((HERE / "corpus.yaml").read_text(encoding="utf-8"))
QUERIES = yaml.safe_load((HERE / "queries.yaml").read_text(encoding="utf-8"))


def corpus_articles() -> list[Article]:
    out = []
    for key, a in CORPUS.items():
        day = a["published"]
        out.append(Article(
            id=key, url=f"https://{a['domain']}/{key}", title=a["title"], body=a["body"], source=a["source"],
            domain=a["domain"], published=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
            language=a["lang"], tags=a["tags"], keywords=a["keywords"], content_hash=key, cluster_id=key))
    return out


@pytest.fixture
def loaded(store):
    store.upsert_articles(corpus_articles())
    if hasattr(store, "flush_outbox"):
        store.flush_outbox()
    return store


def test_table_is_large_enough():
    assert len(QUERIES) >= 40
    assert all(set(case["expect"]) <= set(CORPUS) for case in QUERIES)


def test_conformance(loaded, backend):
    failures = []
    for case in QUERIES:
        result = loaded.search(SearchRequest(query=case["q"], limit=100))
        got = {h.id for h in result.hits}
        if got != set(case["expect"]) or result.total != len(case["expect"]):
            failures.append(f"{case['q']!r}: expected {sorted(case['expect'])}, got {sorted(got)} (total {result.total})")
    assert not failures, f"{backend}: {len(failures)} of {len(QUERIES)} queries differ:\n" + "\n".join(failures)
