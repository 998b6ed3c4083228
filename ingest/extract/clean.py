"""Cleaning after trafilatura: the article alone, with tags and captions as metadata.

trafilatura finds the article container; inside it real pages still carry promos, share prompts,
"related" teasers, tag runs, captions printed twice and photo credits. The cleaner walks the
body blocks once and removes, in this order of evidence:
  1. a repeat of the headline at the top;
  2. figure captions printed again as paragraphs (kept once, in `captions`);
  3. blocks matched by the rule pack (`rules/*.yaml`: data, one file per language);
  4. the teaser list after a "related" header, the tag run after a tags header (-> `tags`);
  5. runs of three or more short links glued together (tag clouds, -> `tags` when after a header
     or glued without separators);
  6. per-site learned boilerplate and config patterns (`SiteProfile`), never the lead block;
  8. link-only blocks at either end of the body (teaser strips, navigation).
  7. a paragraph printed again right after itself (a caption outside <figure>); repeats further
     apart (recipe steps, interview questions) are content.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ingest.extract.blocks import Block

WORDS = re.compile(r"\w+", re.UNICODE)
SPACES = re.compile(r"\s+")
RULES_DIR = Path(__file__).parent / "rules"
TAG_SPLIT = re.compile(r"\s*[,;|•·/]\s*")


def fingerprint(text: str) -> str:
    """Normalized paragraph fingerprint: case, accents, digits and punctuation folded away."""
    norm = unicodedata.normalize("NFKD", text.lower())
    words = [w for w in WORDS.findall(norm) if not w.isdigit()]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # drop | section | tags | credit
    regex: re.Pattern
    max_chars: int
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        return len(text) <= self.max_chars and self.regex.search(normalize(text)) is not None


def normalize(text: str) -> str:
    return SPACES.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def load_rules(directory: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule of every language: patterns are anchored and length-capped, so one page's language
    guess (often wrong on short or mixed pages) never decides which promos are recognised."""
    rules: list[Rule] = []
    for path in sorted(directory.glob("*.yaml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            rules.append(Rule(id=item["id"], kind=item.get("kind", "drop"),
                              regex=re.compile(item["pattern"], re.IGNORECASE | re.UNICODE),
                              max_chars=int(item.get("max_chars", 200)),
                              examples=tuple(item.get("examples", [])),
                              counter_examples=tuple(item.get("counter_examples", []))))
    return tuple(rules)


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


def _teaser_like(block: Block) -> bool:
    """What follows a "related" or "tags" header: list items, headlines, links, short lines."""
    text = block.text
    return (block.kind in ("item", "head", "row") or block.link_density >= 0.5
            or (len(text) < 100 and not text.rstrip().endswith((".", "!", "?", '"', "“", "»"))))


def _link_run(block: Block) -> bool:
    """Three or more links making up nearly the whole block: a tag cloud or a teaser strip."""
    return block.links >= 3 and block.link_density >= 0.85 and len(block.text) < 400 \
        and max(len(t) for t in block.link_texts) <= 60


def _glued(block: Block) -> bool:
    return bool(block.link_texts) and block.text.replace(" ", "") == "".join(block.link_texts).replace(" ", "")


def _tag_values(block: Block) -> list[str]:
    """Tags of a tag block: its link texts, else the comma-separated list after a colon."""
    if block.link_texts:
        values = list(block.link_texts)
    elif ":" in block.text:
        values = TAG_SPLIT.split(block.text.split(":", 1)[1])
    else:
        values = TAG_SPLIT.split(block.text)
    return [t.strip(" :") for t in values if 0 < len(t.strip(" :")) <= 60]


def clean_blocks(blocks: list[Block], language: str | None = None, site: SiteProfile | None = None,
                 title: str | None = None, captions: list[str] | None = None) -> CleanResult:
    rules = load_rules()
    result = CleanResult(blocks=[])
    title_fp = fingerprint(title) if title else None
    caption_fps = {fingerprint(c) for c in captions or [] if c.strip()}
    recent: list[str] = []
    mode: tuple[str, Rule] | None = None

    def remove(block: Block) -> None:
        result.removed.append(block.text)

    def caption(text: str) -> None:
        if text not in result.captions:
            result.captions.append(text)

    for i, block in enumerate(blocks):
        text = block.text
        fp = fingerprint(text)
        if mode is not None:
            if _teaser_like(block):
                remove(block)
                if mode[0] == "tags":
                    result.tags += _tag_values(block)
                continue
            mode = None
        if title_fp and fp == title_fp and not result.blocks:
            remove(block)
            continue
        if fp in caption_fps:
            caption(text)
            remove(block)
            continue
        rule = next((r for r in rules if r.matches(text)), None)
        if rule is not None:
            remove(block)
            if rule.kind == "credit":
                caption(text)
            elif rule.kind == "section":
                mode = ("section", rule)
            elif rule.kind == "tags":
                if block.link_texts or text.split(":", 1)[-1].strip() and ":" in text:
                    result.tags += _tag_values(block)
                else:
                    mode = ("tags", rule)
            continue
        if _link_run(block):
            remove(block)
            if _glued(block):
                result.tags += _tag_values(block)
            continue
        learned = site is not None and fp in site.learned and i > 0
        pattern = site is not None and any(p.search(text) for p in site.drop_patterns)
        repeated = fp in recent and len(text) >= 40 and block.kind not in ("item", "row")
        if learned or pattern or repeated:
            remove(block)
            continue
        recent = (recent + [fp])[-3:]
        result.blocks.append(block)
    _trim_link_edges(result)
    result.tags = list(dict.fromkeys(t for t in result.tags if t))
    return result


def _trim_link_edges(result: CleanResult) -> None:
    """Link-only blocks before the first and after the last real paragraph are teasers or navigation."""
    def edge(block: Block) -> bool:
        return block.links >= 1 and block.link_density >= 0.8 and len(block.text) < 200

    blocks = result.blocks
    while blocks and edge(blocks[0]) and len(blocks) > 1:
        result.removed.append(blocks.pop(0).text)
    while blocks and edge(blocks[-1]) and len(blocks) > 1:
        result.removed.append(blocks.pop().text)
