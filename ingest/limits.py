"""Input bounds for extraction and enrichment: every per-article stage reads at most a fixed amount of text.

A neutral module (no stage owns it), so `extract` and `enrich` both read it without one importing the other.

A feed item or page can be megabytes of one "word" or one line; enrichment cost (and, for
native code, its failure modes) grows with that. Each stage therefore reads a bounded prefix:

| stage | reads |
|---|---|
| keywords (YAKE) | title `MAX_TITLE_CHARS`, body lines up to `keywords.MAX_CHARS`, each line at most `MAX_LINE_CHARS` |
| language | `language.DETECT_CHARS` of the text, 32 KB of the page head for `<html lang>` |
| mentions, MinHash shingles | the first `MAX_TEXT_CHARS` of the body |
| extract (feed content read as plain text) | `MAX_TEXT_CHARS` |

Words longer than `MAX_WORD_CHARS` are no words (base64 blobs, minified code, `DDDD...`): line
preparation drops them before any regex runs, which keeps every pattern on short tokens.
Article news text is far below these bounds (a long feature is ~60,000 characters).
"""

from __future__ import annotations

MAX_TEXT_CHARS = 200_000   # body characters read by mentions and clustering
MAX_LINE_CHARS = 5_000     # characters of one line read by keyword and cluster preparation
MAX_TITLE_CHARS = 1_000
MAX_WORD_CHARS = 200       # a longer run without spaces is not a word


def bounded(text: str | None, limit: int = MAX_TEXT_CHARS) -> str:
    """At most `limit` characters of text, cut at a space near the limit when there is one."""
    if not text or len(text) <= limit:
        return text or ""
    cut = text.rfind(" ", limit - 200, limit)
    return text[:cut if cut > 0 else limit]
