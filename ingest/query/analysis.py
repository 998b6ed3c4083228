"""Which index tokens a query leaf looks for: shared by the SQLite and the Elasticsearch compiler,
so both backends search for exactly the same tokens.

Both backends index three views of title and body, made from the same tokenisation
(`ingest.text.tokens`: runs of letters and digits, what FTS5's unicode61 tokenizer does):

    exact   words lower-cased, accents stripped, ß kept      FTS5 title/body (unicode61 remove_diacritics 2)
                                                            ES title_folded/body_folded (text.folded_text)
    stem    words stemmed in the article's language, ß->ss  FTS5 and ES title_stem/body_stem (text.stem_text)
    parts   stems of the parts of compounds (Kampfdrohnen:   FTS5 and ES title_parts/body_parts
            kampf drohn), de/nl/sv/da/no only               (enrich.compounds.parts_text)

and the article's language (FTS5 column `lang`, ES field `language`).

Term -> any stem of the word on the stem and parts views (`=word`: the stem view only, no compound
    parts). Stems are made under the five query languages (de en fr es it) for every article, and
    under each other stemmer language for the articles in that language only (`term_tokens`), so
    Russian `метро` finds Russian inflections without English or Turkish stems finding unrelated
    words elsewhere. Spellings with ae/oe/ue and ä/ö/ü are interchangeable (Mueller = Müller).
Phrase, Prefix -> the exact view; ß and ss are interchangeable there (variants are generated).
Near -> the stem view (NEAR must look at one token stream); phrases and prefixes inside it match stems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, product

from ingest.query.ast import Near, Node, Or, Phrase, Prefix, Term
from ingest.text import (
    QUERY_LANGUAGES,
    STEMMER_NAMES,
    fold,
    fold_exact,
    near_prefixes,
    query_stems,
    stem_words,
)

MAX_VARIANTS = 16
# Stemmer languages beyond the five: a query word's stems in these match articles in that language only.
OTHER_LANGUAGES = tuple(lang for lang in STEMMER_NAMES if lang not in QUERY_LANGUAGES)
# ae/oe/ue written for ä/ö/ü, but not inside the diphthongs (Feuer, Bauer) or after q (Quelle).
_DIGRAPH = re.compile(r"(?<![aeiouäöüq])([aou])e")
_UMLAUT = {"a": "ä", "o": "ö", "u": "ü"}


def spellings(word: str) -> list[str]:
    """The word as typed and with ä/ö/ü <-> ae/oe/ue swapped (Mueller, Müller), deduplicated."""
    low = word.lower()
    out = [word]
    if any(c in low for c in "äöü"):
        out.append(low.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"))
    umlauted = _DIGRAPH.sub(lambda m: _UMLAUT[m.group(1)], low)
    if umlauted != low:
        out.append(umlauted)
    return list(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class TermTokens:
    """What a plain query word looks for: `stems` in every article; each (stem, languages) of
    `by_language` only in articles of those languages."""

    stems: tuple[str, ...]
    by_language: tuple[tuple[str, tuple[str, ...]], ...]

    def all(self) -> list[str]:
        return list(self.stems) + [s for s, _ in self.by_language]


@lru_cache(maxsize=4096)
def term_tokens(word: str) -> TermTokens:
    stems = term_stems(word)
    extra: dict[str, list[str]] = {}
    for form in spellings(word):
        for lang in OTHER_LANGUAGES:
            for stem in stem_words([form], lang):
                if stem and stem not in stems and lang not in extra.setdefault(stem, []):
                    extra[stem].append(lang)
    return TermTokens(tuple(stems), tuple((s, tuple(langs)) for s, langs in extra.items()))


def term_stems(word: str) -> list[str]:
    """Stems of a query word (and its ae/ä spellings) under each query language, plus the folded word
    itself (for articles whose language has no stemmer)."""
    return list(_term_stems(word))


@lru_cache(maxsize=1 << 17)  # a large rule set repeats its words across rules: compiled and presearched
def _term_stems(word: str) -> tuple[str, ...]:
    out: list[str] = []
    for form in spellings(word):
        for stem in query_stems(form) + [fold(form)]:
            if stem and stem not in out:
                out.append(stem)
    return tuple(out)


def _sharp_s(form: str, prefix: bool = False) -> list[str]:
    """Spellings of an exact-view word with ß and ss swapped ("fussball" -> fussball, fußball).
    The spelling as typed comes first."""
    base = form.replace("ß", "ss")
    pieces = base.split("ss")
    if len(pieces) > 5:
        variants = [form, base]
    else:
        variants = [pieces[0] + "".join(sep + rest for sep, rest in zip(combo, pieces[1:], strict=True))
                    for combo in product(("ss", "ß"), repeat=len(pieces) - 1)]
    if prefix:  # "fus*" must also find "fuß…" (folded "fuss…")
        variants += [v[:-1] + "ß" for v in variants if v.endswith("s") and not v.endswith("ss")]
    out = [form] + variants
    return list(dict.fromkeys(out))


def exact_word_forms(word: str) -> list[str]:
    """Exact-view spellings: folded as typed, with ß/ss and ä/ae (ü/ue, ö/oe) swapped."""
    out: list[str] = []
    for form in spellings(word):
        out += [f for f in _sharp_s(fold_exact(form)) if f not in out]
    return out


def exact_sequences(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A phrase as exact-view token sequences (ß/ss spellings), at most MAX_VARIANTS of them."""
    return list(islice(product(*(exact_word_forms(w) for w in words)), MAX_VARIANTS))


def proximity_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """The distinct words of a `"a b"~N` phrase. FTS5's NEAR lets one token stand for a repeated
    phrase, so `"a a"~N` is just `a`; dropping repeats gives Elasticsearch the same rule."""
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(fold(word), word)
    return tuple(seen.values())


def exact_prefixes(prefix: str) -> list[str]:
    return _sharp_s(fold_exact(prefix), prefix=True)


def stem_sequences(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A phrase as stem-view sequences: stemmed under each query language, and unstemmed."""
    out: list[tuple[str, ...]] = []
    for lang in (*QUERY_LANGUAGES, None):
        seq = tuple(stem_words(list(words), lang))
        if all(seq) and seq not in out:
            out.append(seq)
    return out


@dataclass(frozen=True, slots=True)
class Alt:
    """One thing a side of NEAR may match on the stem view: a token sequence, or a token prefix."""

    tokens: tuple[str, ...] = ()
    prefix: str | None = None


def near_alternatives(node: Node) -> list[Alt]:
    if isinstance(node, Term):
        return [Alt((s,)) for s in term_stems(node.word)]
    if isinstance(node, Prefix):
        return [Alt(prefix=p) for p in near_prefixes(node.prefix) if p]
    if isinstance(node, Phrase):
        return [Alt(seq) for seq in stem_sequences(node.words)]
    if isinstance(node, Or):
        out: list[Alt] = []
        for child in node.children:
            out += [a for a in near_alternatives(child) if a not in out]
        return out
    raise TypeError(node)


def near_pairs(node: Near, limit: int = 400) -> list[tuple[Alt, Alt]]:
    """Every (left, right) combination a NEAR expands to; ValueError past `limit`."""
    left, right = near_alternatives(node.left), near_alternatives(node.right)
    if len(left) * len(right) > limit:
        raise ValueError(f"NEAR expands to {len(left) * len(right)} combinations (at most {limit}); "
                         "use fewer alternatives")
    return [(a, b) for a in left for b in right]
