"""Parser for the query language: a small recursive-descent parser, so every error has a position.

    (Iran OR Teheran) AND Venezuela NOT Fußball
    Shahed NEAR/5 Drohne*      "exact phrase"  „Anführungszeichen“  «guillemets»  "drohne angriff"~3
    =Drohne (the word and its inflections, not as a part of compounds like Kampfdrohnen)
    title:Maduro  body:(Öl OR Gas)  source:"Harbour Herald"  lang:de  tag:Iran  keyword:Sanktionen
    published:[2025-01-01 TO 2025-02-01]   published:>now-7d   indexed:>=2026-11-01

Operators are upper-case (AND, OR, NOT, NEAR/N); lower-case and/or/not are search words.
Precedence, tightest first: NEAR/N, then NOT / - / +, then AND (also implicit), then OR.
luqum is not used: it has no NEAR/N, and its errors do not all carry positions.
The full language is documented in docs/query-language.md.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from ingest.errors import QueryError
from ingest.query.analysis import near_pairs
from ingest.query.ast import (
    ALL_FIELDS,
    FIELD_ALIASES,
    KEYWORD_FIELDS,
    TEXT_FIELDS,
    And,
    Field,
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

MAX_LENGTH = 4000
MAX_DEPTH = 64
MAX_DISTANCE = 1000
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)  # dates searched: far enough from datetime's limits that
LATEST = datetime(9000, 1, 1, tzinfo=UTC)    # ends of periods and chart buckets never overflow
DATE_RANGE_TEXT = f"{EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}"
MIN_PREFIX = 2
NEAR_OP = re.compile(r"NEAR/(\d+)")
FIELD_NAME = re.compile(r"([A-Za-z]+):")
DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
RELATIVE = re.compile(r"now(?:([+-])(\d+)([smhdwMy]))?")
COMPARISONS = (">=", "<=", ">", "<")  # longest first
STARTS = ("WORD", "PHRASE", "LP", "FIELD", "NEG", "PLUS", "NOT", "RANGE")
# Quotation marks that open a phrase, and the marks that may close each: "…" „…“ „…” ‚…‘ «…» »…« “…” ‘…’ ”…”
QUOTES = {'"': '"', "„": "“”", "‚": "‘’", "«": "»", "»": "«", "“": "”“", "‘": "’‘", "”": "”"}
WORD_STOP = '()"„“”«»‚‘'


TokKind = Literal["WORD", "PHRASE", "LP", "RP", "AND", "OR", "NOT", "NEG", "PLUS", "NEAR", "FIELD", "RANGE", "EOF"]


BOOLEAN_OPS: dict[str, TokKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}


class PhraseValue(NamedTuple):
    text: str
    slop: int | None  # "a b"~N


class RangeValue(NamedTuple):
    opening: str  # [ or {
    body: str     # between the brackets
    closing: str  # ] or }
    start: int    # position of the body in the query


@dataclass(slots=True)
class Tok:
    kind: TokKind
    value: str | int | PhraseValue | RangeValue | None  # int for NEAR/N, None for EOF
    pos: int

    def distance(self) -> int:
        assert isinstance(self.value, int), self
        return self.value

    def phrase(self) -> PhraseValue:
        assert isinstance(self.value, PhraseValue), self
        return self.value

    def range(self) -> RangeValue:
        assert isinstance(self.value, RangeValue), self
        return self.value


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
        elif c in QUOTES:
            i = _lex_phrase(text, i, out)
        elif c in "[{":
            end = min((p for p in (text.find("]", i), text.find("}", i)) if p >= 0), default=-1)
            if end < 0:
                raise QueryError(text, "unterminated range: missing ] or }", i)
            out.append(Tok("RANGE", RangeValue(c, text[i + 1:end], text[end], i + 1), i))
            i = end + 1
        elif c in "-+" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")" \
                and not (out and out[-1].kind == "FIELD"):
            out.append(Tok("NEG" if c == "-" else "PLUS", c, i))
            i += 1
        else:
            i = _lex_word(text, i, out)
    out.append(Tok("EOF", None, n))
    return out


def _lex_phrase(text: str, i: int, out: list[Tok]) -> int:
    closers = QUOTES[text[i]]
    end = next((j for j in range(i + 1, len(text)) if text[j] in closers), -1)
    if end < 0:
        raise QueryError(text, f"unterminated phrase: missing closing quote ({' or '.join(closers)})", i)
    j, slop = end + 1, None
    if j < len(text) and text[j] == "~":
        m = re.match(r"~(\d+)", text[j:])
        if not m:
            raise QueryError(text, 'a proximity needs a number of words, e.g. "Drohne Angriff"~5', j)
        slop, j = int(m.group(1)), j + m.end()
        if slop > MAX_DISTANCE:
            raise QueryError(text, f"proximity is at most {MAX_DISTANCE} words", end + 2)
    if j < len(text) and not text[j].isspace() and text[j] not in "()":
        raise QueryError(text, "a phrase must be followed by a space or a parenthesis (wildcards do not work "
                               "inside quotes)", j)
    out.append(Tok("PHRASE", PhraseValue(text[i + 1:end], slop), i))
    return j


def _lex_word(text: str, i: int, out: list[Tok]) -> int:
    n, j = len(text), i
    while j < n and not text[j].isspace() and text[j] not in WORD_STOP:
        if text[j] in "[{" and j > i and text[j - 1] == ":":
            break
        j += 1
    word = text[i:j]
    m = FIELD_NAME.match(word)
    if m and not word[m.end():].startswith("//"):
        name = FIELD_ALIASES.get(m.group(1).lower(), m.group(1).lower())
        follows = m.end() < len(word) or (j < n and (text[j] in '("[{' or text[j] in QUOTES))
        if name in ALL_FIELDS:
            if not follows:
                raise QueryError(text, f"{name}: needs a value right after the colon, e.g. {name}:Iran", i)
            out.append(Tok("FIELD", name, i))
            return i + m.end()
        if follows:
            close = difflib.get_close_matches(name, ALL_FIELDS + tuple(FIELD_ALIASES), n=1, cutoff=0.6)
            hint = f"did you mean {FIELD_ALIASES.get(close[0], close[0])}:?" if close else \
                f"fields are {', '.join(ALL_FIELDS)}; quote the text to search for it"
            raise QueryError(text, f"unknown field {m.group(1)}: ({hint})", i)
    if word in BOOLEAN_OPS:
        out.append(Tok(BOOLEAN_OPS[word], word, i))
    elif word == "NEAR" or word.startswith("NEAR/"):
        m2 = NEAR_OP.fullmatch(word)
        if not m2:
            raise QueryError(text, "NEAR needs a distance, e.g. NEAR/5", i)
        if int(m2.group(1)) > MAX_DISTANCE:
            raise QueryError(text, f"NEAR distance is at most {MAX_DISTANCE}", i)
        out.append(Tok("NEAR", int(m2.group(1)), i))
    elif re.fullmatch(r"near/\d+", word, re.I):
        raise QueryError(text, f"operators are upper-case: write {word.upper()}", i)
    else:
        out.append(Tok("WORD", word, i))
    return j


def _and(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat += item.children if isinstance(item, And) else [item]
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        flat += item.children if isinstance(item, Or) else [item]
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _near_operand(node: Node) -> bool:
    if isinstance(node, Phrase):
        return node.slop is None
    if isinstance(node, Term | Prefix):
        return True
    return isinstance(node, Or) and all(_near_operand(c) for c in node.children)


class _Parser:
    """`ctx` is None at the top, or the field a group is inside: ("text", "title") / ("keyword", "tag")."""

    def __init__(self, text: str, now: datetime):
        self.text, self.now = text, now
        self.toks = _lex(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Tok | int | None = None) -> QueryError:
        pos = tok if isinstance(tok, int) else (tok or self.peek()).pos
        return QueryError(self.text, message, pos)

    # -- boolean structure ---------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise self.error("empty query")
        node = self.parse_or(None)
        tok = self.peek()
        if tok.kind == "RP":
            raise self.error("unbalanced parenthesis: ')' without a matching '('", tok)
        if tok.kind != "EOF":
            raise self.error(f"unexpected {tok.value!r}", tok)
        return node

    def parse_or(self, ctx) -> Node:
        items = [self.parse_and(ctx)]
        while self.peek().kind == "OR":
            op = self.take()
            if self.peek().kind not in STARTS:
                raise self.error("OR needs a term on its right", op)
            items.append(self.parse_and(ctx))
        return _or(items)

    def parse_and(self, ctx) -> Node:
        items = [self.parse_unary(ctx)]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                op = self.take()
                if self.peek().kind not in STARTS:
                    raise self.error("AND needs a term on its right", op)
            elif kind not in STARTS:
                break
            items.append(self.parse_unary(ctx))
        return _and(items)

    def parse_unary(self, ctx) -> Node:
        negations = 0
        while self.peek().kind in ("NOT", "NEG", "PLUS"):
            op = self.take()
            negations += op.kind != "PLUS"
            if self.peek().kind not in STARTS:
                what = "NOT" if op.kind == "NOT" else repr(op.value)
                raise self.error(f"{what} needs a term on its right", op)
        node = self.parse_near(ctx)
        return Not(node) if negations % 2 else node

    def parse_near(self, ctx) -> Node:
        left = self.parse_primary(ctx)
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        if ctx and ctx[0] == "keyword":
            raise self.error(f"NEAR works on text, not on {ctx[1]}: values", op)
        if self.peek().kind not in ("WORD", "PHRASE", "LP", "FIELD"):
            raise self.error(f"NEAR/{op.value} needs a term on its right", op)
        right = self.parse_primary(ctx)
        if self.peek().kind == "NEAR":
            raise self.error("NEAR cannot be chained; join pairs with AND: (a NEAR/5 b) AND (b NEAR/5 c)")
        return self.near(left, right, op)

    def near(self, left: Node, right: Node, op: Tok) -> Node:
        fields = []
        sides = []
        for side in (left, right):
            name = None
            if isinstance(side, Field):
                name, side = side.field, side.node
                if name not in TEXT_FIELDS:
                    raise self.error(f"NEAR works on text, not on {name}: values", op)
            if not _near_operand(side):
                raise self.error("NEAR joins words, prefixes, exact phrases or OR-groups of them "
                                 "(no AND, NOT or ~N inside)", op)
            fields.append(name)
            sides.append(side)
        if fields[0] != fields[1]:
            field = fields[0] or fields[1]
            raise self.error(f"both sides of NEAR must search the same field: write {field}:(a NEAR/5 b)", op)
        node = Near(sides[0], sides[1], op.distance())
        try:
            near_pairs(node)
        except ValueError as exc:
            raise self.error(str(exc), op) from None
        return Field(fields[0], node) if fields[0] else node

    def parse_primary(self, ctx) -> Node:
        tok = self.take()
        if tok.kind == "LP":
            if self.peek().kind == "RP":
                raise self.error("empty parentheses", tok)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"parentheses nested deeper than {MAX_DEPTH}", tok)
            node = self.parse_or(ctx)
            self.depth -= 1
            if self.peek().kind != "RP":
                raise self.error("unbalanced parenthesis: missing ')'", tok)
            self.take()
            return node
        if tok.kind == "WORD":
            return self.word(tok, ctx)
        if tok.kind == "PHRASE":
            return self.phrase(tok, ctx)
        if tok.kind == "FIELD":
            if ctx:
                raise self.error(f"{tok.value}: cannot be used inside {ctx[1]}:( )", tok)
            return self.field(tok)
        if tok.kind == "RANGE":
            raise self.error("a date range needs a field, e.g. published:[2025-01-01 TO 2025-02-01]", tok)
        if tok.kind == "EOF":
            raise self.error("query ends where a term was expected", tok)
        if tok.kind == "RP":
            raise self.error("unbalanced parenthesis: ')' where a term was expected", tok)
        if tok.kind == "NEAR":
            raise self.error(f"NEAR/{tok.value} needs a term on its left", tok)
        raise self.error(f"expected a term, found {tok.value!r}", tok)

    # -- leaves --------------------------------------------------------------------------------------

    def word(self, tok: Tok, ctx) -> Node:
        text = str(tok.value)
        if ctx and ctx[0] == "keyword":
            return self.value(text, ctx[1], tok)
        if text.endswith("*"):
            stem = text[:-1]
            if stem.startswith("="):
                raise self.error("=word asks for a whole word: it cannot end in a wildcard", tok)
            if "*" in stem or tokens(stem) != [stem]:
                raise self.error("a wildcard goes at the end of one word, e.g. Drohne*", tok)
            if len(stem) < MIN_PREFIX:
                raise self.error(f"a wildcard needs at least {MIN_PREFIX} letters before the *", tok)
            return Prefix(stem)
        if "*" in text:
            raise self.error("wildcards are only allowed at the end of a word, e.g. Drohne*", tok)
        whole = text.startswith("=") and len(text) > 1
        if whole:
            text = text[1:]
        parts = tokens(text)
        if not parts:
            raise self.error(f"{text!r} has no letters or digits to search for "
                             "(operators are AND, OR, NOT, NEAR/N)", tok)
        return Term(parts[0], whole) if len(parts) == 1 else Phrase(tuple(parts))

    def value(self, text: str, field: str, tok: Tok) -> Node:
        """A keyword-field value: kept as typed (no tokenising); `*` at the end makes it a prefix."""
        if text.endswith("*"):
            text = text[:-1]
            if not text or "*" in text:
                raise self.error("a wildcard goes at the end of a value, e.g. source:Harbour*", tok)
            return Prefix(text.lower() if field == "lang" else text)
        if "*" in text:
            raise self.error("wildcards are only allowed at the end of a value", tok)
        return Term(text.lower() if field == "lang" else text)

    def phrase(self, tok: Tok, ctx) -> Node:
        raw, slop = tok.phrase()
        if ctx and ctx[0] == "keyword":
            if slop is not None:
                raise self.error("~N works on text phrases, not on field values", tok)
            if not raw.strip():
                raise self.error(f"{ctx[1]}: needs a value", tok)
            return Term(raw.strip().lower() if ctx[1] == "lang" else raw.strip())
        parts = tokens(raw)
        if not parts:
            raise self.error("empty phrase", tok)
        return Phrase(tuple(parts), slop if len(parts) > 1 else None)

    def field(self, tok: Tok) -> Node:
        name = str(tok.value)
        value = self.peek()
        if name in TEXT_FIELDS or name in KEYWORD_FIELDS:
            ctx = ("text" if name in TEXT_FIELDS else "keyword", name)
            if value.kind == "LP":
                return Field(name, self.parse_primary(ctx))
            if value.kind == "WORD" and str(value.value)[:1] in "-+":
                raise self.error(f"put {str(value.value)[0]} before the field: {str(value.value)[0]}{name}:…", value)
            if value.kind == "WORD":
                return Field(name, self.word(self.take(), ctx))
            if value.kind == "PHRASE":
                return Field(name, self.phrase(self.take(), ctx))
            raise self.error(f"{name}: needs a word, a \"quoted value\" or a (group)", value)
        return self.date_range(name, self.take())

    # -- dates ---------------------------------------------------------------------------------------

    def date_range(self, name: str, tok: Tok) -> Node:
        example = f"{name}:>=2025-01-01, {name}:>now-7d or {name}:[2025-01-01 TO 2025-01-31]"
        if tok.kind == "RANGE":
            opening, body, closing, start = tok.range()
            parts = re.split(r"\s+TO\s+", body.strip())
            if len(parts) != 2:
                raise self.error(f"a range reads [FROM TO UNTIL] (TO in capitals), e.g. {example}", tok)
            lo_text, hi_text = parts[0].strip(), parts[1].strip()
            bounds: dict = {}
            if lo_text != "*":
                lo, lo_end = self.point(lo_text, start + body.find(lo_text))
                if opening == "[":
                    bounds["gte"] = lo
                elif lo_end:
                    bounds["gte"] = lo_end
                else:
                    bounds["gt"] = lo
            if hi_text != "*":
                hi, hi_end = self.point(hi_text, start + body.rfind(hi_text))
                if closing == "}":
                    bounds["lt"] = hi
                elif hi_end:
                    bounds["lt"] = hi_end
                else:
                    bounds["lte"] = hi
            low = bounds.get("gte") or bounds.get("gt")
            high = bounds.get("lt") or bounds.get("lte")
            if low and high and low > high:
                raise self.error("the range ends before it starts", tok)
            expr = f"{opening}{lo_text} TO {hi_text}{closing}" if "now" in body else None
            return Range(name, expr=expr, **bounds)
        if tok.kind != "WORD":
            raise self.error(f"{name}: needs a date: {example}", tok)
        word = str(tok.value)
        op = next((o for o in COMPARISONS if word.startswith(o)), None)
        text = word[len(op or ""):]
        if not text:
            raise self.error(f"{name}:{op} needs a date after it", tok)
        when, end = self.point(text, tok.pos + len(op or ""))
        expr = (op or "") + text if text.startswith("now") else None
        if op is None:
            if text.startswith("now"):
                raise self.error(f"{text} is one moment: compare it, e.g. {name}:>{text}", tok)
            return Range(name, gte=when, lt=end) if end else Range(name, gte=when, lte=when)
        if op == ">":
            return Range(name, gte=end, expr=expr) if end else Range(name, gt=when, expr=expr)
        if op == ">=":
            return Range(name, gte=when, expr=expr)
        if op == "<":
            return Range(name, lt=when, expr=expr)
        return Range(name, lt=end, expr=expr) if end else Range(name, lte=when, expr=expr)

    def point(self, text: str, pos: int) -> tuple[datetime, datetime | None]:
        """(start, end of the period) for a year, month or day; (moment, None) for a timestamp or now±N.

        Dates outside `EARLIEST`..`LATEST` (9999-12-31, now+100000000d, now-99999999y) are a
        QueryError, not an overflow further on."""
        try:
            start, end = self._point(text, pos)
        except (OverflowError, ValueError):  # date arithmetic beyond what datetime holds
            start, end = None, None
        if start is None or not EARLIEST <= start <= LATEST or (end is not None and end > LATEST):
            raise self.error(f"{text[:40]!r} is outside the dates that can be searched ({DATE_RANGE_TEXT})", pos)
        return start, end

    def _point(self, text: str, pos: int) -> tuple[datetime, datetime | None]:
        m = RELATIVE.fullmatch(text)
        if m:
            if not m.group(1):
                return self.now, None
            n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
            unit = m.group(3)
            if unit in "My":
                return _add_months(self.now, n * (12 if unit == "y" else 1)), None
            seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
            return self.now + timedelta(seconds=n * seconds), None
        m = DATE.fullmatch(text)
        try:
            if m:
                year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
                start = datetime(year, month, day, tzinfo=UTC)
            elif "T" not in text:
                raise ValueError(text)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise self.error(f"{text[:40]!r} is not a date (use 2025-01-31, 2025-01, 2025-01-31T08:00:00Z, "
                             "now or now-7d)", pos) from None
        if m:  # a day, month or year: the end of the period too (beyond datetime's range: see `point`)
            if m.group(3):
                return start, start + timedelta(days=1)
            return start, _add_months(start, 1 if m.group(2) else 12)
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0), None


def _add_months(value: datetime, months: int) -> datetime:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31][month - 1]
    return value.replace(year=year, month=month, day=min(value.day, days))


def parse(text: str, now: datetime | None = None) -> Node:
    """Parse a query into an AST. Raises QueryError with the 0-based position of the problem.

    `now` anchors relative dates (now-7d); default: the current time. Times are UTC.
    """
    if len(text) > MAX_LENGTH:
        raise QueryError(text[:60] + "…", f"query longer than {MAX_LENGTH} characters")
    now = now or datetime.now(UTC)
    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    return _Parser(text, now).parse()

