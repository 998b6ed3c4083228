"""Alert rules on Elasticsearch and OpenSearch, evaluated per batch of new articles.

With the percolator module (Elasticsearch's official image; the OpenSearch node of
scripts/opensearch-node.sh): rules are stored as percolator queries and one percolate request matches
a whole batch against every rule. Without it (Elasticsearch's minimal distribution the tests run on):
the rules' compiled queries run as one `_msearch`, each restricted to the batch. Both return exactly
the articles the search box would find for the rule's query, and the same as SQLite's evaluation
(tests/test_alerts_backends.py).

What the percolator costs, and why the documents look as they do: with a batch of 50 articles the
union of their terms is far above the percolator's clause limit, so its own pre-selection lets nearly
every rule through, and each is checked against the batch's in-memory index, one by one (~35 us
each). So:
- the presearcher (below) runs first, on the batch's own documents: rules it answers from their
  tokens are not percolated, and the percolate query carries an `ids` filter of the remaining
  candidates, so Lucene verifies only those (a filter leads the conjunction; the percolator's
  per-rule check is the second, confirming phase);
- the stored rule is compiled with `combined=True`: a word or prefix without a field is one query
  on `text_stem`/`text_folded`/`text_parts` (title and body tokens together, added to each percolated document)
  instead of one per field, the same matches with half the clauses (a third less CPU per batch);
- the percolated documents leave out the fields no rule reads (`UNQUERIED`), and carry the analysed
  fields the compiled queries read (`*_stem`, `*_folded`). Those are indexed but not kept in
  `_source`: the batch just written comes from the adapter's memory (`recent_docs`), and a document
  read back from the cluster gets them made again from its text (`article_doc`);
- rules with relative dates (`published:>now-7d`) are compiled again for every batch.

A freshly stored batch (`match_batch`) is never matched on a best-effort view of the index: the
percolator gets the batch's own documents; `_msearch` runs only over the articles confirmed
searchable (`store.searchable`: flush waited for, visibility checked, refreshed if needed). The
rest stays "evaluation pending" and is matched later; an unsearchable article is never taken for
a non-matching one.

`_msearch` runs only the rules the presearcher (`ingest.query.presearch`) selects from the batch's
own tokens (the `*_folded`/`*_stem` views as indexed), each restricted to the batch articles that
hold its anchors: a rule whose words are absent from the batch is never sent. Rules of words and
prefixes joined by AND/OR/NOT are answered from those same tokens, exactly, without a search.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.errors import QueryError
from ingest.query import parse
from ingest.query.presearch import (
    Presearcher,
    decide,
    document_columns,
    mask_ids,
    parse_rule_queries,
    split_tokens,
)
from ingest.store.elasticsearch.query import compile_es
from ingest.store.elasticsearch.schema import article_doc, doc_article

if TYPE_CHECKING:
    from ingest.store.elasticsearch.index import ElasticsearchIndex

log = logging.getLogger("ingest.store.es")
PAGE = 10_000  # index.max_result_window: each page runs the whole percolation again
GROUP_BUDGET, GROUP_RULES = 1_000, 200  # query objects and rules per grouped search: well under 1,024 clauses
GROUPS_PER_REQUEST = 20  # grouped searches per `_msearch` request
# Document fields no compiled rule reads (the query language searches the *_folded/*_stem copies and
# keyword fields): left out of percolated documents, whose in-memory index is built per request.
UNQUERIED = frozenset({"title", "body", "summary", "captions", "mentions", "feed_urls", "author", "url",
                       "canonical_url", "guid"})
RELATIVE_PROBE = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2002, 2, 2, tzinfo=UTC))
COMPILED_KEPT = 200_000   # compiled rule queries kept between batches


@dataclass(slots=True)
class RuleCache:
    """What matching keeps per index between batches."""

    rules_hash: str | None = None                    # the rule set in the percolator index
    relative_rules: list[str] = field(default_factory=list)  # its rules with relative dates
    presearch: tuple[str, Presearcher] | None = None  # (rule set hash, its presearcher)
    compiled: dict[str, dict] = field(default_factory=dict)  # query -> compiled query


def _rules_hash(rules: dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(sorted(rules.items())).encode()).hexdigest()


def _compile(query: str, combined: bool = False) -> dict:
    return compile_es(parse(query), combined=combined)


def compile_rules(rules: dict[str, str], combined: bool = False) -> dict[str, dict]:
    """Each rule's query DSL; a rule that does not parse is left out with a warning, as on SQLite.
    `combined`: for the percolator index, whose documents also carry title and body tokens together."""
    out = {}
    for name, query in rules.items():
        try:
            out[name] = _compile(query, combined)
        except QueryError as exc:
            log.warning("alert rule %s not evaluated: %s", name, str(exc).split("\n")[0])
    return out


def _is_relative(query: str) -> bool:
    """Whether the rule's dates depend on when it is evaluated (`published:>now-7d`)."""

    return parse(query, now=RELATIVE_PROBE[0]) != parse(query, now=RELATIVE_PROBE[1])


def _rule_id(name: str) -> str:
    """The rule's document id in the percolator index."""
    return hashlib.sha1(name.encode()).hexdigest()


def _rule_action(index: str, name: str, query: str, compiled: dict) -> dict:
    return {"_op_type": "index", "_index": index, "_id": _rule_id(name),
            "_source": {"rule_name": name, "rule_query": query, "query": compiled}}


def sync_rules(store: ElasticsearchIndex, rules: dict[str, str]) -> None:
    """Store each rule's compiled query in the percolator index; drop rules that are gone.
    Rules with relative dates are compiled again for every batch, so `now` is the evaluation's."""
    index = store.name("rules")
    digest = _rules_hash(rules)
    if store.rule_cache.rules_hash == digest:
        relative = store.rule_cache.relative_rules
        if relative:
            compiled = compile_rules({n: rules[n] for n in relative}, combined=True)
            actions = [_rule_action(index, n, rules[n], q) for n, q in compiled.items()]
            store.call(store.helpers.bulk, store.client, actions, chunk_size=500, refresh=True)
        return
    compiled = compile_rules(rules, combined=True)
    actions = [_rule_action(index, name, rules[name], query) for name, query in compiled.items()]
    wanted = {a["_id"] for a in actions}
    stale = [h["_id"] for h in store.helpers.scan(store.client, index=index, query={"query": {"match_all": {}}},
                                                  _source=False) if h["_id"] not in wanted]
    actions += [{"_op_type": "delete", "_index": index, "_id": rid} for rid in stale]
    store.call(store.helpers.bulk, store.client, actions, chunk_size=500, refresh=True)
    store.rule_cache.relative_rules = [n for n in compiled if _is_relative(rules[n])]
    store.rule_cache.rules_hash = digest


def _documents(store: ElasticsearchIndex, article_ids: list[str]) -> list[dict]:
    """The batch's documents as percolated: from the outbox, the adapter's recently written documents,
    or else the cluster (with the analysed fields made again), minus the fields no rule reads."""
    queued = store.outbox.docs(article_ids)
    recent = store.recent_docs
    docs = [queued.get(i) or recent.get(i) for i in article_ids]
    rest = [i for i, d in zip(article_ids, docs, strict=True) if d is None]
    found = [d for d in docs if d is not None]
    if rest:
        resp = store.call(store.client.search, index=store.articles_alias, size=len(rest),
                           query={"ids": {"values": rest}})
        found += [article_doc(doc_article(h["_source"])) for h in resp["hits"]["hits"]]
    return [_percolated(d) for d in found]


def _percolated(doc: dict) -> dict:
    """The document as the percolator index reads it: with title and body tokens together in the
    combined fields (compile_es(combined=True)), without the fields no rule reads."""
    out = {k: v for k, v in doc.items() if k not in UNQUERIED}
    for view in ("stem", "folded", "parts"):  # parts: the compound-parts view (ingest.enrich.compounds)
        out[f"text_{view}"] = [doc.get(f"title_{view}") or "", doc.get(f"body_{view}") or ""]
    return out


def _percolate(store: ElasticsearchIndex, rules: dict[str, str], docs: list[dict], presearch: bool = True
               ) -> dict[str, list[str]]:
    """rule -> matching ids by percolation. With `presearch`, rules the batch's own tokens answer are
    not percolated, and the percolator checks only the presearcher's candidates (an `ids` filter on
    the rules index: Lucene verifies a percolator query only where the filter matches)."""
    sync_rules(store, rules)
    answered: dict[str, list[str]] = {}
    candidates: list[str] | None = None
    if presearch:
        answered, scopes = _presearch_docs(store, rules, docs)
        candidates = [_rule_id(name) for name, ids in scopes.items() if ids]
        if not candidates:
            return {name: answered[name] for name in rules if name in answered}
        # only the documents some candidate may match: the in-memory index of the percolated documents
        # is a fixed cost per request, paid per document
        wanted = {i for ids in scopes.values() for i in ids}
        docs = [d for d in docs if d["id"] in wanted]
    found = {**answered, **_percolated_rules(store, rules, docs, candidates)}
    return {name: found[name] for name in rules if name in found}


def _percolated_rules(store: ElasticsearchIndex, rules: dict[str, str], docs: list[dict],
                      candidates: list[str] | None) -> dict[str, list[str]]:
    """One percolate request over the batch (paged), restricted to the `candidates` rule ids if given."""
    out: dict[str, list[str]] = {}
    search_after = None
    query: dict = {"percolate": {"field": "query", "documents": docs}}
    if candidates is not None:
        query = {"bool": {"must": [query], "filter": [{"ids": {"values": candidates}}]}}
    while True:
        body = {"query": query, "size": PAGE, "_source": ["rule_name"], "sort": [{"rule_name": "asc"}]}
        if search_after:
            body["search_after"] = search_after
        resp = store.call(store.client.search, index=store.name("rules"), **body)
        hits = resp["hits"]["hits"]
        for h in hits:
            slots = h.get("fields", {}).get("_percolator_document_slot", [])
            if h["_source"]["rule_name"] in rules:
                out[h["_source"]["rule_name"]] = [docs[i]["id"] for i in slots]
        if len(hits) < PAGE:
            return out
        search_after = hits[-1]["sort"]


def _column(field: str, view: str) -> str:
    """The indexed field of a text field's view ("exact": title_folded, "stem": title_stem, "parts":
    title_parts), or "lang" for the article's language (presearch.document_columns)."""
    if view == "lang":
        return "lang"
    return f"{field}_{'folded' if view == 'exact' else view}"


def _presearcher(store: ElasticsearchIndex, rules: dict[str, str]) -> Presearcher:
    """The rule set's presearcher, kept while the rules stay the same."""
    digest = _rules_hash(rules)
    cached = store.rule_cache.presearch
    if cached is None or cached[0] != digest:
        cached = store.rule_cache.presearch = (digest, Presearcher(parse_rule_queries(rules), split_tokens, columns=_column))
    return cached[1]


def _candidates(store: ElasticsearchIndex, rules: dict[str, str], article_ids: list[str]
                ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(rules answered from the batch's own tokens: rule -> matching ids, rules to search: rule -> the
    batch articles it may match). Read before the outbox is flushed: no round trip for queued
    articles. When an article is found nowhere (being flushed right now) every rule is searched."""
    docs = _documents(store, article_ids)
    if set(article_ids) - {d["id"] for d in docs}:
        return {}, dict.fromkeys(rules, article_ids)
    return _presearch_docs(store, rules, docs)


def _presearch_docs(store: ElasticsearchIndex, rules: dict[str, str], docs: list[dict]
                    ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(answered: rule -> matching ids, rest: rule -> the ids it may match) for these documents."""
    ids = [d["id"] for d in docs]
    presearcher = _presearcher(store, rules)
    columns = document_columns(docs)
    answered, rest = decide(presearcher, presearcher.select(columns.tokens(), columns.everyone), columns)
    return ({name: mask_ids(mask, ids) for name, mask in answered.items()},
            {name: mask_ids(mask, ids) for name, mask in rest.items()})


def _compiled(store: ElasticsearchIndex, query: str) -> dict:
    """`_compile`, kept between batches except for queries with relative dates (`now` moves)."""
    cache = store.rule_cache.compiled
    if len(cache) > COMPILED_KEPT:
        cache = store.rule_cache.compiled = {}
    compiled = cache.get(query)
    if compiled is None:
        compiled = _compile(query)
        if "now" not in query.lower():
            cache[query] = compiled
    return compiled


def _msearch(store: ElasticsearchIndex, rules: dict[str, str], scopes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each rule in `scopes` restricted to its articles. Rules go in groups, one search per group: each
    rule a named `should` clause with its own `ids` filter, and a hit's `matched_queries` say which rules
    it matched (exact: the fetch phase checks every named clause against the hit). A group stays under
    `GROUP_BUDGET` query objects, well inside Lucene's clause limit; a group the cluster refuses anyway
    is searched again one rule per search, so no rule is skipped."""
    groups = _groups(store, rules, scopes)
    out: dict[str, list[str]] = {}
    failed: list[list[tuple[str, list[str], dict]]] = []
    for i in range(0, len(groups), GROUPS_PER_REQUEST):
        chunk = groups[i:i + GROUPS_PER_REQUEST]
        searches: list[dict] = []
        for group in chunk:
            searches += [{"index": store.articles_alias}, _group_search(group)]
        resp = store.call(store.client.msearch, searches=searches)
        for group, result in zip(chunk, resp["responses"], strict=True):
            if "error" in result or result.get("_shards", {}).get("failed"):  # refused, or a shard failed
                log.info("a grouped alert search was refused (%s); its %d rules are searched one by one",
                         str(result.get("error") or result.get("_shards"))[:200], len(group))
                failed.append(group)
                continue
            for hit in result.get("hits", {}).get("hits", []):
                for tag in hit.get("matched_queries") or ():
                    out.setdefault(group[int(tag[1:])][0], []).append(hit["_id"])
    for group in failed:
        out.update(_search_one_by_one(store, group))
    return out


def _groups(store: ElasticsearchIndex, rules: dict[str, str], scopes: dict[str, list[str]]
            ) -> list[list[tuple[str, list[str], dict]]]:
    """(rule, its articles, its compiled query) packed into groups of at most GROUP_BUDGET query objects."""
    groups: list[list[tuple[str, list[str], dict]]] = []
    size = GROUP_BUDGET
    for name, ids in scopes.items():
        if not ids:
            continue
        try:
            query = _compiled(store, rules[name])
        except QueryError as exc:  # a broken rule is skipped with a warning, as on SQLite
            log.warning("alert rule %s not evaluated: %s", name, str(exc).split("\n")[0])
            continue
        cost = json.dumps(query).count("{")
        if size + cost > GROUP_BUDGET or len(groups[-1]) >= GROUP_RULES:
            groups.append([])
            size = 0
        groups[-1].append((name, ids, query))
        size += cost
    return groups


def _group_search(group: list[tuple[str, list[str], dict]]) -> dict:
    everyone = sorted({i for _name, ids, _query in group for i in ids})
    should = [{"bool": {"must": [query], "filter": [{"ids": {"values": ids}}], "_name": f"r{j}"}}
              for j, (_name, ids, query) in enumerate(group)]
    return {"query": {"bool": {"filter": [{"ids": {"values": everyone}},
                                          {"bool": {"should": should, "minimum_should_match": 1}}]}},
            "size": len(everyone), "_source": False, "track_total_hits": False}


def _search_one_by_one(store: ElasticsearchIndex, group: list[tuple[str, list[str], dict]]) -> dict[str, list[str]]:
    """The rules of a refused group, one search each; a rule the cluster refuses is logged, not dropped silently."""
    searches: list[dict] = []
    for _name, ids, query in group:
        searches += [{"index": store.articles_alias},
                     {"query": {"bool": {"must": [query], "filter": [{"ids": {"values": ids}}]}},
                      "size": len(ids), "_source": False}]
    resp = store.call(store.client.msearch, searches=searches)
    out: dict[str, list[str]] = {}
    for (name, _ids, _query), result in zip(group, resp["responses"], strict=True):
        if "error" in result:
            log.warning("alert rule %s not evaluated: %s", name, str(result["error"])[:200])
            continue
        ids = [h["_id"] for h in result.get("hits", {}).get("hits", [])]
        if ids:
            out[name] = ids
    return out


def match_rules(store: ElasticsearchIndex, rules: dict[str, str], article_ids: list[str], presearch: bool = True
                ) -> dict[str, list[str]]:
    """rule -> matching article ids. `presearch=False` sends every rule (the reference)."""
    if not rules or not article_ids:
        return {}
    store.ensure()
    store.flush_outbox(wait=True)  # never a best-effort view: written means refreshed
    if store.percolator:
        docs = _documents(store, article_ids)
        return _percolate(store, rules, docs, presearch) if docs else {}
    article_ids = list(dict.fromkeys(article_ids))
    return _search_scoped(store, rules, article_ids, presearch)


def _search_scoped(store: ElasticsearchIndex, rules: dict[str, str], article_ids: list[str], presearch: bool = True
                   ) -> dict[str, list[str]]:
    """`_msearch` over the presearcher's candidates (or every rule), plus the rules it answered."""
    answered, scopes = (_candidates(store, rules, article_ids) if presearch
                        else ({}, dict.fromkeys(rules, article_ids)))
    found = {**answered, **_msearch(store, rules, scopes)}
    return {name: found[name] for name in rules if name in found}


def match_batch(store: ElasticsearchIndex, rules: dict[str, str], articles: list) -> tuple[dict[str, list[str]], set[str]]:
    """(matches, ids evaluated) for a freshly stored batch; see the module note."""
    ids = {a.id for a in articles}
    if not rules or not articles:
        return {}, ids
    store.ensure()
    if store.percolator:  # the batch's own documents, shaped as the percolator index reads them
        return _percolate(store, rules, [_percolated(article_doc(a)) for a in articles]), ids
    ready = store.searchable(articles)
    return (_search_scoped(store, rules, sorted(ready)) if ready else {}), ready
