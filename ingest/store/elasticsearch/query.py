"""The query language compiled to Elasticsearch query DSL, with the same hits as SQLite.

Why the text fields are tokenised in Python and indexed with the `whitespace` analyzer: the two
backends must see the same tokens at the same positions, or phrases and NEAR/N give different hits.
SQLite FTS5's unicode61 tokenizer splits on everything that is not a letter or a digit; the ES
`standard` tokenizer does not (it keeps "3.5" and "U.S.A" together, splits CJK per character), and a
`pattern` tokenizer plus asciifolding needs the analysis-common module, which minimal distributions
(the test node) lack and whose folding differs from Python's in details. So the adapter indexes
`ingest.text` output, one token per word, exactly what FTS5 indexes:

    title_folded / body_folded   text.folded_text(): exact words, case and accents folded, ß kept
    title_stem   / body_stem     text.stem_text(text, article language): stems, ß -> ss
    title_parts  / body_parts    compounds.parts_text(text, article language): stems of compound parts
    title / body                 the original text (standard analyzer): display and Kibana only

Queries then look for tokens made by `ingest.query.analysis`, the same module the SQLite compiler
uses. NEAR and `"a b"~N` are `intervals` queries (unordered, max_gaps = the number of other
words allowed in between), which count exactly like FTS5's NEAR. `all_of` is unordered by default on
both Elasticsearch and OpenSearch, so the compiled rule leaves `ordered` out: OpenSearch 2 deprecated
that key (for `mode`) and warns on every query that sends it.
"""

from __future__ import annotations

from ingest.query.analysis import (
    Alt,
    exact_prefixes,
    exact_sequences,
    near_alternatives,
    proximity_words,
    term_tokens,
)
from ingest.query.ast import TEXT_FIELDS, And, Field, Near, Node, Not, Or, Phrase, Prefix, Range, Term, iso

# Python-made tokens, split on spaces. The stemmed fields index prefixes of 2-5 characters: a prefix
# inside NEAR is an `intervals` prefix rule, which fails beyond 128 expansions without them. Plain
# `Drohn*` is a `prefix` query on the folded fields, which expands without such a limit, so those
# fields skip the prefix index (four extra terms per word: a third of all indexing work).
WS = {"type": "text", "analyzer": "whitespace"}
WS_PREFIXED = {**WS, "index_prefixes": {"min_chars": 2, "max_chars": 5}}
CI_KEYWORD = {"type": "keyword"}  # compared with case_insensitive term/prefix queries (no normalizer needed)

# The mapping the Elasticsearch adapter uses verbatim (ingest.store.elasticsearch.schema.text_mapping):
# "settings" go into the index settings, "properties" into the mappings.
ES_TEXT_MAPPING = {
    "settings": {},
    "properties": {
        "title": {"type": "text"},
        "body": {"type": "text"},
        "title_folded": WS,
        "body_folded": WS,
        "title_stem": WS_PREFIXED,
        "body_stem": WS_PREFIXED,
        "title_parts": WS,
        "body_parts": WS,
        "tags": CI_KEYWORD,
        "keywords": CI_KEYWORD,
        "places": CI_KEYWORD,
        "entities": CI_KEYWORD,
        "source": CI_KEYWORD,
        "domain": CI_KEYWORD,
        "language": CI_KEYWORD,
        "published": {"type": "date"},
        "indexed": {"type": "date"},
    },
}
COMBINED = "text"  # the pseudo-field of compile_es(combined=True): text_stem, text_folded
COMBINED_MAPPING = {"text_stem": WS, "text_folded": WS, "text_parts": WS}
KEYWORD_FIELD = {"source": "source", "domain": "domain", "lang": "language", "tag": "tags", "keyword": "keywords",
                 "place": "places", "entity": "entities", "access": "access"}
TITLE_BOOST = 4.0  # like the SQLite bm25 weights: title 4, body 1
PARTS_BOOST = 0.1  # compound parts weigh a tenth of whole words (SQLite: 0.4 and 0.1), so they rank below


def _fields(field: str | None, view: str) -> list[tuple[str, float]]:
    names = [field] if field else list(TEXT_FIELDS)
    factor = PARTS_BOOST if view == "parts" else 1.0
    return [(f"{n}_{view}", (TITLE_BOOST if n == "title" else 1.0) * factor) for n in names]


def _any(queries: list[dict]) -> dict:
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries, "minimum_should_match": 1}}


def _boosted(query: dict, boost: float) -> dict:
    if boost == 1.0:
        return query
    kind = next(iter(query))
    if kind in ("match", "match_phrase", "prefix", "intervals"):
        (name, params), = query[kind].items()
        return {kind: {name: {**params, "boost": boost}}}
    return {"bool": {"must": [query], "boost": boost}}


def _per_field(field: str | None, view: str, make) -> dict:
    """One query per field of the view (title and body unless restricted), any of them matching."""
    return _any([_boosted(make(name), boost) for name, boost in _fields(field, view)])


def _interval(alt: Alt) -> dict:
    if alt.prefix is not None:
        return {"prefix": {"prefix": alt.prefix}}
    if len(alt.tokens) == 1:
        return {"match": {"query": alt.tokens[0]}}
    return {"match": {"query": " ".join(alt.tokens), "ordered": True, "max_gaps": 0}}


def _one_of(rules: list[dict]) -> dict:
    return rules[0] if len(rules) == 1 else {"any_of": {"intervals": rules}}


def _term(node: Term, field: str | None) -> dict:
    """Stems on the stem view and (unless `=word`) the parts view; other languages' stems only in
    articles of those languages (the same tokens as the SQLite compiler, see analysis.term_tokens)."""
    tokens = term_tokens(node.word)
    views = ("stem",) if node.whole else ("stem", "parts")

    def match(stems: list[str]) -> dict:
        query = " ".join(stems)
        return _any([_per_field(field, v, lambda f: {"match": {f: {"query": query}}}) for v in views])

    alts = [match(list(tokens.stems))]
    alts += [{"bool": {"must": [match([stem])], "filter": [{"terms": {"language": list(langs)}}]}}
             for stem, langs in tokens.by_language]
    return _any(alts)


def _text(node: Node, field: str | None) -> dict:
    if field == COMBINED and isinstance(node, Phrase | Near):
        field = None  # positions: a phrase or NEAR must not join the end of the title to the body
    if isinstance(node, Term):
        return _term(node, field)
    if isinstance(node, Prefix):
        forms = exact_prefixes(node.prefix)
        return _per_field(field, "folded", lambda f: _any([{"prefix": {f: {"value": p}}} for p in forms]))
    if isinstance(node, Phrase):
        words = node.words if node.slop is None else proximity_words(node.words)
        seqs = exact_sequences(words)
        if node.slop is None or len(words) == 1:
            return _per_field(field, "folded",
                              lambda f: _any([{"match_phrase": {f: {"query": " ".join(s)}}} for s in seqs]))
        # FTS5 NEAR(w1 .. wk, N): at most N tokens between the first and the last word, the other k-2
        # query words included; intervals' max_gaps counts only the tokens that are not query words.
        gaps = node.slop - (len(words) - 2)
        if gaps < 0:
            return {"match_none": {}}

        def sloppy(f: str) -> dict:
            rules = [{"intervals": {f: {"all_of": {"max_gaps": gaps, "intervals": [
                {"match": {"query": w}} for w in s]}}}} for s in seqs]
            return _any(rules)

        return _per_field(field, "folded", sloppy)
    if isinstance(node, Near):
        left = _one_of([_interval(a) for a in near_alternatives(node.left)])
        right = _one_of([_interval(b) for b in near_alternatives(node.right)])
        # FTS5 lets one occurrence serve both sides (`Kiew NEAR/2 Kiew` = Kiew); Lucene does so for
        # overlapping rules but never for two identical ones, so those become the one rule.
        rule = left if left == right else {"all_of": {"max_gaps": node.distance, "intervals": [left, right]}}
        return _per_field(field, "stem", lambda f: {"intervals": {f: rule}})
    raise TypeError(node)


def _keyword(node: Node, field: str) -> dict:
    if isinstance(node, Not):
        return {"bool": {"must_not": [_keyword(node.child, field)]}}
    if isinstance(node, And):
        return {"bool": {"filter": [_keyword(c, field) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_keyword(c, field) for c in node.children], "minimum_should_match": 1}}
    name = KEYWORD_FIELD[field]
    if isinstance(node, Prefix):
        return ci_keyword("prefix", name, node.prefix)
    if not isinstance(node, Term):
        raise TypeError(node)
    term = ci_keyword("term", name, node.word)
    if field == "domain":  # the site and its subdomains
        pattern = "*." + node.word.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
        return _any([term, ci_keyword("wildcard", name, pattern)])
    return term


# Case-insensitive keyword queries become automata with a state per character; OpenSearch (Lucene)
# refuses one beyond ~1,000 states ("input automaton is too large"), so a value that long (a pasted
# paragraph, never a tag or a source name) is compared exactly instead of failing the whole search.
CI_MAX_CHARS = 256


def ci_keyword(kind: str, field: str, value: str) -> dict:
    """A case-insensitive term/prefix/wildcard query on a keyword field; exact beyond CI_MAX_CHARS."""
    body: dict = {"value": value}
    if len(value) <= CI_MAX_CHARS:
        body["case_insensitive"] = True
    return {kind: {field: body}}


def _range(node: Range) -> dict:
    bounds = {op: iso(v) for op, v in (("gte", node.gte), ("gt", node.gt), ("lte", node.lte), ("lt", node.lt))
              if v is not None}
    return {"range": {node.field: bounds}} if bounds else {"exists": {"field": node.field}}


def _filtering(node: Node) -> bool:
    """True for nodes that only filter (keyword fields, dates): they go to bool.filter, unscored."""
    if isinstance(node, Range):
        return True
    if isinstance(node, Field):
        return node.field not in TEXT_FIELDS
    if isinstance(node, And | Or):
        return all(_filtering(c) for c in node.children)
    return False


def _compile(node: Node, field: str | None) -> dict:
    if isinstance(node, Term | Prefix | Phrase | Near):
        return _text(node, field)
    if isinstance(node, Field):
        if node.field in TEXT_FIELDS:
            return _compile(node.node, node.field)
        return _keyword(node.node, node.field)
    if isinstance(node, Range):
        return _range(node)
    if isinstance(node, Not):
        return {"bool": {"must_not": [_compile(node.child, field)]}}
    if isinstance(node, And):
        must, filters, must_not = [], [], []
        for child in node.children:
            if isinstance(child, Not):
                must_not.append(_compile(child.child, field))
            elif _filtering(child):
                filters.append(_compile(child, field))
            else:
                must.append(_compile(child, field))
        body: dict = {}
        if must:
            body["must"] = must
        if filters:
            body["filter"] = filters
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {"bool": {"should": [_compile(c, field) for c in node.children], "minimum_should_match": 1}}
    raise TypeError(node)


def compile_es(node: Node, combined: bool = False) -> dict:
    """The query as an Elasticsearch query (the value of "query" in a search body), for ES 8 and 9.

    Needs an index mapped with ES_TEXT_MAPPING and documents carrying the *_folded and *_stem
    fields made by ingest.text (see the module docstring). `combined`: a word or prefix without a
    field is one query on `text_stem`/`text_folded` (title and body tokens together) instead of one
    per field: the same matches, half the clauses, unscored (alert percolation, COMBINED_MAPPING).
    """
    return _compile(node, COMBINED if combined else None)
