"""The query language compiled to SQLite: FTS5 MATCH expressions for text, SQL for the rest.

Text leaves (see docs/query-language.md):
    Term      stems of the word (every query language) in title_stem/body_stem
    Prefix    `"p" *` on the unstemmed title/body columns (FTS5 folds case and accents)
    Phrase    the exact words on title/body; with ~N: NEAR(w1 w2 ..., N)
    Near      NEAR(left right, N) on the stem columns, expanded over OR-groups
A subtree made only of text becomes one FTS5 expression; everything else is combined in SQL.
"""

from __future__ import annotations

from ingest.models import SearchHit, SearchResult
from ingest.query import parse, positive_words
from ingest.query.ast import And, Keyword, Near, Node, Not, Or, Phrase, Prefix, Range, Term
from ingest.store.base import SearchRequest
from ingest.text import QUERY_LANGUAGES, make_snippet, near_prefixes, query_stems, stem_words

MAX_OFFSET = 10_000
BM25 = "bm25(articles_fts, 4.0, 1.0, 4.0, 1.0, 2.0)"  # title, body, title_stem, body_stem, tags


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _cols(field: str | None, stemmed: bool) -> str:
    suffix = "_stem" if stemmed else ""
    names = [field] if field else ["title", "body"]
    return "{" + " ".join(n + suffix for n in names) + "}"


def _phrase_stems(words: tuple[str, ...]) -> list[str]:
    """A phrase as stem sequences, one per query language (deduplicated)."""
    out: list[str] = []
    for lang in QUERY_LANGUAGES:
        seq = " ".join(stem_words(list(words), lang))
        if seq not in out:
            out.append(seq)
    return out


def _near_alternatives(node: Node) -> list[str]:
    """FTS5 phrase strings (stem columns) that one side of a NEAR may match."""
    if isinstance(node, Term):
        return [_q(s) for s in query_stems(node.word)]
    if isinstance(node, Prefix):
        return [_q(p) + " *" for p in near_prefixes(node.prefix)]
    if isinstance(node, Phrase):
        return [_q(s) for s in _phrase_stems(node.words)]
    if isinstance(node, Or):
        return [alt for c in node.children for alt in _near_alternatives(c)]
    raise TypeError(node)


def _near_field(node: Node) -> str | None:
    if isinstance(node, Term | Prefix | Phrase):
        return node.field
    if isinstance(node, Or):
        return next((f for f in (_near_field(c) for c in node.children) if f), None)
    if isinstance(node, Near):
        return _near_field(node.left) or _near_field(node.right)
    return None


def fts(node: Node) -> str | None:
    """The node as one FTS5 expression, or None when it needs SQL (fields, dates, lone NOT)."""
    if isinstance(node, Term):
        stems = " OR ".join(_q(s) for s in query_stems(node.word))
        return f"{_cols(node.field, True)} : ({stems})"
    if isinstance(node, Prefix):
        return f"{_cols(node.field, False)} : ({_q(node.prefix)} *)"
    if isinstance(node, Phrase):
        if node.slop is None or len(node.words) == 1:
            return f"{_cols(node.field, False)} : ({_q(' '.join(node.words))})"
        words = " ".join(_q(w) for w in node.words)
        return f"{_cols(node.field, False)} : (NEAR({words}, {node.slop}))"
    if isinstance(node, Near):
        pairs = [f"NEAR({a} {b}, {node.distance})"
                 for a in _near_alternatives(node.left) for b in _near_alternatives(node.right)]
        return f"{_cols(_near_field(node), True)} : ({' OR '.join(pairs)})"
    if isinstance(node, Or):
        parts = [fts(c) for c in node.children]
        return None if None in parts else "(" + " OR ".join(parts) + ")"
    if isinstance(node, And):
        positive = [c for c in node.children if not isinstance(c, Not)]
        negative = [c.child for c in node.children if isinstance(c, Not)]
        pos, neg = [fts(c) for c in positive], [fts(c) for c in negative]
        if not positive or None in pos or None in neg:
            return None
        expr = "(" + " AND ".join(pos) + ")"
        return expr + (f" NOT ({' OR '.join(neg)})" if neg else "")
    return None


def _match(expr: str) -> tuple[str, list]:
    return "a.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)", [expr]


def _sql(node: Node) -> tuple[str, list]:
    expr = fts(node)
    if expr is not None:
        return _match(expr)
    if isinstance(node, Keyword):
        if node.field == "lang":
            return "a.language = ?", [node.value.lower()]
        if node.field in ("source", "domain"):
            return f"ifold(a.{node.field}) = ifold(?)", [node.value]
        column = "tags" if node.field == "tag" else "keywords"
        return f"EXISTS (SELECT 1 FROM json_each(a.{column}) j WHERE ifold(j.value) = ifold(?))", [node.value]
    if isinstance(node, Range):
        from ingest.store.sqlite import to_iso

        parts, params = [], []
        if node.gte:
            parts.append(f"a.{node.field} >= ?")
            params.append(to_iso(node.gte))
        if node.lt:
            parts.append(f"a.{node.field} < ?")
            params.append(to_iso(node.lt))
        return " AND ".join(parts) or "1", params
    if isinstance(node, Not):
        cond, params = _sql(node.child)
        return f"NOT ({cond})", params
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        conds, params = [], []
        for child in node.children:
            c, p = _sql(child)
            conds.append(f"({c})")
            params += p
        return joiner.join(conds), params
    raise TypeError(node)


def _rank_expr(node: Node) -> str | None:
    """FTS5 expression of every positive text leaf, ORed: what bm25 ranks on."""
    leaves: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Term | Prefix | Phrase | Near):
            leaves.append(fts(n))
        elif isinstance(n, And | Or):
            for c in n.children:
                walk(c)

    walk(node)
    return " OR ".join(leaves) if leaves else None


def compile_sqlite(node: Node) -> tuple[str, list, str | None]:
    """(SQL condition over `articles a`, params, FTS5 expression to rank by or None)."""
    cond, params = _sql(node)
    return cond, params, _rank_expr(node)


def run_search(store, request: SearchRequest) -> SearchResult:
    from ingest.store.sqlite import from_iso
    from ingest.store.sqlite_filters import request_condition

    node = parse(request.query) if request.query.strip() else None
    cond, params = request_condition(request, node)
    rank = _rank_expr(node) if node is not None else None
    offset = min(max(request.offset, 0), MAX_OFFSET)
    if rank and request.sort != "date":
        source = (f"articles a JOIN (SELECT rowid AS rid, {BM25} AS score FROM articles_fts "
                  f"WHERE articles_fts MATCH ?) r ON r.rid = a.rowid")
        source_params = [rank]
        order = "score ASC, a.published DESC, a.id"
    else:
        # No text to rank by (or sorted by date): an empty join keeps the column list the same.
        source, source_params = "articles a LEFT JOIN (SELECT 0 AS rid, 0.0 AS score) r ON 0", []
        order = "a.published DESC, a.id"
    group = "coalesce(a.cluster_id, a.id)"
    if request.collapse:
        total = store.query(f"SELECT count(DISTINCT {group}) FROM articles a WHERE {cond}", params)[0][0]
        sql = (f"SELECT * FROM (SELECT a.id, a.url, a.title, a.source, a.published, a.body, a.language, a.domain, "
               f"a.cluster_id, r.score AS score, row_number() OVER (PARTITION BY {group} ORDER BY {order}) AS rn, "
               f"count(*) OVER (PARTITION BY {group}) AS csize FROM {source} WHERE {cond}) "
               f"WHERE rn = 1 ORDER BY {order.replace('a.', '')} LIMIT ? OFFSET ?")
    else:
        total = store.query(f"SELECT count(*) FROM articles a WHERE {cond}", params)[0][0]
        sql = (f"SELECT a.id, a.url, a.title, a.source, a.published, a.body, a.language, a.domain, a.cluster_id, "
               f"r.score AS score, 1 AS csize FROM {source} WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?")
    rows = store.query(sql, source_params + params + [request.limit, offset])
    words = positive_words(node) if node is not None else []
    hits = [SearchHit(id=r["id"], url=r["url"], title=r["title"], source=r["source"],
                      published=from_iso(r["published"]), score=round(-(r["score"] or 0.0), 4),
                      snippet=make_snippet(r["body"], words), language=r["language"], domain=r["domain"],
                      cluster_id=r["cluster_id"], cluster_size=r["csize"]) for r in rows]
    return SearchResult(total=total, hits=hits)
