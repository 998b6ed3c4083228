"""The presearcher (ingest.query.presearch): rules filed under their anchors, a batch selecting only the
rules whose words it holds. Selecting must never change a result: random rules from the whole grammar,
over the conformance corpus, the demo site's stories and synthetic articles, give exactly the same
matches with presearch as when every rule is evaluated, on SQLite and on Elasticsearch."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_conformance import QUERIES, corpus_articles  # noqa: E402

from ingest.errors import QueryError  # noqa: E402
from ingest.models import Article  # noqa: E402
from ingest.query import And, Field, Near, Not, Or, Phrase, Prefix, Range, Term, parse, to_text  # noqa: E402
from ingest.query import presearch as ps  # noqa: E402
from ingest.text import folded_text, stem_text, tokens  # noqa: E402

START = datetime(2026, 11, 1, tzinfo=UTC)


def doc(aid: str, title: str, body: str, lang: str = "de") -> dict:
    return {"id": aid, "title": title, "body": body, "language": lang}


# -- the index --------------------------------------------------------------------------------------

def test_boolean_word_rules_are_answered_exactly():
    docs = [doc("a", "Iran", "Drohnen über Teheran"), doc("b", "Iran und Venezuela", "Caracas"),
            doc("c", "Venezuela", "Wahlen in Caracas", lang="es")]
    rules = {name: parse(q) for name, q in {
        "and": "Iran AND Venezuela", "not": "Venezuela AND NOT Iran", "or": "Teheran OR Wahl",
        "title": "title:Caracas OR title:Iran", "prefix": "Drohn* AND NOT Wahlen", "lone-not": "NOT Iran",
        "phrase": '"Wahlen in Caracas"', "lang": "Iran AND lang:DE", "reversed": '"Caracas in Wahlen"',
        "title-phrase": 'title:"Iran und"', "lang-es": "lang:es OR Teheran", "near": "Iran NEAR/2 Venezuela",
        "sloppy": '"Wahlen Caracas"~2'}.items()}
    p = ps.Presearcher(rules, columns=lambda f, v: f"{f}_{'folded' if v == 'exact' else v}")
    # positions (NEAR, sloppy phrases) are left to the backend; exact phrases and lang: are answered
    assert set(p.programs) == set(rules) - {"near", "sloppy"}
    cols = ps.document_columns(docs)
    answered, rest = ps.decide(p, p.select(cols.tokens(), cols.everyone), cols)
    ids = ["a", "b", "c"]
    assert {n: ps.mask_ids(m, ids) for n, m in answered.items()} == {
        "and": ["b"], "not": ["c"], "or": ["a", "c"], "title": ["a", "b"], "prefix": ["a"], "lone-not": ["c"],
        "phrase": ["c"], "lang": ["a", "b"], "title-phrase": ["b"], "lang-es": ["a", "c"]}
    assert {n: ps.mask_ids(m, ids) for n, m in rest.items()} == {"near": ["b"], "sloppy": ["c"]}
    # a vocabulary without the documents' texts and languages (SQLite's, read from FTS5): those rules go
    # to the backend, never answered as "no match"
    bare = ps.ColumnVocabulary(cols.columns, cols.everyone)
    answered, rest = ps.decide(p, p.select(bare.tokens(), bare.everyone), bare)
    assert {"phrase", "lang", "title-phrase", "lang-es"} <= set(rest) and "phrase" not in answered


def test_select_returns_the_documents_each_rule_may_match():
    docs = [doc("a", "Iran", "Drohnen über Teheran"), doc("b", "Iran und Venezuela", "Caracas"),
            doc("c", "Venezuela", "Wahlen in Caracas")]
    rules = {"both": parse("Iran AND Venezuela"), "prefix": parse("Teher*"), "near": parse("Drohne NEAR/3 Teheran"),
             "phrase": parse('"Wahlen in Caracas"'), "absent": parse("Zeppelin OR Quasar"),
             "lang": parse("lang:de"), "not": parse("NOT Iran"), "date": parse("published:>=2026-01-01")}
    got = ps.Presearcher(rules).select(ps.document_vocabulary(docs), 0b111)
    ids = ["a", "b", "c"]
    assert {name: ps.mask_ids(mask, ids) for name, mask in got.items()} == {
        "both": ["b"], "prefix": ["a"], "near": ["a"], "phrase": ["c"],
        "lang": ids, "not": ids, "date": ids}   # no anchors: always evaluated, on every document


def test_batches_of_more_than_64_documents():
    docs = [doc(f"x{i}", "Iran" if i % 3 else "Venezuela", "Drohnen" if i % 5 == 0 else "Caracas") for i in range(150)]
    rules = {"and": parse("Iran AND Drohne"), "prefix": parse("Venez*"), "or": parse("Zeppelin OR Caracas")}
    got = ps.Presearcher(rules).select(ps.document_vocabulary(docs), (1 << 150) - 1)
    ids = [d["id"] for d in docs]
    assert ps.mask_ids(got["and"], ids) == [f"x{i}" for i in range(150) if i % 3 and i % 5 == 0]
    assert ps.mask_ids(got["prefix"], ids) == [f"x{i}" for i in range(150) if i % 3 == 0]
    assert ps.mask_ids(got["or"], ids) == [f"x{i}" for i in range(150) if i % 5]


def test_a_new_token_view_plugs_in(monkeypatch):
    view = ps.TokenView("reversed", lambda text, lang: " ".join(w[::-1].lower() for w in tokens(text)))
    monkeypatch.setattr(ps, "VIEWS", [*ps.VIEWS, view])
    vocab = ps.document_vocabulary([doc("a", "Drohnen", "")])
    assert {"drohnen", "drohn", "nenhord"} <= set(vocab)
    # a document carrying the view's field as indexed is read from it, not re-analysed
    assert "xyz" in ps.document_vocabulary([{**doc("a", "Drohnen", ""), "title_reversed": "xyz"}])


def test_sloppy_phrase_anchors_are_the_sequences_the_compilers_search():
    # "a b a"~N is searched as the words a, b (repeats dropped), each in its ß/ss spellings; with
    # many spellings the variants are capped, so anchors must come from the same capped list
    from ingest.query.analysis import exact_sequences, proximity_words

    node = Phrase(("Großstraße", "Fußball", "Großstraße"), 5)
    searched = exact_sequences(proximity_words(node.words))
    clauses = ps.anchor_clauses(node)
    assert {seq[0] for seq in searched} <= {text for text, _ in clauses[0]}
    assert {seq[1] for seq in searched} <= {text for text, _ in clauses[1]}


def test_anchor_strings_become_index_tokens():
    # a string of several index tokens (a NEAR side's phrase, "new yor*") stands for its first token,
    # as a whole word; a string the tokeniser drops says nothing, so its clause is not used
    split = {"new york": ["new", "york"], "new yor": ["new", "yor"], "--": []}
    clauses = ps._normalise([[("new york", False)], [("new yor", True)], [("--", False), ("x", False)]],
                            {**split, "x": ["x"]})
    assert [(set(c.exact), c.prefixes) for c in clauses] == [({"new"}, ()), ({"new"}, ())]
    assert ps._normalise([[("drohn", True)]], {"drohn": ["drohn"]})[0].prefixes == ("drohn",)


# -- random rules: presearch + evaluate == evaluate every rule --------------------------------------

def demo_articles() -> list[Article]:
    from ingest.demo.stories import load_outlets, load_stories

    outlets = load_outlets()
    langs = {o.key: o.language for o in outlets}
    out = []
    for i, s in enumerate(load_stories(outlets)):
        out.append(Article(id=f"demo{i:03d}", url=f"https://{s.outlet}.example/{s.slug}", title=s.title,
                           body="\n\n".join([s.lead, *s.paragraphs]), source=s.outlet, domain=f"{s.outlet}.example",
                           published=s.published.astimezone(UTC) if s.published.tzinfo else
                           s.published.replace(tzinfo=UTC), language=langs[s.outlet], tags=s.tags,
                           content_hash=f"demo{i}", cluster_id=f"demo{i}"))
    return out


def variants(word: str) -> list[str]:
    """Spellings a user types: as written, upper case, without accents, ß/ss swapped, inflected."""
    out = [word, word.upper(), word.lower(), word + "en", word + "s", word.replace("ß", "ss"),
           word.replace("ss", "ß"), folded_text(word)]
    return [w for w in out if w]


def synthetic_articles(words: list[str], n: int, seed: int, prefix: str) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        def sentence() -> str:
            return " ".join(rng.choice(variants(rng.choice(words))) for _ in range(rng.randint(4, 14))) + "."
        lang = rng.choice(["de", "en", "fr", "es", "nl", None])
        out.append(Article(id=f"{prefix}{i:03d}", url=f"https://syn.example/{prefix}{i}",
                           title=sentence(), body=" ".join(sentence() for _ in range(rng.randint(1, 8))),
                           source=rng.choice(["Rheinblick", "Harbour Herald", "Syn"]), domain="syn.example",
                           published=START + timedelta(hours=rng.randint(-2000, 200)), language=lang,
                           tags=rng.sample(["politik", "wirtschaft", "sport"], rng.randint(0, 2)),
                           content_hash=f"{prefix}{i}", cluster_id=f"{prefix}{i}"))
    return out


class RuleMaker:
    """Random queries from the grammar: terms, prefixes, phrases (with slop), NEAR, AND/OR/NOT,
    text and keyword fields, dates; words from the articles in every spelling, and absent words."""

    def __init__(self, articles: list[Article], seed: int):
        self.rng = random.Random(seed)
        self.texts = [tokens(a.title + " " + a.body) for a in articles]
        self.words = sorted({w for t in self.texts for w in t if not w.isdigit()})
        self.absent = ["Zeppelin", "Quasar", "Marmelade", "Straße", "Kiewß"]

    def word(self) -> str:
        if self.rng.random() < 0.1:
            return self.rng.choice(self.absent)
        return self.rng.choice(variants(self.rng.choice(self.words)))

    def phrase(self) -> Phrase:
        text = self.rng.choice([t for t in self.texts if len(t) > 3])
        k = self.rng.randrange(len(text) - 2)
        words = tuple(text[k:k + self.rng.randint(2, 3)])
        return Phrase(words, self.rng.choice([None, None, 1, 4]))

    def leaf(self):
        r = self.rng.random()
        if r < 0.45:
            return Term(self.word())
        if r < 0.6:
            w = self.word()
            return Prefix(w[:self.rng.randint(3, max(3, min(6, len(w))))])
        if r < 0.75:
            return self.phrase()
        if r < 0.83:
            return Field("lang", Term(self.rng.choice(["de", "en", "fr"])))
        if r < 0.9:
            return Field(self.rng.choice(["source", "tag"]), Term(self.rng.choice(["Rheinblick", "politik", "Syn"])))
        return Range("published", gte=START + timedelta(hours=self.rng.randint(-1500, 100)))

    def near_side(self):
        r = self.rng.random()
        if r < 0.6:
            return Term(self.word())
        if r < 0.75:
            w = self.word()
            return Prefix(w[:max(3, min(5, len(w)))])
        if r < 0.9:
            return Phrase(self.phrase().words)
        return Or((Term(self.word()), Term(self.word())))

    def node(self, depth: int = 0):
        if depth >= 3 or self.rng.random() < 0.3:
            return self.leaf()
        kind = self.rng.choice(["and", "and", "or", "or", "not", "near", "field"])
        if kind == "near":
            return Near(self.near_side(), self.near_side(), self.rng.randint(0, 6))
        if kind == "not":
            negated = Not(self.node(depth + 1))
            return negated if self.rng.random() < 0.15 else And((self.node(depth + 1), negated))
        if kind == "field":
            inner = Or((self.leaf_text(), self.leaf_text())) if self.rng.random() < 0.5 else self.leaf_text()
            return Field(self.rng.choice(["title", "body"]), inner)
        children = tuple(self.node(depth + 1) for _ in range(self.rng.randint(2, 3)))
        return And(children) if kind == "and" else Or(children)

    def leaf_text(self):
        return self.rng.choice([Term(self.word()), self.phrase(), Prefix(self.word()[:4])])

    def rules(self, n: int) -> dict[str, str]:
        """`n` rules that both compilers accept (the others are not valid rules)."""
        from ingest.store.elasticsearch.query import compile_es
        from ingest.store.sqlite.query import compile_sqlite

        out: dict[str, str] = {}
        while len(out) < n:
            text = to_text(self.node())
            try:
                node = parse(text)
                compile_sqlite(node)
                compile_es(node)
            except (QueryError, ValueError):
                continue
            out[f"r{len(out):04d}"] = text
        return out


def evaluate(store, rules: dict[str, str], ids: list[str], presearch: bool) -> dict[str, set[str]]:
    if store.backend == "sqlite":
        from ingest.store.sqlite.rules import match_rules
    else:
        from ingest.store.elasticsearch.rules import match_rules
    return {k: set(v) for k, v in match_rules(store.index, rules, ids, presearch=presearch).items()}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("per_document", [False, True], ids=["batch", "per-document"])
def test_random_rules_same_matches_with_and_without_presearch(store, seed, per_document, monkeypatch):
    """`per_document`: SQLite presearches small rule sets on the batch as a whole and large ones per
    document, answering Boolean word rules itself; both modes are forced here on a small set."""
    from ingest.store.sqlite import rules as sqlite_rules

    if store.backend == "sqlite":
        monkeypatch.setattr(sqlite_rules, "PER_DOCUMENT_AT", 0 if per_document else 10**9)
    elif not per_document:
        pytest.skip("Elasticsearch presearches per document always")
    stored = corpus_articles() + demo_articles()
    words = sorted({w for a in stored for w in tokens(a.title + " " + a.body) if len(w) > 3 and not w.isdigit()})
    stored += synthetic_articles(words, 60, seed, "s")
    store.index.upsert_articles(stored)
    if store.index.outbox:
        store.index.outbox.flush()
    fresh = synthetic_articles(words, 20, seed + 100, "n")
    store.index.upsert_articles(fresh)   # on Elasticsearch still in the outbox: read from there
    rules = RuleMaker(stored, seed).rules(300)
    rng = random.Random(seed)
    ids = [a.id for a in stored]
    batches = [[a.id for a in fresh], rng.sample(ids, 40), rng.sample(ids, 5), [rng.choice(ids)], ids]
    selected = 0
    for batch in batches:
        expected = evaluate(store, rules, batch, presearch=False)
        assert evaluate(store, rules, batch, presearch=True) == expected, batch
        assert any(expected.values())
        if len(batch) == 1:
            selected = len(ps.Presearcher(ps.parse_rule_queries(rules)).select(
                ps.document_vocabulary([{"title": a.title, "body": a.body, "language": a.language}
                                        for a in stored if a.id == batch[0]])))
    assert selected < len(rules) / 2     # most rules are never evaluated for one article


@pytest.mark.parametrize("per_document", [False, True], ids=["batch", "per-document"])
def test_conformance_queries_as_rules(store, per_document, monkeypatch):
    """The query conformance table as alert rules: each rule matches exactly the table's expected
    articles among the batch, with the presearcher on, on both backends."""
    from ingest.store.sqlite import rules as sqlite_rules

    if store.backend == "sqlite":
        monkeypatch.setattr(sqlite_rules, "PER_DOCUMENT_AT", 0 if per_document else 10**9)
    elif not per_document:
        pytest.skip("Elasticsearch presearches per document always")
    store.index.upsert_articles(corpus_articles())
    rules = {f"q{i}": case["query"] for i, case in enumerate(QUERIES)}
    ids = [a.id for a in corpus_articles()]
    rng = random.Random(4)
    for batch in (ids, ids[: len(ids) // 2], [ids[0]], rng.sample(ids, 7)):
        expected = {f"q{i}": set(case["expect"]) & set(batch) for i, case in enumerate(QUERIES)}
        assert evaluate(store, rules, batch, presearch=True) == {k: v for k, v in expected.items() if v}


def test_generated_rules_equal_the_one_query_per_rule_reference(tmp_path):
    """SQLite: presearch + batch table against `match_rules_naive` (each rule over the whole index)."""
    from ingest.store import open_sqlite
    from ingest.store.sqlite.rules import match_rules, match_rules_naive

    stored = corpus_articles() + demo_articles()
    s = open_sqlite(tmp_path / "p.db")
    s.index.upsert_articles(stored)
    rules = RuleMaker(stored, 7).rules(200)
    ids = [a.id for a in stored]
    for batch in (ids, ids[:7], ids[-1:]):
        got = {k: set(v) for k, v in match_rules(s.index, rules, batch).items()}
        assert got == {k: set(v) for k, v in match_rules_naive(s.index, rules, batch).items()}
    s.close()


def test_elasticsearch_msearch_sends_only_candidates(backend_settings, monkeypatch):
    """The `_msearch` fallback runs only the rules the batch's words select."""
    if backend_settings.store.backend != "elasticsearch":
        pytest.skip("Elasticsearch only")
    from ingest.store import open_backends
    from ingest.store.elasticsearch import rules as es_percolate

    store = open_backends(backend_settings.store)
    try:
        store.index.upsert_articles(corpus_articles())
        sent: list[str] = []
        original = es_percolate._msearch
        monkeypatch.setattr(es_percolate, "_msearch",
                            lambda st, rules, scopes: sent.extend(scopes) or original(st, rules, scopes))
        rules = {"hit": "Iran AND Venezuela", "miss": "Zeppelin", "lang": "lang:de AND NOT Iran",
                 "phrase": '"Shahed Drohnen"', "near": "Drohne NEAR/5 Zeppelin", "near-hit": "Iran NEAR/5 Venezuela"}
        got = store.index.match_rules(rules, ["d1"])
        # word, exact-phrase and lang: rules are answered from the batch's own tokens; absent words are
        # never searched; only positions (NEAR) go to the cluster
        assert got == {"hit": ["d1"], "phrase": ["d1"], "near-hit": ["d1"]} and sent == ["near-hit"]
    finally:
        store.close()


@pytest.mark.parametrize("seed", [3])
def test_grouped_msearch_equals_one_search_per_rule(backend_settings, seed, monkeypatch):
    """The `_msearch` fallback sends rules in groups (named clauses, `matched_queries`): the same
    matches as one search per rule, on random rules from the whole grammar; a group the cluster
    refuses is searched again rule by rule, nothing skipped."""
    from ingest.store import open_backends
    from ingest.store.elasticsearch import rules as es_rules

    if backend_settings.store.backend == "sqlite":
        pytest.skip("clusters only")
    store = open_backends(backend_settings.store)
    try:
        stored = corpus_articles() + demo_articles()
        words = sorted({w for a in stored for w in tokens(a.title + " " + a.body) if len(w) > 3 and not w.isdigit()})
        stored += synthetic_articles(words, 60, seed, "s")
        store.index.upsert_articles(stored)
        store.index.flush_outbox(wait=True)
        rules = RuleMaker(stored, seed).rules(300)
        rng = random.Random(seed)
        ids = [a.id for a in stored]
        scopes = {name: rng.sample(ids, 30) for name in rules}
        group = [(name, scope, es_rules._compiled(store.index, rules[name])) for name, scope in scopes.items()]
        expected = {k: sorted(v) for k, v in es_rules._search_one_by_one(store.index, group).items()}
        assert len(expected) > 20
        monkeypatch.setattr(es_rules, "GROUP_RULES", 40)    # several groups, several per request
        got = {k: sorted(v) for k, v in es_rules._msearch(store.index, rules, scopes).items()}
        assert got == expected
        original = es_rules._group_search
        calls = []

        def refuse_first(g):
            calls.append(1)
            body = original(g)
            if len(calls) == 1:   # a query the cluster rejects: the first group must not be lost
                body["query"]["bool"]["filter"][1]["bool"]["should"][0] = {"range": {"published": {"gte": "not a date"}}}
            return body

        monkeypatch.setattr(es_rules, "_group_search", refuse_first)
        got = {k: sorted(v) for k, v in es_rules._msearch(store.index, rules, scopes).items()}
        assert got == expected
    finally:
        store.close()


def test_percolator_checks_only_candidates(backend_settings, monkeypatch):
    """On a percolator cluster the presearcher runs first: rules the batch's tokens answer are never
    percolated, and the percolate request is filtered to the remaining candidates."""
    from ingest.store import open_backends
    from ingest.store.elasticsearch import rules as es_rules

    if backend_settings.store.backend == "sqlite":
        pytest.skip("clusters only")
    store = open_backends(backend_settings.store)
    try:
        store.index.upsert_articles(corpus_articles())
        store.index.ensure()
        if not store.index.percolator:
            pytest.skip("the percolator module is on the OpenSearch node (the Elasticsearch test node lacks it)")
        sent: list[list[str] | None] = []
        original = es_rules._percolated_rules
        monkeypatch.setattr(es_rules, "_percolated_rules",
                            lambda st, rules, docs, cand: sent.append(cand) or original(st, rules, docs, cand))
        rules = {"hit": "Iran AND Venezuela", "miss": "Zeppelin", "lang": "lang:de AND NOT Iran",
                 "phrase": '"Shahed Drohnen"', "near": "Drohne NEAR/5 Zeppelin", "near-hit": "Iran NEAR/5 Venezuela",
                 "near-miss": "Iran NEAR/1 Venezuela"}
        got = store.index.match_rules(rules, ["d1"])
        assert got == {"hit": ["d1"], "phrase": ["d1"], "near-hit": ["d1"]}
        assert len(sent) == 1 and sent[0] is not None
        assert set(sent[0]) == {es_rules._rule_id("near-hit"), es_rules._rule_id("near-miss")}
    finally:
        store.close()


def test_stem_view_matches_the_indexer():
    # the views are the indexer's own functions, not copies of them
    assert ps.VIEWS[0].make("Straße Über", "de") == folded_text("Straße Über")
    assert ps.VIEWS[1].make("Drohnen", "de") == stem_text("Drohnen", "de")


@pytest.mark.parametrize("per_document", [False, True], ids=["batch", "per-document"])
def test_compound_and_other_language_queries_as_rules(store, per_document, monkeypatch):
    """The compound, quotation, spelling and other-language conformance table as alert rules, presearched
    per document too (where word rules are answered from the batch's tokens): a word matches through
    the compound-parts view (`Drohne` on *Kampfdrohnen*), `=word` does not, and another language's
    stems count only in articles of that language — exactly what evaluating every rule finds."""
    from test_conformance import COMPOUND_CORPUS, COMPOUND_QUERIES

    from ingest.store.sqlite import rules as sqlite_rules

    if store.backend == "sqlite":
        monkeypatch.setattr(sqlite_rules, "PER_DOCUMENT_AT", 0 if per_document else 10**9)
    elif not per_document:
        pytest.skip("the clusters presearch per document always")
    articles = corpus_articles(COMPOUND_CORPUS)
    store.index.upsert_articles(articles)
    rules = {f"c{i}": case["query"] for i, case in enumerate(COMPOUND_QUERIES)}
    ids = [a.id for a in articles]
    for batch in (ids, ids[: len(ids) // 2], [ids[0]], ids[-3:]):
        expected = {f"c{i}": set(case["expect"]) & set(batch) for i, case in enumerate(COMPOUND_QUERIES)}
        assert evaluate(store, rules, batch, presearch=True) == {k: v for k, v in expected.items() if v}
