"""The block walker: the article alone after trafilatura, with tags and captions as metadata.

trafilatura finds the article container; inside it real pages still carry promos, share prompts,
"related" teasers, tag runs, captions printed twice and photo credits. `clean_blocks` walks the body
blocks once. First `_top` takes the top, recall first: a repeat of the headline (the page's or the
feed's title), a kicker label (a few words, no sentence), a deck line only when it is a learned block;
a long sentence-like paragraph always stays, and the lead recovered from outside the container
(`lead.py`) is never touched. Then every further block goes through `BLOCK_STEPS`, in this order of
evidence; the first step that removes it ends its turn, and a block no step removes is kept:
  1. `after_header`: what the last removed header takes with it (a teaser list, its link lines, its
     tag run, or everything to the end);
  2. `title_repeat`, `caption_repeat`: the headline near the top, figure captions printed again as
     paragraphs (kept once, in `captions`);
  3. `rule_pack`: blocks matched by the rule pack (`rulepack.py`, `rules/*.yaml`): `drop` a block,
     `credit` moves it to `captions`, `section` drops a "related" header *and* the teaser list after it
     (or, for "about the author"-like headers in the second half, everything after it), `tags` drops
     a tags header and turns it and the tag run after it into `tags`;
  4. structure and features: `header_over_teasers` (a short heading-like block over two or more
     teaser links, a related box whatever its wording, with those links); `promo` (a promo sentence
     by its features, `promo_score`: call to action, channel, subscription words, reader address,
     links, edges); `link_run` (link texts glued together: a tag cloud -> `tags`, or a teaser strip);
     `teaser_link` (a strip of teaser links, a lone link-only line without sentence punctuation);
  5. `learned`, `site_pattern`: learned boilerplate and per-site config patterns (`SiteProfile`),
     never the lead block;
  6. `repeat`: a paragraph printed again right after itself (a caption outside <figure>); repeats
     further apart (recipe steps, interview questions) are content.
Last, `FINISH_STEPS` trim the kept body: link-only blocks at either end (teaser strips, navigation),
and runs of menu-like short lines before the first or after the last real paragraph.

Adding a boilerplate step is one function `step(walk: Walk) -> bool` (True: it removed the block,
giving a reason with `walk.drop`) and one entry in `BLOCK_STEPS` at the place its evidence ranks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from ingest.extract.blocks import UNSPACED_SCRIPT, WORDS, Block, fingerprint
from ingest.extract.pagetags import split_values
from ingest.extract.rulepack import (
    PROMO_THRESHOLD,
    CleanRule,
    load_clean_rules,
    match_block,
    normalize,
    promo_score,
)
from ingest.extract.sites import SiteProfile

TERMINAL = tuple('.!?:;"“”\'’»«)…')
INNER_SENTENCE_END = re.compile(r"[.!?][\"'“”’»)]?\s*[A-ZÄÖÜÀ-Ý]")  # "... stress.Click To Tweet", "Ok. Then"
MENU_RUN = 4


class After(StrEnum):
    """What a removed header takes with it from the blocks that follow."""

    TEASERS = "teasers"  # teaser-like blocks (list items, teaser headlines, links, short lines)
    LINKS = "links"      # link-only lines (a header found by structure)
    TAGS = "tags"        # teaser-like blocks, read as tags
    END = "end"          # everything to the end ("About the author" in the second half)


@dataclass(slots=True)
class CleanResult:
    blocks: list[Block]
    tags: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    standfirst: str | None = None  # a deck line removed from the top of the body
    reasons: list[str] = field(default_factory=list)  # why each `removed` block went, same order

    def drop(self, block: Block, reason: str) -> None:
        self.removed.append(block.text)
        self.reasons.append(reason)


@dataclass(slots=True)
class Walk:
    """One walk over an article's blocks: what every step reads about the current block, and the
    state the steps share."""

    blocks: list[Block]
    result: CleanResult
    rules: tuple[CleanRule, ...]
    site: SiteProfile | None
    title: str | None
    lead: str | None
    caption_texts: list[str]  # the page's figure captions, as rules see text
    total: int                # characters of the whole body (at least 1)
    before: int               # characters of the blocks before the current one
    index: int = 0
    in_tail: bool = False     # the current block starts in the second half of the body
    fp: str = ""              # the current block's fingerprint
    previous: str | None = None  # fingerprint of the last kept block
    after: After | None = None   # what the last removed header takes with it

    @property
    def block(self) -> Block:
        return self.blocks[self.index]

    @property
    def text(self) -> str:
        return self.blocks[self.index].text

    @property
    def count(self) -> int:
        return len(self.blocks)

    @property
    def following(self) -> Block | None:
        return self.blocks[self.index + 1] if self.index + 1 < len(self.blocks) else None

    def enter(self, index: int) -> None:
        self.index = index
        text = self.blocks[index].text
        self.in_tail = self.before >= 0.5 * self.total
        self.before += len(text)
        self.fp = fingerprint(text)

    def drop(self, reason: str) -> bool:
        self.result.drop(self.block, reason)
        return True

    def keep(self) -> None:
        self.previous = self.fp
        self.result.blocks.append(self.block)

    def caption(self, text: str) -> None:
        if text not in self.result.captions:
            self.result.captions.append(text)


def clean_blocks(blocks: list[Block], language: str | None = None, site: SiteProfile | None = None,
                 title: str | None = None, captions: list[str] | None = None, lead: str | None = None,
                 titles: tuple[str, ...] = ()) -> CleanResult:
    """The article's blocks without boilerplate; tags, captions and what was removed (and why) aside.
    `language` is informational: every language's rules apply (they are anchored and length-capped)."""
    result = CleanResult(blocks=[])
    start = _top(blocks, title, result, lead, titles, site.learned if site is not None else frozenset())
    walk = Walk(blocks=blocks, result=result, rules=load_clean_rules(), site=site, title=title, lead=lead,
                caption_texts=[normalize(c) for c in captions or [] if c.strip()],
                total=sum(len(b.text) for b in blocks) or 1, before=sum(len(b.text) for b in blocks[:start]))
    for index in range(start, len(blocks)):
        walk.enter(index)
        if not any(step(walk) for step in BLOCK_STEPS):
            walk.keep()
    for finish in FINISH_STEPS:
        finish(result)
    result.tags = list(dict.fromkeys(t for t in result.tags if t))
    return result


# -- the steps, in BLOCK_STEPS order: each returns True when it removed the current block -----------

def after_header(walk: Walk) -> bool:
    """What the last removed header takes with it; the first block it does not take ends its reach."""
    after, block = walk.after, walk.block
    if after is None:
        return False
    if after is After.END:
        return walk.drop("after header")
    if after is After.LINKS:
        if _link_only(block) and len(block.text) < 200:
            return walk.drop("after header")
    elif _teaser_like(block, walk.following):
        if after is After.TAGS:
            walk.result.tags += _tag_values(block, after_header=True)
        return walk.drop("after header")
    walk.after = None
    return False


def title_repeat(walk: Walk) -> bool:
    """The headline printed again near the top."""
    text = walk.text
    return walk.index < 3 and len(text) < 200 and _title_like(text, walk.title) and walk.drop("title")


def caption_repeat(walk: Walk) -> bool:
    """A figure caption printed again as a paragraph: kept once, in `captions`."""
    if not _caption_match(walk.text, walk.caption_texts):
        return False
    walk.caption(walk.text)
    return walk.drop("caption")


def rule_pack(walk: Walk) -> bool:
    """A block the rule pack matches; a section or tags header also decides what follows it goes."""
    rule = match_block(walk.rules, walk.block, walk.index, walk.count)
    if rule is None or rule.until == "end" and not walk.in_tail:
        return False  # "About the author" in the first half is a subheading of the article
    walk.drop(f"rule {rule.id}")
    if rule.kind == "credit":
        walk.caption(walk.text)
    elif rule.kind == "tags":
        values = _header_values(walk.block)
        if values.text:
            walk.result.tags += _tag_values(values, after_header=True)
        else:
            walk.after = After.TAGS
    elif rule.kind == "section" and "\n" not in walk.text:
        walk.after = After.END if rule.until == "end" else After.TEASERS
    return True


def header_over_teasers(walk: Walk) -> bool:
    """A related box's header found by structure: it takes only the link lines after it."""
    if not _header_over_teasers(walk.blocks, walk.index):
        return False
    walk.after = After.LINKS
    return walk.drop("header over teasers")


def promo(walk: Walk) -> bool:
    """A promo written as a sentence, by its features."""
    block, i = walk.block, walk.index
    return promo_score(block.text, block.links, i < 2 or i >= walk.count - 3) >= PROMO_THRESHOLD and walk.drop("promo")


def link_run(walk: Walk) -> bool:
    """Link texts glued together: a tag cloud (its links become tags) or a teaser strip."""
    block = walk.block
    if not _link_run(block):
        return False
    if _tagish(block):
        walk.result.tags += list(block.link_texts)
    return walk.drop("link run")


def teaser_link(walk: Walk) -> bool:
    """A lone inline teaser link, or a line of a strip of teaser links."""
    return (_lone_teaser(walk.block, walk.index) or _teaser_strip(walk.blocks, walk.index)) and walk.drop("teaser link")


def learned(walk: Walk) -> bool:
    """Learned boilerplate of the site; never the first block or the lead."""
    site = walk.site
    return (site is not None and walk.fp in site.learned and walk.index > 0 and walk.text != walk.lead
            and walk.drop("learned"))


def site_pattern(walk: Walk) -> bool:
    """A per-site config pattern (`strip_text`)."""
    site = walk.site
    return site is not None and any(p.search(walk.text) for p in site.drop_patterns) and walk.drop("site pattern")


def repeat(walk: Walk) -> bool:
    """A paragraph printed again right after itself (list items and table rows may repeat)."""
    return (walk.fp == walk.previous and len(walk.text) >= 40 and walk.block.kind not in ("item", "row")
            and walk.drop("repeat"))


Step = Callable[[Walk], bool]
BLOCK_STEPS: tuple[Step, ...] = (after_header, title_repeat, caption_repeat, rule_pack, header_over_teasers, promo,
                                 link_run, teaser_link, learned, site_pattern, repeat)


# -- block shapes ----------------------------------------------------------------------------------

def _sentence(text: str) -> bool:
    return text.rstrip().endswith(TERMINAL)


def _link_only(block: Block) -> bool:
    return block.links >= 1 and block.link_density >= 0.8


def _normal_paragraph(block: Block | None) -> bool:
    return (block is not None and block.kind in ("p", "quote") and block.link_density < 0.5
            and (len(block.text) >= 120 or (_sentence(block.text) and len(block.text) >= 40)))


def _teaser_like(block: Block, following: Block | None) -> bool:
    """What follows a "related" or "tags" header: list items, teaser headlines, links, short lines.
    A plain subheading followed by a normal paragraph is the article going on."""
    text = block.text
    if block.link_density >= 0.5 or block.kind in ("item", "row"):
        return True
    if block.kind == "head":
        return not _normal_paragraph(following)
    return len(text) < 100 and not _sentence(text)


def _link_run(block: Block) -> bool:
    """Three or more links making up the whole block: a tag cloud or a teaser strip."""
    return (block.links >= 3 and block.link_density >= 0.85 and len(block.text) < 400
            and max(len(t) for t in block.link_texts) <= 80)


def _tagish(block: Block) -> bool:
    """A link run whose links are short words or names, not headlines."""
    texts = block.link_texts
    return bool(texts) and max(len(t) for t in texts) <= 40 and sum(len(t) for t in texts) / len(texts) <= 25


def _tag_values(block: Block, after_header: bool = False) -> list[str]:
    """Tags of a tag block: its link texts, else the list after a colon, split on separators; a
    glued run without links ("DrohnenExportIran") is split at case changes as a last resort."""
    if block.link_texts and _tagish(block):
        values = list(block.link_texts)
    else:
        text = block.text
        if ":" in text.split("\n")[0] and not after_header:
            text = text.split(":", 1)[1]
        values = split_values(text)
    return [t.strip(" :#.") for t in values if 0 < len(t.strip(" :#.")) <= 60]


def _words(text: str) -> list[str]:
    return WORDS.findall(unicodedata.normalize("NFKC", text.lower()))


def _title_like(text: str, title: str | None) -> bool:
    """The block repeats the headline (word overlap both ways; a " - Site name" suffix is ignored)."""
    if not title or len(text) > 2 * len(title) + 20:
        return False
    block = set(_words(text))
    if not block:
        return False
    for variant in {title, *re.split(r"\s+[-|–—:]\s+", title)}:
        words = set(_words(variant))
        if len(words) < 2 and len(block) > 2:
            continue
        shared = len(block & words)
        if not words:
            continue
        if _sentence(text):  # a sentence: only a near-verbatim repeat (else it is the lead echoing the title)
            if shared / len(block) >= 0.95 and shared / len(words) >= 0.9:
                return True
        elif shared / len(block) >= 0.75 and shared / len(words) >= 0.6:
            return True
    return False


def _headline_like(block: Block, following: Block | None) -> bool:
    """A kicker, deck or standfirst line above the first paragraph (never a sentence-ended paragraph
    unless the page marks it as a heading)."""
    text = block.text
    if block.kind == "head":
        return len(text) >= 40 or (following is not None and following.kind == "head")
    if block.kind == "p":
        return (len(text) < 200 and not _sentence(text) and not INNER_SENTENCE_END.search(text)
                and not UNSPACED_SCRIPT.search(text) and _normal_paragraph(following))
    return False


# -- what the steps read ---------------------------------------------------------------------------

def _caption_match(text: str, captions: list[str]) -> bool:
    """The block is a caption printed again: the same text (case and spacing aside), or the caption
    without the credit that follows it."""
    low = normalize(text)
    if low in captions:
        return True
    return len(low) >= 30 and any(c.startswith(low) and len(low) >= 0.6 * len(c) for c in captions)


def _kicker(block: Block) -> bool:
    """A label above the headline or the first paragraph ("Ukraine-Krieg", "EXKLUSIV", "Analysis"):
    a few words, no sentence."""
    text = block.text
    return (len(text) <= 50 and len(WORDS.findall(text)) <= 5 and not _sentence(text)
            and not INNER_SENTENCE_END.search(text) and not UNSPACED_SCRIPT.search(text))


def _lead_like(block: Block) -> bool:
    """A long sentence-like paragraph (a lead or standfirst): content, whatever its markup."""
    text = block.text
    return len(WORDS.findall(text)) >= 12 and (_sentence(text) or len(text) >= 120)


def _top(blocks: list[Block], title: str | None, result: CleanResult, lead: str | None = None,
         titles: tuple[str, ...] = (), learned_fps: set[str] | frozenset = frozenset()) -> int:
    """Remove the headline repeat and deck/kicker lines at the top; return the index of the first kept
    block. Recall first: a deck goes only when it repeats the title (page or feed) or a learned block;
    a kicker only when it is a short label; a long sentence-like paragraph always stays."""
    start = 0
    while start < min(len(blocks) - 1, 4):
        block, following = blocks[start], blocks[start + 1]
        if lead is not None and block.text == lead:
            break  # recovered from outside the body on purpose
        if any(_title_like(block.text, t) for t in (title, *titles) if t):
            result.drop(block, "title")
        elif _lead_like(block):
            break
        elif any(_normal_paragraph(b) for b in blocks[start + 1:start + 4]) and (
                _kicker(block) or _headline_like(block, following) and fingerprint(block.text) in learned_fps):
            result.drop(block, "kicker" if _kicker(block) else "deck")
        else:
            break
        start += 1
    return start


def _header_values(block: Block) -> Block:
    """The tag part of a tags header printed with its values ("Themen: A, B" or "Tags\nA\nB")."""
    text = block.text
    first, _, rest = text.partition("\n")
    values = rest if rest else (text.split(":", 1)[1] if ":" in first else "")
    links = tuple(t for t in block.link_texts if t in values)
    return Block("p", values.strip(), links=len(links), link_chars=sum(map(len, links)), link_texts=links)


def _lone_teaser(block: Block, index: int) -> bool:
    """A line that is one link and no sentence, between paragraphs: an inline "read this" teaser."""
    text = block.text
    return (index > 0 and block.kind == "p" and block.links == 1 and block.link_density >= 0.95
            and not _sentence(text) and not INNER_SENTENCE_END.search(text) and len(WORDS.findall(text)) >= 4
            and len(text) < 160)


def _header_over_teasers(blocks: list[Block], index: int) -> bool:
    """A short heading-like block (a few words, no sentence) right above two or more teaser links: the
    header of a related/read-more box, whatever its wording."""
    block = blocks[index]
    text = block.text
    if block.link_density >= 0.5 or len(text) > 60 or len(WORDS.findall(text)) > 8 or _sentence(text.rstrip(":")) \
            and not text.rstrip().endswith(":"):
        return False
    following = blocks[index + 1:index + 3]

    def teaser(b: Block) -> bool:
        return _link_only(b) and len(b.text) < 200 and len(WORDS.findall(b.text)) >= 3 and not _normal_paragraph(b)

    return len(following) == 2 and all(teaser(b) for b in following)


def _teaser_strip(blocks: list[Block], index: int) -> bool:
    """Three or more consecutive link-only headline lines (a teaser list without a header)."""
    def teaser(b: Block) -> bool:
        return _link_only(b) and len(b.text) < 160 and not _sentence(b.text) and len(WORDS.findall(b.text)) >= 3

    if not teaser(blocks[index]):
        return False
    lo = index
    while lo > 0 and teaser(blocks[lo - 1]):
        lo -= 1
    hi = index
    while hi + 1 < len(blocks) and teaser(blocks[hi + 1]):
        hi += 1
    return hi - lo + 1 >= 3


def _menu_item(block: Block) -> bool:
    text = block.text
    return len(WORDS.findall(text)) <= 4 and len(text) <= 40 and not _sentence(text) and block.kind != "quote"


def _trim_menus(result: CleanResult) -> None:
    """A run of very short lines (a few words, no sentence) before the first real paragraph or after the
    last one is a menu, a section list or an archive list that a wide container took with it."""
    blocks = result.blocks
    normal = [i for i, b in enumerate(blocks) if _normal_paragraph(b)]
    if not normal:
        return
    first, last = normal[0], normal[-1]
    head = blocks[:first]
    if len(head) >= MENU_RUN and all(_menu_item(b) for b in head):
        for b in head:
            result.drop(b, "menu")
        del blocks[:first]
        last -= first
    tail = blocks[last + 1:]
    if len(tail) >= MENU_RUN + 2 and all(_menu_item(b) for b in tail):
        for b in tail:
            result.drop(b, "menu")
        del blocks[last + 1:]



def _trim_link_edges(result: CleanResult) -> None:
    """Link-only blocks before the first and after the last real paragraph are teasers or navigation;
    a heading with nothing after it headed a box that is gone."""
    def edge(block: Block) -> bool:
        return _link_only(block) and len(block.text) < 200

    blocks = result.blocks
    while blocks and edge(blocks[0]) and len(blocks) > 1:
        result.drop(blocks.pop(0), "link edge")
    while blocks and len(blocks) > 1 and (edge(blocks[-1]) or blocks[-1].kind == "head"):
        result.drop(blocks.pop(), "link edge" if edge(blocks[-1]) else "heading without text")


FINISH_STEPS: tuple[Callable[[CleanResult], None], ...] = (_trim_link_edges, _trim_menus)
