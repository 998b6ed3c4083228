"""fetch: HTTP with politeness and safety caps.

The fetcher is handed to the poller (`ingest.sources.poller.FeedFetcher` is the one method the
poller needs), so sources never imports this later stage.
"""

from ingest.fetch.client import Fetcher
from ingest.fetch.netguard import NetworkGuard
from ingest.fetch.politeness import HostLimiter
from ingest.models import parse_retry_after
from ingest.sources.urls import host_key

__all__ = ["Fetcher", "HostLimiter", "NetworkGuard", "host_key", "parse_retry_after"]
