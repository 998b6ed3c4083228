"""Keywords: key phrases of the text (YAKE, in the article's language) merged with the page's tags.

The list is meant for aggregation ("top keywords this week"), so every entry is normalised:

- display casing is the most common form in the text (mid-sentence occurrences preferred over
  sentence starts, so English "drones" stays lower case and German "Drohnen" capitalised);
  entries are deduplicated case-, accent- and inflection-insensitively (per-language stems);
- punctuation is stripped from word edges; stop words, dates, numbers, units and reporting
  verbs are stripped from phrase edges; a phrase with a number, a single letter, a URL part,
  a credit or an agency name inside is dropped, as is anything on the junk list (`junk.txt`:
  "Link folgen", "Foto", "dpa", "Beitrag teilen", ...);
- lines that are credits, promos or link lists are not read at all;
- phrases that name the author or the outlet are dropped (pass them as `exclude`);
- a multi-word phrase must occur at least twice (title included), which drops YAKE's incidental
  word pairs ("Umwege einstellen"); in German every word of a key phrase must be a capitalised
  noun or name, in English a lone lower-case past participle or adverb is dropped.

Tags come first (at most `top`), then up to `top` key phrases. YAKE reads the title and the first
`MAX_CHARS` characters of the body: news puts what matters first, and YAKE's cost grows with
length (bench/enrich.py measures both).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yake

from ingest.text import fold, stem_words

NGRAM = 3                 # longest key phrase, in words
MAX_CHARS = 4000          # body characters YAKE reads (after the title)
CANDIDATES = 4            # YAKE candidates asked for per keyword wanted (most are filtered out)
MAX_LEN = 60              # characters
NO_WORD_SPACES = {"ja", "zh", "th", "lo", "km", "my", "bo", "dz"}  # scripts YAKE cannot split into words
YAKE_CODES = {"cs": "cz"}  # YAKE's stop-list file names where they differ from ISO 639-1
JUNK_FILE = Path(__file__).with_name("junk.txt")

EDGE_PUNCT = "\"'“”„‚‘’«»‹›()[]{}<>.,:;!?…*#|/\\–—-_=+~^`•·"
URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.I)
URL_PART = re.compile(r"^www\.|\.(?:com|net|org|de|at|ch|uk|fr|it|es|html?|php|aspx?)$|/|@", re.I)
SENTENCE_END = tuple(".!?…:;\"'»«“”)")
HUMP = re.compile(r"[a-zäöüßà-ÿ][A-ZÄÖÜÀ-Þ]")


@dataclass(frozen=True, slots=True)
class Junk:
    phrases: frozenset[str]
    words: frozenset[str]
    edges: frozenset[str]
    lines: tuple[str, ...]
    promo: tuple[str, ...]


@lru_cache(maxsize=1)
def junk() -> Junk:
    """The junk list (`junk.txt`), folded."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in JUNK_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None:
            current.append(fold(line))
    return Junk(frozenset(sections.get("phrases", [])), frozenset(sections.get("words", [])),
                frozenset(sections.get("edges", [])), tuple(sections.get("lines", [])),
                tuple(sections.get("promo", [])))


def _yake_code(language: str | None) -> str:
    lang = (language or "en").lower()
    return YAKE_CODES.get(lang, lang)


@lru_cache(maxsize=32)
def _extractor(lang: str, top: int, n: int = NGRAM):
    return yake.KeywordExtractor(lan=lang, n=n, dedup_lim=0.8, top=top, window_size=1)


@lru_cache(maxsize=32)
def stopwords(language: str | None) -> frozenset[str]:
    """YAKE's stop words of the language (English when it has none), folded, plus the junk edges."""
    lang = _yake_code(language)
    try:
        words = _extractor(lang, 10).stopword_set
    except Exception:  # noqa: BLE001 - unreadable stop list: none
        words = set()
    return frozenset(fold(w) for w in words if w) | junk().edges


# -- text preparation --------------------------------------------------------------------------


def _skip_line(line: str) -> bool:
    """Credits, link lists and short promos do not feed keywords."""
    folded = fold(line)
    j = junk()
    if folded.startswith(j.lines):
        return True
    return len(line.split()) <= 30 and any(marker in folded for marker in j.promo)


def keyword_text(text: str, title: str | None = None, max_chars: int = MAX_CHARS) -> str:
    """What YAKE reads: the title and the body's first `max_chars` characters, one sentence a line."""
    lines: list[str] = []
    size = 0
    for raw in text.splitlines():
        line = URL.sub(" ", raw).strip()
        if not line or _skip_line(line):
            continue
        if not line.endswith(SENTENCE_END):
            line += "."  # subheadings and list items: a phrase must not run on into the next line
        lines.append(line)
        size += len(line) + 1
        if size >= max_chars:
            break
    if title and title.strip():
        head = _recase_title(title.strip(), text)
        lines.insert(0, head if head.endswith(SENTENCE_END) else head + ".")
    return "\n".join(lines)


def _recase_title(title: str, body: str) -> str:
    """Title Case headlines ("Council Approves Port Expansion") would make YAKE treat every word as a name:
    words the body writes in lower case are lower-cased."""
    words = title.split()
    capitalised = sum(1 for w in words[1:] if w[:1].isupper())
    if len(words) < 4 or capitalised < 0.6 * (len(words) - 1):
        return title
    lower_body = Counter(m.group() for m in re.finditer(r"[^\W\d_]+", body))
    out = [words[0]]
    for w in words[1:]:
        core = w.strip(EDGE_PUNCT)
        if core and core[0].isupper() and lower_body[core.lower()] > lower_body[core]:
            w = w.replace(core, core.lower(), 1)
        out.append(w)
    return " ".join(out)


# -- phrase checks -----------------------------------------------------------------------------


def _is_number(word: str) -> bool:
    return not any(c.isalpha() for c in word)


def _fragment(word: str) -> bool:
    return _is_number(word) or len(word) == 1 or bool(URL_PART.search(word))


def _glued(word: str, tag_keys: set[str]) -> bool:
    """Tag runs glued together by a page ("DrohnenExportIranTechnologie")."""
    humps = HUMP.findall(word)
    if len(humps) >= 2:
        return True
    if humps:
        cut = word.index(humps[0]) + 1
        return fold(word[:cut]) in tag_keys and fold(word[cut:]) in tag_keys
    return False


def _strip_edges(words: list[str], stops: frozenset[str]) -> list[str]:
    def edge(w: str) -> bool:
        return fold(w) in stops or _is_number(w)

    while words and edge(words[0]):
        words = words[1:]
    while words and edge(words[-1]):
        words = words[:-1]
    return words


def _split(phrase: str) -> list[str]:
    return [w for w in (p.strip(EDGE_PUNCT) for p in phrase.split()) if w]


def _excluded(words: list[str], excluded: list[set[str]]) -> bool:
    keys = {fold(w) for w in words}
    return any(keys <= names for names in excluded)


def clean_phrase(phrase: str, language: str | None, *, tag: bool = False,
                 tag_keys: set[str] | None = None) -> str | None:
    """`phrase` with punctuation and edge stop words stripped, or None when it is junk."""
    j = junk()
    words = _strip_edges(_split(phrase), stopwords(language))
    if not words:
        return None
    text = " ".join(words)
    folded = fold(text)
    if folded in j.phrases or len(text) > MAX_LEN or any(_fragment(w) for w in words):
        return None
    if _glued(text.replace(" ", ""), tag_keys or set()) or any(_glued(w, tag_keys or set()) for w in words):
        return None
    if not tag:
        parts = {fold(p) for w in words for p in re.split(r"[-'’]", w) if p}
        if parts & j.words or len(words) > NGRAM:
            return None
    return text


# -- display form ------------------------------------------------------------------------------


def _occurrences(words: list[str], text: str) -> tuple[Counter, Counter]:
    """Surface forms of the phrase in `text`: (mid-sentence forms, sentence-start forms)."""
    pattern = r"(?<![\w-])" + r"[\s\-]+".join(re.escape(w) for w in words) + r"(?![\w-])"
    mid, start = Counter(), Counter()
    for m in re.finditer(pattern, text, re.I):
        before = text[max(0, m.start() - 3):m.start()].rstrip(" \"'„“”«»")
        (start if not before or before[-1] in ".!?:\n" else mid)[m.group()] += 1
    return mid, start


def _display(text: str, body: str, title: str = "") -> tuple[str, int]:
    """Most common surface form in the body (mid-sentence preferred) and how often the phrase occurs.

    The count is the body's occurrences plus one for the title when the body has the phrase too:
    a phrase only the headline uses is headline wording ("Council approves expansion"), not a topic.
    """
    mid, start = _occurrences(text.split(), body)
    total = sum(mid.values()) + sum(start.values())
    forms = mid or start
    if not forms:
        return text, 0
    best = max(forms.items(), key=lambda kv: (kv[1], kv[0] == text))[0]
    if title:
        in_title = sum(_occurrences(text.split(), title)[0].values()) + sum(_occurrences(text.split(), title)[1].values())
        total += 1 if in_title else 0
    return " ".join(best.split()), total


def _phrase_ok(words: list[str], language: str | None, count: int) -> bool:
    """Language-specific sense checks on a YAKE phrase in its display form."""
    if count < 2:
        return False  # one-off words and word pairs are mostly accidents of adjacency
    if language == "de":
        stops = stopwords("de")
        return all(w[:1].isupper() or (0 < i < len(words) - 1 and fold(w) in stops)
                   for i, w in enumerate(words))
    if language == "en" and len(words) == 1 and words[0].islower():
        return not words[0].endswith(("ed", "ly"))
    return True


def _covered(word: str, chosen: list[str], body: str) -> bool:
    """True when every occurrence of `word` is inside an already chosen multi-word keyword."""
    phrases = [p for p in chosen if " " in p and fold(word) in {fold(w) for w in p.split()}]
    if not phrases:
        return False
    mid, start = _occurrences([word], body)
    alone = sum(mid.values()) + sum(start.values())
    for phrase in phrases:
        m, s = _occurrences(phrase.split(), body)
        alone -= sum(m.values()) + sum(s.values())
    return alone <= 0


# -- the list ----------------------------------------------------------------------------------


def _key(text: str, language: str | None) -> tuple[str, ...]:
    return tuple(stem_words(text.split(), language))


def extract_keywords(text: str, language: str | None, tags: list[str], top: int = 10,
                     title: str | None = None, exclude: list[str | None] | tuple = ()) -> list[str]:
    """Tags (cleaned, at most `top`) then up to `top` key phrases of the title and text, normalised."""
    body = text or ""
    tag_keys = {fold(t.strip()) for t in tags if t and t.strip()}
    excluded = [{fold(w) for w in _split(name)} for name in exclude if name and name.strip()]
    out: list[str] = []
    keys: set[tuple[str, ...]] = set()

    def add(candidate: str, display: str) -> bool:
        key = _key(candidate, language)
        if not key or key in keys:
            return False
        keys.add(key)
        out.append(display)
        return True

    n_tags = 0
    for tag in tags:
        cleaned = clean_phrase(tag, language, tag=True, tag_keys=tag_keys)
        if cleaned and n_tags < top and not _excluded(cleaned.split(), excluded):
            n_tags += add(cleaned, _display(cleaned, body)[0])
    if not top or not body.strip() or (language or "") in NO_WORD_SPACES:
        return out
    source = keyword_text(body)
    head = _recase_title(title.strip(), body) if title else ""
    found = 0
    yake_text = f"{head}.\n{source}" if head and not head.endswith(SENTENCE_END) else f"{head}\n{source}"
    for phrase, _score in _extractor(_yake_code(language), top * CANDIDATES).extract_keywords(yake_text):
        cleaned = clean_phrase(phrase, language, tag_keys=tag_keys)
        if not cleaned or _excluded(cleaned.split(), excluded):
            continue
        display, count = _display(cleaned, source, head)
        words = display.split()
        if not _phrase_ok(words, language, count):
            continue
        if len(words) > 1 and all((k,) in keys for k in _key(display, language)):
            continue  # every word is a keyword of its own already
        if len(words) == 1 and _covered(display, out, source):
            continue  # "bank" when "central bank" is a keyword and "bank" never occurs alone
        found += add(display, display)
        if found >= top:
            break
    return out
