"""Several ingesters split the feed list: every feed in exactly one shard, stable under additions."""

from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.sources.shard import in_shard, parse_shard


def test_shards_partition_feeds_and_are_stable():
    urls = [f"https://site{i}.example/feed.xml" for i in range(300)]
    owners = {u: [i for i in (1, 2, 3) if in_shard(u, i, 3)] for u in urls}
    assert all(len(o) == 1 for o in owners.values())
    sizes = [sum(1 for o in owners.values() if o == [i]) for i in (1, 2, 3)]
    assert min(sizes) > 60  # roughly even
    more = urls + [f"https://new{i}.example/rss" for i in range(50)]
    assert all([i for i in (1, 2, 3) if in_shard(u, i, 3)] == owners[u] for u in more[:300])


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1-3"])
def test_bad_shard_is_a_clear_error(text):
    with pytest.raises(IngestError, match="--shard"):
        parse_shard(text)
