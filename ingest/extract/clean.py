"""Cleaning after trafilatura: drop blocks that are boilerplate, collect tags and captions.

Minimal first version: learned per-site blocks and repeated blocks. The multilingual
rule pack grows here (issue 3).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from ingest.extract.blocks import Block

WORDS = re.compile(r"\w+", re.UNICODE)


def fingerprint(text: str) -> str:
    """Normalized paragraph fingerprint: case, accents, digits and punctuation folded away."""
    norm = unicodedata.normalize("NFKD", text.lower())
    words = [w for w in WORDS.findall(norm) if not w.isdigit()]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class SiteProfile:
    """What the cleaner knows about one site: config rules and learned boilerplate."""

    domain: str
    prune_xpaths: list[str] = field(default_factory=list)
    drop_patterns: list[re.Pattern] = field(default_factory=list)
    learned: set[str] = field(default_factory=set)


@dataclass(slots=True)
class CleanResult:
    blocks: list[Block]
    tags: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def clean_blocks(blocks: list[Block], language: str | None = None, site: SiteProfile | None = None) -> CleanResult:
    kept: list[Block] = []
    removed: list[str] = []
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        fp = fingerprint(block.text)
        learned = site is not None and fp in site.learned and i > 0
        pattern = site is not None and any(p.search(block.text) for p in site.drop_patterns)
        if learned or pattern or fp in seen:
            removed.append(block.text)
            continue
        seen.add(fp)
        kept.append(block)
    return CleanResult(blocks=kept, removed=removed)
