"""sources: the feed list, feed parsing, polling state and scheduling."""

from ingest.sources.feedlist import add_feed, load_feeds, parse_opml, remove_feed, save_feeds, to_opml
from ingest.sources.parse import NotAFeed, discover_feeds, parse_feed
from ingest.sources.urls import domain_of, normalize_url

__all__ = ["NotAFeed", "add_feed", "discover_feeds", "domain_of", "load_feeds", "normalize_url", "parse_feed",
           "parse_opml", "remove_feed", "save_feeds", "to_opml"]
