"""The query language compiled to Elasticsearch query DSL, with the same hits as SQLite.

Both backends match the same tokens because the tokens are made once, in Python
(`ingest.text`), and indexed as space-separated words under the core `whitespace` analyzer:
    title_folded / body_folded   exact words, case and accents folded   (phrases, prefixes)
    title_stem   / body_stem     the same words stemmed in the article's language (terms, NEAR)
so no analysis plugin is needed and token positions line up with SQLite FTS5's.
"""

from __future__ import annotations

from ingest.query.ast import And, Keyword, Near, Node, Not, Or, Phrase, Prefix, Range, Term
from ingest.text import QUERY_LANGUAGES, fold_exact, near_prefixes, query_stems, stem_words

WS = {"type": "text", "analyzer": "whitespace", "norms": True}
ES_TEXT_MAPPING = {
    "settings": {},
    "properties": {
        "title": {"type": "text"},
        "body": {"type": "text"},
        "title_folded": WS,
        "body_folded": WS,
        "title_stem": WS,
        "body_stem": WS,
        "tags": {"type": "keyword"},
        "keywords": {"type": "keyword"},
        "source": {"type": "keyword"},
        "domain": {"type": "keyword"},
        "language": {"type": "keyword"},
        "published": {"type": "date"},
        "indexed": {"type": "date"},
    },
}
KEYWORD_FIELD = {"source": "source", "domain": "domain", "tag": "tags", "keyword": "keywords"}


def _fields(field: str | None, kind: str) -> list[str]:
    return [f"{f}_{kind}" for f in ([field] if field else ["title", "body"])]


def _any(queries: list[dict]) -> dict:
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries, "minimum_should_match": 1}}


def _phrase_stems(words: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for lang in QUERY_LANGUAGES:
        seq = " ".join(stem_words(list(words), lang))
        if seq not in out:
            out.append(seq)
    return out


def _interval_alternatives(node: Node) -> list[dict]:
    if isinstance(node, Term):
        return [{"match": {"query": s}} for s in query_stems(node.word)]
    if isinstance(node, Prefix):
        return [{"prefix": {"prefix": p}} for p in near_prefixes(node.prefix)]
    if isinstance(node, Phrase):
        return [{"match": {"query": s, "ordered": True, "max_gaps": 0}} for s in _phrase_stems(node.words)]
    if isinstance(node, Or):
        return [a for c in node.children for a in _interval_alternatives(c)]
    raise TypeError(node)


def _one(alts: list[dict]) -> dict:
    return alts[0] if len(alts) == 1 else {"any_of": {"intervals": alts}}


def _near_field(node: Node) -> str | None:
    if isinstance(node, Term | Prefix | Phrase):
        return node.field
    if isinstance(node, Or):
        return next((f for f in (_near_field(c) for c in node.children) if f), None)
    if isinstance(node, Near):
        return _near_field(node.left) or _near_field(node.right)
    return None


def compile_es(node: Node) -> dict:
    if isinstance(node, Term):
        stems = " ".join(query_stems(node.word))
        return _any([{"match": {f: {"query": stems}}} for f in _fields(node.field, "stem")])
    if isinstance(node, Prefix):
        return _any([{"prefix": {f: {"value": fold_exact(node.prefix)}}} for f in _fields(node.field, "folded")])
    if isinstance(node, Phrase):
        words = [fold_exact(w) for w in node.words]
        if node.slop is None or len(words) == 1:
            return _any([{"match_phrase": {f: " ".join(words)}} for f in _fields(node.field, "folded")])
        # FTS5 NEAR(w1 .. wk, N) counts the other query words between first and last; intervals do not.
        gaps = node.slop - (len(words) - 2)
        if gaps < 0:
            return {"match_none": {}}
        rule = {"all_of": {"ordered": False, "max_gaps": gaps,
                           "intervals": [{"match": {"query": w}} for w in words]}}
        return _any([{"intervals": {f: rule}} for f in _fields(node.field, "folded")])
    if isinstance(node, Near):
        rule = {"all_of": {"ordered": False, "max_gaps": node.distance,
                           "intervals": [_one(_interval_alternatives(node.left)),
                                         _one(_interval_alternatives(node.right))]}}
        return _any([{"intervals": {f: rule}} for f in _fields(_near_field(node), "stem")])
    if isinstance(node, Keyword):
        if node.field == "lang":
            return {"term": {"language": node.value.lower()}}
        return {"term": {KEYWORD_FIELD[node.field]: {"value": node.value, "case_insensitive": True}}}
    if isinstance(node, Range):
        bounds = {}
        if node.gte:
            bounds["gte"] = node.gte.isoformat()
        if node.lt:
            bounds["lt"] = node.lt.isoformat()
        return {"range": {node.field: bounds}} if bounds else {"match_all": {}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_es(node.child)]}}
    if isinstance(node, And):
        must = [compile_es(c) for c in node.children if not isinstance(c, Not)]
        must_not = [compile_es(c.child) for c in node.children if isinstance(c, Not)]
        body: dict = {"must": must or [{"match_all": {}}]}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_es(c) for c in node.children], "minimum_should_match": 1}}
    raise TypeError(node)
