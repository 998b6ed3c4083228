"""sources: the feed list, feed parsing, polling state and scheduling.

Names are resolved lazily (PEP 562) so that reading the feed list does not import feedparser:
the CLI's read-only commands start fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "add_feed": "feedlist", "load_feeds": "feedlist", "parse_opml": "feedlist", "remove_feed": "feedlist",
    "save_feeds": "feedlist", "to_opml": "feedlist",
    "NotAFeed": "parse", "discover_feeds": "parse", "parse_feed": "parse",
    "domain_of": "urls", "normalize_url": "urls",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ingest.sources' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ingest.sources.{module}"), name)
