"""The cluster layout: index templates, the write alias with rollover, and the side indices; idempotent
(`ingest es setup`). Also the document shape: an Article as indexed (`article_doc`) and back (`doc_article`).

Shared by Elasticsearch and OpenSearch: client calls are written in the Elasticsearch 9 client's keyword
style (the OpenSearch adapter's client takes the same), and errors are read through the store's seam
(`index.api_status`), never by the client library's exception classes.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from ingest.enrich.compounds import parts_text
from ingest.models import Article
from ingest.store.dates import from_iso, to_iso
from ingest.text import folded_text, stem_text

ARTICLE_FIELDS = [f.name for f in fields(Article)]


def text_mapping() -> tuple[dict, dict]:
    """(analysis settings, field properties) shared by the article index and the percolator index."""
    from ingest.store.elasticsearch.query import ES_TEXT_MAPPING

    mapping: dict = copy.deepcopy(ES_TEXT_MAPPING)
    return mapping.get("settings", {}), mapping.get("mappings", {}).get("properties", mapping.get("properties", {}))


def has_analyzer(store, name: str) -> bool:
    try:
        store.client.indices.analyze(analyzer=name, text="probe")
        return True
    except Exception as exc:
        if store.api_status(exc) is None:
            raise
        return False


def article_properties(store=None) -> tuple[dict, dict]:
    settings, props = text_mapping()
    props = dict(props)
    keyword = {"type": "keyword"}
    for name in ("id", "url", "canonical_url", "source", "domain", "language", "feed_urls", "content_hash",
                 "cluster_id", "extraction", "guid", "access", "published_precision", "fetched_url", "published_tz"):
        props.setdefault(name, keyword)
    props.setdefault("published", {"type": "date"})
    props.setdefault("indexed", {"type": "date"})
    props.setdefault("is_original", {"type": "boolean"})
    props.setdefault("author", {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}})
    props.setdefault("captions", {"type": "text"})
    props.setdefault("summary", {"type": "text", "index": False})
    for name in ("boilerplate_chars", "raw_chars", "body_chars"):
        props.setdefault(name, {"type": "integer"})
    props.setdefault("mentions", {"type": "nested", "properties": {"term": keyword, "count": {"type": "integer"}}})
    # Language-aware subfields for people who query the index directly (Kibana), where the cluster has
    # the language analyzers (the official image does; the minimal test distribution does not).
    # The query language itself never needs them: it uses the *_stem fields made in Python.
    for lang, analyzer in (("de", "german"), ("en", "english")):
        if store is not None and has_analyzer(store, analyzer):
            for name in ("title", "body"):
                field = dict(props.get(name, {"type": "text"}))
                field.setdefault("fields", {})[lang] = {"type": "text", "analyzer": analyzer}
                props[name] = field
    return settings, props


ADDED_FIELDS = ("access", "published_precision", "fetched_url", "published_tz")  # issue 13


def ensure_indices(store) -> dict:
    client, prefix = store.client, store.prefix
    settings, props = article_properties(store)
    created: dict[str, bool] = {}
    # Every bulk write ends with an explicit refresh (alerts and "new since" need the batch searchable at
    # once), so the periodic refresh would only add small segments to merge while indexing.
    index_settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "30s", **settings}
    client.indices.put_index_template(
        name=f"{prefix}-articles", index_patterns=[f"{prefix}-articles-*"], priority=200,
        template={"settings": index_settings, "mappings": {
            "dynamic": "false", "properties": props,
            # The analysed copies made in Python are indexed, not stored: _source keeps the article
            # once, not three times (a third of the bytes to write, compress and merge).
            "_source": {"excludes": ["*_folded", "*_stem", "*_parts"]}}})
    alias = store.articles_alias
    _add_new_fields(store, props)
    if not client.indices.exists_alias(name=alias):
        try:
            client.indices.create(index=f"{prefix}-articles-000001",
                                  aliases={alias: {"is_write_index": True}})
            created[alias] = True
        except Exception as exc:
            if store.api_status(exc) != 400 or "already_exists" not in str(exc):
                raise
    else:  # indices made before these fields existed get them (adding a field to a live mapping is allowed)
        client.indices.put_mapping(index=alias, properties={k: props[k] for k in ADDED_FIELDS})
    keyword = {"type": "keyword"}
    side = {
        "blocks": {"domain": keyword, "fingerprint": keyword, "text": {"type": "text"}, "status": keyword,
                   "first_seen": {"type": "date"}, "last_seen": {"type": "date"}},
        "block-articles": {"domain": keyword, "fingerprint": keyword, "article_id": keyword, "seen": {"type": "date"}},
        "alerts": {"rule": keyword, "story": keyword, "article_ids": keyword, "sources": keyword,
                   "title": {"type": "text"}, "url": keyword, "created": {"type": "date"},
                   "delivered": {"type": "date"}, "attempts": {"type": "integer"},
                   "last_error": {"type": "text", "index": False}, "channels_done": keyword},
    }
    for kind, properties in side.items():
        name = store.name(kind)
        if client.indices.exists(index=name):
            continue
        try:
            client.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0,
                                                        **(settings if kind == "rules" else {})},
                                  mappings={"dynamic": "false", "properties": properties})
            created[name] = True
        except Exception as exc:
            if store.api_status(exc) is None or "already_exists" not in str(exc):
                raise
    percolator = _ensure_rules_index(store, props, created)
    ilm = store.try_lifecycle()
    return {"created": sorted(created), "alias": alias, "ilm": ilm, "percolator": percolator}


# Added after the first release: existing indices get them here. The token view needs a re-index pass;
# places and entities are filled by `ingest entities apply`.
NEW_FIELDS = ("title_parts", "body_parts", "places", "entities")
REINDEX_FIELDS = ("title_parts", "body_parts")


def _add_new_fields(store, props: dict) -> None:
    """Indices made before a token view existed get its mapping, and a re-index pass is marked pending
    (`ingest reindex` fills the view in from the stored text)."""
    client = store.client
    try:
        mappings = client.indices.get_mapping(index=f"{store.prefix}-articles-*,{store.name('rules')}",
                                              ignore_unavailable=True, allow_no_indices=True)
    except Exception as exc:  # noqa: BLE001 - the client's ApiError (either engine): nothing to upgrade
        if store.api_status(exc) is None:
            raise
        return
    missing = {name: [f for f in NEW_FIELDS if f not in m["mappings"].get("properties", {})]
               for name, m in mappings.items()}
    stale = [name for name, fields in missing.items() if fields]
    if not stale:
        return
    client.indices.put_mapping(index=",".join(stale), properties={f: props[f] for f in NEW_FIELDS})
    if any(name != store.name("rules") and set(REINDEX_FIELDS) & set(missing[name]) for name in stale):
        store.mark_reindex_pending()


def _ensure_rules_index(store, props: dict, created: dict) -> bool:
    """Alert rules as percolator queries where the cluster has the percolator module."""
    from ingest.store.elasticsearch.query import COMBINED_MAPPING

    client, name = store.client, store.name("rules")
    if client.indices.exists(index=name):
        mapping = client.indices.get_mapping(index=name)
        percolator = any(m["mappings"].get("properties", {}).get("query", {}).get("type") == "percolator"
                         for m in mapping.values())
        if percolator:  # an index made before the combined fields existed gets them (additive)
            client.indices.put_mapping(index=name, properties=COMBINED_MAPPING)
        return percolator
    try:
        # Each shard percolates the batch against its share of the rules: more shards, more cores per batch.
        client.indices.create(index=name, settings={"number_of_shards": store.conf.rules_shards,
                                                    "number_of_replicas": 0},
                              mappings={"dynamic": "false", "properties": {
                                  **props, **COMBINED_MAPPING, "query": {"type": "percolator"},
                                  "rule_name": {"type": "keyword"}, "rule_query": {"type": "keyword"}}})
        created[name] = True
        return True
    except Exception as exc:
        if store.api_status(exc) is None or ("percolator" not in str(exc) and "already_exists" not in str(exc)):
            raise
        if "already_exists" in str(exc):  # made meanwhile by another ingester: read what it made
            return _ensure_rules_index(store, props, created)
        return False


def try_ilm(client, prefix: str, max_docs: int, max_age: str) -> bool:
    """Attach an ILM rollover policy where the cluster has ILM (x-pack); else `ingest es rollover` does it."""
    from elasticsearch import ApiError

    try:
        client.ilm.put_lifecycle(name=f"{prefix}-articles", policy={"phases": {"hot": {"actions": {
            "rollover": {"max_docs": max_docs, "max_age": max_age}}}}})
    except ApiError:
        return False
    except Exception:  # noqa: BLE001 - no ILM API on this distribution
        return False
    client.indices.put_settings(index=f"{prefix}-articles-*", settings={
        "index.lifecycle.name": f"{prefix}-articles", "index.lifecycle.rollover_alias": f"{prefix}-articles"})
    return True


def rollover(store, max_docs: int | None = None, max_age: str | None = None, force: bool = False) -> dict:
    es = store.conf
    conditions = {} if force else {"max_docs": max_docs or es.rollover_max_docs, "max_age": max_age or es.rollover_max_age}
    resp = store.client.indices.rollover(alias=store.articles_alias, conditions=conditions or None)
    return {"rolled_over": resp["rolled_over"], "old_index": resp["old_index"], "new_index": resp["new_index"]}


def article_doc(a: Article) -> dict:
    """The indexed document: the article plus the precomputed stem fields the query compiler uses."""
    doc = {name: getattr(a, name) for name in ARTICLE_FIELDS}
    doc["published"] = to_iso(a.published)
    doc["indexed"] = to_iso(a.indexed)
    doc["title_folded"] = folded_text(a.title)
    doc["body_folded"] = folded_text(a.body)
    doc["title_stem"] = stem_text(a.title, a.language)
    doc["body_stem"] = stem_text(a.body, a.language)
    doc["title_parts"] = parts_text(a.title, a.language)
    doc["body_parts"] = parts_text(a.body, a.language)
    doc["body_chars"] = len(a.body)
    doc["mentions"] = [{"term": k, "count": v} for k, v in a.mentions.items()]
    return doc


def doc_article(doc: dict) -> Article:
    data: dict[str, Any] = {k: doc.get(k) for k in ARTICLE_FIELDS}
    data["published"] = from_iso(doc.get("published"))
    data["indexed"] = from_iso(doc.get("indexed")) or datetime.now(UTC)
    data["mentions"] = {m["term"]: m["count"] for m in doc.get("mentions") or []}
    for key in ("feed_urls", "tags", "keywords", "captions", "places", "entities"):
        data[key] = data[key] or []
    for key, default in (("title", ""), ("body", ""), ("source", ""), ("domain", ""), ("content_hash", ""),
                         ("extraction", "page"), ("boilerplate_chars", 0), ("raw_chars", 0), ("is_original", True),
                         ("access", "unknown")):
        if data[key] is None:
            data[key] = default
    return Article(**data)
