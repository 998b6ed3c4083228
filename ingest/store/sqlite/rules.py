"""Alert rule evaluation on SQLite: which rules match which articles of a freshly stored batch.

`match_rules_naive` runs each rule's compiled query restricted to the batch ids. Its FTS5 MATCH
still walks the rule's posting lists over the whole index, so its cost grows with rules x corpus
(about 3 ms per rule on 20,000 articles: 30 s per batch at 10,000 rules).

`match_rules` returns exactly the same, faster:

1. The batch goes into an in-memory FTS5 table (`temp.alert_batch`, same columns and tokenizer as
   `articles_fts`, same rowids), and each rule's MATCH runs against it instead of the whole index;
   keyword, date and negation conditions still read `articles`.
2. Rules are presearched (`ingest.query.presearch`): from each rule's AST comes a necessary
   condition in conjunctive form, clauses of anchor tokens (tokenised by SQLite itself, the
   index's tokenizer), and a rule none of whose documents holds one anchor of every clause is not
   evaluated. The batch's tokens come from the batch table's own vocabulary (`fts5vocab`): as one
   document for small rule sets, per document and column from PER_DOCUMENT_AT rules, where rules of
   words and prefixes joined by AND/OR/NOT are then answered from that vocabulary, exactly, without
   SQL. Rules without anchors (only keyword fields, dates or negations) are always evaluated.
3. Parsed and compiled rules, and the anchor index of a rule set, are cached between batches
   (not for queries with relative dates like `published:>now-7d`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ingest.errors import QueryError
from ingest.query.presearch import (  # noqa: F401 - anchor_* re-exported
    ColumnVocabulary,
    Presearcher,
    anchor_clauses,
    anchor_strings,
    decide,
    mask_ids,
)
from ingest.store.base import SearchRequest
from ingest.store.sqlite.filters import request_condition
from ingest.store.sqlite.query import MATCH

log = logging.getLogger("ingest.store.sqlite.rules")

FTS_FROM = "FROM articles_fts WHERE articles_fts MATCH"
BATCH_FROM = "FROM alert_batch WHERE alert_batch MATCH"
UNION_CHUNK = 40           # rules per SQL statement
CACHE_SIZE = 200_000       # compiled rules kept
PER_DOCUMENT_AT = 2_000    # rule sets this large are presearched per document of the batch


@dataclass(slots=True)
class RuleCache:
    """What the matcher keeps per index (its connection's temp tables, the FTS table's DDL)."""

    batch_ready: bool = False        # temp.alert_tok and its vocabulary exist on this connection
    fts_body: str | None = None      # `(columns..., tokenize = ...)` of articles_fts
    fts_columns: str | None = None   # its column list


def match_rules_naive(store, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
    """One query per rule over the whole index: the reference the optimised matcher must equal."""
    if not article_ids:
        return {}
    out: dict[str, list[str]] = {}
    for name, query in rules.items():
        cond, params = request_condition(SearchRequest(query=query, ids=article_ids))
        ids = [r["id"] for r in store.query(f"SELECT a.id FROM articles a WHERE {cond}", params)]
        if ids:
            out[name] = ids
    return out


# -- compiled rules ----------------------------------------------------------------------------------

@dataclass(slots=True)
class Compiled:
    cond: str                 # SQL over `articles a`, MATCH pointed at the batch table when possible
    params: list
    relative: bool            # has now-relative dates: recompiled for every batch
    fts: str | None = None    # the whole rule is this one FTS5 expression: evaluated on the batch table alone
    node: object = None       # the parsed query (presearched)


class _Cache:
    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def values(self) -> list:
        with self.lock:
            return list(self.items.values())

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_compiled = _Cache(CACHE_SIZE)
_indexes = _Cache(4)


def _has_relative(node) -> bool:
    from ingest.query.ast import And, Field, Near, Not, Or, Range

    if isinstance(node, Range):
        return node.expr is not None
    if isinstance(node, And | Or):
        return any(_has_relative(c) for c in node.children)
    if isinstance(node, Not):
        return _has_relative(node.child)
    if isinstance(node, Field):
        return _has_relative(node.node)
    if isinstance(node, Near):
        return _has_relative(node.left) or _has_relative(node.right)
    return False


def _compile(query: str) -> Compiled:
    cached = _compiled.get(query)
    if cached is not None and not cached.relative:
        return cached
    from ingest.query import parse

    node = parse(query)
    cond, params = request_condition(SearchRequest(query=query), node)
    fts = params[0] if cond == f"({_match_sql()})" and len(params) == 1 else None
    if FTS_FROM in cond:
        cond = cond.replace(FTS_FROM, BATCH_FROM)
    compiled = Compiled(cond, params, _has_relative(node), fts, node)
    _compiled.put(query, compiled)
    return compiled


def _match_sql() -> str:
    return MATCH


# -- the batch table -----------------------------------------------------------------------------------

def _ensure_temp(store) -> None:
    """temp.alert_batch: `articles_fts` as DDL'd (columns, tokenizer), plus its vocabulary views."""
    if store.rule_cache.batch_ready:
        return
    body = _fts_body(store)
    store.query(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.alert_tok USING fts5{body}")
    store.query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.alert_tok_vocab "
                "USING fts5vocab('temp', 'alert_tok', 'instance')")
    store.rule_cache.batch_ready = True


def _fts_body(store) -> str:
    """`(columns..., tokenize = ..., prefix = ...)` of articles_fts as created."""
    ddl = store.query("SELECT sql FROM sqlite_master WHERE name = 'articles_fts'")[0][0]
    return ddl[ddl.index("("):]


def _fill_batch(store, article_ids: list[str]) -> dict[int, str]:
    """A fresh temp.alert_batch holding the batch's index rows (dropped and re-created: deleting
    from an FTS5 table leaves tombstones that slow every later query). Returns rowid -> article id."""
    body = store.rule_cache.fts_body
    if body is None:
        body = store.rule_cache.fts_body = _fts_body(store)
    store.query("DROP TABLE IF EXISTS temp.alert_batch")
    store.query(f"CREATE VIRTUAL TABLE temp.alert_batch USING fts5{body}")
    store.query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.alert_batch_vocab "
                "USING fts5vocab('temp', 'alert_batch', 'row')")
    store.query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.alert_batch_instances "
                "USING fts5vocab('temp', 'alert_batch', 'instance')")
    rowids: dict[int, str] = {}
    cols = _fts_columns(store)
    for i in range(0, len(article_ids), 500):
        chunk = article_ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        rowids.update((r[0], r[1]) for r in store.query(f"SELECT rowid, id FROM articles WHERE id IN ({marks})", chunk))
    keys = list(rowids)
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        store.query(f"INSERT INTO temp.alert_batch(rowid, {cols}) SELECT rowid, {cols} FROM articles_fts "
                    f"WHERE rowid IN ({','.join('?' * len(part))})", part)
    return rowids


def _tokenise(store, strings: list[str]) -> dict[str, list[str]]:
    """Each string as the index's tokenizer splits it (lower-cased, accents folded...)."""
    out: dict[str, list[str]] = {s: [] for s in strings}
    for i in range(0, len(strings), 5000):
        chunk = strings[i:i + 5000]
        store.query("DELETE FROM temp.alert_tok")
        store.db.conn.executemany("INSERT INTO temp.alert_tok(rowid, title) VALUES (?, ?)",
                              [(j + 1, s) for j, s in enumerate(chunk)])
        rows = store.query("SELECT doc, term, offset FROM temp.alert_tok_vocab ORDER BY doc, offset")
        for r in rows:
            out[chunk[r[0] - 1]].append(r[1])
    store.query("DELETE FROM temp.alert_tok")
    return out


@dataclass(slots=True)
class _Index:
    presearch: Presearcher              # rules filed under their anchors (ingest.query.presearch)
    compiled: dict[str, Compiled]


def _index(store, rules: dict[str, str]) -> tuple[_Index, list[str]]:
    for cached_rules, cached in _indexes.values():  # a few rule sets; comparing dicts is cheaper than hashing
        if cached_rules == rules:
            return cached, []
    compiled: dict[str, Compiled] = {}
    nodes: dict = {}
    broken: list[str] = []
    for name, query in rules.items():
        try:
            compiled[name] = _compile(query)
            nodes[name] = compiled[name].node
        except QueryError as exc:
            broken.append(name)
            log.warning("alert rule %s not evaluated: %s", name, str(exc).split("\n")[0])
    index = _Index(Presearcher(nodes, lambda strings: _tokenise(store, strings), _column), compiled)
    if not broken:
        _indexes.put(id(index), (dict(rules), index))
    return index, broken


def _tuples(store, sql: str):
    """Rows as plain tuples (tens of thousands per batch: sqlite3.Row objects cost ~10% more)."""
    cursor = store.db.conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql)


def _column(field: str, view: str) -> str:
    """The articles_fts column of a text field's view ("exact": title/body, "stem": title_stem/body_stem,
    "parts": title_parts/body_parts, "lang": the article's language)."""
    if view == "lang":
        return "lang"
    return field if view == "exact" else f"{field}_{view}"


def _columns(store, rowids: dict[int, str]) -> ColumnVocabulary:
    """The batch table's tokens per column, as FTS5 made them, with the documents holding them."""
    bits = {rowid: 1 << i for i, rowid in enumerate(rowids)}
    columns: dict[str, dict[str, int]] = {}
    for term, rowid, col in _tuples(store, "SELECT DISTINCT term, doc, col FROM temp.alert_batch_instances"):
        vocab = columns.get(col)
        if vocab is None:
            vocab = columns[col] = {}
        vocab[term] = vocab.get(term, 0) | bits[rowid]
    return ColumnVocabulary(columns, (1 << len(rowids)) - 1)


def _candidates(index: _Index, store, rowids: dict[int, str]) -> tuple[dict[str, int], list[str], int]:
    """(rules answered from the batch's vocabulary: rule -> documents' mask, rules to evaluate,
    vocabulary size). Small rule sets are presearched on the batch as one document and every selected
    rule is evaluated: reading the vocabulary per document and column costs more than a few hundred
    rules take in SQL. Large ones per document, with Boolean word rules answered from it."""
    if len(index.presearch) < PER_DOCUMENT_AT:
        vocab = {r[0]: 1 for r in _tuples(store, "SELECT term FROM temp.alert_batch_vocab")}
        return {}, list(index.presearch.select(vocab)), len(vocab)
    columns = _columns(store, rowids)
    vocab = columns.tokens()
    answered, rest = decide(index.presearch, index.presearch.select(vocab, columns.everyone), columns)
    return answered, list(rest), len(vocab)


def match_rules(store, rules: dict[str, str], article_ids: list[str], stats: dict | None = None,
                presearch: bool = True) -> dict[str, list[str]]:
    """Same result as `match_rules_naive`. `stats`, when given, receives how many rules were evaluated;
    `presearch=False` evaluates every rule on the batch table (the reference for the presearcher)."""
    if not article_ids or not rules:
        return {}
    with store.db.lock:  # the temp tables belong to this connection: one batch at a time
        _ensure_temp(store)
        index, _broken = _index(store, rules)
        rowids = _fill_batch(store, list(dict.fromkeys(article_ids)))
        answered, todo, words = _candidates(index, store, rowids) if presearch else ({}, list(index.compiled), 0)
        if stats is not None:
            stats.update(rules=len(rules), evaluated=len(todo), answered=len(answered),
                         always=len(index.presearch.always), vocabulary=words)
        ids = list(rowids.values())
        found: dict[str, list[str]] = {name: mask_ids(mask, ids) for name, mask in answered.items()}
        if todo:
            for name in todo:
                if index.compiled[name].relative:  # `now` moves: compile again for this batch
                    index.compiled[name] = _compile(rules[name])
            plain = [n for n in todo if index.compiled[n].fts is not None]
            mixed = [n for n in todo if index.compiled[n].fts is None]
            for i in range(0, len(plain), UNION_CHUNK):  # text-only rules: the batch table alone
                chunk = plain[i:i + UNION_CHUNK]
                sql = " UNION ALL ".join(f"SELECT {n}, rowid FROM alert_batch WHERE alert_batch MATCH ?"
                                         for n in range(len(chunk)))
                for r in store.query(sql, [index.compiled[name].fts for name in chunk]):
                    found.setdefault(chunk[r[0]], []).append(rowids[r[1]])
            scope = "a.rowid IN (SELECT rowid FROM alert_batch)"
            for i in range(0, len(mixed), UNION_CHUNK):  # keyword fields, dates, negations: with `articles`
                chunk = mixed[i:i + UNION_CHUNK]
                parts, params = [], []
                for n, name in enumerate(chunk):
                    c = index.compiled[name]
                    parts.append(f"SELECT {n} AS r, a.id AS id FROM articles a WHERE {scope} AND ({c.cond})")
                    params += c.params
                for r in store.query(" UNION ALL ".join(parts), params):
                    found.setdefault(chunk[r[0]], []).append(r[1])
        store.query("DROP TABLE IF EXISTS temp.alert_batch")
    return {name: found[name] for name in rules if name in found}


def _fts_columns(store) -> str:
    cols = store.rule_cache.fts_columns
    if cols is None:
        cols = store.rule_cache.fts_columns = ", ".join(r[1] for r in store.query("PRAGMA table_info(articles_fts)"))
    return cols
