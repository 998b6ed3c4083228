"""Watch terms counted per article, so dashboards chart them without re-querying text.

`count_mentions(title, body, language, terms)` counts each term in title and body:

- a word matches its inflections through stems: term and text words are both stemmed in the
  article's language and in every query language (`ingest.text.QUERY_LANGUAGES`), so "Drohne"
  counts "Drohnen" and "drone" counts "drones", also in an article of another (or unknown) language;
- a phrase ("Deutsche Bahn") matches as a sequence of such words;
- a trailing `*` is a prefix ("Drohne*" also counts "Drohnenabwehr");
- an all-capitals term of two letters or more is an acronym and matches capitals only
  ("US" does not count the pronoun "us", "AI" not the Italian "ai").

Terms come from `enrich.watch_terms` and, later, from alert rules; the result maps each term
that occurs to its count. Only the first `limits.MAX_TEXT_CHARS` characters of the body are read.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from ingest.limits import MAX_TITLE_CHARS, bounded
from ingest.text import QUERY_LANGUAGES, fold, near_prefixes, query_stems, stem_words, tokens

PREFIX = 3  # letters a stem and its word are assumed to share


@lru_cache(maxsize=4096)
def _word_forms(word: str, language: str | None) -> frozenset[str]:
    return frozenset(query_stems(word)) | frozenset(stem_words([word], language)) | {fold(word)}


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word.isalpha()


def count_mentions(title: str, body: str, language: str | None, terms: list[str]) -> dict[str, int]:
    """Occurrences of each watch term in title and body (see the module docstring)."""
    if not terms:
        return {}
    words = tokens(f"{bounded(title, MAX_TITLE_CHARS)}\n{bounded(body)}")  # ingest/limits.py: a bounded prefix
    folded = [fold(w) for w in words]
    # Stemming every word in six languages costs more than the rest together: only words that begin
    # like some form of some term can match (stemming keeps a word's first letters), so only those.
    heads = {form[:PREFIX] for term in terms for w in tokens(term.rstrip("*")) for form in _word_forms(w, language)}
    candidates = [i for i, f in enumerate(folded) if f[:PREFIX] in heads or f in heads]
    languages = dict.fromkeys([language, *QUERY_LANGUAGES])
    picked = [words[i] for i in candidates]
    stemmed = [stem_words(picked, lang) for lang in languages]
    stems: list[set[str]] = [set() for _ in words]
    for k, i in enumerate(candidates):
        stems[i] = {folded[i], *(column[k] for column in stemmed)}
    positions: dict[str, list[int]] = defaultdict(list)
    for i in candidates:
        for form in stems[i]:
            positions[form].append(i)
    counts: dict[str, int] = {}
    for term in terms:
        raw = term.strip()
        prefix = raw.endswith("*")
        parts = tokens(raw.rstrip("*"))
        if not parts:
            continue
        n = 0
        for start in _starts(parts[0], prefix and len(parts) == 1, language, positions, folded, words):
            if all(_matches(parts[j], prefix and j == len(parts) - 1, language, start + j, stems, folded, words)
                   for j in range(1, len(parts))):
                n += 1
        if n:
            counts[term] = n
    return counts


def _starts(word: str, prefix: bool, language: str | None, positions: dict[str, list[int]],
            folded: list[str], words: list[str]) -> list[int]:
    if prefix:
        heads = tuple(near_prefixes(word))
        return [i for i, f in enumerate(folded) if f.startswith(heads)]
    found = sorted({i for form in _word_forms(word, language) for i in positions.get(form, ())})
    if _is_acronym(word):
        found = [i for i in found if words[i].isupper()]
    return found


def _matches(word: str, prefix: bool, language: str | None, i: int, stems: list[set[str]], folded: list[str],
             words: list[str]) -> bool:
    if i >= len(stems):
        return False
    if prefix:
        return folded[i].startswith(tuple(near_prefixes(word)))
    if _is_acronym(word) and not words[i].isupper():
        return False
    return not stems[i].isdisjoint(_word_forms(word, language))
