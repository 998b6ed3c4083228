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
- a phrase only the headline uses is dropped (headline wording, "Council approves expansion");
  a multi-word phrase or a lower-case word must occur at least twice (title included), which
  drops YAKE's incidental word pairs ("Umwege einstellen"); names used once only fill up the
  list; in German every word of a key phrase must be a capitalised noun or name, in English a
  lone lower-case past participle or adverb is dropped; names YAKE cut short are completed from
  their neighbours in the text ("York" -> "New York").

Tags come first (at most `top`), then up to `top` key phrases. YAKE reads the title and the first
`MAX_CHARS` characters of the body: news puts what matters first, and YAKE's cost grows with
length (bench/enrich.py measures both).

Preparation is linear and cheap beside the scorer (~2.5 of ~6.5 ms per article, the rest is
yake-rust): every line is folded once (`junk.folded_content_lines`), the URL scan is skipped for
lines that cannot hold one, and `_Doc` indexes words without a call per word.

Input is bounded (`ingest/limits.py`): the title, the body and every line are cut to fixed sizes, and a
panic of the native scorer (pyo3's `PanicException`, a BaseException) costs only that article's
key phrases: its tags are kept and a warning is logged.

Scoring runs in `yake-rust` (the Rust port of YAKE, same algorithm and scores, ~6x faster: keywords
were the slowest pipeline stage); the stop-word lists are the `yake` package's, so both
implementations see the same languages. When the binding is missing, the pure-Python `yake` scores.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from functools import lru_cache

import yake

try:  # the Rust port: same scores, a fraction of the time
    import yake_rust
except ImportError:  # pragma: no cover - platforms without a wheel fall back to pure Python
    yake_rust = None  # type: ignore[assignment]

from ingest.enrich.junk import folded_content_lines, junk, plain, plain_folded
from ingest.limits import MAX_TITLE_CHARS, bounded
from ingest.text import fold, stem_words

log = logging.getLogger(__name__)

NGRAM = 3                 # longest key phrase, in words
TIE_MARGIN = 5  # extra phrases asked of the scorer so ties at the cut are decided by phrase, not hash order
MAX_CHARS = 4000          # body characters YAKE reads (after the title)
CANDIDATES = 4            # YAKE candidates asked for per keyword wanted (most are filtered out)
MIN_CANDIDATES = 30
MAX_LEN = 60              # characters
# Scripts YAKE cannot split into words, and Korean, where particles stick to every word: tags only.
NO_YAKE = {"ja", "zh", "th", "lo", "km", "my", "bo", "dz", "ko"}
YAKE_CODES = {"cs": "cz"}  # YAKE's stop-list file names where they differ from ISO 639-1

EDGE_PUNCT = "\"'“”„‚‘’«»‹›()[]{}<>.,:;!?…*#|/\\–—-_=+~^`•·"
URL_PART = re.compile(r"^www\.|\.(?:com|net|org|de|at|ch|uk|fr|it|es|html?|php|aspx?)$|/|@", re.I)
SENTENCE_END = tuple(".!?…:;\"'»«“”)")
HUMP = re.compile(r"[a-zäöüßà-ÿ][A-ZÄÖÜÀ-Þ]")
DASHES = re.compile(r"[-–]")
WORD_PARTS = re.compile(r"[-'’]")


def _yake_code(language: str | None) -> str:
    lang = (language or "en").lower()
    return YAKE_CODES.get(lang, lang)


@lru_cache(maxsize=32)
def _extractor(lang: str, top: int, n: int = NGRAM):
    return yake.KeywordExtractor(lan=lang, n=n, dedup_lim=0.8, top=top, window_size=1)


@lru_cache(maxsize=32)
def _scorer(lang: str, n: int = NGRAM):
    """A callable text, top -> [(phrase, score)], best first."""
    if yake_rust is None:
        return lambda text, top: _extractor(lang, top, n).extract_keywords(text)
    stops = set(_extractor(lang, 10, n).stopword_set)
    rust = yake_rust.Yake(stopwords=stops, ngrams=n, window_size=1, deduplication_threshold=0.8)
    return lambda text, top: rust.get_n_best(text, n=top)


def is_panic(exc: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (`pyo3_runtime.PanicException` derives from BaseException)."""
    return type(exc).__name__ == "PanicException"


def _score(lang: str, text: str, top: int) -> list[tuple[str, float]]:
    """YAKE's best `top` phrases; none when the native scorer panics (this article only)."""
    try:
        # The native scorer orders equal scores (and cuts among them) in hash order, which changes
        # from process to process: ask for a few more, order ties by phrase, cut here.
        found = _scorer(lang, NGRAM)(text, top + TIE_MARGIN)
        return sorted(found, key=lambda pair: (pair[1], pair[0]))[:top]
    except BaseException as exc:
        if not is_panic(exc):
            raise
        log.warning("keyword scorer failed on a text of %d characters (%s); key phrases left out",
                    len(text), str(exc)[:200])
        return []


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


def keyword_text(text: str, title: str | None = None, max_chars: int = MAX_CHARS) -> str:
    """What YAKE reads of the body: its first `max_chars` characters of content (`folded_content_lines`),
    one sentence a line, without the headline (pages often repeat it as the body's first line)."""
    lines: list[str] = []
    size = 0
    headline = plain(title) if title else ""
    for line, folded in folded_content_lines(text):
        words = plain_folded(folded)
        if headline and words and headline.endswith(words) and (words == headline or len(words.split()) >= 3):
            continue  # the headline, or the headline without its "Report:" prefix
        if not line.endswith(SENTENCE_END):
            line += "."  # subheadings and list items: a phrase must not run on into the next line
        lines.append(line)
        size += len(line) + 1
        if size >= max_chars:
            break
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
    return not any(map(str.isalpha, word))


def _fragment(word: str) -> bool:
    """Numbers, single letters, URL parts, tickers and codes ("7974.TO", "11.18.19")."""
    if _is_number(word) or len(word) == 1 or "_" in word or URL_PART.search(word):
        return True
    return ("." in word or "," in word) and any(map(str.isdigit, word))


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
    def edge(w: str) -> bool:  # "two-year": every part a stop word, date word or number ("F-16" is a name)
        parts = [p for p in DASHES.split(w) if p] if "-" in w or "–" in w else [w]
        words = [p for p in parts if not _is_number(p)]
        return all(fold(p) in stops for p in words) and (not words or all(len(p) > 1 for p in words))

    while words and edge(words[0]):
        words = words[1:]
    while words and edge(words[-1]):
        words = words[:-1]
    return words


ABBREVIATION = re.compile(r"(?:[^\W\d_]\.){2,}")


def _strip_word(word: str) -> str:
    """Edge punctuation off a word; the final dot of "U.S." stays."""
    core = word.strip(EDGE_PUNCT.replace(".", "")).lstrip(".")
    return core if ABBREVIATION.fullmatch(core) else core.strip(EDGE_PUNCT)


def _split(phrase: str) -> list[str]:
    return [w for w in (_strip_word(p) for p in phrase.split()) if w]


def _tag_text(tag: str) -> str:
    """URL-slug tags ("doobie-brothers", "rock-hall-2020") become words."""
    tag = tag.strip()
    if " " not in tag and "-" in tag and tag == tag.lower():
        return tag.replace("-", " ")
    return tag


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
    if any(_glued(w, tag_keys or set()) for w in words):
        return None
    if any(fold(a) == fold(b) for a, b in zip(words, words[1:], strict=False)):
        return None  # "News News"
    if not tag:
        parts = {fold(p) for w in words for p in WORD_PARTS.split(w) if p}
        if parts & j.words or len(words) > NGRAM:
            return None
    return text


# -- display form ------------------------------------------------------------------------------


WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
QUOTES = " \"'„“”«»‚‘’(["


class _Doc:
    """A text's words with their positions, indexed by folded form: phrase occurrences without regexes."""

    def __init__(self, text: str):
        self.text = text
        self.spans = [m.span() for m in WORD.finditer(text)]
        self.words = [text[a:b] for a, b in self.spans]
        self.keys = [w.lower() if w.isascii() else fold(w) for w in self.words]  # = fold(w), without the call
        self.index: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.index.setdefault(key, []).append(i)
        # Most words follow a single space: not a sentence start, no need to look closer.
        self.starts = [i == 0 or (text[self.spans[i - 1][1]:a] != " " and self._sentence_start(i))
                       for i, (a, _) in enumerate(self.spans)]
        self.names = {w for w, start in zip(self.words, self.starts, strict=True) if not start and w[:1].isupper()}

    def gap(self, i: int) -> str:
        """Text between word i-1 and word i."""
        return self.text[self.spans[i - 1][1] if i else 0:self.spans[i][0]]

    def _sentence_start(self, i: int) -> bool:
        gap = self.gap(i).strip(QUOTES)
        if i == 0 or "\n" in gap or any(c in gap for c in "!?:;"):
            return True
        if "." not in gap:
            return False
        prev = self.words[i - 1]  # "Rep. Ilhan Omar", "U.S. officials": an abbreviation, no full stop
        return not (len(prev) <= 3 and prev[:1].isupper()) and not (i >= 2 and self.gap(i - 1) == ".")

    def find(self, phrase: str) -> list[int]:
        """Start positions of the phrase's words in sequence (hyphens and spaces alike)."""
        keys = [fold(w) for w in WORD.findall(phrase)]
        if not keys:
            return []
        n = len(keys)
        return [i for i in self.index.get(keys[0], ()) if self.keys[i:i + n] == keys
                and all(self.gap(i + j).strip() in ("", "-") for j in range(1, n))]

    def surface(self, i: int, n: int) -> str:
        end = self.spans[i + n - 1][1]
        if self.text[end:end + 1] == "." and ABBREVIATION.fullmatch(self.text[self.spans[i][0]:end + 1]):
            end += 1
        return " ".join(self.text[self.spans[i][0]:end].split())

    def occurrences(self, phrase: str) -> tuple[Counter, Counter]:
        """Surface forms of the phrase: (mid-sentence forms, sentence-start forms)."""
        n = len(WORD.findall(phrase))
        mid: Counter[str] = Counter()
        start: Counter[str] = Counter()
        for i in self.find(phrase):
            (start if self.starts[i] else mid)[self.surface(i, n)] += 1
        return mid, start

    def count(self, phrase: str) -> int:
        return len(self.find(phrase))


DETERMINERS = frozenset("the a an der die das den dem des ein eine einen le la les el los las il lo gli un una uno "
                        "het een o os as".split())


def _extend_name(phrase: str, doc: _Doc, language: str | None) -> str:
    """Grow a name YAKE cut short by the capitalised words every occurrence has next to it
    ("York" -> "New York", "Amsterdam Light" -> "Amsterdam Light Festival"); at most `NGRAM` + 1 words."""
    if language == "de" or not phrase[:1].isupper():
        return phrase  # German capitalises every noun: adjacency says nothing about names
    stops = stopwords(language)
    while len(phrase.split()) <= NGRAM:
        n = len(WORD.findall(phrase))
        hits = [i for i in doc.find(phrase) if doc.surface(i, n) == phrase]  # the name as written
        if not hits:
            return phrase
        lefts, rights = set(), set()
        for i in hits:
            left = doc.words[i - 1] if i and doc.gap(i) == " " else None
            if left and doc.starts[i - 1] and left not in doc.names:
                left = None  # "Analysts" opening a sentence; "Skyvale" is a name if written so mid-sentence too
            if left and (not left[:1].isupper() or fold(left) in DETERMINERS):
                left = None
            j = i + n
            right = doc.words[j] if j < len(doc.words) and doc.gap(j) == " " else None
            if right and (not right[:1].isupper() or fold(right) in stops):
                right = None
            lefts.add(left)
            rights.add(right)
        if len(lefts) == 1 and None not in lefts:
            phrase = f"{lefts.pop()} {phrase}"
        elif len(rights) == 1 and None not in rights:
            phrase = f"{phrase} {rights.pop()}"
        else:
            return phrase
    return phrase


def _display(text: str, doc: _Doc, title: _Doc | None = None, language: str | None = None) -> tuple[str, int]:
    """Most common surface form in the body (mid-sentence preferred) and how often the phrase occurs.

    A word only ever seen at sentence starts is a common word, not a name ("Analysts said"):
    lower case, except in German, where nouns are capitalised anyway.

    The count is the body's occurrences plus one for the title when the body has the phrase too:
    a phrase only the headline uses is headline wording ("Council approves expansion"), not a topic.
    """
    mid, start = doc.occurrences(text)
    total = sum(mid.values()) + sum(start.values())
    forms = mid or start
    if not forms:
        return text, 0
    best = max(forms.items(), key=lambda kv: (kv[1], kv[0] == text))[0]
    if not mid and language != "de" and " " not in best and not best.isupper():
        best = best[:1].lower() + best[1:]
    if title is not None and title.count(text):
        total += 1
    return best, total


def _grade(words: list[str], language: str | None, count: int) -> int:
    """Sense checks on a YAKE phrase in its display form, `count` as `_display` gives it:
    2 = good, 1 = only to fill up a short list (a name or noun used once), 0 = drop."""
    if count < 1 or (len(words) > 1 and count < 2):
        return 0  # headline-only wording, or a one-off word pair (mostly an accident of adjacency)
    if language == "de":  # nouns and names are capitalised: anything else is a verb, adjective, adverb
        stops = stopwords("de")
        if not all(w[:1].isupper() or (0 < i < len(words) - 1 and fold(w) in stops) for i, w in enumerate(words)):
            return 0
    elif len(words) == 1 and words[0].islower():  # common words must recur to count
        return 2 if count >= 2 and not (language == "en" and words[0].endswith(("ed", "ly"))) else 0
    if len(words) == 1 and words[0].isupper() and len(words[0]) >= 5 and count < 2:
        return 0  # a dateline ("BERLIN")
    return 2 if count >= 2 else 1


def _covered(word: str, chosen: list[str], doc: _Doc) -> bool:
    """True when every occurrence of `word` is inside an already chosen multi-word keyword."""
    key = fold(word)
    phrases = [p for p in chosen if " " in p and key in {fold(w) for w in p.split()}]
    if not phrases:
        return False
    return doc.count(word) <= sum(doc.count(p) for p in phrases)


# -- the list ----------------------------------------------------------------------------------


def _key(text: str, language: str | None) -> tuple[str, ...]:
    return tuple(stem_words(text.split(), language))


def extract_keywords(text: str, language: str | None, tags: list[str], top: int = 10,
                     title: str | None = None, exclude: list[str | None] | tuple = ()) -> list[str]:
    """Tags (cleaned, at most `top`) then up to `top` key phrases of the title and text, normalised."""
    body = bounded(text)
    title = bounded(title, MAX_TITLE_CHARS) if title else title
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

    source = keyword_text(body, title)
    doc = _Doc(source)
    n_tags = 0
    for tag in tags:
        cleaned = clean_phrase(_tag_text(tag), language, tag=True, tag_keys=tag_keys)
        if cleaned and n_tags < top and not _excluded(cleaned.split(), excluded):
            display, seen = _display(cleaned, doc, language=language)
            if not seen and language == "de" and cleaned.islower() and " " not in cleaned:
                display = cleaned[:1].upper() + cleaned[1:]  # a German noun, whatever the CMS did to it
            n_tags += add(cleaned, display)
    if not top or not body.strip() or (language or "") in NO_YAKE:
        return out
    head = _recase_title(title.strip(), body) if title else ""
    head_doc = _Doc(head)
    phrases: list[str] = []
    spare: list[str] = []
    yake_text = f"{head}.\n{source}" if head and not head.endswith(SENTENCE_END) else f"{head}\n{source}"
    wanted = max(top * CANDIDATES, MIN_CANDIDATES)
    for phrase, _weight in _score(_yake_code(language), yake_text, wanted):
        cleaned = clean_phrase(phrase, language, tag_keys=tag_keys)
        if not cleaned or _excluded(cleaned.split(), excluded):
            continue
        display, count = _display(cleaned, doc, head_doc, language)
        display = _extend_name(display, doc, language)
        grade = _grade(display.split(), language, count)
        if grade == 2:
            phrases.append(display)
        elif grade == 1:
            spare.append(display)
    found = 0
    for display in phrases + spare:
        if found >= top:
            break
        words = display.split()
        if len(words) > 1 and all((k,) in keys for k in _key(display, language)):
            continue  # every word is a keyword of its own already
        if len(words) == 1 and _covered(display, out, doc):
            continue  # "bank" when "central bank" is a keyword and "bank" never occurs alone
        found += add(display, display)
    return out
