"""enrich: language, keywords, dates, watch-term mentions, duplicates and syndication clusters."""

from ingest.enrich.dates import reconcile_published
from ingest.enrich.dedupe import Clusterer, content_hash, minhash, to_bytes
from ingest.enrich.keywords import extract_keywords
from ingest.enrich.language import reconcile_language
from ingest.enrich.mentions import count_mentions

__all__ = ["Clusterer", "content_hash", "count_mentions", "extract_keywords", "minhash",
           "reconcile_language", "reconcile_published", "to_bytes"]
