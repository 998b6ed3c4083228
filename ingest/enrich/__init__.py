"""enrich: language, keywords, dates, watch-term mentions, duplicates and syndication clusters,
compound parts, places and watchlist entities. `analysis.py` is what the pipeline runs per article
(in the workers), `clusters.py` assigns story clusters per stored batch.

Names are resolved lazily (PEP 562): the stores import `ingest.enrich.compounds` for the parts view,
and that must not pull in datasketch and scipy for commands that only read (`status`, `search`).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "published_with_precision": "dates", "reconcile_published": "dates",
    "Clusterer": "dedupe", "Signature": "dedupe", "content_hash": "dedupe", "minhash": "dedupe",
    "similarity": "dedupe", "to_bytes": "dedupe",
    "extract_keywords": "keywords",
    "declared_language": "language", "reconcile_language": "language",
    "count_mentions": "mentions",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingest.enrich' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ingest.enrich.{module}"), name)
