"""Cleaning after trafilatura: the article alone, with tags and captions as metadata.

trafilatura finds the article container; inside it real pages still carry promos, share prompts,
"related" teasers, tag runs, captions printed twice and photo credits. The cleaner walks the body
blocks once and removes, in this order of evidence:
  1. the top, recall first: a repeat of the headline (the page's or the feed's title), a kicker label
     (a few words, no sentence), a deck line only when it is a learned block; a long sentence-like
     paragraph always stays, and the lead recovered from outside the container (`lead.py`) is never
     touched;
  2. figure captions printed again as paragraphs (kept once, in `captions`);
  3. blocks matched by the rule pack (`rules/*.yaml`: data, one file per language): `drop` a
     block, `credit` moves it to `captions`, `section` drops a "related" header *and* the teaser
     list after it (or, for "about the author"-like headers near the end, everything after it),
     `tags` drops a tags header and turns it and the tag run after it into `tags`;
  4. structure and features: a short heading-like block over two or more teaser links (a related box
     whatever its wording) with those links; a promo sentence by its features (`promo_score`: call to
     action, channel, subscription words, reader address, links, edges); a run of link texts glued
     together (a tag cloud, -> `tags`), a strip of teaser links, a lone link-only line without
     sentence punctuation;
  5. per-site config patterns and learned boilerplate (`SiteProfile`), never the lead block;
  6. a paragraph printed again right after itself (a caption outside <figure>); repeats further
     apart (recipe steps, interview questions) are content;
  7. link-only blocks at either end of the body (teaser strips, navigation), and runs of menu-like
     short lines before the first or after the last real paragraph.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import read_yaml
from ingest.extract.blocks import Block

if TYPE_CHECKING:
    from ingest.sources.profile import RequestProfile

WORDS = re.compile(r"\w+", re.UNICODE)
SPACES = re.compile(r"\s+")
RULES_DIR = Path(__file__).parent / "rules"
TAG_SPLIT = re.compile(r"\s*[,;|•·/]\s*|\s+[-–—]\s+|\n")
CAMEL = re.compile(r"(?<=[a-zäöüßàâçéèêëîïôûùüÿñæœáíóú])(?=[A-ZÄÖÜÀÂÇÉÈÊËÎÏÔÛÙÜŸÑÆŒÁÍÓÚ])"
                   r"|(?<=[A-ZÄÖÜ])(?=[A-ZÄÖÜ][a-zäöüß])")
# Decoration around a block that says nothing: "» Lesen Sie auch", "► Share", "- Anzeige -"; and
# brackets around the whole block: "[Related: ...]", "(dpa)".
LEAD_DECORATION = " \t\n»›>►▶▸•·*|+–—-"
TRAIL_DECORATION = " \t\n«‹◄|•·*–—-"
TERMINAL = tuple('.!?:;"“”\'’»«)…')
INNER_SENTENCE_END = re.compile(r"[.!?][\"'“”’»)]?\s*[A-ZÄÖÜÀ-Ý]")  # "... stress.Click To Tweet", "Ok. Then"
UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # CJK, kana, Hangul: no reliable full stop
KINDS = ("drop", "section", "tags", "credit")
WHERE = ("any", "top", "bottom", "edges")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
MAX_RULE_CHARS = 400  # no rule may remove a longer block (checked when the pack is loaded)


def fingerprint(text: str) -> str:
    """Normalized paragraph fingerprint: case, accents, digits and punctuation folded away."""
    norm = unicodedata.normalize("NFKD", text.lower())
    words = [w for w in WORDS.findall(norm) if not w.isdigit()]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]


def _undecorate(text: str) -> str:
    text = " ".join(text.split())
    bare = text.lstrip(LEAD_DECORATION).rstrip(TRAIL_DECORATION)
    if bare[:1] in "[(" and bare[-1:] in "])" and "(" not in bare[1:-1] and "[" not in bare[1:-1]:
        bare = bare[1:-1].strip()
    return bare or text


def normalize(text: str) -> str:
    """What rules see: lower case, one space for any whitespace, decoration at either end stripped."""
    return _undecorate(text.lower())


@dataclass(frozen=True, slots=True)
class Rule:
    """One boilerplate rule of the pack (see rules/README.md for the YAML keys)."""

    id: str
    kind: str  # drop | section | tags | credit
    regex: re.Pattern
    max_chars: int
    until: str = "teasers"  # section/tags: what goes with the header: "teasers" or "end"
    where: str = "any"      # any | top (first 3 blocks) | bottom (last 5) | edges (either)
    case_sensitive: bool = False
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    source: str = ""
    needs: tuple[str, ...] = ()  # speed hint: tried only on blocks containing one of these (lower case)

    def matches(self, text: str) -> bool:
        if len(text) > self.max_chars:
            return False
        return self.matches_prepared(_Prepared(text))

    def matches_prepared(self, prepared: _Prepared) -> bool:
        if prepared.length > self.max_chars:
            return False
        if self.case_sensitive:
            return self.regex.search(prepared.cased) is not None
        folded = prepared.folded
        if self.needs:
            for need in self.needs:
                if need in folded:
                    break
            else:
                return False
        return self.regex.search(folded) is not None

    def allowed_at(self, index: int, count: int) -> bool:
        top, bottom = index < 3, index >= count - 5
        return {"any": True, "top": top, "bottom": bottom, "edges": top or bottom}[self.where]


class _Prepared:
    """A block's text as rules see it, computed once for all rules."""

    __slots__ = ("length", "_text", "_cased", "_folded")

    def __init__(self, text: str) -> None:
        self.length, self._text, self._cased, self._folded = len(text), text, None, None

    @property
    def cased(self) -> str:
        if self._cased is None:
            self._cased = _undecorate(self._text)
        return self._cased

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.cased.lower()
        return self._folded


class RuleError(ValueError):
    pass


def _expand(pattern: str, vocab: dict[str, str], where: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) not in vocab:
            raise RuleError(f"{where}: unknown placeholder {{{{{m.group(1)}}}}}")
        return vocab[m.group(1)]
    return PLACEHOLDER.sub(sub, pattern)


def parse_rules(files: list[tuple[str, dict]]) -> tuple[Rule, ...]:
    """Rules from parsed YAML documents [(file name, data)]; `vocab` entries of any file are shared."""
    vocab: dict[str, str] = {}
    for _name, data in files:
        for key, words in (data.get("vocab") or {}).items():
            vocab[key] = "(?:" + "|".join(str(w) for w in words) + ")" if isinstance(words, list) else str(words)
    for _ in range(3):  # vocabulary entries may use each other ({{date}} uses {{month}})
        vocab = {k: _expand(v, vocab, f"vocab {k}") for k, v in vocab.items()}
    rules: list[Rule] = []
    ids: set[str] = set()
    for name, data in files:
        for n, item in enumerate(data.get("rules") or []):
            where = f"{name}: rules[{n}]"
            missing = {"id", "pattern"} - set(item)
            if missing:
                raise RuleError(f"{where}: missing {', '.join(sorted(missing))}")
            if item["id"] in ids:
                raise RuleError(f"{where}: duplicate id {item['id']}")
            ids.add(item["id"])
            kind = item.get("kind", "drop")
            if kind not in KINDS:
                raise RuleError(f"{where}: kind must be one of {', '.join(KINDS)}")
            if item.get("where", "any") not in WHERE:
                raise RuleError(f"{where}: where must be one of {', '.join(WHERE)}")
            case = bool(item.get("case_sensitive", False))
            try:
                regex = re.compile(_expand(item["pattern"], vocab, where), re.UNICODE | (0 if case else re.IGNORECASE))
            except re.error as exc:
                raise RuleError(f"{where}: bad pattern: {exc}") from None
            max_chars = int(item.get("max_chars", 200))
            if not 0 < max_chars <= MAX_RULE_CHARS:
                raise RuleError(f"{where}: max_chars must be between 1 and {MAX_RULE_CHARS}")
            rules.append(Rule(id=item["id"], kind=kind, regex=regex, max_chars=max_chars,
                              until=item.get("until", "teasers"), where=item.get("where", "any"),
                              case_sensitive=case, examples=tuple(item.get("examples") or ()),
                              counter_examples=tuple(item.get("counter_examples") or ()), source=name,
                              needs=tuple(str(n).lower() for n in item.get("needs") or ())))
    return tuple(rules)


@lru_cache(maxsize=4)
def load_rules(directory: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule of every language: patterns are anchored and length-capped, so one page's language
    guess (often wrong on short or mixed pages) never decides which promos are recognised."""
    files = [(p.name, read_yaml(p) or {}) for p in sorted(directory.glob("*.yaml"))]
    return parse_rules(files)


@dataclass(frozen=True, slots=True)
class PromoWords:
    """Feature vocabularies for promos written as sentences (`promo:` in rules/families.yaml)."""

    cta: re.Pattern
    cta_start: re.Pattern
    channel: re.Pattern
    subscription: re.Pattern
    reader: re.Pattern
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()


def _alternation(words: list[str], start: bool = False) -> re.Pattern:
    body = "|".join(sorted((re.escape(str(w).lower()) for w in words), key=len, reverse=True))
    return re.compile((r"^\W*" if start else r"(?<!\w)") + f"(?:{body})" + r"(?!\w)", re.UNICODE)


@lru_cache(maxsize=4)
def load_promo(directory: Path = RULES_DIR) -> PromoWords:
    data: dict = {}
    for path in sorted(directory.glob("*.yaml")):
        found = (read_yaml(path) or {}).get("promo")  # the bounded loader every config file goes through
        if found:
            data = found
    subs = "|".join(re.escape(str(w).lower()) for w in data.get("subscription", ["abonn"]))
    return PromoWords(cta=_alternation(data.get("cta", ["subscribe"])), cta_start=_alternation(data.get("cta", ["subscribe"]), True),
                      channel=_alternation(data.get("channel", ["newsletter"])), subscription=re.compile(subs),
                      reader=_alternation(data.get("reader", ["you"])),
                      examples=tuple(data.get("examples") or ()), counter_examples=tuple(data.get("counter_examples") or ()))


PROMO_MAX_CHARS, PROMO_THRESHOLD = 220, 4


def promo_score(text: str, links: int = 0, at_edge: bool = False) -> int:
    """Evidence that a short block is a promo. Required: it opens with a call to action and names a
    channel/brand or subscription, or it has a call to action, a channel and subscription words. Then
    the call (2 at the start), channel, subscription, addressing the reader, links and the body's edges
    each add one."""
    if len(text) > PROMO_MAX_CHARS or len(re.findall(r"[.!?](?:\s|$)", text)) > 2:
        return 0
    words = load_promo()
    low = " ".join(text.lower().split())
    start = bool(words.cta_start.search(low))
    cta = start or bool(words.cta.search(low))
    channel, subscription = bool(words.channel.search(low)), bool(words.subscription.search(low))
    if not (start and (channel or subscription) or cta and channel and subscription):
        return 0
    return 1 + start + channel + subscription + bool(words.reader.search(low)) + (links > 0) + at_edge


@dataclass(slots=True)
class SiteProfile:
    """What the cleaner knows about one site: config rules and learned boilerplate."""

    domain: str
    prune_xpaths: list[str] = field(default_factory=list)
    drop_patterns: list = field(default_factory=list)  # re.Pattern or sites.SitePattern (time-budgeted)
    learned: set[str] = field(default_factory=set)
    source: str | None = None  # the config file it came from
    request: RequestProfile | None = None  # the file's `request:` section (ingest.sources.profile)


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
        values = _split_values(text)
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


# -- the cleaner -------------------------------------------------------------------------------

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
         titles: tuple[str, ...] = (), learned: set[str] | frozenset = frozenset()) -> int:
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
                _kicker(block) or _headline_like(block, following) and fingerprint(block.text) in learned):
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


def clean_blocks(blocks: list[Block], language: str | None = None, site: SiteProfile | None = None,
                 title: str | None = None, captions: list[str] | None = None, lead: str | None = None,
                 titles: tuple[str, ...] = ()) -> CleanResult:
    """The article's blocks without boilerplate; tags, captions and what was removed (and why) aside.
    `language` is informational: every language's rules apply (they are anchored and length-capped)."""
    rules = load_rules()
    result = CleanResult(blocks=[])
    caption_texts = [normalize(c) for c in captions or [] if c.strip()]
    total = sum(len(b.text) for b in blocks) or 1
    before = 0  # characters of the blocks before the current one
    previous: str | None = None  # fingerprint of the last kept block
    mode: str | None = None  # "teasers" | "links" | "tags" | "end": what the last header takes with it
    count = len(blocks)

    def caption(text: str) -> None:
        if text not in result.captions:
            result.captions.append(text)

    start = _top(blocks, title, result, lead, titles, site.learned if site is not None else frozenset())
    before = sum(len(b.text) for b in blocks[:start])
    for i in range(start, count):
        block = blocks[i]
        following = blocks[i + 1] if i + 1 < count else None
        text = block.text
        in_tail = before >= 0.5 * total
        before += len(text)
        fp = fingerprint(text)
        if mode == "end":
            result.drop(block, "after header")
            continue
        if mode == "links":
            if _link_only(block) and len(block.text) < 200:
                result.drop(block, "after header")
                continue
            mode = None
        if mode is not None:
            if _teaser_like(block, following):
                result.drop(block, "after header")
                if mode == "tags":
                    result.tags += _tag_values(block, after_header=True)
                continue
            mode = None
        if i < 3 and len(text) < 200 and _title_like(text, title):
            result.drop(block, "title")
            continue
        if _caption_match(text, caption_texts):
            caption(text)
            result.drop(block, "caption")
            continue
        rule = _match(rules, block, i, count)
        if rule is not None and rule.until == "end" and not in_tail:
            rule = None  # "About the author" in the first half is a subheading of the article
        if rule is not None:
            result.drop(block, f"rule {rule.id}")
            if rule.kind == "credit":
                caption(text)
            elif rule.kind == "tags":
                values = _header_values(block)
                if values.text:
                    result.tags += _tag_values(values, after_header=True)
                else:
                    mode = "tags"
            elif rule.kind == "section" and "\n" not in text:
                mode = "end" if rule.until == "end" else "teasers"
            continue
        if _header_over_teasers(blocks, i):
            result.drop(block, "header over teasers")
            mode = "links"  # a header found by structure takes only the link lines after it
            continue
        if promo_score(text, block.links, i < 2 or i >= count - 3) >= PROMO_THRESHOLD:
            result.drop(block, "promo")
            continue
        if _link_run(block):
            result.drop(block, "link run")
            if _tagish(block):
                result.tags += list(block.link_texts)
            continue
        if _lone_teaser(block, i) or _teaser_strip(blocks, i):
            result.drop(block, "teaser link")
            continue
        if site is not None and fp in site.learned and i > 0 and text != lead:
            result.drop(block, "learned")
            continue
        if site is not None and any(p.search(text) for p in site.drop_patterns):
            result.drop(block, "site pattern")
            continue
        if fp == previous and len(text) >= 40 and block.kind not in ("item", "row"):
            result.drop(block, "repeat")
            continue
        previous = fp
        result.blocks.append(block)
    _trim_link_edges(result)
    _trim_menus(result)
    result.tags = list(dict.fromkeys(t for t in result.tags if t))
    return result


def _match(rules: tuple[Rule, ...], block: Block, index: int, count: int) -> Rule | None:
    text = block.text
    if len(text) > MAX_RULE_CHARS and "\n" not in text:
        return None
    places = {"any", "top", "edges"} if index < 3 else {"any"}
    if index >= count - 5:
        places |= {"bottom", "edges"}
    whole = _Prepared(text)
    first = _Prepared(text.split("\n", 1)[0]) if "\n" in text else None
    for rule in rules:
        if rule.where not in places:
            continue
        if rule.matches_prepared(whole):
            return rule
        # a header and its list printed as one block with line breaks ("DON'T MISS\nteaser\nteaser")
        if first is not None and rule.kind in ("section", "tags") and rule.matches_prepared(first):
            return rule
    return None


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


MENU_RUN = 4


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


# -- tags and credits printed outside the body trafilatura keeps --------------------------------------
# trafilatura usually drops the tag box under an article (it is all links); the page still says which
# tags the article has. These read them from the page tree, before extraction, with the same rules.

NOT_ARTICLE_TAGS = {"nav", "footer", "aside", "script", "style", "noscript", "template", "form"}
NOT_ARTICLE_WORDS = {"nav", "navbar", "navigation", "menu", "footer", "sidebar", "breadcrumb",
                     "breadcrumbs", "masthead", "topbar", "megamenu"}
CLASS_WORD = re.compile(r"[a-z]+")


def _outside_article(node) -> bool:
    for anc in node.iterancestors():
        if anc.tag in NOT_ARTICLE_TAGS:
            return True
        words = set(CLASS_WORD.findall(f"{anc.get('class') or ''} {anc.get('id') or ''}".lower()))
        if words & NOT_ARTICLE_WORDS:
            return True
    return False


def _text_of(node) -> str:
    return " ".join(node.text_content().split())


def _link_values(node) -> list[str]:
    nodes = [node] if node.tag == "a" else list(node.iter("a"))
    return [t for t in (_text_of(a) for a in nodes) if t]


def _split_values(text: str) -> list[str]:
    values = [v.strip(" :#.") for v in TAG_SPLIT.split(text)]
    if len(values) == 1 and (len(CAMEL.findall(values[0])) >= 2 or len(values[0]) > 25) and CAMEL.search(values[0]):
        values = [v.strip() for v in CAMEL.split(values[0])]
    return [v for v in values if v]


def _values_after(node) -> list[str]:
    """Tag values printed after a tags header: the links, item texts or list in the next elements."""
    cur, siblings = node, []
    for _ in range(4):
        siblings = [s for s in cur.itersiblings() if isinstance(s.tag, str)]
        if siblings or cur.getparent() is None:
            break
        cur = cur.getparent()
    values: list[str] = []
    for sib in siblings:
        text = _text_of(sib)
        if not text:
            continue
        if len(text) > 400 or sib.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and values:
            break
        found = _link_values(sib)
        if not found:
            kids = [_text_of(k) for k in sib if isinstance(k.tag, str)]
            kids = [k for k in kids if k]
            found = kids if kids and all(len(k) <= 60 for k in kids) else _split_values(text)
        if not found or any(len(v) > 60 for v in found):
            break
        values += found
    return values


@lru_cache(maxsize=8)
def _any_of(rules: tuple[Rule, ...]) -> re.Pattern:
    """One pattern that matches where any of `rules` might (a quick first test)."""
    return re.compile("|".join(f"(?:{r.regex.pattern})" for r in rules), re.IGNORECASE)


def page_tag_blocks(tree) -> list[tuple[list[str], frozenset]]:
    """(tags, the header's ancestors) of every tags header on the page ("Verwendete Schlagwörter", "Tags:",
    "Mots-clés", "Argomenti"...) with the values printed in it or after it; navigation, footers and
    sidebars left out. The caller keeps those inside the article's area."""
    rules = [r for r in load_rules() if r.kind == "tags"]
    quick = _any_of(tuple(rules))
    out: list[tuple[list[str], frozenset]] = []
    for node in tree.iter():
        text = node.text
        if not text or not isinstance(node.tag, str) or node.tag in ("html", "head", "body", "title", "a", "script", "style"):
            continue
        own = " ".join(text.split())
        if not own or len(own) > 60 or not quick.search(own.lower()) or not any(r.matches(own) for r in rules):
            continue
        if _outside_article(node):
            continue
        values = _link_values(node)
        if not values:
            full = _text_of(node)
            label, colon, rest = full.partition(":")
            values = _split_values(rest) if colon and rest.strip() else []
        if not values:
            values = _values_after(node)
        values = [v for v in values if len(v) <= 60]
        if values:
            out.append((list(dict.fromkeys(values)), frozenset(node.iterancestors())))
    return out


def is_credit(text: str) -> bool:
    """A photo credit or copyright line by the rule pack's `credit` rules."""
    prepared = _Prepared(text)
    return any(r.kind == "credit" and r.matches_prepared(prepared) for r in load_rules())
