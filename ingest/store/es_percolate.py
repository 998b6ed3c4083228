"""Alert rules on Elasticsearch: rules stored as percolator queries, evaluated per batch of new articles."""

from __future__ import annotations

import hashlib
import json

from elasticsearch import helpers

PAGE = 5000


def _rules_hash(rules: dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(sorted(rules.items())).encode()).hexdigest()


def sync_rules(store, rules: dict[str, str]) -> None:
    """Store each rule's compiled query in the percolator index; drop rules that are gone."""
    from ingest.query import parse
    from ingest.store.es_query import compile_es

    digest = _rules_hash(rules)
    if store._rules_hash == digest:
        return
    index = store.name("rules")
    actions = [{"_op_type": "index", "_index": index, "_id": hashlib.sha1(name.encode()).hexdigest(),
                "_source": {"rule_name": name, "rule_query": query, "query": compile_es(parse(query))}}
               for name, query in rules.items()]
    store._call(helpers.bulk, store.client, actions, chunk_size=500)
    store._call(store.client.delete_by_query, index=index, refresh=True,
                query={"bool": {"must_not": {"terms": {"rule_name": list(rules) or ["\x00"]}}}})
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


def match_rules(store, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
    if not rules or not article_ids:
        return {}
    store._ensure()
    sync_rules(store, rules)
    docs = _documents(store, article_ids)
    if not docs:
        return {}
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
            out[h["_source"]["rule_name"]] = [docs[i]["id"] for i in slots]
        if len(hits) < PAGE:
            return out
        search_after = hits[-1]["sort"]
