"""Container choice: which of trafilatura's two bodies holds the article, and what the other adds.

trafilatura is run twice on a page (`extractor.extract_parts`): in precision mode, which drops real
paragraphs at the edges of many articles (leads, last paragraphs, lists) and sometimes inside them,
and in recall mode, which on other pages also takes comment threads, link lists and sidebars. Three
decisions, measured on the shared benchmarks (`bench/extraction.py`):

  1. `choose_body`: when the two passes disagree — neither body lies mostly inside the other
     (`passes_agree`, measured on the smaller one) — the precision pass took another part of the page
     (a footer, a sidebar, an event box, a comment thread) and the recall body is the article;
  2. when they agree: the recall body, unless it grows a substantial precision body by more than
     `RECALL_GROWTH` (then the extra is, on most pages, a comment thread or a sidebar) or is shorter
     than it (the recall pass chose a smaller container inside the precision one);
  3. `fill_from_wide`: when the precision body is kept, the recall body's long, sentence-shaped
     paragraphs that the precision pass dropped are put back in the recall body's order
     (`is_fill_paragraph`: a paragraph of `FILL_MIN_CHARS` characters or more ending like a sentence,
     on one line, whose text the precision body does not already hold). Short lines, list items, table
     rows, headings and multi-line blocks (a comment's header, an address, a teaser with its date) stay
     out: in the recall body's extra they are mostly comments, navigation and teasers (measured: table
     rows and a lower or higher `RECALL_GROWTH` cost more precision than they bring recall). What is
     added goes through the same cleaning as the rest of the body.

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
AGREE = 0.5  # share of the smaller body's shingles the other must hold for the passes to agree
FILL_MIN_CHARS = 120
SENTENCE_END = tuple('.!?:;"“”\'’»«)…。！？')


def shingles(text: str, n: int = 4) -> Counter:
    """The text's word n-grams as a multiset (one shorter gram for a text of fewer than n words)."""
    words = WORD_RUN.findall(text)
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def passes_agree(precise_text: str, wide_text: str) -> bool:
    """One body lies (mostly) inside the other: the passes chose the same container, or one inside the
    other. Measured on the smaller one: at least `AGREE` of its shingles are in the other."""
    mine, theirs = shingles(precise_text), shingles(wide_text)
    smaller = min(sum(mine.values()), sum(theirs.values()))
    return not smaller or sum((mine & theirs).values()) >= AGREE * smaller


def _text(body) -> str:
    return " ".join(body.itertext())


def choose_body(precise, wide):
    """The body to clean: see the module docstring (points 1 and 2). Either may be None."""
    if wide is None:
        return precise
    if precise is None:
        return wide
    short_text, long_text = _text(precise), _text(wide)
    if not passes_agree(short_text, long_text):
        return wide
    short, long_ = len(short_text), len(long_text)
    if long_ < short:  # the recall pass chose a smaller container inside the precision one
        return precise
    return precise if short >= PRECISION_SUBSTANTIAL and long_ > RECALL_GROWTH * short else wide


def is_fill_paragraph(block: Block) -> bool:
    """A recall-body block worth putting back into a precision body: a long one-line paragraph that
    ends like a sentence."""
    text = block.text.rstrip()
    return (block.kind == "p" and len(text) >= FILL_MIN_CHARS and "\n" not in text
            and text.endswith(SENTENCE_END))


def _key(text: str) -> str:
    return " ".join(WORD_RUN.findall(text.lower()))


def fill_from_wide(precise: list[Block], wide: list[Block]) -> list[Block]:
    """The precision body's blocks with the recall body's long sentence-shaped paragraphs it dropped,
    in the recall body's order; precision blocks the recall body lacks keep their place at the end.
    Blocks are matched by their words (spacing and line breaks differ between the passes); a paragraph
    whose text the precision body already holds for the most part (split differently) is not added.
    Unchanged when the two bodies share no block."""
    kept = {_key(b.text) for b in precise}
    if not wide or not any(_key(b.text) in kept for b in wide):
        return precise
    have = shingles(" ".join(b.text for b in precise))

    def new(block: Block) -> bool:
        mine = shingles(block.text)
        return is_fill_paragraph(block) and sum((mine & have).values()) < AGREE * sum(mine.values())

    out = [b for b in wide if _key(b.text) in kept or new(b)]
    in_wide = {_key(b.text) for b in wide}
    return out + [b for b in precise if _key(b.text) not in in_wide]
