"""The query language compiled to SQLite: FTS5 MATCH expressions for text, SQL for everything else.

Text leaves (which tokens they look for: `ingest.query.analysis`; the language: docs/query-language.md):
    Term      any stem of the word, on {title_stem body_stem title_parts body_parts} (`=word`: without
              the parts); stems of the other stemmer languages as `(lang : "ru" AND {...} : "метр")`
    Prefix    `"p" *` on the exact columns {title body} (FTS5 folds case and accents)
    Phrase    `"w1 w2"` on {title body}; with ~N: NEAR("w1" "w2", N)
    Near      NEAR(left right, N) on {title_stem body_stem}, expanded over the sides' alternatives
A subtree made only of text becomes one FTS5 expression, tested as
`a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)`; fields, dates and negations
without a positive text partner are combined in SQL. Every value is a bound parameter; words inside
FTS5 expressions are always double-quoted strings, so no query text is ever read as syntax.
"""

from __future__ import annotations

from ingest.errors import QueryError
from ingest.query import to_text
from ingest.query.analysis import (
    Alt,
    exact_prefixes,
    exact_sequences,
    near_pairs,
    proximity_words,
    term_tokens,
)
from ingest.query.ast import TEXT_FIELDS, And, Field, Near, Node, Not, Or, Phrase, Prefix, Range, Term, iso

MAX_OFFSET = 10_000
RANK_WINDOW = 10_000  # relevance scores the newest N text matches (see `_ranked_from_index`); 0 = all
BM25 = "bm25(articles_fts, 4.0, 1.0, 4.0, 1.0, 2.0, 0.4, 0.1, 0.0)"  # title, body, title_stem, body_stem, tags, *_parts, lang
MATCH = "a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _cols(field: str | None, stemmed: bool, parts: bool = False) -> str:
    names = [field] if field else list(TEXT_FIELDS)
    views = (("_stem", "_parts") if parts else ("_stem",)) if stemmed else ("",)
    return "{" + " ".join(n + v for v in views for n in names) + "}"


def _term(node: Term, field: str | None) -> str:
    """Stems on the stem view (and the parts view unless `=word`); other languages' stems restricted to
    articles in those languages."""
    tokens = term_tokens(node.word)
    cols = _cols(field, True, parts=not node.whole)
    alts = [f"{cols} : {_any([_q(s) for s in tokens.stems])}"]
    alts += [f"({{lang}} : {_any([_q(lang) for lang in langs])} AND {cols} : {_q(stem)})"
             for stem, langs in tokens.by_language]
    return _any(alts)


def _any(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"


def _alt(alt: Alt) -> str:
    return _q(alt.prefix) + " *" if alt.prefix is not None else _q(" ".join(alt.tokens))


# -- FTS5 ---------------------------------------------------------------------------------------------

def fts(node: Node, field: str | None = None) -> str | None:
    """The node as one FTS5 expression, or None when it needs SQL (keyword fields, dates, a lone NOT)."""
    if isinstance(node, Term):
        return _term(node, field)
    if isinstance(node, Prefix):
        return f"{_cols(field, False)} : {_any([_q(p) + ' *' for p in exact_prefixes(node.prefix)])}"
    if isinstance(node, Phrase):
        words = node.words if node.slop is None else proximity_words(node.words)
        seqs = exact_sequences(words)
        if node.slop is None or len(words) == 1:
            return f"{_cols(field, False)} : {_any([_q(' '.join(s)) for s in seqs])}"
        groups = [f"NEAR({' '.join(_q(w) for w in s)}, {node.slop})" for s in seqs]
        return f"{_cols(field, False)} : {_any(groups)}"
    if isinstance(node, Near):
        try:
            pairs = near_pairs(node)
        except ValueError as exc:
            raise QueryError(to_text(node), str(exc)) from None
        groups = [f"NEAR({_alt(a)} {_alt(b)}, {node.distance})" for a, b in pairs]
        return f"{_cols(field, True)} : {_any(groups)}"
    if isinstance(node, Field):
        return fts(node.node, node.field) if node.field in TEXT_FIELDS else None
    if isinstance(node, Or):
        parts = [fts(c, field) for c in node.children]
        known = [p for p in parts if p is not None]
        return "(" + " OR ".join(known) + ")" if len(known) == len(parts) else None
    if isinstance(node, And):
        pos = [fts(c, field) for c in node.children if not isinstance(c, Not)]
        neg = [fts(c.child, field) for c in node.children if isinstance(c, Not)]
        pos_known = [p for p in pos if p is not None]
        neg_known = [n for n in neg if n is not None]
        if not pos or len(pos_known) < len(pos) or len(neg_known) < len(neg):
            return None
        expr = "(" + " AND ".join(pos_known) + ")"
        # FTS5's NOT is a left-associative binary operator: the whole `x NOT y` is bracketed, or under a
        # parent NOT it would read `a NOT (x) NOT y` (= a AND NOT x AND NOT y) instead of `a NOT (x NOT y)`.
        return f"({expr} NOT {_any(neg_known)})" if neg_known else expr
    return None


# -- SQL ----------------------------------------------------------------------------------------------

def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _keyword(node: Node, field: str) -> tuple[str, list]:
    """A keyword-field value test over `articles a`: case-insensitive (ifold is Python's str.lower)."""
    if isinstance(node, Not):
        cond, params = _keyword(node.child, field)
        return f"NOT ({cond})", params
    if isinstance(node, And | Or):
        parts = [_keyword(c, field) for c in node.children]
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(f"({c})" for c, _ in parts), [p for _, ps in parts for p in ps]
    if isinstance(node, Term):
        value, op = node.word.lower(), "= ?"
    elif isinstance(node, Prefix):
        value, op = _like(node.prefix.lower()) + "%", "LIKE ? ESCAPE '\\'"
    else:
        raise TypeError(node)
    if field == "lang":
        return f"ifold(coalesce(a.language, '')) {op}", [value]
    if field == "access":
        return f"ifold(a.access) {op}", [value]
    if field == "source":
        return f"ifold(a.source) {op}", [value]
    if field == "domain":
        if isinstance(node, Term):  # the site and its subdomains: domain:example.com finds news.example.com
            return "(ifold(a.domain) = ? OR ifold(a.domain) LIKE ? ESCAPE '\\')", [value, "%." + _like(value)]
        return f"ifold(a.domain) {op}", [value]
    column = {"tag": "tags", "keyword": "keywords", "place": "places", "entity": "entities"}[field]
    return f"EXISTS (SELECT 1 FROM json_each(a.{column}) j WHERE ifold(j.value) {op})", [value]


def _range(node: Range) -> tuple[str, list]:
    parts, params = [f"a.{node.field} IS NOT NULL"], []
    for op, value in ((">=", node.gte), (">", node.gt), ("<=", node.lte), ("<", node.lt)):
        if value is not None:
            parts.append(f"a.{node.field} {op} ?")
            params.append(iso(value))
    return " AND ".join(parts), params


def _sql(node: Node, field: str | None = None) -> tuple[str, list]:
    expr = fts(node, field)
    if expr is not None:
        return MATCH, [expr]
    if isinstance(node, Field):
        if node.field in TEXT_FIELDS:
            return _sql(node.node, node.field)
        return _keyword(node.node, node.field)
    if isinstance(node, Range):
        return _range(node)
    if isinstance(node, Not):
        cond, params = _sql(node.child, field)
        return f"NOT ({cond})", params
    if isinstance(node, And | Or):
        return _combine(node, field)
    raise TypeError(node)


def _combine(node: And | Or, field: str | None) -> tuple[str, list]:
    """AND/OR in SQL, with the children that are plain text merged into one MATCH."""
    textual: list[Node] = []
    rest: list[Node] = []
    for child in node.children:
        inner = child.child if isinstance(child, Not) and isinstance(node, And) else child
        (textual if fts(inner, field) is not None else rest).append(child)
    conds, params = [], []
    if len(textual) > 1:
        merged = fts(type(node)(tuple(textual)), field)
        if merged is not None:
            conds.append(MATCH)
            params.append(merged)
            textual = []
    for child in textual + rest:
        c, p = _sql(child, field)
        conds.append(f"({c})")
        params += p
    return (" AND " if isinstance(node, And) else " OR ").join(conds), params


def rank_expression(node: Node) -> str | None:
    """FTS5 expression of every positive text leaf, ORed: what bm25 ranks on (None: nothing to rank)."""
    leaves: list[str] = []

    def walk(n: Node, field: str | None) -> None:
        if isinstance(n, Term | Prefix | Phrase | Near):
            leaf = fts(n, field)
            if leaf is not None:  # a text leaf always compiles; the check is for the type
                leaves.append(leaf)
        elif isinstance(n, And | Or):
            for c in n.children:
                walk(c, field)
        elif isinstance(n, Field) and n.field in TEXT_FIELDS:
            walk(n.node, n.field)

    walk(node, None)
    return " OR ".join(dict.fromkeys(leaves)) if leaves else None


def compile_sqlite(node: Node) -> tuple[str, list, str | None]:
    """(SQL condition over `articles a`, its parameters, FTS5 expression to rank by with bm25 or None).

    The condition uses `ifold()`, which `SQLiteDatabase` registers on its connection.
    """
    cond, params = _sql(node)
    return cond, params, rank_expression(node)
