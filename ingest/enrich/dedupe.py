"""Duplicates and syndication clusters.

- `content_hash`: exact body identity (same text under two URLs of one site is stored once);
- `Clusterer`: MinHash over word 4-shingles with an LSH index; near-duplicates across
  outlets share a `cluster_id` (the id of the first article seen in the cluster), and the
  earliest published copy is the original.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from ingest.text import fold, tokens

NUM_PERM = 64
SHINGLE = 4
SCHEME = "affine32"  # datasketch >= 2: stored signatures must be read back with the scheme that made them


def content_hash(text: str) -> str:
    return hashlib.sha1(" ".join(fold(t) for t in tokens(text)).encode("utf-8")).hexdigest()


def minhash(text: str) -> MinHash:
    words = [fold(t) for t in tokens(text)]
    m = MinHash(num_perm=NUM_PERM, seed=7, scheme=SCHEME)
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    m.update_batch([s.encode("utf-8") for s in shingles if s])
    return m


def to_bytes(m: MinHash) -> bytes:
    return m.hashvalues.astype(np.uint64).tobytes()


def from_bytes(data: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=7, hashvalues=np.frombuffer(data, dtype=np.uint64), scheme=SCHEME)


@dataclass(slots=True)
class ClusterMember:
    id: str
    domain: str
    published: object
    cluster_id: str


class Clusterer:
    """In-memory LSH over recent articles; fed from the store at start, updated as articles arrive."""

    def __init__(self, threshold: float = 0.6):
        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.members: dict[str, ClusterMember] = {}
        self.hashes: dict[str, MinHash] = {}

    def add_existing(self, article_id: str, domain: str, published, cluster_id: str | None, signature: bytes) -> None:
        if article_id in self.members:
            return
        m = from_bytes(signature)
        self.lsh.insert(article_id, m)
        self.hashes[article_id] = m
        self.members[article_id] = ClusterMember(article_id, domain, published, cluster_id or article_id)

    def assign(self, article_id: str, domain: str, published, m: MinHash) -> str:
        """Cluster id for a new article: that of its most similar earlier article, else its own id."""
        best, best_sim = None, 0.0
        for other in self.lsh.query(m):
            if other == article_id:
                continue
            sim = m.jaccard(self.hashes[other])
            if sim >= self.threshold and sim > best_sim:
                best, best_sim = other, sim
        cluster_id = self.members[best].cluster_id if best else article_id
        if article_id not in self.members:
            self.lsh.insert(article_id, m)
            self.hashes[article_id] = m
        self.members[article_id] = ClusterMember(article_id, domain, published, cluster_id)
        return cluster_id

    def cluster_of(self, cluster_id: str) -> list[ClusterMember]:
        return [c for c in self.members.values() if c.cluster_id == cluster_id]
