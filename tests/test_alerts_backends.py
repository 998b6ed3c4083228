"""Alert rules give the same matches on every backend: SQLite's matcher, Elasticsearch's `_msearch`
fallback (the test node has no percolator module) and OpenSearch's percolator (scripts/opensearch-node.sh
installs the module). The expected matches are the query conformance table's, so every backend is held
to the search box's answers, and generated rules are compared with SQLite's evaluation."""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_alerts_matching import as_sets, batches  # noqa: E402
from test_conformance import QUERIES, corpus_articles  # noqa: E402

from ingest.models import Article  # noqa: E402
from ingest.store import open_sqlite  # noqa: E402
from ingest.text import tokens  # noqa: E402


@pytest.fixture
def loaded(store):
    store.index.upsert_articles(corpus_articles())
    if store.index.outbox:
        store.index.outbox.flush()
    return store


def test_conformance_queries_as_rules(loaded, backend):
    rules = {f"q{i}": case["query"] for i, case in enumerate(QUERIES)}
    ids = [a.id for a in corpus_articles()]
    for batch in batches(ids)[:6]:
        expected = {f"q{i}": set(case["expect"]) & set(batch) for i, case in enumerate(QUERIES)}
        expected = {k: v for k, v in expected.items() if v}
        assert as_sets(loaded.index.match_rules(rules, batch)) == expected, backend


def generated_rules(n: int, seed: int = 11) -> dict[str, str]:
    rng = random.Random(seed)
    articles = corpus_articles()
    words = sorted({w for a in articles for w in tokens(a.title + " " + a.body) if len(w) > 3})
    absent = ["Quasar", "Zeppelin", "Marmelade", "Vulkan"]

    def word() -> str:
        return rng.choice(words) if rng.random() < 0.8 else rng.choice(absent)

    makers = [lambda: word(), lambda: f"{word()} AND {word()}", lambda: f"({word()} OR {word()}) AND NOT {word()}",
              lambda: f"{word()[:4]}*", lambda: f"{word()} NEAR/4 {word()}", lambda: f'"{word()} {word()}"',
              lambda: f"title:{word()} OR lang:fr", lambda: f"{word()} AND source:Rheinblick",
              lambda: f"{word()} AND published:>=2026-11-10"]
    return {f"g{i}": rng.choice(makers)() for i in range(n)}


def test_generated_rules_match_like_sqlite(loaded, backend, tmp_path):
    if backend == "sqlite":
        pytest.skip("the reference itself (tests/test_alerts_matching.py checks it against one query per rule)")
    reference = open_sqlite(tmp_path / "reference.db")
    reference.index.upsert_articles(corpus_articles())
    rules = generated_rules(300)
    rules["broken"] = "Iran AND ("  # left out with a warning on every backend, never fails the batch
    ids = [a.id for a in corpus_articles()]
    for batch in batches(ids, seed=3)[:5]:
        assert as_sets(loaded.index.match_rules(rules, batch)) == as_sets(reference.index.match_rules(rules, batch))
    reference.close()


def test_relative_date_rule_is_evaluated_at_each_batch(store, backend):
    """A rule like `published:>now-1d` must be judged with the batch's `now`, also where rules are stored
    ahead (the percolator index): an article from three days ago matches `now-4d`, never `now-1d`."""
    now = datetime.now(UTC)
    article = Article(id="rel1", url="https://herald.test/rel1", title="Harbour crane", body="A harbour crane fell.",
                      source="Herald", domain="herald.test", published=now - timedelta(days=3), language="en")
    store.index.upsert_articles([article])
    rules = {"recent": "crane AND published:>now-1d", "week": "crane AND published:>now-4d"}
    assert as_sets(store.index.match_rules(rules, ["rel1"])) == {"week": {"rel1"}}
    if not store.index.percolator:
        return
    stored_before = _stored_rule(store, "recent")
    time.sleep(1.1)  # the compiled bound has whole seconds: let it move
    assert as_sets(store.index.match_rules(rules, ["rel1"])) == {"week": {"rel1"}}  # rules already stored
    assert _stored_rule(store, "recent") != stored_before  # compiled again with this batch's `now`


def _stored_rule(store, name: str) -> dict:
    hits = store.index.client.search(index=store.index.name("rules"), size=1, query={"term": {"rule_name": name}})
    return hits["hits"]["hits"][0]["_source"]["query"]


def test_opensearch_evaluates_rules_by_percolation(loaded, backend, monkeypatch):
    """On OpenSearch the rules live in a percolator index and one percolate request matches the batch:
    the `_msearch` fallback is never called (it would raise here)."""
    if backend != "opensearch":
        pytest.skip("the percolator module is on the OpenSearch node (the Elasticsearch test node lacks it)")
    assert loaded.index.setup()["percolator"] is True
    monkeypatch.setattr(loaded.index.client.raw, "msearch", lambda *a, **k: pytest.fail("_msearch fallback used"))
    rules = {f"q{i}": case["query"] for i, case in enumerate(QUERIES)}
    ids = [a.id for a in corpus_articles()]
    expected = {f"q{i}": set(case["expect"]) for i, case in enumerate(QUERIES) if case["expect"]}
    assert as_sets(loaded.index.match_rules(rules, ids)) == expected
    loaded.index.recent_docs.clear()  # the batch read back from the cluster: its analysed fields made again
    assert as_sets(loaded.index.match_rules(rules, ids)) == expected
    stored = loaded.index.client.count(index=loaded.index.name("rules"))["count"]
    assert stored == len(rules)
    hits = loaded.index.client.search(index=loaded.index.name("rules"), size=1, query={"term": {"rule_name": "q0"}})
    assert hits["hits"]["hits"][0]["_source"]["rule_query"] == QUERIES[0]["query"]


def test_rules_index_with_two_shards_matches_the_same(backend_settings, backend):
    """`rules_shards` spreads a batch's percolation over more cores; the matches stay the same."""
    if backend != "opensearch":
        pytest.skip("needs the percolator (the OpenSearch node)")
    from ingest.store import open_backends

    backend_settings.store.opensearch.rules_shards = 2
    store = open_backends(backend_settings.store)
    try:
        store.index.upsert_articles(corpus_articles())
        rules = {f"q{i}": case["query"] for i, case in enumerate(QUERIES)}
        expected = {f"q{i}": set(case["expect"]) for i, case in enumerate(QUERIES) if case["expect"]}
        assert as_sets(store.index.match_rules(rules, [a.id for a in corpus_articles()])) == expected
        index = store.index.name("rules")
        assert store.index.client.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_shards"] == "2"
    finally:
        store.close()
