"""Presearch: which alert rules can possibly match a batch, without evaluating them (the Luwak /
Lucene Monitor idea). Both backends evaluate only the rules this selects, with their exact matcher.

    ps = Presearcher({"r1": parse("Iran AND Venezuela"), "r2": parse("lang:de")}, tokenise=split_tokens)
    ps.select(document_vocabulary(docs), everyone)   # {"r2": every doc, "r1": docs with iran and venezuel…}
    answered, rest = decide(ps, selected, document_columns(docs))   # Boolean word rules answered here

From each rule's AST comes a necessary condition in conjunctive form (`anchor_clauses`): *clauses*
of anchors, every clause needing one of its anchors among a document's tokens.

    Term       one clause: any of its stems (each query language) or its folded form
    Prefix     one clause: the prefix (ß/ss spellings), matched as a token prefix
    Phrase     one clause per word position (its ß/ss spellings)
    NEAR       one clause per side: the side's alternatives (a sequence stands for its first token)
    AND        the clauses of its positive children
    OR         one clause joining the shortest clause of each child (a child without one: no clause)
    NOT, keyword fields (lang:de, source:…), dates: no clause

A rule without clauses is evaluated on every batch. Every anchor is the token(s) the evaluating
backend itself looks for, turned into index tokens by the backend's own tokeniser (`tokenise`:
FTS5's tokenizer on SQLite, whitespace on Elasticsearch whose fields hold Python-made tokens), so
the condition is conservative by construction: skipping a rule never loses a match.

The index: every anchor token and prefix gets a key id; every rule's clauses are flat arrays of
key ids. A batch marks the keys it holds (a dict look-up per batch token, a sorted scan per prefix
key), each with the bit mask of its documents, and one vectorised pass (numpy, 64 documents per
machine word) ORs each clause's alternatives and ANDs each rule's clauses: the rules whose words
do not occur in the batch cost a few array reads each (about 25 ms for 100,000 rules and a batch
of 50 articles), never an evaluation. `select` returns, for each rule that may match, the mask of
the documents that may match it; the backend evaluates only those rules, only on those documents.

Token source: the batch's vocabulary, token -> bit mask of the documents holding it, in the views
the store indexes. SQLite reads it from an FTS5 table holding the batch (every indexed column,
so a view added to `articles_fts` is picked up as is). Documents as Elasticsearch indexes them go
through `document_vocabulary`, whose views are `VIEWS`: a new analysed view (a field the query
compiler searches) is one `TokenView` appended there, named like its field suffix. Both
`anchor_clauses` and the Boolean programs below mirror what the compilers look for (a Term: its
stems in the stem view; a Prefix: the exact view); a view that lets a leaf match other tokens must
be added there too (tests/test_alerts_presearch.py compares against evaluating every rule).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.enrich.compounds import parts_text
from ingest.query.ast import TEXT_FIELDS, And, Field, Near, Node, Not, Or, Phrase, Prefix, Term
from ingest.text import folded_text, stem_text

Anchor = tuple[str, bool]      # (string the backend looks for, is it a prefix)
WORD = 64                                 # documents per mask word in the vectorised pass
WORD_MASK = (1 << WORD) - 1
Columns = Callable[[str, str], str]   # (text field, "exact" or "stem") -> column of the per-column vocabulary
Clause = list[Anchor]          # a match needs one of them
Tokenise = Callable[[list[str]], Mapping[str, list[str]]]


def anchor_clauses(node: Node) -> list[Clause] | None:
    """A necessary condition for `node` to match, as clauses that each need one of their strings in
    the document (as the compilers look for them); None when the node can match without any text
    (keyword fields, dates, a lone negation). Always conservative, never exact."""
    from ingest.query.analysis import (
        exact_prefixes,
        exact_sequences,
        near_alternatives,
        proximity_words,
        term_tokens,
    )

    if isinstance(node, Term):  # every stem it may match: other languages' too (they match in the
        clause = [(s, False) for s in term_tokens(node.word).all()]  # stem and the compound-parts views)
        return [clause] if clause else None
    if isinstance(node, Prefix):
        clause = [(p, True) for p in exact_prefixes(node.prefix)]
        return [clause] if clause else None
    if isinstance(node, Phrase):
        # the very sequences the compilers search (repeats dropped for "a b"~N; both cap the variants)
        seqs = exact_sequences(node.words if node.slop is None else proximity_words(node.words))
        if not seqs:
            return None
        return [list(dict.fromkeys((seq[i], False) for seq in seqs)) for i in range(len(seqs[0]))]
    if isinstance(node, Near):
        return _near_clauses(node, near_alternatives)
    if isinstance(node, Field):
        return anchor_clauses(node.node) if node.field in TEXT_FIELDS else None
    if isinstance(node, Or):
        joined: Clause = []
        for child in node.children:
            sub = anchor_clauses(child)
            if sub is None:
                return None
            shortest: Clause = min(sub, key=len)  # that child's match needs its (shortest) clause
            joined += shortest
        return [list(dict.fromkeys(joined))]
    if isinstance(node, And):
        clauses = [c for sub in (anchor_clauses(c) for c in node.children) if sub is not None for c in sub]
        return clauses or None
    return None  # Not, Range, keyword fields


def _near_clauses(node: Near, near_alternatives) -> list[Clause] | None:
    clauses = []
    for side in (node.left, node.right):
        try:
            alts = near_alternatives(side)
        except (TypeError, ValueError):  # a side the compilers reject: evaluate and let them say so
            return None
        clause = [(a.prefix, True) if a.prefix is not None else (" ".join(a.tokens), False) for a in alts]
        if not clause:
            return None
        clauses.append(list(dict.fromkeys(clause)))
    return clauses


def anchor_strings(node: Node) -> list[Anchor] | None:
    """Every string a rule's pre-filter looks for (flattened clauses)."""
    clauses = anchor_clauses(node)
    return None if clauses is None else list(dict.fromkeys(a for c in clauses for a in c))


def split_tokens(strings: list[str]) -> dict[str, list[str]]:
    """The tokeniser for stores whose analysed fields hold space-joined Python-made tokens (Elasticsearch)."""
    return {s: s.split() for s in strings}


# -- token views ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TokenView:
    """One analysed view of a text field, as indexed: field `<title|body>_<name>` holds `make(text, language)`."""

    name: str
    make: Callable[[str, str | None], str]


VIEWS: list[TokenView] = [
    TokenView("folded", lambda text, lang: folded_text(text)),
    TokenView("stem", stem_text),
    TokenView("parts", parts_text),   # stems of compound parts (ingest.enrich.compounds)
]
LANG_COLUMN = "lang"  # the document's language code as a column, for other-language stems
MAX_TOKEN = 255      # Elasticsearch's whitespace tokenizer cuts longer tokens: such phrases go to the backend
MAX_KEYWORD = 256    # lang: values compared case-insensitively by the backends up to this length (ci_keyword)


def document_vocabulary(docs: Sequence[Mapping]) -> dict[str, int]:
    """token -> bit mask of the documents (bit i: docs[i]) holding it, in every view of title and body.
    A document that carries a view's field (as indexed) is read from it; otherwise it is made."""
    return document_columns(docs).tokens()


# -- the index -----------------------------------------------------------------------------------

@dataclass(slots=True)
class _Clause:
    exact: frozenset[str]
    prefixes: tuple[str, ...]


class Presearcher:
    """Rules indexed by their anchors. `rules`: name -> parsed query (None: always evaluated).
    `tokenise` turns anchor strings into index tokens; `columns` (optional) names the per-column
    vocabulary's columns, for answering Boolean word rules (`decide`)."""

    def __init__(self, rules: Mapping[str, Node | None], tokenise: Tokenise = split_tokens,
                 columns: Columns | None = None):
        self.names = list(rules)
        raw = {name: (anchor_clauses(node) if node is not None else None) for name, node in rules.items()}
        programs = ({name: _program(node) for name, node in rules.items() if node is not None}
                    if columns is not None else {})
        strings = {text for cl in raw.values() if cl for clause in cl for text, _ in clause}
        strings.update(text for prog in programs.values() if prog for text in _program_strings(prog))
        tokens = tokenise(sorted(strings)) if strings else {}
        clauses = {name: _normalise(raw[name], tokens) for name in self.names}
        self.always = [name for name in self.names if not clauses[name]]
        self.programs: dict[str, tuple] = {}   # rules answered exactly from the per-column vocabulary
        for name, prog in programs.items():
            resolved = _resolve(prog, tokens, columns) if prog and columns is not None else None
            if resolved is not None:
                self.programs[name] = resolved
        self._build([(name, clauses[name]) for name in self.names if clauses[name]])

    def _build(self, anchored: list[tuple[str, list[_Clause]]]) -> None:
        """The anchor index: token / prefix -> key id, and every rule's clauses as flat arrays of key
        ids (`alternatives`, cut into clauses at `clause_starts`, clauses into rules at `rule_starts`)."""
        keys: dict[tuple[str, bool], int] = {}
        alternatives: list[int] = []
        clause_starts: list[int] = []
        rule_starts: list[int] = []
        for _name, clauses in anchored:
            rule_starts.append(len(clause_starts))
            for clause in clauses:
                clause_starts.append(len(alternatives))
                alternatives += [keys.setdefault((t, False), len(keys)) for t in clause.exact]
                alternatives += [keys.setdefault((p, True), len(keys)) for p in clause.prefixes]
        self.anchored = [name for name, _ in anchored]
        self.exact = {t: i for (t, is_prefix), i in keys.items() if not is_prefix}
        self.prefix = {p: i for (p, is_prefix), i in keys.items() if is_prefix}
        self.keys = len(keys)
        self.alternatives = np.array(alternatives, dtype=np.int64)
        self.clause_starts = np.array(clause_starts, dtype=np.int64)
        self.rule_starts = np.array(rule_starts, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.names)

    def select(self, vocab: Mapping[str, int], everyone: int = 1) -> dict[str, int]:
        """Rules that may match, each with the mask of the documents it may match (`everyone` for
        the rules without anchors). `vocab`: token -> documents' bit mask (1 for a whole batch)."""
        out = dict.fromkeys(self.always, everyone)
        present = self._present(vocab)
        if not present or not self.anchored:
            return out
        ids = np.fromiter(present, dtype=np.int64, count=len(present))
        found: dict[int, int] = {}
        for shift in range(0, max(everyone.bit_length(), 1), WORD):   # 64 documents at a time
            marks = np.zeros(self.keys, dtype=np.uint64)
            marks[ids] = np.array([m >> shift & WORD_MASK for m in present.values()], dtype=np.uint64)
            clause = np.bitwise_or.reduceat(marks[self.alternatives], self.clause_starts)
            rule = np.bitwise_and.reduceat(clause, self.rule_starts)
            hit = np.flatnonzero(rule)
            for r, m in zip(hit.tolist(), rule[hit].tolist(), strict=True):
                found[r] = found.get(r, 0) | m << shift
        names = self.anchored
        out.update((names[r], m) for r, m in found.items())
        return out

    def _present(self, vocab: Mapping[str, int]) -> dict[int, int]:
        """key id -> documents' mask, for the anchors the batch holds (prefixes: any token starting so)."""
        present: dict[int, int] = {}
        exact = self.exact
        for token, mask in vocab.items():
            i = exact.get(token)
            if i is not None and mask:
                present[i] = mask
        if self.prefix:
            ordered = sorted(vocab)
            for p, i in self.prefix.items():
                mask, k = 0, bisect_left(ordered, p)
                while k < len(ordered) and ordered[k].startswith(p):
                    mask |= vocab[ordered[k]]
                    k += 1
                if mask:
                    present[i] = mask
        return present


def _normalise(clauses: list[Clause] | None, tokens: Mapping[str, list[str]]) -> list[_Clause]:
    """Anchor strings as index tokens. A string of several tokens is a phrase whose first token must
    be there as a whole word (also for a prefix such as "new yor*"); a clause with a string that
    yields no token says nothing and is dropped (the others still hold)."""
    out = []
    for clause in clauses or []:
        exact: set[str] = set()
        prefixes: set[str] = set()
        for text, is_prefix in clause:
            toks = tokens.get(text) or []
            if not toks:
                break
            (prefixes if is_prefix and len(toks) == 1 else exact).add(toks[0])
        else:
            if exact or prefixes:
                out.append(_Clause(frozenset(exact), tuple(sorted(prefixes))))
    return out


def mask_ids(mask: int, ids: Sequence[str]) -> list[str]:
    """The ids whose bits are set in `mask` (bit i: ids[i])."""
    out = []
    while mask:
        low = mask & -mask
        out.append(ids[low.bit_length() - 1])
        mask ^= low
    return out


def parse_rule_queries(rules: Mapping[str, str], on_error: Callable[[str, Exception], None] | None = None
                ) -> dict[str, Node | None]:
    """name -> parsed query; a rule that does not parse maps to None (always evaluated, so the
    backend reports it as it always has) and goes to `on_error`."""
    from ingest.errors import QueryError
    from ingest.query.parser import parse

    out: dict[str, Node | None] = {}
    for name, query in rules.items():
        try:
            out[name] = parse(query)
        except QueryError as exc:
            out[name] = None
            if on_error:
                on_error(name, exc)
    return out


# -- exact answers for Boolean word rules ----------------------------------------------------------
#
# A rule made only of words, prefixes, exact phrases and `lang:` joined by AND/OR/NOT (optionally under
# title:/body:) is answered here when the vocabulary holds what its leaves need. Words and prefixes need
# no positions and no stored values; whether a document matches it is decided by which tokens each of
# its columns holds. Given the batch's per-column vocabulary (read from the index itself on SQLite,
# the indexed fields on Elasticsearch), such rules are answered here, exactly as the backend's
# compiler asks for them (a Term: any of its stems in a stem column; a Prefix: a token of an exact
# column starting with one of its spellings); only the others go to the backend. A leaf string that
# is not exactly one index token (which the backend would read as a phrase) leaves the rule to the
# backend. An exact phrase is its exact-view token sequence found consecutively in a document's column
# (what match_phrase finds on a whitespace-analysed field), and `lang:xx` the document's language
# compared case-insensitively: both need the documents themselves (`document_columns` keeps their
# texts and languages, as Elasticsearch's batch is held in memory); SQLite's vocabulary, read from
# FTS5, has neither, so there `run` raises `Unanswerable` and the rule goes to SQL.

def _program(node: Node, field: str | None = None) -> tuple | None:
    from ingest.query.analysis import exact_prefixes, exact_sequences, term_tokens

    if isinstance(node, Term):  # as both compilers: its stems in the stem view and (unless `=word`) the
        tokens = term_tokens(node.word)  # compound-parts view; other languages' stems in their articles
        return ("term", field, tuple(tokens.stems), tuple(tokens.by_language), bool(node.whole))
    if isinstance(node, Prefix):
        return ("prefix", field, tuple(exact_prefixes(node.prefix)))
    if isinstance(node, Phrase) and node.slop is None:  # consecutive exact-view tokens: needs the texts
        return ("phrase", field, tuple(" ".join(seq) for seq in exact_sequences(node.words)))
    if isinstance(node, Field) and node.field == "lang":
        word = node.node.word if isinstance(node.node, Term) else ""
        ok = word.isascii() and 0 < len(word) <= MAX_KEYWORD and not any(c.isspace() for c in word)
        return ("lang", word.lower()) if ok else None
    if isinstance(node, Field):
        return _program(node.node, node.field) if node.field in TEXT_FIELDS else None
    if isinstance(node, Not):
        child = _program(node.child, field)
        return None if child is None else ("not", child)
    if isinstance(node, And | Or):
        children = [_program(c, field) for c in node.children]
        if None in children:
            return None
        return ("and" if isinstance(node, And) else "or", tuple(children))
    return None  # sloppy phrases and NEAR (positions), Range and other keyword fields (stored values)


def _program_strings(prog: tuple):
    if prog[0] == "term":
        yield from prog[2]
        yield from (stem for stem, _langs in prog[3])
    elif prog[0] in ("prefix", "phrase"):
        yield from prog[2]
    elif prog[0] == "lang":
        return
    elif prog[0] == "not":
        yield from _program_strings(prog[1])
    else:
        for child in prog[1]:
            yield from _program_strings(child)


def _resolve(prog: tuple, tokens: Mapping[str, list[str]], columns: Columns) -> tuple | None:
    """Strings as index tokens, fields as vocabulary columns; None when a string is not one token."""
    kind = prog[0]

    def one_token(text: str) -> str | None:
        toks = tokens.get(text) or []
        return toks[0] if len(toks) == 1 else None

    fields = (prog[1],) if prog[1] else TEXT_FIELDS
    if kind == "term":
        out = [one_token(t) for t in prog[2]]
        by_lang = [(one_token(t), langs) for t, langs in prog[3]]
        if None in out or any(t is None for t, _ in by_lang):
            return None
        views = ("stem",) if prog[4] else ("stem", "parts")
        cols = tuple(columns(f, v) for f in fields for v in views)
        return (kind, cols, tuple(dict.fromkeys(out)), tuple(by_lang), columns("", LANG_COLUMN))
    if kind == "prefix":
        out = [one_token(t) for t in prog[2]]
        if None in out:
            return None
        return (kind, tuple(columns(f, "exact") for f in fields), tuple(dict.fromkeys(out)))
    if kind == "phrase":
        seqs = [tokens.get(t) or [] for t in prog[2]]
        if not all(seqs) or any(len(tok) > MAX_TOKEN for seq in seqs for tok in seq):
            return None
        return (kind, tuple(columns(f, "exact") for f in fields), tuple(dict.fromkeys(f" {' '.join(q)} " for q in seqs)))
    if kind == "lang":
        return prog
    if kind == "not":
        child = _resolve(prog[1], tokens, columns)
        return None if child is None else ("not", child)
    children = tuple(_resolve(c, tokens, columns) for c in prog[1])
    return None if None in children else (kind, children)


class ColumnVocabulary:
    """column -> token -> documents' bit mask, with prefix look-ups."""

    def __init__(self, columns: dict[str, dict[str, int]], everyone: int,
                 texts: dict[str, list[str]] | None = None, languages: dict[str, int] | None = None):
        self.columns = columns
        self.everyone = everyone
        self.texts = texts            # column -> each document's tokens, " "-joined and padded (phrases)
        self.languages = languages    # lower-cased language value -> documents' mask (lang:xx)
        self._sorted: dict[str, list[str]] = {}
        self._prefix: dict[tuple[str, str], int] = {}

    def tokens(self) -> dict[str, int]:
        """token -> mask over every column (what `Presearcher.select` takes)."""
        out: dict[str, int] = {}
        for vocab in self.columns.values():
            for token, mask in vocab.items():
                out[token] = out.get(token, 0) | mask
        return out

    def prefix(self, col: str, p: str) -> int:
        key = (col, p)
        mask = self._prefix.get(key)
        if mask is None:
            vocab = self.columns.get(col) or {}
            keys = self._sorted.get(col)
            if keys is None:
                keys = self._sorted[col] = sorted(vocab)
            mask, i = 0, bisect_left(keys, p)
            while i < len(keys) and keys[i].startswith(p):
                mask |= vocab[keys[i]]
                i += 1
            self._prefix[key] = mask
        return mask

    def run(self, prog: tuple, within: int | None = None) -> int:
        """The documents matching `prog`; exact for the documents in `within` (default: all), the only
        ones a caller reads (every step is per document, so the others may be left out: phrases are
        only looked for there)."""
        within = self.everyone if within is None else within
        kind = prog[0]
        if kind == "term":
            mask = 0
            for col in prog[1]:
                vocab = self.columns.get(col)
                if vocab:
                    for token in prog[2]:
                        mask |= vocab.get(token, 0)
            langs = self.columns.get(prog[4]) or {}
            for token, codes in prog[3]:  # another language's stem counts in that language's articles
                found = _or(self.columns.get(col, {}).get(token, 0) for col in prog[1])
                if found:
                    mask |= found & _or(langs.get(code, 0) for code in codes)
            return mask
        if kind == "prefix":
            return _or(self.prefix(col, p) for col in prog[1] for p in prog[2])
        if kind == "phrase":
            return self._phrase(prog[1], prog[2], within)
        if kind == "lang":
            if self.languages is None:
                raise Unanswerable
            return self.languages.get(prog[1], 0)
        if kind == "not":
            return self.everyone & ~self.run(prog[1], within)
        if kind == "or":
            return _or(self.run(c, within) for c in prog[1])
        mask = self.everyone
        for child in prog[1]:
            mask &= self.run(child, within)
            if not mask:
                break
        return mask

    def _phrase(self, cols: tuple[str, ...], needles: tuple[str, ...], within: int) -> int:
        """Documents whose column holds one of the token sequences consecutively (what match_phrase
        on a whitespace-analysed field finds)."""
        if self.texts is None:
            raise Unanswerable
        mask = 0
        for col in cols:
            for i, text in enumerate(self.texts.get(col) or ()):
                if within >> i & 1 and not mask >> i & 1 and any(n in text for n in needles):
                    mask |= 1 << i
        return mask


class Unanswerable(Exception):
    """The vocabulary lacks what a program needs (texts for phrases, values for lang:): the backend decides."""


def _or(masks) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


def decide(presearcher: Presearcher, selected: Mapping[str, int], vocab: ColumnVocabulary
           ) -> tuple[dict[str, int], dict[str, int]]:
    """Split selected rules into (answered here: rule -> matching documents' mask, non-empty only;
    left to the backend: rule -> the mask `select` gave it)."""
    answered: dict[str, int] = {}
    rest: dict[str, int] = {}
    programs = presearcher.programs
    for name, mask in selected.items():
        prog = programs.get(name)
        if prog is None:
            rest[name] = mask
        else:
            try:
                hit = vocab.run(prog, mask) & mask
            except Unanswerable:
                rest[name] = mask
                continue
            if hit:
                answered[name] = hit
    return answered, rest


def document_columns(docs: Sequence[Mapping]) -> ColumnVocabulary:
    """`document_vocabulary` per column (`<field>_<view>`), for `decide`; with each document's exact-view
    tokens in order (phrases) and its language (lang:)."""
    columns: dict[str, dict[str, int]] = {}
    texts: dict[str, list[str]] = {}
    languages: dict[str, int] = {}
    for i, doc in enumerate(docs):
        bit = 1 << i
        for field in TEXT_FIELDS:
            for view in VIEWS:
                name = f"{field}_{view.name}"
                analysed = doc.get(name)
                if not isinstance(analysed, str):
                    analysed = view.make(doc.get(field) or "", doc.get("language"))
                words = analysed.split()
                col = columns.setdefault(name, {})
                for token in set(words):
                    col[token] = col.get(token, 0) | bit
                if view.name == "folded":
                    texts.setdefault(name, []).append(f" {' '.join(words)} ")
        lang = (doc.get("language") or "").lower()
        if lang:
            col = columns.setdefault(LANG_COLUMN, {})
            col[lang] = col.get(lang, 0) | bit
            languages[lang] = languages.get(lang, 0) | bit
    return ColumnVocabulary(columns, (1 << len(docs)) - 1, texts, languages)
