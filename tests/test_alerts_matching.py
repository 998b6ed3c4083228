"""SQLite rule matching: the optimised matcher (batch-only FTS table, anchor pre-filter, caches) returns
exactly what one query per rule returns, on the query conformance table and on generated rules."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_conformance import QUERIES, corpus_articles  # noqa: E402

from ingest.store import open_sqlite  # noqa: E402
from ingest.store.sqlite.rules import anchor_clauses, anchor_strings, match_rules, match_rules_naive  # noqa: E402
from ingest.text import tokens  # noqa: E402


@pytest.fixture
def store(tmp_path):
    s = open_sqlite(tmp_path / "rules.db")
    s.index.upsert_articles(corpus_articles())
    yield s
    s.close()


def as_sets(result: dict[str, list[str]]) -> dict[str, set[str]]:
    return {k: set(v) for k, v in result.items()}


def batches(ids: list[str], seed: int = 5) -> list[list[str]]:
    rng = random.Random(seed)
    out = [ids, ids[: len(ids) // 2], ids[len(ids) // 2:], [ids[0]], [ids[-1]]]
    out += [rng.sample(ids, k) for k in (3, 7, 12) for _ in range(3)]
    return out


def test_conformance_queries_as_rules(store):
    rules = {f"q{i}": case["query"] for i, case in enumerate(QUERIES)}
    ids = [a.id for a in corpus_articles()]
    for batch in batches(ids):
        expected = {f"q{i}": set(case["expect"]) & set(batch) for i, case in enumerate(QUERIES)}
        expected = {k: v for k, v in expected.items() if v}
        assert as_sets(match_rules(store.index, rules, batch)) == expected
        assert as_sets(match_rules_naive(store.index, rules, batch)) == expected


def test_generated_rules_equal_naive_and_prefilter_prunes(store):
    rng = random.Random(11)
    articles = corpus_articles()
    words = sorted({w for a in articles for w in tokens(a.title + " " + a.body) if len(w) > 3})
    absent = ["Quasar", "Zeppelin", "Marmelade", "Vulkan"]

    def word() -> str:
        return rng.choice(words) if rng.random() < 0.8 else rng.choice(absent)

    makers = [lambda: word(), lambda: f"{word()} AND {word()}", lambda: f"({word()} OR {word()}) AND NOT {word()}",
              lambda: f"{word()[:4]}*", lambda: f"{word()} NEAR/4 {word()}", lambda: f'"{word()} {word()}"',
              lambda: f"title:{word()} OR lang:fr", lambda: f"{word()} AND source:Rheinblick",
              lambda: f"{word()} AND published:>=2026-11-10"]
    rules = {f"g{i}": rng.choice(makers)() for i in range(400)}
    ids = [a.id for a in articles]
    for batch in batches(ids, seed=3):
        stats: dict = {}
        assert as_sets(match_rules(store.index, rules, batch, stats)) == as_sets(match_rules_naive(store.index, rules, batch))
        if len(batch) == 1:
            assert stats["evaluated"] < stats["rules"] / 2, stats   # most rules never reach SQL


def test_anchor_strings_are_conservative():
    from ingest.query import parse

    assert anchor_strings(parse("lang:de")) is None
    assert anchor_strings(parse("NOT Iran")) is None
    assert anchor_strings(parse("Iran OR lang:de")) is None
    assert anchor_strings(parse("Iran AND lang:de"))
    assert all(p for _, p in anchor_strings(parse("Drohn*")))
    assert len(anchor_clauses(parse("Iran AND Venezuela AND NOT Caracas"))) == 2
    assert len(anchor_clauses(parse('"Shahed Drohnen"'))) == 2 and len(anchor_clauses(parse("a NEAR/3 bc"))) == 2
    assert len(anchor_clauses(parse("Iran OR (Venezuela AND Caracas)"))) == 1


def test_every_clause_must_hold(store):
    rules = {"both": "Iran AND Venezuela", "phrase": '"Shahed Drohnen"', "either": "Iran OR Zeppelin"}
    stats: dict = {}
    assert as_sets(match_rules(store.index, rules, ["d8"], stats)) == {"either": {"d8"}}   # iranischen, no Venezuela
    assert stats["evaluated"] == 1
    assert as_sets(match_rules(store.index, rules, ["d1"], stats)) == {"both": {"d1"}, "phrase": {"d1"}, "either": {"d1"}}


def test_rule_with_relative_date_and_broken_rule(store):
    batch = [a.id for a in corpus_articles()]
    rules = {"recent": "Drohne AND published:>now-100000d", "broken": "Iran AND (", "fine": "Caracas"}
    got = as_sets(match_rules(store.index, rules, batch))
    assert got["recent"] == {"d1", "d3", "d4", "d12"} and got["fine"] == {"d2", "d8", "e3", "e7"}
    assert "broken" not in got
