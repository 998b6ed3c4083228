"""Parser for the query language (recursive descent, so every error can point at its position).

    (Iran OR Teheran) AND Venezuela NOT Fußball
    Shahed NEAR/5 Drohne*      "exact phrase"      "drohne angriff"~3
    title:Maduro  body:(Öl OR Gas)  source:"Harbour Herald"  lang:de  tag:Iran  keyword:Sanktionen
    published:[2025-01-01 TO 2025-02-01]   published:>now-7d   indexed:>=2026-11-01

Operators are upper-case (AND, OR, NOT, NEAR/N); lower-case words are plain search terms.
Precedence, tightest first: NEAR, NOT/-, AND (also implicit, by juxtaposition), OR.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ingest.errors import QueryError
from ingest.query.ast import (
    ALL_FIELDS,
    KEYWORD_FIELDS,
    NEAR_OPERANDS,
    TEXT_FIELDS,
    And,
    Keyword,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Range,
    Term,
)
from ingest.text import tokens

NEAR_OP = re.compile(r"^NEAR/(\d+)$")
FIELD = re.compile(r"^([A-Za-z_]+):")
RELATIVE = re.compile(r"^now(?:([+-])(\d+)([smhdwMy]))?$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
MAX_LENGTH = 4000


@dataclass(slots=True)
class Tok:
    kind: str   # WORD PHRASE LP RP AND OR NOT NEG PLUS NEAR FIELD RANGE EOF
    value: object
    pos: int


def _lex(text: str) -> list[Tok]:
    out: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(Tok("LP" if c == "(" else "RP", c, i))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(text, "unterminated phrase (missing closing quote)", i)
            slop = None
            j = end + 1
            m = re.match(r"~(\d+)", text[j:])
            if m:
                slop, j = int(m.group(1)), j + m.end()
            out.append(Tok("PHRASE", (text[i + 1:end], slop), i))
            i = j
        elif c in "[{":
            close = "]" if c == "[" else "}"
            end = min((p for p in (text.find("]", i), text.find("}", i)) if p >= 0), default=-1)
            if end < 0:
                raise QueryError(text, f"unterminated range (missing {close})", i)
            out.append(Tok("RANGE", (c, text[i + 1:end], text[end]), i))
            i = end + 1
        elif c in "-+" and i + 1 < n and not text[i + 1].isspace() and (not out or out[-1].kind != "FIELD"):
            out.append(Tok("NEG" if c == "-" else "PLUS", c, i))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                if text[j] in "[{" and j > i and text[j - 1] == ":":
                    break
                j += 1
            word = text[i:j]
            m = FIELD.match(word)
            if m and _is_field(text, m.group(1), i):
                out.append(Tok("FIELD", m.group(1).lower(), i))
                i += m.end()
                continue
            if word in ("AND", "OR", "NOT"):
                out.append(Tok(word, word, i))
            elif word.startswith("NEAR/") or word == "NEAR":
                m2 = NEAR_OP.match(word)
                if not m2:
                    raise QueryError(text, "NEAR needs a distance, e.g. NEAR/5", i)
                out.append(Tok("NEAR", int(m2.group(1)), i))
            else:
                out.append(Tok("WORD", word, i))
            i = j
    out.append(Tok("EOF", None, n))
    return out


def _is_field(text: str, name: str, pos: int) -> bool:
    """A known field; a near miss of one is an error; anything else (http:, 10:30) is plain text."""
    if name.lower() in ALL_FIELDS:
        return True
    close = difflib.get_close_matches(name.lower(), ALL_FIELDS, n=1, cutoff=0.75)
    if close:
        raise QueryError(text, f"unknown field {name}: (did you mean {close[0]}:?)", pos)
    return False


class _Parser:
    def __init__(self, text: str, now: datetime):
        self.text, self.now = text, now
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Tok | None = None) -> QueryError:
        return QueryError(self.text, message, (tok or self.peek()).pos)

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise self.error("empty query")
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == "RP":
            raise self.error("unbalanced parenthesis: no matching '('", tok)
        if tok.kind != "EOF":
            raise self.error(f"unexpected {tok.value!r}", tok)
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek().kind == "OR":
            op = self.take()
            if self.peek().kind in ("EOF", "RP", "OR", "AND"):
                raise self.error("OR needs a term on its right", op)
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    STARTS = ("WORD", "PHRASE", "LP", "FIELD", "NEG", "PLUS", "NOT")

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                op = self.take()
                if self.peek().kind not in self.STARTS:
                    raise self.error("AND needs a term on its right", op)
                items.append(self.parse_unary())
            elif kind in self.STARTS:
                items.append(self.parse_unary())
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "NEG"):
            self.take()
            if self.peek().kind not in self.STARTS:
                raise self.error("NOT needs a term to exclude", tok)
            return Not(self.parse_unary())
        if tok.kind == "PLUS":
            self.take()
            return self.parse_unary()
        return self.parse_near()

    def parse_near(self) -> Node:
        left = self.parse_primary()
        while self.peek().kind == "NEAR":
            op = self.take()
            if self.peek().kind not in ("WORD", "PHRASE", "LP", "FIELD"):
                raise self.error("NEAR needs a term on its right", op)
            right = self.parse_primary()
            for side in (left, right):
                if not _near_operand(side):
                    raise self.error("NEAR joins words, phrases, prefixes or OR-groups of them", op)
            left = Near(left, right, int(op.value))
        return left

    def parse_primary(self) -> Node:
        tok = self.take()
        if tok.kind == "LP":
            if self.peek().kind == "RP":
                raise self.error("empty parentheses", tok)
            node = self.parse_or()
            if self.peek().kind != "RP":
                raise self.error("unbalanced parenthesis: missing ')'", tok)
            self.take()
            return node
        if tok.kind == "WORD":
            return self.word(tok, None)
        if tok.kind == "PHRASE":
            return self.phrase(tok, None)
        if tok.kind == "FIELD":
            return self.field(tok)
        if tok.kind == "EOF":
            raise self.error("query ends where a term was expected", tok)
        raise self.error(f"expected a term, found {tok.value!r}", tok)

    def word(self, tok: Tok, field: str | None) -> Node:
        text = str(tok.value)
        if text.endswith("*"):
            stem = text.rstrip("*")
            parts = tokens(stem)
            if "*" in stem or len(parts) != 1 or not stem.endswith(parts[0]):
                raise self.error("a wildcard goes at the end of one word, e.g. Drohne*", tok)
            return Prefix(parts[0], field)
        if "*" in text:
            raise self.error("wildcards are only allowed at the end of a word", tok)
        parts = tokens(text)
        if not parts:
            raise self.error(f"{text!r} has no letters or digits to search for", tok)
        return Term(parts[0], field) if len(parts) == 1 else Phrase(tuple(parts), None, field)

    def phrase(self, tok: Tok, field: str | None) -> Node:
        raw, slop = tok.value
        parts = tokens(raw)
        if not parts:
            raise self.error("empty phrase", tok)
        if len(parts) == 1 and slop is None:
            return Phrase((parts[0],), None, field)
        return Phrase(tuple(parts), slop, field)

    def field(self, tok: Tok) -> Node:
        name = str(tok.value)
        value = self.peek()
        if value.kind in ("EOF", "RP", "AND", "OR"):
            raise self.error(f"{name}: needs a value", tok)
        if name in TEXT_FIELDS:
            if value.kind == "LP":
                return _with_field(self.parse_primary(), name, self, value)
            self.take()
            if value.kind == "WORD":
                return self.word(value, name)
            if value.kind == "PHRASE":
                return self.phrase(value, name)
            raise self.error(f"{name}: needs a word, a phrase or a group", value)
        if name in KEYWORD_FIELDS:
            self.take()
            if value.kind == "WORD":
                text = str(value.value)
            elif value.kind == "PHRASE":
                text = str(value.value[0]).strip()
            else:
                raise self.error(f"{name}: needs a value", value)
            return Keyword(name, text.lower() if name == "lang" else text)
        return self.date_range(name, self.take())

    def date_range(self, name: str, tok: Tok) -> Node:
        if tok.kind == "RANGE":
            opening, body, closing = tok.value
            parts = re.split(r"\s+TO\s+", body.strip())
            if len(parts) != 2:
                raise self.error("a range reads [FROM TO UNTIL], e.g. [2025-01-01 TO 2025-02-01]", tok)
            lo = None if parts[0] == "*" else self.date(parts[0], tok)
            hi = None if parts[1] == "*" else self.date(parts[1], tok)
            gte = lo and (lo[0] if opening == "[" else lo[0] + lo[1])
            lt = hi and (hi[0] + hi[1] if closing == "]" else hi[0])
            return Range(name, gte or None, lt or None)
        if tok.kind != "WORD":
            raise self.error(f"{name}: needs a date, a range or a comparison like >now-7d", tok)
        text = str(tok.value)
        m = re.match(r"^(>=|<=|>|<)?(.+)$", text)
        op, value = m.group(1), m.group(2)
        when, unit = self.date(value, tok)
        if op in (">", ">="):
            return Range(name, when + unit if op == ">" and unit.days else when, None)
        if op in ("<", "<="):
            return Range(name, None, when + unit if op == "<=" else when)
        return Range(name, when, when + unit)

    def date(self, text: str, tok: Tok) -> tuple[datetime, timedelta]:
        """A point in time and its granularity (a day for dates, a second otherwise)."""
        m = RELATIVE.match(text)
        if m:
            delta = timedelta(seconds=int(m.group(2)) * UNITS[m.group(3)]) if m.group(2) else timedelta(0)
            return (self.now - delta if m.group(1) == "-" else self.now + delta), timedelta(seconds=1)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return datetime.fromisoformat(text).replace(tzinfo=UTC), timedelta(days=1)
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.error(f"{text!r} is not a date (use 2025-01-31, 2025-01-31T08:00:00Z or now-7d)", tok) from None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), timedelta(seconds=1)


def _near_operand(node: Node) -> bool:
    if isinstance(node, NEAR_OPERANDS):
        return True
    return isinstance(node, Or) and all(isinstance(c, NEAR_OPERANDS) for c in node.children)


def _with_field(node: Node, name: str, parser: _Parser, tok: Tok) -> Node:
    """Apply a text field to every text leaf of a group: title:(Öl OR Gas)."""
    if isinstance(node, Term | Prefix | Phrase):
        if node.field and node.field != name:
            raise parser.error(f"{node.field}: inside {name}:( ) is contradictory", tok)
        return replace(node, field=name)
    if isinstance(node, Near):
        return Near(_with_field(node.left, name, parser, tok), _with_field(node.right, name, parser, tok),
                    node.distance)
    if isinstance(node, And | Or):
        return type(node)(tuple(_with_field(c, name, parser, tok) for c in node.children))
    if isinstance(node, Not):
        return Not(_with_field(node.child, name, parser, tok))
    raise parser.error(f"{name}:( ) may only contain words and phrases", tok)


def parse(text: str, now: datetime | None = None) -> Node:
    """Parse a query. Raises QueryError with the position of the problem."""
    if len(text) > MAX_LENGTH:
        raise QueryError(text[:60] + "…", f"query longer than {MAX_LENGTH} characters")
    return _Parser(text, now or datetime.now(UTC)).parse()
