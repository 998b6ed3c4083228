"""Splitting the feed list between several ingesters: `ingest run --shard 2/3`.

A feed belongs to shard i of n by a stable hash of its URL, so every ingester computes the same
split without talking to the others, and adding a feed moves no other feed.
"""

from __future__ import annotations

import hashlib

from ingest.errors import IngestError


def parse_shard(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); shards are numbered from 1."""
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        raise IngestError(f"--shard {text!r}: expected I/N, e.g. 1/3") from None
    if not 1 <= index <= count:
        raise IngestError(f"--shard {text!r}: I must be between 1 and N")
    return index, count


def in_shard(url: str, index: int, count: int) -> bool:
    digest = hashlib.sha1(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1
