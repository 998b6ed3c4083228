"""fetch: HTTP with politeness and safety caps."""

from ingest.fetch.client import Fetcher, host_key, parse_retry_after
from ingest.fetch.netguard import NetworkGuard
from ingest.fetch.politeness import HostLimiter

__all__ = ["Fetcher", "HostLimiter", "NetworkGuard", "host_key", "parse_retry_after"]
