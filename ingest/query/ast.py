"""The query AST: parsed once (`ingest.query.parse`), compiled per backend.

Text leaves carry no field; a `Field` node restricts everything below it:

    title:(Öl OR Gas*)       Field("title", Or((Term("Öl"), Prefix("Gas"))))
    source:"Harbour Herald"  Field("source", Term("Harbour Herald"))   keyword fields hold raw values
    lang:de                  Field("lang", Term("de"))
    published:>=2025-01-01   Range("published", gte=datetime(2025, 1, 1, tzinfo=UTC))

`And`/`Or` are n-ary and flat. Datetimes in `Range` are timezone-aware UTC, whole seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

TEXT_FIELDS = ("title", "body")
KEYWORD_FIELDS = ("source", "domain", "lang", "tag", "keyword", "place", "entity", "access")
DATE_FIELDS = ("published", "indexed")
ALL_FIELDS = TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS
FIELD_ALIASES = {"language": "lang", "tags": "tag", "keywords": "keyword", "places": "place", "entities": "entity"}
OPERATORS = ("AND", "OR", "NOT")


@dataclass(frozen=True, slots=True)
class Term:
    """A word matched with its inflections (stems) and as a part of compounds (Drohne: Kampfdrohnen).
    `whole` (`=Drohne`): the word and its inflections only, not compound parts.
    Under a keyword field: the exact value (any case)."""

    word: str
    whole: bool = False


@dataclass(frozen=True, slots=True)
class Prefix:
    """`word*`: words starting with `prefix` (unstemmed; case, accents and ß/ss folded)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """`"exact words"`; with `slop` (`"a b"~N`): all the words, any order, at most N other words apart."""

    words: tuple[str, ...]
    slop: int | None = None


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/N right`: a match of each side with at most N other words between them, any order."""

    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Field:
    """Restrict `node` to one field: a text field (title, body) or a keyword field (source, domain, ...)."""

    field: str
    node: Node


@dataclass(frozen=True, slots=True)
class Range:
    """A date range on `published` or `indexed`; each bound optional. `expr` keeps a relative form (now-7d)."""

    field: str
    gte: datetime | None = None
    gt: datetime | None = None
    lte: datetime | None = None
    lt: datetime | None = None
    expr: str | None = None


Node = Term | Prefix | Phrase | Near | And | Or | Not | Field | Range
TEXT_LEAVES = (Term, Prefix, Phrase)


def positive_words(node: Node) -> list[str]:
    """Words a match must or may contain (for snippets); negated parts and keyword values are left out."""
    if isinstance(node, Term):
        return [node.word]
    if isinstance(node, Prefix):
        return [node.prefix + "*"]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Near):
        return positive_words(node.left) + positive_words(node.right)
    if isinstance(node, And | Or):
        return [w for c in node.children for w in positive_words(c)]
    if isinstance(node, Field) and node.field in TEXT_FIELDS:
        return positive_words(node.node)
    return []


# -- canonical text ---------------------------------------------------------------------------------

PLAIN = re.compile(r"^[^\s()\"\[\]{}:*~+\-=„“”«»‚‘][^\s()\"\[\]{}:*~„“”«»‚‘]*$")


def iso(value: datetime) -> str:
    """UTC, whole seconds, with a Z: the form both backends compare on."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(text: str) -> str:
    """A word as typed, quoted when it would otherwise read as syntax."""
    if PLAIN.match(text) and text not in OPERATORS and text != "NEAR" and not text.lower().startswith("near/"):
        return text
    return '"' + text.replace('"', "") + '"'


def _group(node: Node) -> str:
    text = to_text(node)
    return f"({text})" if isinstance(node, And | Or) else text


def to_text(node: Node) -> str:
    """Canonical query text: equal for equal ASTs, and `parse(to_text(n)) == n`."""
    if isinstance(node, Term):
        return ("=" if node.whole else "") + _value(node.word)
    if isinstance(node, Prefix):
        return _value(node.prefix) + "*"
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"' + (f"~{node.slop}" if node.slop is not None else "")
    if isinstance(node, Near):
        return f"{_group(node.left)} NEAR/{node.distance} {_group(node.right)}"
    if isinstance(node, And):
        return " AND ".join(_group(c) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(_group(c) for c in node.children)
    if isinstance(node, Not):
        return "NOT " + _group(node.child)
    if isinstance(node, Field):
        inner = node.node
        text = to_text(inner) if isinstance(inner, TEXT_LEAVES) else f"({to_text(inner)})"
        return f"{node.field}:{text}"
    if isinstance(node, Range):
        if node.expr:
            return f"{node.field}:{node.expr}"
        lo = iso(node.gte) if node.gte else iso(node.gt) if node.gt else "*"
        hi = iso(node.lte) if node.lte else iso(node.lt) if node.lt else "*"
        opening = "{" if node.gt and not node.gte else "["
        closing = "}" if node.lt and not node.lte else "]"
        return f"{node.field}:{opening}{lo} TO {hi}{closing}"
    raise TypeError(node)
