"""Dashboard aggregates on the SQLite store: histograms, facets, per-source extraction quality."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median

from ingest.store.base import FACET_FIELDS, SearchRequest, SourceQuality
from ingest.store.dates import from_iso
from ingest.store.sqlite.filters import request_condition

BUCKETS = {  # SQLite expressions truncating an ISO timestamp to the bucket start
    "hour": "substr({c}, 1, 13) || ':00:00Z'",
    "day": "substr({c}, 1, 10) || 'T00:00:00Z'",
    "week": "strftime('%Y-%m-%dT00:00:00Z', {c}, 'weekday 1', '-7 days')",
    "month": "substr({c}, 1, 7) || '-01T00:00:00Z'",
}


def histogram(store, request: SearchRequest, interval: str = "day", field: str = "published"
              ) -> list[tuple[datetime, int]]:

    if interval not in BUCKETS:
        raise ValueError(f"interval must be one of {', '.join(BUCKETS)}")
    if field not in ("published", "indexed"):
        raise ValueError("field must be published or indexed")
    cond, params = request_condition(request)
    bucket = BUCKETS[interval].format(c=f"a.{field}")
    rows = store.query(f"SELECT {bucket} AS b, count(*) AS n FROM articles a WHERE {cond} AND a.{field} IS NOT NULL "
                       f"GROUP BY b ORDER BY b", params)
    return [(when, r["n"]) for r in rows if (when := from_iso(r["b"])) is not None]


def facet(store, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]:
    if field not in FACET_FIELDS:
        raise ValueError(f"field must be one of {', '.join(FACET_FIELDS)}")
    cond, params = request_condition(request)
    if field in ("tags", "keywords", "places", "entities"):
        sql = (f"SELECT j.value AS v, count(*) AS n FROM articles a, json_each(a.{field}) j WHERE {cond} "
               f"GROUP BY lower(j.value) ORDER BY n DESC, v LIMIT ?")
    else:
        sql = (f"SELECT a.{field} AS v, count(*) AS n FROM articles a WHERE {cond} AND a.{field} IS NOT NULL "
               f"GROUP BY a.{field} ORDER BY n DESC, v LIMIT ?")
    rows = store.query(sql, params + [size])
    if field == "is_original":
        return [("original" if r["v"] else "copy", r["n"]) for r in rows]
    return [(str(r["v"]), r["n"]) for r in rows]


def source_quality(store) -> list[SourceQuality]:
    rows = store.query("SELECT source, extraction, length(body) AS chars, boilerplate_chars, access FROM articles")
    by_source: dict[str, list] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r)
    out = []
    for source, items in sorted(by_source.items()):
        kept = sum(i["chars"] for i in items)
        stripped = sum(i["boilerplate_chars"] for i in items)
        out.append(SourceQuality(
            source=source, articles=len(items),
            fallback_share=round(sum(1 for i in items if i["extraction"] != "page") / len(items), 3),
            median_body_chars=int(median(i["chars"] for i in items)),
            boilerplate_share=round(stripped / (kept + stripped), 3) if kept + stripped else 0.0,
            access=dict(sorted(Counter(i["access"] or "unknown" for i in items).items())),
        ))
    return out
