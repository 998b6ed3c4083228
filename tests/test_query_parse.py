"""The query parser: the AST it builds, its canonical text, and errors that point at the problem."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.errors import QueryError
from ingest.query import (
    And,
    Field,
    Near,
    Not,
    Or,
    Phrase,
    Prefix,
    Range,
    Term,
    parse,
    positive_words,
    to_text,
)

NOW = datetime(2025, 3, 31, 12, 30, 15, 123456, tzinfo=UTC)


def d(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("query", "expected"), [
    ("Drohne", Term("Drohne")),
    ("Iran Venezuela", And((Term("Iran"), Term("Venezuela")))),
    ("Iran AND Venezuela", And((Term("Iran"), Term("Venezuela")))),
    ("Iran OR Teheran", Or((Term("Iran"), Term("Teheran")))),
    # precedence: NEAR > NOT > AND (explicit or implicit) > OR
    ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),
    ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
    ("a AND b OR c AND d", Or((And((Term("a"), Term("b"))), And((Term("c"), Term("d")))))),
    ("NOT a b", And((Not(Term("a")), Term("b")))),
    ("a NOT b", And((Term("a"), Not(Term("b"))))),
    ("a -b +c", And((Term("a"), Not(Term("b")), Term("c")))),
    ("NOT NOT a", Term("a")),
    ("-(a OR b)", Not(Or((Term("a"), Term("b"))))),
    ("(Iran OR Teheran) AND Venezuela NOT Fußball",
     And((Or((Term("Iran"), Term("Teheran"))), Term("Venezuela"), Not(Term("Fußball"))))),
    ("a AND (b AND c)", And((Term("a"), Term("b"), Term("c")))),
    # lower-case operators are words
    ("war and peace", And((Term("war"), Term("and"), Term("peace")))),
    ("this or that", And((Term("this"), Term("or"), Term("that")))),
    # phrases, proximity, wildcards
    ('"Shahed Drohnen"', Phrase(("Shahed", "Drohnen"))),
    ('"Drohne"', Phrase(("Drohne",))),
    ('"Drohne"~3', Phrase(("Drohne",))),
    ('"drohne angriff"~3', Phrase(("drohne", "angriff"), 3)),
    ("OPEC-Beschluss", Phrase(("OPEC", "Beschluss"))),
    ("U.S.", Phrase(("U", "S"))),
    ("Iran?", Term("Iran")),
    ("Drohne*", Prefix("Drohne")),
    ("Shahed NEAR/5 Drohne*", Near(Term("Shahed"), Prefix("Drohne"), 5)),
    ("(Iran OR Teheran) NEAR/10 (Drohne OR Drohnen)",
     Near(Or((Term("Iran"), Term("Teheran"))), Or((Term("Drohne"), Term("Drohnen"))), 10)),
    ('"Shahed Drohnen" NEAR/3 Iran', Near(Phrase(("Shahed", "Drohnen")), Term("Iran"), 3)),
    ("a NEAR/2 b c", And((Near(Term("a"), Term("b"), 2), Term("c")))),
    ("NOT a NEAR/2 b", Not(Near(Term("a"), Term("b"), 2))),
    # fields
    ("title:Maduro", Field("title", Term("Maduro"))),
    ("Title:Maduro", Field("title", Term("Maduro"))),
    ('body:"Shahed Drohnen"', Field("body", Phrase(("Shahed", "Drohnen")))),
    ("title:(Öl OR Gas*)", Field("title", Or((Term("Öl"), Prefix("Gas"))))),
    ("title:(a NEAR/3 b)", Field("title", Near(Term("a"), Term("b"), 3))),
    ("title:a NEAR/3 title:b", Field("title", Near(Term("a"), Term("b"), 3))),
    ("-title:Maduro", Not(Field("title", Term("Maduro")))),
    ('source:"Harbour Herald"', Field("source", Term("Harbour Herald"))),
    ("source:Harbour*", Field("source", Prefix("Harbour"))),
    ("domain:example.com", Field("domain", Term("example.com"))),
    ("lang:DE", Field("lang", Term("de"))),
    ("language:de", Field("lang", Term("de"))),
    ("tags:Iran", Field("tag", Term("Iran"))),
    ("tag:(Iran OR Irak)", Field("tag", Or((Term("Iran"), Term("Irak"))))),
    ("keyword:(Sanktionen -EU)", Field("keyword", And((Term("Sanktionen"), Not(Term("EU")))))),
    ('keyword:"wind farm"', Field("keyword", Term("wind farm"))),
    # not fields: URLs and times are text
    ("http://example.com/a", Phrase(("http", "example", "com", "a"))),
    ("10:30", Phrase(("10", "30"))),
    ("Iran:", Term("Iran")),
])
def test_parses(query, expected):
    assert parse(query, now=NOW) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("published:2025-01-31", Range("published", gte=d(2025, 1, 31), lt=d(2025, 2, 1))),
    ("published:2025-02", Range("published", gte=d(2025, 2, 1), lt=d(2025, 3, 1))),
    ("published:2024", Range("published", gte=d(2024, 1, 1), lt=d(2025, 1, 1))),
    ("published:>2025-01-31", Range("published", gte=d(2025, 2, 1))),
    ("published:>=2025-01-31", Range("published", gte=d(2025, 1, 31))),
    ("published:<2025-01-31", Range("published", lt=d(2025, 1, 31))),
    ("published:<=2025-01-31", Range("published", lt=d(2025, 2, 1))),
    ("published:[2025-01-01 TO 2025-02-01]", Range("published", gte=d(2025, 1, 1), lt=d(2025, 2, 2))),
    ("published:{2025-01-01 TO 2025-02-01}", Range("published", gte=d(2025, 1, 2), lt=d(2025, 2, 1))),
    ("published:[2025-01-01 TO *]", Range("published", gte=d(2025, 1, 1))),
    ("published:[* TO *]", Range("published")),
    ("indexed:[2025-01-01T08:00:00Z TO 2025-01-01T09:00:00Z}",
     Range("indexed", gte=d(2025, 1, 1, 8), lt=d(2025, 1, 1, 9))),
    ("indexed:{2025-01-01T08:00:00Z TO 2025-01-01T09:00:00Z]",
     Range("indexed", gt=d(2025, 1, 1, 8), lte=d(2025, 1, 1, 9))),
    ("published:>2025-01-31T08:00:00+01:00", Range("published", gt=d(2025, 1, 31, 7))),
    ("published:<=2025-01-31T08:00:00", Range("published", lte=d(2025, 1, 31, 8))),
    ("published:>now-7d", Range("published", gt=d(2025, 3, 24, 12, 30, 15), expr=">now-7d")),
    ("published:>=now-12h", Range("published", gte=d(2025, 3, 31, 0, 30, 15), expr=">=now-12h")),
    ("published:<now", Range("published", lt=d(2025, 3, 31, 12, 30, 15), expr="<now")),
    ("published:>now-1M", Range("published", gt=d(2025, 2, 28, 12, 30, 15), expr=">now-1M")),
    ("published:>now-1y", Range("published", gt=d(2024, 3, 31, 12, 30, 15), expr=">now-1y")),
    ("published:[now-2w TO now]",
     Range("published", gte=d(2025, 3, 17, 12, 30, 15), lte=d(2025, 3, 31, 12, 30, 15), expr="[now-2w TO now]")),
])
def test_dates(query, expected):
    assert parse(query, now=NOW) == expected


def test_relative_dates_default_to_the_current_time():
    node = parse("published:>now-1d")
    assert abs((datetime.now(UTC) - node.gt).total_seconds() - 86400) < 60


@pytest.mark.parametrize(("query", "position", "message"), [
    ("", 0, "empty query"),
    ("(Iran OR Teheran", 0, "missing ')'"),
    ("Iran) OR x", 4, "')' without a matching '('"),
    ("Iran AND", 5, "AND needs a term"),
    ("Iran AND )", 5, "AND needs a term"),
    ("OR Iran", 0, "expected a term, found 'OR'"),
    ("Iran OR OR Irak", 5, "OR needs a term"),
    ("Iran NOT", 5, "NOT needs a term"),
    ("Iran -", 5, "no letters or digits"),
    ("()", 0, "empty parentheses"),
    ("a (b OR ()) c", 8, "empty parentheses"),
    ('"Iran Venezuela', 0, "missing closing quote"),
    ('"a b"~x', 5, "proximity needs a number"),
    ('"a b"*', 5, "followed by a space"),
    ("titel:Maduro", 0, "did you mean title:?"),
    ("Iran AND sorce:x", 9, "did you mean source:?"),
    ("quelle:x", 0, "fields are title, body"),
    ("title: Maduro", 0, "right after the colon"),
    ("title:-Maduro", 6, "before the field"),
    ("title:(lang:de)", 7, "lang: cannot be used inside title:( )"),
    ("lang:", 0, "right after the colon"),
    ("lang:(de NEAR/2 en)", 9, "NEAR works on text"),
    ("Iran NEAR Drohne", 5, "NEAR needs a distance"),
    ("Iran near/5 Drohne", 5, "operators are upper-case: write NEAR/5"),
    ("NEAR/5 Drohne", 0, "needs a term on its left"),
    ("Iran NEAR/5", 5, "NEAR/5 needs a term on its right"),
    ("a NEAR/5 b NEAR/5 c", 11, "cannot be chained"),
    ("(a AND b) NEAR/5 c", 10, "NEAR joins words"),
    ('"a b"~2 NEAR/5 c', 8, "NEAR joins words"),
    ("title:Shahed NEAR/5 Drohne", 13, "same field"),
    ("lang:de NEAR/5 Drohne", 8, "NEAR works on text"),
    ("Dro*hne", 0, "only allowed at the end"),
    ("Drohne**", 0, "at the end of one word"),
    ("a*", 0, "at least 2 letters"),
    ("published:2025-13-01", 10, "is not a date"),
    ("published:[2025-01-01 TO 2025-02-30]", 25, "is not a date"),
    ("published:[2025-01-01 to 2025-02-01]", 10, "TO in capitals"),
    ("published:[2025-02-01 TO 2025-01-01]", 10, "ends before it starts"),
    ("published:[2025-01-01 TO 2025-02-01", 10, "missing ] or }"),
    ("published:yesterday", 10, "is not a date"),
    ("published:now-7d", 10, "is one moment"),
    ("published:>", 10, "needs a date"),
    ("published:(2025)", 10, "needs a date"),
    ("Iran [2025 TO 2026]", 5, "needs a field"),
    ("(" * 70 + "a" + ")" * 70, 64, "nested deeper"),
    ("(" + " OR ".join(f"w{i}" for i in range(30)) + ") NEAR/3 (" + " OR ".join(f"v{i}" for i in range(30)) + ")",
     " OR ".join(f"w{i}" for i in range(30)).__len__() + 3, "combinations"),
])
def test_errors_point_at_the_problem(query, position, message):
    with pytest.raises(QueryError) as info:
        parse(query, now=NOW)
    assert info.value.position == position, str(info.value)
    assert message in str(info.value)


def test_error_message_shows_a_pointer():
    with pytest.raises(QueryError) as info:
        parse("Iran AND (Drohne OR")
    text = str(info.value)
    assert info.value.position == 17
    assert text.splitlines()[1:] == ["  Iran AND (Drohne OR", " " * (2 + 17) + "^"]


def test_overlong_queries_are_refused():
    with pytest.raises(QueryError, match="longer than"):
        parse("Iran " * 1000)


@pytest.mark.parametrize(("query", "canonical"), [
    ("(Iran OR Teheran) AND Venezuela NOT Fußball", "(Iran OR Teheran) AND Venezuela AND NOT Fußball"),
    ("iran   venezuela", "iran AND venezuela"),
    ("Shahed NEAR/5 Drohne*", "Shahed NEAR/5 Drohne*"),
    ("(Iran OR Teheran) NEAR/10 (Drohne OR Drohnen)", "(Iran OR Teheran) NEAR/10 (Drohne OR Drohnen)"),
    ('"drohne angriff"~3 -lang:en', '"drohne angriff"~3 AND NOT lang:en'),
    ('Title:(Öl OR Gas*)', "title:(Öl OR Gas*)"),
    ('source:"Harbour Herald" OR source:Wire', 'source:"Harbour Herald" OR source:Wire'),
    ('tag:"OR"', 'tag:"OR"'),
    ("published:[2025-01-01 TO 2025-01-31]", "published:[2025-01-01T00:00:00Z TO 2025-02-01T00:00:00Z}"),
    ("published:>2025-01-31T08:00:00Z", "published:{2025-01-31T08:00:00Z TO *]"),
    ("published:>now-7d", "published:>now-7d"),
    ("a OR (b AND (c OR d))", "a OR (b AND (c OR d))"),
    ("NOT (a OR b)", "NOT (a OR b)"),
])
def test_canonical_text(query, canonical):
    node = parse(query, now=NOW)
    assert to_text(node) == canonical
    assert parse(canonical, now=NOW) == node


def test_positive_words_leave_out_negations_and_field_values():
    node = parse('(Iran OR Teheran) "Shahed Drohnen" Drohne* -Fußball lang:de title:Maduro', now=NOW)
    assert positive_words(node) == ["Iran", "Teheran", "Shahed", "Drohnen", "Drohne*", "Maduro"]
