"""enrich: language, keywords, dates, watch-term mentions, duplicates and syndication clusters."""

from ingest.enrich.dates import published_with_precision, reconcile_published
from ingest.enrich.dedupe import Clusterer, Signature, content_hash, minhash, similarity, to_bytes
from ingest.enrich.keywords import extract_keywords
from ingest.enrich.language import declared_language, reconcile_language
from ingest.enrich.mentions import count_mentions

__all__ = ["Clusterer", "Signature", "content_hash", "count_mentions", "declared_language", "extract_keywords",
           "minhash", "published_with_precision", "reconcile_language", "reconcile_published", "similarity", "to_bytes"]
