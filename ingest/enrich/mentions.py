"""Watch terms counted per article, so dashboards chart them without re-querying text."""

from __future__ import annotations

from ingest.text import fold, query_stems, stem_words, tokens


def count_mentions(title: str, body: str, language: str | None, terms: list[str]) -> dict[str, int]:
    """Occurrences of each watch term (single words stemmed, phrases as stem sequences)."""
    if not terms:
        return {}
    stems = stem_words(tokens(f"{title}\n{body}"), language)
    counts: dict[str, int] = {}
    for term in terms:
        words = tokens(term)
        if not words:
            continue
        options = [set(query_stems(w)) | {fold(w)} for w in words]
        n = 0
        for i in range(len(stems) - len(words) + 1):
            if all(stems[i + j] in options[j] for j in range(len(words))):
                n += 1
        if n:
            counts[term] = n
    return counts
