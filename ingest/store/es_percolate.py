"""Alert rules on Elasticsearch, evaluated per batch of new articles.

With the percolator module (the official image): rules are stored as percolator queries and one
percolate request matches a whole batch against every rule. Without it (the minimal distribution
the tests run on): the rules' compiled queries run as one `_msearch`, each restricted to the batch.
Both return exactly the articles the search box would find for the rule's query.

`_msearch` runs only the rules the presearcher (`ingest.query.presearch`) selects from the batch's
own tokens (the `*_folded`/`*_stem` views as indexed), each restricted to the batch articles that
hold its anchors: a rule whose words are absent from the batch is never sent. Rules of words and
prefixes joined by AND/OR/NOT are answered from those same tokens, exactly, without a search.
"""

from __future__ import annotations

import hashlib
import json

from elasticsearch import helpers

PAGE = 5000
MSEARCH_CHUNK = 200
COMPILED_KEPT = 200_000   # compiled rule queries kept between batches


def _rules_hash(rules: dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(sorted(rules.items())).encode()).hexdigest()


def _compile(query: str) -> dict:
    from ingest.query import parse
    from ingest.store.es_query import compile_es

    return compile_es(parse(query))


def sync_rules(store, rules: dict[str, str]) -> None:
    """Store each rule's compiled query in the percolator index; drop rules that are gone."""
    digest = _rules_hash(rules)
    if store._rules_hash == digest:
        return
    index = store.name("rules")
    wanted = {hashlib.sha1(name.encode()).hexdigest(): (name, query) for name, query in rules.items()}
    actions = [{"_op_type": "index", "_index": index, "_id": rid,
                "_source": {"rule_name": name, "rule_query": query, "query": _compile(query)}}
               for rid, (name, query) in wanted.items()]
    stale = [h["_id"] for h in helpers.scan(store.client, index=index, query={"query": {"match_all": {}}},
                                            _source=False) if h["_id"] not in wanted]
    actions += [{"_op_type": "delete", "_index": index, "_id": rid} for rid in stale]
    store._call(helpers.bulk, store.client, actions, chunk_size=500, refresh=True)
    store._rules_hash = digest


def _documents(store, article_ids: list[str]) -> list[dict]:
    queued = store._outbox_docs(article_ids)
    rest = [i for i in article_ids if i not in queued]
    docs = list(queued.values())
    if rest:
        resp = store._call(store.client.search, index=store.articles_alias, size=len(rest),
                           query={"ids": {"values": rest}})
        docs += [h["_source"] for h in resp["hits"]["hits"]]
    return docs


def _percolate(store, rules: dict[str, str], docs: list[dict]) -> dict[str, list[str]]:
    sync_rules(store, rules)
    out: dict[str, list[str]] = {}
    search_after = None
    while True:
        body = {"query": {"percolate": {"field": "query", "documents": docs}}, "size": PAGE,
                "_source": ["rule_name"], "sort": [{"rule_name": "asc"}]}
        if search_after:
            body["search_after"] = search_after
        resp = store._call(store.client.search, index=store.name("rules"), **body)
        hits = resp["hits"]["hits"]
        for h in hits:
            slots = h.get("fields", {}).get("_percolator_document_slot", [])
            if h["_source"]["rule_name"] in rules:
                out[h["_source"]["rule_name"]] = [docs[i]["id"] for i in slots]
        if len(hits) < PAGE:
            return out
        search_after = hits[-1]["sort"]


def _column(field: str, view: str) -> str:
    """The indexed field of a text field's view ("exact": title_folded, "stem": title_stem)."""
    return f"{field}_{'folded' if view == 'exact' else view}"


def _presearcher(store, rules: dict[str, str]):
    """The rule set's presearcher, kept while the rules stay the same."""
    from ingest.query.presearch import Presearcher, parse_rules, split_tokens

    digest = _rules_hash(rules)
    cached = getattr(store, "_presearch", None)
    if cached is None or cached[0] != digest:
        cached = store._presearch = (digest, Presearcher(parse_rules(rules), split_tokens, columns=_column))
    return cached[1]


def _candidates(store, rules: dict[str, str], article_ids: list[str]
                ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(rules answered from the batch's own tokens: rule -> matching ids, rules to search: rule -> the
    batch articles it may match). Read before the outbox is flushed: no round trip for queued
    articles. When an article is found nowhere (being flushed right now) every rule is searched."""
    from ingest.query.presearch import decide, document_columns, mask_ids

    docs = _documents(store, article_ids)
    ids = [d["id"] for d in docs]
    if set(article_ids) - set(ids):
        return {}, dict.fromkeys(rules, article_ids)
    presearcher = _presearcher(store, rules)
    columns = document_columns(docs)
    answered, rest = decide(presearcher, presearcher.select(columns.tokens(), columns.everyone), columns)
    return ({name: mask_ids(mask, ids) for name, mask in answered.items()},
            {name: mask_ids(mask, ids) for name, mask in rest.items()})


def _compiled(store, query: str) -> dict:
    """`_compile`, kept between batches except for queries with relative dates (`now` moves)."""
    cache = getattr(store, "_compiled_rules", None)
    if cache is None or len(cache) > COMPILED_KEPT:
        cache = store._compiled_rules = {}
    compiled = cache.get(query)
    if compiled is None:
        compiled = _compile(query)
        if "now" not in query.lower():
            cache[query] = compiled
    return compiled


def _msearch(store, rules: dict[str, str], scopes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each rule in `scopes` restricted to its articles, in `_msearch` requests of MSEARCH_CHUNK."""
    out: dict[str, list[str]] = {}
    items = list(scopes.items())
    for i in range(0, len(items), MSEARCH_CHUNK):
        chunk = items[i:i + MSEARCH_CHUNK]
        searches: list[dict] = []
        for name, ids in chunk:
            searches.append({"index": store.articles_alias})
            searches.append({"query": {"bool": {"must": [_compiled(store, rules[name])],
                                                "filter": [{"ids": {"values": ids}}]}},
                             "size": len(ids), "_source": False})
        resp = store._call(store.client.msearch, searches=searches)
        for (name, _ids), result in zip(chunk, resp["responses"], strict=True):
            ids = [h["_id"] for h in result.get("hits", {}).get("hits", [])]
            if ids:
                out[name] = ids
    return out


def match_rules(store, rules: dict[str, str], article_ids: list[str], presearch: bool = True
                ) -> dict[str, list[str]]:
    """rule -> matching article ids. `presearch=False` sends every rule (the reference)."""
    if not rules or not article_ids:
        return {}
    store._ensure()
    if store.percolator:
        docs = _documents(store, article_ids)
        return _percolate(store, rules, docs) if docs else {}
    article_ids = list(dict.fromkeys(article_ids))
    answered, scopes = _candidates(store, rules, article_ids) if presearch else ({}, dict.fromkeys(rules, article_ids))
    store.flush_outbox()
    found = {**answered, **_msearch(store, rules, scopes)}
    return {name: found[name] for name in rules if name in found}
