"""The junk list (`junk.txt`): page furniture, credits and filler, shared by keywords and clusters.

`folded_content_lines` is the body as both read it: without credit lines, short promos, URLs and
e-mail addresses, and anything after a "Related articles" heading, each line with its `fold`,
computed once for both the junk checks and the reader. Every line is cut to `MAX_LINE_CHARS`
and runs longer than `MAX_WORD_CHARS` without a space are dropped; URLs are found token by token
(`strip_urls`), in linear time whatever the text (a regex with "non-space runs" on both sides of `@` took
seconds on one long run of letters), and not at all when three substring tests and the longest
token's length show the line has none. Trafilatura and per-site learning remove most of this before
enrichment sees the text; the list catches what is left on a site's first articles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.limits import MAX_LINE_CHARS, MAX_WORD_CHARS
from ingest.text import fold

JUNK_FILE = Path(__file__).with_name("junk.txt")
URL_STARTS = ("http://", "https://", "www.")
SPACE_RUNS = re.compile(r"(\s+)")
WORDS = re.compile(r"[^\W_]+")
PROMO_MAX_WORDS = 30
LABEL_MAX_WORDS = 4  # "Share this article", "Anzeige": labels, not sentences ("Anzeige gegen den Wirt erstattet")


@dataclass(frozen=True, slots=True)
class Junk:
    phrases: frozenset[str]   # a keyword equal to one of these is dropped
    words: frozenset[str]     # a key phrase containing one of these words is dropped
    edges: frozenset[str]     # stripped from phrase edges like stop words
    stop: frozenset[str]      # a heading that ends the article text ("Related articles")
    lines: tuple[str, ...]    # a line starting with one of these is not article text
    promo: tuple[str, ...]    # a short line containing one of these is not article text


@lru_cache(maxsize=1)
def junk() -> Junk:
    """The junk list, folded (lower case, no accents, ß = ss)."""
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
                frozenset(sections.get("edges", [])), frozenset(sections.get("stop", [])),
                tuple(sections.get("lines", [])), tuple(sections.get("promo", [])))


def plain(text: str) -> str:
    """Folded words only: "Related articles:" -> "related articles"."""
    return plain_folded(fold(text))


def plain_folded(folded: str) -> str:
    """`plain` of a text folded already."""
    return " ".join(WORDS.findall(folded))


def skip_line(line: str, folded: str | None = None) -> bool:
    """Credits, link-list entries and short promos are not article text. `folded`: `fold(line)`, when known."""
    folded = fold(line) if folded is None else folded
    j = junk()
    n_words = len(line.split())
    if folded.startswith(j.lines):  # one C-level test rejects most lines
        for prefix in j.lines:
            if folded.startswith(prefix):
                rest = folded[len(prefix):len(prefix) + 1]
                if prefix[-1] in ":©)" or (n_words <= LABEL_MAX_WORDS and not rest.isalnum()):
                    return True
    return n_words <= PROMO_MAX_WORDS and any(marker in folded for marker in j.promo)


def _is_email(token: str) -> bool:
    """name@host.tld: an "@" after the first character, then a dot followed by a word character."""
    at = token.find("@", 1)
    if at < 0:
        return False
    dot = token.find(".", at + 2)
    while dot >= 0:
        if dot + 1 < len(token) and (token[dot + 1].isalnum() or token[dot + 1] == "_"):
            return True
        dot = token.find(".", dot + 1)
    return False


def _may_have_urls(line: str) -> bool:
    """False when `strip_urls` would change nothing: no URL start, no "@", no over-long token."""
    if "@" in line or (len(line) > MAX_WORD_CHARS and max(map(len, line.split()), default=0) > MAX_WORD_CHARS):
        return True
    lower = line.lower()
    return "www." in lower or "http://" in lower or "https://" in lower


def strip_urls(line: str) -> str:
    """The line with URLs (from http://, https:// or www. to the end of the token), e-mail addresses
    and runs too long to be words replaced by a space. Linear in the line's length.

    Most lines have none of these: three substring tests and the longest token's length say so
    without splitting the line (the result is then the line itself)."""
    if not _may_have_urls(line):
        return line
    parts = SPACE_RUNS.split(line)
    for i in range(0, len(parts), 2):  # even indexes: tokens; odd: the whitespace between them
        token = parts[i]
        if not token:
            continue
        if len(token) > MAX_WORD_CHARS:
            parts[i] = " "
            continue
        lower = token.lower()
        starts = [pos for pos in (lower.find(s) for s in URL_STARTS) if pos >= 0]
        if starts:
            parts[i] = token[:min(starts)] + " "
        elif _is_email(token):
            parts[i] = " "
    return "".join(parts)


def folded_content_lines(text: str) -> Iterator[tuple[str, str]]:
    """Non-empty lines of article text, URLs removed, until a "Related articles"-style heading, each with
    its `fold`: every line is folded once, whoever reads it next."""
    stops = junk().stop
    for raw in text.splitlines():
        raw = raw[:MAX_LINE_CHARS]
        line = strip_urls(raw).strip()
        if not line:
            continue
        folded_raw = fold(raw)
        if plain_folded(folded_raw) in stops:  # a heading on its own ("Read more: https://…" is a link line: skipped)
            return
        folded = folded_raw if line == raw else fold(line)
        if not skip_line(line, folded):
            yield line, folded
