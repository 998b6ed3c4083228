"""The Elasticsearch compiler: the DSL it generates (the live run is tests/test_conformance.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ingest.query import parse
from ingest.query.analysis import term_stems
from ingest.store.elasticsearch.query import ES_TEXT_MAPPING, compile_es
from ingest.store.sqlite.query import compile_sqlite

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
QUERIES = yaml.safe_load((Path(__file__).parent / "conformance" / "queries.yaml").read_text(encoding="utf-8"))


def es(query: str) -> dict:
    return compile_es(parse(query, now=NOW))


def should(*queries) -> dict:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def test_whole_word_matches_stems_in_both_stem_fields_title_boosted():
    stems = " ".join(term_stems("Drohne"))
    assert stems == "drohn drohne"
    assert es("=Drohne") == should({"match": {"title_stem": {"query": stems, "boost": 4.0}}},
                                   {"match": {"body_stem": {"query": stems}}})


def test_term_also_matches_compound_parts_at_a_tenth_of_the_weight():
    stems = "drohn drohne"
    assert es("Drohne") == should(
        should({"match": {"title_stem": {"query": stems, "boost": 4.0}}}, {"match": {"body_stem": {"query": stems}}}),
        should({"match": {"title_parts": {"query": stems, "boost": 0.4}}},
               {"match": {"body_parts": {"query": stems, "boost": 0.1}}}))


def test_other_languages_stems_only_in_their_articles():
    q = es("body:=метро")
    assert q == should({"match": {"body_stem": {"query": "метро"}}},
                       {"bool": {"must": [{"match": {"body_stem": {"query": "метр"}}}],
                                 "filter": [{"terms": {"language": ["ru"]}}]}})


def test_field_restricts_to_one_field():
    assert es("body:=Drohne") == {"match": {"body_stem": {"query": "drohn drohne"}}}
    assert es("title:=Drohne") == {"match": {"title_stem": {"query": "drohn drohne", "boost": 4.0}}}


def test_phrase_is_match_phrase_on_the_folded_fields_with_ss_spellings():
    assert es('body:"Fußball Abend"') == should(
        {"match_phrase": {"body_folded": {"query": "fußball abend"}}},
        {"match_phrase": {"body_folded": {"query": "fussball abend"}}})
    assert es('body:"Dürre"') == should({"match_phrase": {"body_folded": {"query": "durre"}}},
                                        {"match_phrase": {"body_folded": {"query": "duerre"}}})


def test_prefix_on_the_folded_fields():
    assert es("body:Drohn*") == {"prefix": {"body_folded": {"value": "drohn"}}}
    assert es("body:Fus*") == should({"prefix": {"body_folded": {"value": "fus"}}},
                                     {"prefix": {"body_folded": {"value": "fuß"}}})
    assert es("body:Öl*") == {"prefix": {"body_folded": {"value": "ol"}}}


def test_proximity_phrase_is_unordered_intervals_counting_like_fts5():
    rule = es('body:"court lawfully"~6')["intervals"]["body_folded"]["all_of"]
    assert rule == {"max_gaps": 6,  # unordered: the default of all_of (no `ordered`, deprecated on OpenSearch)
                    "intervals": [{"match": {"query": "court"}}, {"match": {"query": "lawfully"}}]}
    # three words: FTS5 counts the middle query word as one of the N, intervals' max_gaps does not
    assert es('body:"a b c"~4')["intervals"]["body_folded"]["all_of"]["max_gaps"] == 3
    assert es('body:"a b c"~0') == {"match_none": {}}


def test_near_is_intervals_on_the_stem_fields_with_alternatives():
    q = es("body:((Iran OR Teheran) NEAR/10 Drohne*)")
    rule = q["intervals"]["body_stem"]["all_of"]
    assert "ordered" not in rule and rule["max_gaps"] == 10
    left, right = rule["intervals"]
    assert left == {"any_of": {"intervals": [{"match": {"query": "iran"}}, {"match": {"query": "teheran"}},
                                             {"match": {"query": "teher"}}]}}
    assert right == {"any_of": {"intervals": [{"prefix": {"prefix": "drohne"}}, {"prefix": {"prefix": "drohn"}}]}}
    phrase = es('body:("Shahed Drohnen" NEAR/3 Iran)')["intervals"]["body_stem"]["all_of"]["intervals"][0]
    assert {"match": {"query": "shahed drohn", "ordered": True, "max_gaps": 0}} in phrase["any_of"]["intervals"]
    both = es("Kiew NEAR/5 Drohne")
    assert [next(iter(q["intervals"])) for q in both["bool"]["should"]] == ["title_stem", "body_stem"]


def test_keyword_fields_are_case_insensitive_terms():
    assert es('source:"Harbour Herald"') == {"term": {"source": {"value": "Harbour Herald", "case_insensitive": True}}}
    assert es("lang:DE") == {"term": {"language": {"value": "de", "case_insensitive": True}}}
    assert es("tag:Iran") == {"term": {"tags": {"value": "Iran", "case_insensitive": True}}}
    assert es("keyword:wind*") == {"prefix": {"keywords": {"value": "wind", "case_insensitive": True}}}
    assert es("domain:ledger.test") == should(
        {"term": {"domain": {"value": "ledger.test", "case_insensitive": True}}},
        {"wildcard": {"domain": {"value": "*.ledger.test", "case_insensitive": True}}})
    assert es('domain:"a*b"')["bool"]["should"][1]["wildcard"]["domain"]["value"] == "*.a\\*b"
    assert es("tag:(Iran OR Irak)") == should({"term": {"tags": {"value": "Iran", "case_insensitive": True}}},
                                              {"term": {"tags": {"value": "Irak", "case_insensitive": True}}})


def test_dates_are_utc_ranges():
    assert es("published:[2026-11-10 TO 2026-11-12]") == {
        "range": {"published": {"gte": "2026-11-10T00:00:00Z", "lt": "2026-11-13T00:00:00Z"}}}
    assert es("indexed:>2026-11-10T08:00:00+01:00") == {"range": {"indexed": {"gt": "2026-11-10T07:00:00Z"}}}
    assert es("published:>now-7d") == {"range": {"published": {"gt": "2026-11-18T12:00:00Z"}}}
    assert es("published:[* TO *]") == {"exists": {"field": "published"}}


def test_boolean_structure():
    q = es("(Iran OR Teheran) AND Venezuela NOT Fußball lang:de published:>=2026-01-01")
    body = q["bool"]
    assert set(body) == {"must", "filter", "must_not"}
    assert len(body["must"]) == 2 and body["must"][0]["bool"]["minimum_should_match"] == 1
    assert body["filter"] == [{"term": {"language": {"value": "de", "case_insensitive": True}}},
                              {"range": {"published": {"gte": "2026-01-01T00:00:00Z"}}}]
    assert len(body["must_not"]) == 1
    assert es("NOT lang:de") == {"bool": {"must_not": [
        {"term": {"language": {"value": "de", "case_insensitive": True}}}]}}
    assert es("-lang:de -lang:en") == {"bool": {"must_not": [
        {"term": {"language": {"value": "de", "case_insensitive": True}}},
        {"term": {"language": {"value": "en", "case_insensitive": True}}}]}}
    assert set(es("Caracas OR lang:fr")["bool"]) == {"should", "minimum_should_match"}


def test_mapping_the_adapter_uses():
    props = ES_TEXT_MAPPING["properties"]
    for name in ("title_folded", "body_folded", "title_stem", "body_stem"):
        assert props[name]["type"] == "text" and props[name]["analyzer"] == "whitespace"
    for name in ("tags", "keywords", "source", "domain", "language"):
        assert props[name] == {"type": "keyword"}
    assert props["published"] == props["indexed"] == {"type": "date"}
    assert "settings" in ES_TEXT_MAPPING


def _tokens_sqlite(query: str) -> set[str]:
    _cond, params, _rank = compile_sqlite(parse(query, now=NOW))
    return {s.replace('""', '"') for p in params if isinstance(p, str) for s in re.findall(r'"((?:[^"]|"")*)"', p)}


def _tokens_es(node) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("query", "prefix") and isinstance(value, str):
                out.add(value)
            elif key == "terms":  # the languages a stem is restricted to
                out |= {v for values in value.values() for v in values}
            elif key == "value" and isinstance(value, str):
                out.add(value)
            else:
                out |= _tokens_es(value)
    elif isinstance(node, list):
        for item in node:
            out |= _tokens_es(item)
    return out


@pytest.mark.parametrize("query", [
    "Drohne", "drones", '"Fußball Abend"', "Straß*", '"court lawfully"~6', "Shahed NEAR/5 Drohne*",
    "(Iran OR Teheran) NEAR/10 (Drohne OR drones)", '"Iran s oil" NEAR/2 Tehran', "Dürre Fussball",
])
def test_both_backends_look_for_the_same_tokens(query):
    """SQLite and ES compile from the same analysis, so they search for exactly the same words."""
    def words(strings: set[str]) -> set[str]:
        return {w for s in strings for w in s.split()}

    assert words(_tokens_sqlite(query)) == words(_tokens_es(es(query)))


@pytest.mark.parametrize("case", QUERIES, ids=lambda c: c["query"])
def test_every_conformance_query_compiles_to_json(case):
    json.dumps(compile_es(parse(case["query"], now=NOW)))


def test_combined_mode_joins_title_and_body_for_words_only():
    """For the percolator index: a word or prefix without a field is one query on the title and body
    tokens together; phrases and NEAR keep one query per field (a phrase must not span title and body)."""
    assert compile_es(parse("Drohne"), combined=True) == {"bool": {"should": [
        {"match": {"text_stem": {"query": "drohn drohne"}}},
        {"match": {"text_parts": {"query": "drohn drohne", "boost": 0.1}}}], "minimum_should_match": 1}}
    assert compile_es(parse("=Drohne"), combined=True) == {"match": {"text_stem": {"query": "drohn drohne"}}}
    assert compile_es(parse("Drohn*"), combined=True) == {"prefix": {"text_folded": {"value": "drohn"}}}
    assert compile_es(parse("title:Iran"), combined=True) == compile_es(parse("title:Iran"))
    assert compile_es(parse('"Shahed Drohnen"'), combined=True) == compile_es(parse('"Shahed Drohnen"'))
    assert compile_es(parse("Iran NEAR/3 Drohne"), combined=True) == compile_es(parse("Iran NEAR/3 Drohne"))
