"""Text analysis shared by the stores and the query compiler: tokens and per-language stems.

Both the indexer and the query compiler must analyse text identically, so it lives here
and not inside either of them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import overload

import Stemmer

# Letters and digits, like SQLite FTS5's unicode61 tokenizer (underscore separates words there too).
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STEMMER_NAMES = {
    "de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish", "ru": "russian",
    "pl": "polish", "tr": "turkish", "hu": "hungarian", "ro": "romanian", "ca": "catalan", "id": "indonesian",
    "el": "greek", "cs": "czech",
}
# Query terms are stemmed for each of these, so "Drohne" finds German "Drohnen" and "drones" finds "drone".
QUERY_LANGUAGES = ("de", "en", "fr", "es", "it")


@lru_cache(maxsize=1)
def _no_marks() -> dict[int, None]:
    """str.translate table deleting every combining mark (all of them lie below U+30000)."""
    return {cp: None for cp in range(0x30000) if unicodedata.combining(chr(cp))}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text.lower()).translate(_no_marks()).replace("ß", "ss")


def _fold_exact(text: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text.lower()).translate(_no_marks()))


# Words recur (keywords, mentions and cleaning fold the same ones thousands of times per article):
# short strings are cached; ASCII needs no decomposition at all.
_fold_short = lru_cache(maxsize=1 << 16)(_fold)
_fold_exact_short = lru_cache(maxsize=1 << 16)(_fold_exact)
SHORT = 48


def fold(text: str) -> str:
    """Lower-case and strip diacritics (what FTS5's unicode61 remove_diacritics does)."""
    if text.isascii():
        return text.lower()
    return _fold_short(text) if len(text) <= SHORT else _fold(text)


def fold_exact(text: str) -> str:
    """Lower-case and strip diacritics exactly as FTS5 unicode61 (remove_diacritics 2) does: ß stays ß."""
    if text.isascii():
        return text.lower()
    return _fold_exact_short(text) if len(text) <= SHORT else _fold_exact(text)


# Characters that print nothing (soft hyphen, zero-width space, word joiner, BOM) split a word for a
# tokenizer ("Mit\u00adtel\u00adal\u00adter" is four tokens to FTS5), and odd spaces (no-break,
# thin, ideographic...) are spaces. Zero-width (non-)joiners are kept: Persian and Indic spelling needs them.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff\u180e\u2061\u2062\u2063\u2064"))
_SPACES = {cp: " " for cp in [0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000]}
_LINES = {0x2028: "\n", 0x2029: "\n", 0x85: "\n"}
_TEXT_TABLE = {**_INVISIBLE, **_SPACES, **_LINES}


@overload
def normalize_text(text: str) -> str: ...
@overload
def normalize_text(text: None) -> None: ...
def normalize_text(text: str | None) -> str | None:
    """What is stored and indexed: NFC, invisible characters removed, odd spaces made spaces."""
    if not text or text.isascii():
        return text
    return unicodedata.normalize("NFC", text.translate(_TEXT_TABLE))


# Lower-casing a whole text moves no token boundary, except for U+0130 (İ), whose lower case
# carries a combining dot that is not a word character. Texts without it are lower-cased once and
# split once, and only the non-ASCII tokens go through Unicode folding.
_LOWER_UNSAFE = "\u0130"


def folded_text(text: str) -> str:
    """Space-joined exact-folded tokens (indexed where a backend has no such tokenizer of its own)."""
    if _LOWER_UNSAFE in text:
        return " ".join([fold_exact(t) for t in TOKEN.findall(text)])
    words = TOKEN.findall(text.lower())
    return " ".join(words if text.isascii() else [w if w.isascii() else fold_exact(w) for w in words])


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@lru_cache(maxsize=64)
def _stemmer(lang: str):
    name = STEMMER_NAMES.get(lang)
    return Stemmer.Stemmer(name) if name else None


def stem_words(words: list[str], lang: str | None) -> list[str]:
    stemmer = _stemmer(lang or "")
    lowered = [w.lower() for w in words]
    return _folded_stems(stemmer.stemWords(lowered) if stemmer else lowered)


def _folded_stems(stems: list[str]) -> list[str]:
    return [s if s.isascii() else fold(s) for s in stems]  # lower-cased already: ASCII is folded


def stem_text(text: str, lang: str | None) -> str:
    """Space-joined stems of a text in its language (indexed in the stemmed FTS columns)."""
    if _LOWER_UNSAFE in text:
        return " ".join(stem_words(tokens(text), lang))
    stemmer = _stemmer(lang or "")
    words = TOKEN.findall(text.lower())  # see `folded_text`
    stems = stemmer.stemWords(words) if stemmer else words
    return " ".join(_folded_stems(stems))  # even ASCII words can have non-ASCII stems (Turkish)


def query_stems(word: str) -> list[str]:
    """Stems of one query word under every query language, deduplicated."""
    out: list[str] = []
    for lang in QUERY_LANGUAGES:
        for stem in stem_words([word], lang):
            if stem not in out:
                out.append(stem)
    return out


def near_prefixes(prefix: str) -> list[str]:
    """Prefixes to look for in stemmed text: the folded prefix and its own stems ("Drohne*" -> drohn)."""
    out = [fold(prefix)]
    for stem in query_stems(prefix):
        if stem and stem not in out:
            out.append(stem)
    return out


SNIPPET_WORD = 40  # characters a snippet may grow at either end to finish a word


def make_snippet(text: str, words: list[str], width: int = 220, mark: tuple[str, str] = ("[", "]")) -> str:
    """A window of `text` around the first query word found, with matches marked.

    Words match on their folded stem prefix, so the snippet shows "Drohnen" for the query "Drohne",
    and (stems of 4+ letters) inside words, so it shows "Kampfdrohnen" too.
    Only the window's words are folded: the first match is found with one regex over the
    lower-cased text (words whose stem carries an accent fall back to the start of the text).
    """
    if not text:
        return ""
    stems = sorted({s for w in words for s in query_stems(w.rstrip("*")) if s}, key=len, reverse=True)
    # A plain word also matches inside compounds (Drohne: Kampfdrohnen), so stems of 4+ letters are
    # looked for anywhere in a word; shorter ones only at its start (Rat is not in Heirat's snippet).
    inner = [s for s in stems if len(s) >= 4 and not any(w.endswith("*") or w.startswith("=") for w in words)]
    start = 0
    if stems:
        pattern = r"(?<![^\W_])(?:" + "|".join(map(re.escape, stems)) + ")"
        if inner:
            pattern += "|" + "|".join(map(re.escape, inner))
        first = re.compile(pattern).search(text.lower())
        if first:
            start = max(0, first.start() - width // 3)
            floor = max(0, start - SNIPPET_WORD)  # widen to a word boundary, but not through a 5 MB "word"
            while start > floor and not text[start - 1].isspace():
                start -= 1
    end = min(len(text), start + width)
    ceiling = min(len(text), end + SNIPPET_WORD)
    while end < ceiling and not text[end].isspace():
        end += 1
    out, pos = [], start
    for m in TOKEN.finditer(text, start, end):
        folded = fold(m.group())
        if any(folded.startswith(s) for s in stems) or any(s in folded for s in inner):
            out += [text[pos:m.start()], mark[0], m.group(), mark[1]]
            pos = m.end()
    out.append(text[pos:end])
    snippet = "".join(out).replace("\n", " ").strip()
    return ("… " if start > 0 else "") + snippet + (" …" if end < len(text) else "")
