"""Index templates, the write alias with rollover, and the side indices. Idempotent (`ingest es setup`)."""

from __future__ import annotations

import copy

from elasticsearch import ApiError


def text_mapping() -> tuple[dict, dict]:
    """(analysis settings, field properties) shared by the article index and the percolator index."""
    from ingest.store.es_query import ES_TEXT_MAPPING

    mapping = copy.deepcopy(ES_TEXT_MAPPING)
    return mapping.get("settings", {}), mapping.get("mappings", {}).get("properties", mapping.get("properties", {}))


def has_analyzer(client, name: str) -> bool:
    try:
        client.indices.analyze(analyzer=name, text="probe")
        return True
    except ApiError:
        return False


def article_properties(client=None) -> tuple[dict, dict]:
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
        if client is not None and has_analyzer(client, analyzer):
            for name in ("title", "body"):
                field = dict(props.get(name, {"type": "text"}))
                field.setdefault("fields", {})[lang] = {"type": "text", "analyzer": analyzer}
                props[name] = field
    return settings, props


ADDED_FIELDS = ("access", "published_precision", "fetched_url", "published_tz")  # issue 13


def ensure_indices(store) -> dict:
    client, prefix = store.client, store.prefix
    settings, props = article_properties(client)
    es = store.settings.elasticsearch
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
            "_source": {"excludes": ["*_folded", "*_stem"]}}})
    alias = store.articles_alias
    if not client.indices.exists_alias(name=alias):
        try:
            client.indices.create(index=f"{prefix}-articles-000001",
                                  aliases={alias: {"is_write_index": True}})
            created[alias] = True
        except ApiError as exc:
            if exc.meta.status != 400 or "already_exists" not in str(exc):
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
        except ApiError as exc:
            if "already_exists" not in str(exc):
                raise
    store.percolator = _ensure_rules_index(store, props, created)
    ilm = _try_ilm(client, prefix, es.rollover_max_docs, es.rollover_max_age)
    return {"created": sorted(created), "alias": alias, "ilm": ilm, "percolator": store.percolator}


def _ensure_rules_index(store, props: dict, created: dict) -> bool:
    """Alert rules as percolator queries where the cluster has the percolator module."""
    client, name = store.client, store.name("rules")
    if client.indices.exists(index=name):
        mapping = client.indices.get_mapping(index=name)
        return any(m["mappings"].get("properties", {}).get("query", {}).get("type") == "percolator"
                   for m in mapping.values())
    try:
        client.indices.create(index=name, settings={"number_of_shards": 1, "number_of_replicas": 0},
                              mappings={"dynamic": "false", "properties": {
                                  **props, "query": {"type": "percolator"}, "rule_name": {"type": "keyword"},
                                  "rule_query": {"type": "keyword"}}})
        created[name] = True
        return True
    except ApiError as exc:
        if "percolator" not in str(exc) and "already_exists" not in str(exc):
            raise
        return False


def _try_ilm(client, prefix: str, max_docs: int, max_age: str) -> bool:
    """Attach an ILM rollover policy where the cluster has ILM (x-pack); else `ingest es rollover` does it."""
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
    es = store.settings.elasticsearch
    conditions = {} if force else {"max_docs": max_docs or es.rollover_max_docs, "max_age": max_age or es.rollover_max_age}
    resp = store.client.indices.rollover(alias=store.articles_alias, conditions=conditions or None)
    return {"rolled_over": resp["rolled_over"], "old_index": resp["old_index"], "new_index": resp["new_index"]}
