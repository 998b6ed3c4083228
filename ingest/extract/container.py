"""Container choice: which of trafilatura's two bodies holds the article, and what the other adds.

trafilatura is run twice on a page (`extractor.extract_parts`): in precision mode, which drops real
paragraphs at the edges of many articles (leads, last paragraphs, lists) and sometimes inside them,
and in recall mode, which on other pages also takes comment threads, link lists and sidebars. Three
decisions, measured on the shared benchmarks (`bench/extraction.py`):

  1. `choose_body`: the recall body, unless it grows a substantial precision body by more than
     `RECALL_GROWTH` (then the extra is, on most pages, a comment thread or a sidebar) or is shorter
     than it (the recall pass chose a smaller container);
  2. ... unless the two passes disagree: when most of the precision body's text is *not* in the
     recall body (`passes_agree`), the precision pass took another part of the page (a footer, a
     sidebar, an event box, a comment thread) and the recall body is the article. Two passes that
     disagree can only be trusted on the wider one: the precision body was never a subset of it;
  3. `fill_from_wide`: when the precision body is kept, the recall body's long, sentence-shaped
     paragraphs that the precision pass dropped are put back in the recall body's order
     (`is_fill_paragraph`: a paragraph or a table row of `FILL_MIN_CHARS` characters or more ending
     like a sentence, on one line). Short lines, list items, headings and multi-line blocks (a
     comment's header, an address, a teaser with its date) stay out: in the recall body's extra they
     are mostly comments, navigation and teasers. What is added goes through the same cleaning as the
     rest of the body.

Texts are compared by 4-word shingles (runs of word characters), so CJK text without spaces and
punctuation differences are handled alike.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.extract.blocks import Block

WORD_RUN = re.compile(r"\w+", re.UNICODE)
# The recall pass's body is kept unless it is this much longer than a substantial precision pass.
RECALL_GROWTH, PRECISION_SUBSTANTIAL = 1.2, 500
AGREE = 0.5  # share of the precision body's shingles the recall body must hold for the passes to agree
FILL_MIN_CHARS = 120
SENTENCE_END = tuple('.!?:;"“”\'’»«)…。！？')


def shingles(text: str, n: int = 4) -> Counter:
    """The text's word n-grams as a multiset (one shorter gram for a text of fewer than n words)."""
    words = WORD_RUN.findall(text)
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def passes_agree(precise_text: str, wide_text: str) -> bool:
    """Most of the precision body's text is also in the recall body (the same container, or one inside
    the other)."""
    mine = shingles(precise_text)
    total = sum(mine.values())
    if not total:
        return True
    return sum((mine & shingles(wide_text)).values()) >= AGREE * total


def _text(body) -> str:
    return " ".join(body.itertext())


def choose_body(precise, wide):
    """The body to clean: see the module docstring (points 1 and 2). Either may be None."""
    if wide is None:
        return precise
    if precise is None:
        return wide
    short_text, long_text = _text(precise), _text(wide)
    short, long_ = len(short_text), len(long_text)
    if long_ < short:  # the recall pass chose a smaller container
        return precise
    if short >= PRECISION_SUBSTANTIAL and long_ > RECALL_GROWTH * short:
        return precise if passes_agree(short_text, long_text) else wide
    return wide


def is_fill_paragraph(block: Block) -> bool:
    """A recall-body block worth putting back into a precision body: a long one-line paragraph (or
    table row) that ends like a sentence."""
    text = block.text.rstrip()
    return (block.kind in ("p", "row") and len(text) >= FILL_MIN_CHARS and "\n" not in text
            and text.endswith(SENTENCE_END))


def fill_from_wide(precise: list[Block], wide: list[Block]) -> list[Block]:
    """The precision body's blocks with the recall body's long sentence-shaped paragraphs it dropped,
    in the recall body's order; precision blocks the recall body lacks keep their place at the end.
    Unchanged when the two bodies share no block."""
    kept = {b.text for b in precise}
    if not wide or not any(b.text in kept for b in wide):
        return precise
    out = [b for b in wide if b.text in kept or is_fill_paragraph(b)]
    in_wide = {b.text for b in wide}
    return out + [b for b in precise if b.text not in in_wide]
