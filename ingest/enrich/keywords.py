"""Keywords: unsupervised key phrases (YAKE) in the article's language, merged with the tags."""

from __future__ import annotations

import re
from functools import lru_cache

import yake

YAKE_LANGS = {"de", "en", "fr", "es", "it", "pt", "nl", "ru", "pl", "sv", "da", "fi", "no", "tr", "cs", "hu", "ro"}
FRAGMENT = re.compile(r"^[\W\d_]+$|^\w$")


@lru_cache(maxsize=32)
def _extractor(lang: str, top: int):
    return yake.KeywordExtractor(lan=lang, n=2, dedupLim=0.7, top=top * 2, features=None)


@lru_cache(maxsize=32)
def stopwords(lang: str) -> frozenset[str]:
    try:
        return frozenset(w.lower() for w in _extractor(lang, 10).stopword_set)
    except Exception:  # noqa: BLE001 - unknown language: no stop words
        return frozenset()


def _clean_phrase(phrase: str, stops: frozenset[str]) -> str | None:
    words = phrase.split()
    while words and words[0].lower() in stops:
        words.pop(0)
    while words and words[-1].lower() in stops:
        words.pop()
    if not words or any(FRAGMENT.match(w) for w in words):
        return None
    return " ".join(words)


def extract_keywords(text: str, language: str | None, tags: list[str], top: int = 10) -> list[str]:
    """Top key phrases of the text (YAKE) after the tags, normalised for aggregation, no stop words."""
    lang = language if language in YAKE_LANGS else "en"
    stops = stopwords(lang)
    out: list[str] = []
    seen: set[str] = set()

    def add(phrase: str) -> None:
        cleaned = _clean_phrase(phrase.strip(), stops)
        if cleaned and cleaned.lower() not in seen and len(cleaned) <= 60:
            seen.add(cleaned.lower())
            out.append(cleaned)

    for tag in tags:
        add(tag)
    if top and text.strip():
        for phrase, _score in _extractor(lang, top).extract_keywords(text[:20000]):
            if len(out) >= top + len(tags):
                break
            add(phrase)
    return out[: top + len(tags)]
