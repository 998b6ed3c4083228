"""Alert rule evaluation on SQLite: each rule's compiled query restricted to the new batch."""

from __future__ import annotations

from ingest.store.base import SearchRequest
from ingest.store.sqlite_filters import request_condition


def match_rules(store, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
    if not article_ids:
        return {}
    out: dict[str, list[str]] = {}
    for name, query in rules.items():
        cond, params = request_condition(SearchRequest(query=query, ids=article_ids))
        ids = [r["id"] for r in store.query(f"SELECT a.id FROM articles a WHERE {cond}", params)]
        if ids:
            out[name] = ids
    return out
