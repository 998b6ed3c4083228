"""Duplicates and syndication clusters.

- `content_hash`: exact body identity (the same text under two URLs of one site is stored once).
- `minhash`: a `Signature` of the article text: MinHash over word `SHINGLE`-shingles of its
  content lines (credits, promos and "Related articles" lists left out, see `junk.py`), plus the
  number of distinct shingles and of words. The shingles are hashed in one numpy pass over the
  joined text's bytes (`shingle_hashes`: polynomial hash by prefix sums + MurmurHash3's finalizer,
  64 bits; the top 32 feed datasketch's "affine32" permutations), not one SHA-1 call each (~700 per
  article: 2.8 -> 1.0 ms with the cheaper text preparation). Stored signatures carry `HASH_VERSION`;
  those of the SHA-1 era (`stale`) are made again from the stored text when clusters load them
  (`clusters.py`), since hashes of two functions cannot be compared.
- `similarity`: estimated containment, |A ∩ B| / min(|A|, |B|), from the MinHash Jaccard estimate
  and the two set sizes. Containment, not Jaccard, because outlets trim agency copy: a copy with
  the last third cut shares almost all of its shingles with the original but only ~60 % of the
  union. Texts of fewer than `MIN_WORDS` content words score 0: short items of one outlet are
  similar through its boilerplate, not through their stories.
- `Clusterer`: an LSH index over recent signatures. A new article joins the cluster of its most
  similar earlier article when that similarity reaches the threshold (`enrich.cluster_threshold`,
  measured with `bench/enrich.py --thresholds`), else it starts its own cluster; the earliest
  published member is the original.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from ingest.enrich.junk import folded_content_lines
from ingest.limits import bounded
from ingest.text import fold, tokens

NUM_PERM = 128
SHINGLE = 4
SEED = 7
SCHEME = "affine32"     # datasketch >= 2: must be named when a MinHash is rebuilt from stored values
MAX_HASH32 = (1 << 32) - 1
HASH_VERSION = 2        # 1 (no marker): SHA-1 per shingle through datasketch; 2: `shingle_hashes`
MIN_WORDS = 50          # fewer content words: never clustered
LSH_THRESHOLD = 0.1     # candidate retrieval (Jaccard): a copy at containment 0.5 and twice the length has
                        # J = 0.2, which bands tuned for 0.1 return 93 % of the time (for 0.2: 68 %)


def content_hash(text: str) -> str:
    """SHA-1 of the folded tokens, space-joined (an ASCII text's tokens are those of its lower-cased form)."""
    words = tokens(text.lower()) if text.isascii() else [fold(t) for t in tokens(text)]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


@dataclass(slots=True)
class Signature:
    minhash: MinHash
    size: int = 0    # distinct shingles (0: unknown, signature from an older version)
    words: int = 0   # content words

    @property
    def clusterable(self) -> bool:
        return self.words >= MIN_WORDS or (self.size == 0 and self.words == 0)


def _folded_tokens(line: str, folded: str) -> list[str]:
    """`fold` of each token of the line; an ASCII line's tokens are those of its folded form."""
    return tokens(folded) if line.isascii() else [fold(t) for t in tokens(line)]


def _content_words(text: str) -> list[str]:
    """The folded tokens of the text's content lines, in order."""
    return [w for line, folded in folded_content_lines(text) for w in _folded_tokens(line, folded)]


def shingles(text: str) -> tuple[set[str], int]:
    """Word shingles of the content lines, and the number of content words."""
    words = _content_words(text)
    return {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1)) if words}, len(words)


# -- shingle hashing: one vectorised pass over the text's bytes -------------------------------------

_MASK64 = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15                       # odd: invertible modulo 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_LENGTH_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_SPACE = 0x20


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: every output bit depends on every input bit."""
    shift, m1, m2 = _FMIX64
    h = h ^ (h >> shift)
    h = h * m1
    h = h ^ (h >> shift)
    h = h * m2
    return h ^ (h >> shift)


def _powers(base: int, n: int) -> np.ndarray:
    """base^0 .. base^(n-1) modulo 2^64."""
    steps = np.full(n, base, dtype=np.uint64)
    steps[0] = 1
    return np.cumprod(steps, dtype=np.uint64)


def shingle_hashes(words: list[str]) -> np.ndarray:
    """64-bit hashes of the distinct word `SHINGLE`-shingles (" ".join of the words, UTF-8), sorted.

    Every shingle is a slice of the joined text's bytes, so all of them are hashed at once: a polynomial
    hash of each slice from prefix sums (modulo 2^64: sum b[k] * BASE^(end-1-k)), plus its length,
    through MurmurHash3's finalizer. Words hold no spaces (they are tokens), so the spaces of the
    joined text are the word boundaries. Replaces one SHA-1 call per shingle in Python (~700 per article).
    """
    if not words:
        return np.zeros(0, dtype=np.uint64)
    data = np.frombuffer(" ".join(words).encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    n = len(data)
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(data * _powers(_BASE_INV, n), dtype=np.uint64, out=prefix[1:])
        spaces = np.flatnonzero(data == _SPACE)
        starts = np.concatenate(([0], spaces + 1))
        ends = np.concatenate((spaces, [n]))
        k = max(1, len(words) - SHINGLE + 1)
        last = np.minimum(np.arange(k) + SHINGLE - 1, len(words) - 1)
        a, e = starts[:k], ends[last]
        poly = (prefix[e] - prefix[a]) * _powers(_BASE, n)[e - 1]
        return np.unique(_fmix64(poly + (e - a).astype(np.uint64) * _LENGTH_MIX))


@lru_cache(maxsize=1)
def _permutations():
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _new(hashvalues=None) -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations(), hashvalues=hashvalues)


def minhash(text: str) -> Signature:
    """The signature of the text's first `MAX_TEXT_CHARS` characters (copies share their beginnings):
    per permutation (a, b), the least a * h + b modulo 2^32 over the shingles' 32-bit hashes h (the
    top half of `shingle_hashes`), as datasketch's "affine32" scheme does with its own hash function."""
    words = _content_words(bounded(text))
    hashes = shingle_hashes(words)
    a, b = _permutations()
    values = np.full(NUM_PERM, MAX_HASH32, dtype=np.uint32)
    if len(hashes):
        h = (hashes >> np.uint64(32)).astype(np.uint32).reshape(-1, 1)
        with np.errstate(over="ignore"):
            values = (h * a + b).min(axis=0).astype(np.uint32)
    return Signature(_new(values), len(hashes), len(words))


def jaccard(a: Signature, b: Signature) -> float:
    return float(a.minhash.jaccard(b.minhash))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated containment of the smaller shingle set in the larger; 0 if either text is short."""
    if not (a.clusterable and b.clusterable):
        return 0.0
    j = jaccard(a, b)
    if not a.size or not b.size:
        return j  # sizes unknown (older signature): Jaccard is all there is
    shared = j * (a.size + b.size) / (1 + j)
    return min(1.0, shared / min(a.size, b.size))


def to_bytes(sig: Signature) -> bytes:
    """Hash values, then shingle and word counts and `HASH_VERSION`, as little-endian uint64."""
    extra = np.array([sig.size, sig.words, HASH_VERSION], dtype=np.uint64)
    return np.concatenate([sig.minhash.hashvalues.astype(np.uint64), extra]).astype("<u8").tobytes()


def stale(data: bytes) -> bool:
    """A signature of an earlier hash function (SHA-1 per shingle: `NUM_PERM` values, or those plus the
    two counts): valid, but comparable only after it is made again from the article's text."""
    return len(data) in (8 * NUM_PERM, 8 * (NUM_PERM + 2))


def from_bytes(data: bytes) -> Signature | None:
    """None for a signature that is not comparable with today's: another number of permutations, another
    hash function (`stale`: make it again with `minhash`), or a pre-2.0 datasketch's 64-bit values."""
    values = np.frombuffer(data, dtype="<u8")
    if len(values) != NUM_PERM + 3 or int(values[NUM_PERM + 2]) != HASH_VERSION:
        return None
    hashes, size, words = values[:NUM_PERM], int(values[NUM_PERM]), int(values[NUM_PERM + 1])
    if int(hashes.max(initial=0)) >> 32:
        return None
    return Signature(_new(hashes.astype(np.uint32)), size, words)


@dataclass(slots=True)
class ClusterMember:
    id: str
    domain: str
    published: datetime | None
    cluster_id: str


FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def _when(value: datetime | None) -> datetime:
    if value is None:
        return FAR_FUTURE
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Clusterer:
    """In-memory LSH over recent articles; fed from the store at start, updated as articles arrive."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=min(LSH_THRESHOLD, threshold), num_perm=NUM_PERM)
        self.members: dict[str, ClusterMember] = {}
        self.signatures: dict[str, Signature] = {}
        self.by_cluster: dict[str, set[str]] = {}
        self.pruned_at = 0.0

    def _set_member(self, member: ClusterMember) -> None:
        old = self.members.get(member.id)
        if old is not None:
            self.by_cluster.get(old.cluster_id, set()).discard(member.id)
        self.members[member.id] = member
        self.by_cluster.setdefault(member.cluster_id, set()).add(member.id)

    def _index(self, article_id: str, sig: Signature) -> None:
        if article_id in self.signatures or not sig.clusterable:
            return
        self.lsh.insert(article_id, sig.minhash)
        self.signatures[article_id] = sig

    def add_existing(self, article_id: str, domain: str, published, cluster_id: str | None, signature: bytes) -> None:
        if article_id in self.members:
            return
        sig = from_bytes(signature)
        if sig is None:
            return
        self._index(article_id, sig)
        self._set_member(ClusterMember(article_id, domain, published, cluster_id or article_id))

    def best_match(self, article_id: str, sig: Signature) -> tuple[str | None, float]:
        """The most similar indexed article at or above the threshold, and its similarity."""
        if not sig.clusterable:
            return None, 0.0
        best, best_sim = None, 0.0
        for other in self.lsh.query(sig.minhash):
            if other == article_id:
                continue
            sim = similarity(sig, self.signatures[other])
            if sim >= self.threshold and (sim > best_sim or (sim == best_sim and best is not None and other < best)):
                best, best_sim = other, sim
        return best, best_sim

    def assign(self, article_id: str, domain: str, published, sig: Signature) -> str:
        """Cluster id for an article: that of its most similar earlier article, else its own id.
        Short texts (< MIN_WORDS content words) always get their own id."""
        known = self.members.get(article_id)
        best, _ = self.best_match(article_id, sig)
        if best is not None:
            cluster_id = self.members[best].cluster_id
        elif known is not None:
            cluster_id = known.cluster_id  # re-stored: keep its cluster
        else:
            cluster_id = article_id
        self._index(article_id, sig)
        self._set_member(ClusterMember(article_id, domain, published, cluster_id))
        return cluster_id

    def cluster_of(self, cluster_id: str) -> list[ClusterMember]:
        return [self.members[i] for i in sorted(self.by_cluster.get(cluster_id, ()))]

    def original_of(self, cluster_id: str) -> str | None:
        """The earliest published member; ties go to the article that started the cluster, then by id."""
        members = self.cluster_of(cluster_id)
        if not members:
            return None
        return min(members, key=lambda m: (_when(m.published), m.id != cluster_id, m.id)).id

    def forget_before(self, cutoff: datetime, min_interval: float = 0.0) -> int:
        """Drop members published before `cutoff`, so a long-running daemon keeps the window a restart
        loads from the store; at most once per `min_interval` seconds (it walks every member)."""
        now = time.monotonic()
        if min_interval and now - self.pruned_at < min_interval:
            return 0
        self.pruned_at = now
        old = [m.id for m in self.members.values() if m.published is not None and _when(m.published) < cutoff]
        for article_id in old:
            member = self.members.pop(article_id)
            self.by_cluster.get(member.cluster_id, set()).discard(article_id)
            if not self.by_cluster.get(member.cluster_id):
                self.by_cluster.pop(member.cluster_id, None)
            if self.signatures.pop(article_id, None) is not None:
                self.lsh.remove(article_id)
        return len(old)
