"""The rule pack: boilerplate rules as data (`rules/*.yaml`, one file per language) and the promo vocabulary.

    from ingest.extract.rulepack import load_clean_rules, match_block
    rule = match_block(load_clean_rules(), block, index, count)  # a CleanRule or None

A rule (see rules/README.md for the YAML keys) is an anchored, length-capped regular expression
with a `kind` saying what its match does to a block (`drop`, `credit` -> captions, `section` drops
a header and what follows it, `tags` turns a header and its run into tags) and a `where` saying where
in the body it may match. `vocab` entries of any file are shared placeholders (`{{month}}`). The
pack is checked when loaded: a bad file is one `CleanRuleError` naming file, rule index and key.

`promo:` in rules/families.yaml holds the feature vocabularies that `promo_score` weighs for
promos written as sentences (a call to action, a channel, subscription words, the reader).

The block walker (`walker.py`) and the page tag reader (`pagetags.py`) read the pack; neither
owns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.config import read_yaml
from ingest.extract.blocks import Block

RULES_DIR = Path(__file__).parent / "rules"
# Decoration around a block that says nothing: "» Lesen Sie auch", "► Share", "- Anzeige -"; and
# brackets around the whole block: "[Related: ...]", "(dpa)".
LEAD_DECORATION = " \t\n»›>►▶▸•·*|+–—-"
TRAIL_DECORATION = " \t\n«‹◄|•·*–—-"
KINDS = ("drop", "section", "tags", "credit")
WHERE = ("any", "top", "bottom", "edges")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
MAX_RULE_CHARS = 400  # no rule may remove a longer block (checked when the pack is loaded)


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
class CleanRule:
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
        return self.matches_prepared(Prepared(text))

    def matches_prepared(self, prepared: Prepared) -> bool:
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



class Prepared:
    """A block's text as rules see it, computed once for all rules."""

    __slots__ = ("length", "_text", "_cased", "_folded")

    def __init__(self, text: str) -> None:
        self.length, self._text = len(text), text
        self._cased: str | None = None
        self._folded: str | None = None

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


class CleanRuleError(ValueError):
    pass


def _expand(pattern: str, vocab: dict[str, str], where: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) not in vocab:
            raise CleanRuleError(f"{where}: unknown placeholder {{{{{m.group(1)}}}}}")
        return vocab[m.group(1)]
    return PLACEHOLDER.sub(sub, pattern)


def parse_clean_rules(files: list[tuple[str, dict]]) -> tuple[CleanRule, ...]:
    """Rules from parsed YAML documents [(file name, data)]; `vocab` entries of any file are shared."""
    vocab: dict[str, str] = {}
    for _name, data in files:
        for key, words in (data.get("vocab") or {}).items():
            vocab[key] = "(?:" + "|".join(str(w) for w in words) + ")" if isinstance(words, list) else str(words)
    for _ in range(3):  # vocabulary entries may use each other ({{date}} uses {{month}})
        vocab = {k: _expand(v, vocab, f"vocab {k}") for k, v in vocab.items()}
    rules: list[CleanRule] = []
    ids: set[str] = set()
    for name, data in files:
        for n, item in enumerate(data.get("rules") or []):
            where = f"{name}: rules[{n}]"
            missing = {"id", "pattern"} - set(item)
            if missing:
                raise CleanRuleError(f"{where}: missing {', '.join(sorted(missing))}")
            if item["id"] in ids:
                raise CleanRuleError(f"{where}: duplicate id {item['id']}")
            ids.add(item["id"])
            kind = item.get("kind", "drop")
            if kind not in KINDS:
                raise CleanRuleError(f"{where}: kind must be one of {', '.join(KINDS)}")
            if item.get("where", "any") not in WHERE:
                raise CleanRuleError(f"{where}: where must be one of {', '.join(WHERE)}")
            case = bool(item.get("case_sensitive", False))
            try:
                regex = re.compile(_expand(item["pattern"], vocab, where), re.UNICODE | (0 if case else re.IGNORECASE))
            except re.error as exc:
                raise CleanRuleError(f"{where}: bad pattern: {exc}") from None
            max_chars = int(item.get("max_chars", 200))
            if not 0 < max_chars <= MAX_RULE_CHARS:
                raise CleanRuleError(f"{where}: max_chars must be between 1 and {MAX_RULE_CHARS}")
            rules.append(CleanRule(id=item["id"], kind=kind, regex=regex, max_chars=max_chars,
                              until=item.get("until", "teasers"), where=item.get("where", "any"),
                              case_sensitive=case, examples=tuple(item.get("examples") or ()),
                              counter_examples=tuple(item.get("counter_examples") or ()), source=name,
                              needs=tuple(str(n).lower() for n in item.get("needs") or ())))
    return tuple(rules)


@lru_cache(maxsize=4)
def load_clean_rules(directory: Path = RULES_DIR) -> tuple[CleanRule, ...]:
    """Every rule of every language: patterns are anchored and length-capped, so one page's language
    guess (often wrong on short or mixed pages) never decides which promos are recognised."""
    files = [(p.name, read_yaml(p) or {}) for p in sorted(directory.glob("*.yaml"))]
    return parse_clean_rules(files)



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


def _stem(word: str) -> str:
    """A subscription stem matches inside words (compounds: "Jahresabo", "Zeitungsabonnement"), but a stem
    of three letters or fewer only at a word's end ("Abo", "Abos", "Digitalabo-Kunden", not "about",
    "above", "abortion")."""
    if len(word) <= 3 and word.isalpha():
        return re.escape(word) + r"s?(?!\w)"
    return re.escape(word)


@lru_cache(maxsize=4)
def load_promo(directory: Path = RULES_DIR) -> PromoWords:
    data: dict = {}
    for path in sorted(directory.glob("*.yaml")):
        found = (read_yaml(path) or {}).get("promo")  # the bounded loader every config file goes through
        if found:
            data = found
    subs = "|".join(_stem(str(w).lower()) for w in data.get("subscription", ["abonn"]))
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


def match_block(rules: tuple[CleanRule, ...], block: Block, index: int, count: int) -> CleanRule | None:
    """The first rule that removes `block` at position `index` of `count` (its `where` allows the place)."""
    text = block.text
    if len(text) > MAX_RULE_CHARS and "\n" not in text:
        return None
    places = {"any", "top", "edges"} if index < 3 else {"any"}
    if index >= count - 5:
        places |= {"bottom", "edges"}
    whole = Prepared(text)
    first = Prepared(text.split("\n", 1)[0]) if "\n" in text else None
    for rule in rules:
        if rule.where not in places:
            continue
        if rule.matches_prepared(whole):
            return rule
        # a header and its list printed as one block with line breaks ("DON'T MISS\nteaser\nteaser")
        if first is not None and rule.kind in ("section", "tags") and rule.matches_prepared(first):
            return rule
    return None
