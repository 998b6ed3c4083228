"""The query AST. Parsed once, compiled to SQLite (FTS5 + SQL) and to Elasticsearch DSL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TEXT_FIELDS = ("title", "body")          # None = both
KEYWORD_FIELDS = ("source", "domain", "lang", "tag", "keyword")
DATE_FIELDS = ("published", "indexed")
ALL_FIELDS = TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS


@dataclass(frozen=True, slots=True)
class Term:
    """A word matched with its inflections (stemmed) in title/body."""

    word: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Prefix:
    """`word*`: tokens starting with the prefix (unstemmed, case and accents folded)."""

    prefix: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """`"exact words"`, or `"a b"~N`: the words within N tokens of each other in any order."""

    words: tuple[str, ...]
    slop: int | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/N right`: at most N tokens between a match of each side (any order)."""

    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class Keyword:
    """`source:`, `domain:`, `lang:`, `tag:`, `keyword:`: exact value, case-insensitive."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Range:
    field: str
    gte: datetime | None = None
    lt: datetime | None = None


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | Prefix | Phrase | Near | Keyword | Range | And | Or | Not
NEAR_OPERANDS = (Term, Prefix, Phrase)


def positive_words(node: Node) -> list[str]:
    """Words a match must or may contain (for snippets); negated parts are left out."""
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
    return []


def to_text(node: Node) -> str:
    """Canonical query text: equal for equal ASTs (used in the alert rules index and tests)."""
    def field(f: str | None, s: str) -> str:
        return f"{f}:{s}" if f else s

    if isinstance(node, Term):
        return field(node.field, node.word)
    if isinstance(node, Prefix):
        return field(node.field, node.prefix + "*")
    if isinstance(node, Phrase):
        text = '"' + " ".join(node.words) + '"' + (f"~{node.slop}" if node.slop is not None else "")
        return field(node.field, text)
    if isinstance(node, Near):
        return f"({to_text(node.left)} NEAR/{node.distance} {to_text(node.right)})"
    if isinstance(node, Keyword):
        return f'{node.field}:"{node.value}"'
    if isinstance(node, Range):
        lo = node.gte.isoformat() if node.gte else "*"
        hi = node.lt.isoformat() if node.lt else "*"
        return f"{node.field}:[{lo} TO {hi})"
    if isinstance(node, And):
        return "(" + " AND ".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_text(c) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"NOT {to_text(node.child)}"
    raise TypeError(node)
