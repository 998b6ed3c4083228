"""Container choice: which of trafilatura's two bodies holds the article, and what the other adds.

trafilatura is run twice on a page (`extractor.extract_parts`): in precision mode, which drops real
paragraphs at the edges of many articles (leads, last paragraphs, lists) and sometimes inside them,
and in recall mode, which on other pages also takes comment threads, link lists and sidebars. Four
decisions, measured on the shared benchmarks (`bench/extraction.py`):

  1. `choose_body`: when the two passes disagree — neither body lies mostly inside the other
     (`passes_agree`, measured on the smaller one) — the precision pass took another part of the page
     (a footer, a sidebar, an event box, a comment thread) and the recall body is the article;
  2. when they agree: the recall body, unless it grows a substantial precision body by more than
     `RECALL_GROWTH` (then the extra is, on most pages, a comment thread or a sidebar) or is shorter
     than it (the recall pass chose a smaller container inside the precision one);
  3. `fill_from_wide`: when the precision body is kept, the recall body's long, sentence-shaped
     paragraphs that the precision pass dropped are put back, each after the precision block that
     precedes it in the recall body, the precision body's own order kept (`is_fill_paragraph`: a
     paragraph of `FILL_MIN_CHARS` characters or more ending like a sentence, on one line, whose text
     the precision body does not already hold). Short lines, table rows, headings and multi-line
     blocks (a comment's header, an address, a teaser with its date) stay out: in the recall body's
     extra they are mostly comments, navigation and teasers (measured: table rows and a lower or
     higher `RECALL_GROWTH` cost more precision than they bring recall). Refinements, measured
     on the large set: a multi-line recall paragraph is read line by line when it holds precision
     lines or directly continues the article (blogs written as text with `<br>`s come out of the
     recall pass as one paragraph whose first lines the precision pass dropped), but not past its
     last precision line (the run goes on into the site's notices), or when it opens with the page's
     description (the article's lead: the precision pass dropped the whole article and kept, say, the
     comments under it); a long list item is put back only
     between blocks both bodies share ("- The ministry said ..." paragraphs set as a list); and after
     everything the bodies share, paragraphs are put back only when the precision body is under
     `TAIL_FILL_SHARE` of the recall body (it took a piece of the article, else the tail is comments
     and notices). A shorter sentence (`_interior_sentence`: 40 characters and 5 words or more, ending
     like a sentence) is put back only with article text right before and after it in the recall body: a
     one-sentence paragraph the precision pass dropped inside the text, often the run right before an ad
     box (large set: +0.01 recall points, no precision lost). A paragraph printing an image's alt or title
     text (`pictures`) is that picture's caption and is never put back (one large-set page: precision
     0.44 -> 0.85). What is added goes through the same cleaning as the rest of the body.

  4. `needs_rescue` / `rescue_body`: when little of the chosen body reads as prose (under `WEAK_PROSE`
     of its text in lines of `PROSE_LINE` characters ending like a sentence; ~5 % of pages), readability
     (bundled with trafilatura, `extractor.readability_blocks`) is asked too, and its body replaces ours
     when it holds over twice the prose, at least `RESCUE_MIN_PROSE` characters of it, and is another
     text (`passes_agree` false). trafilatura looks for named containers first and discards some by
     name ("banner" in a class that also names the text, `txtmain _reachbanner_`), so on some
     table-laid and oddly named pages both passes take the section menu or a teaser list and the
     article is lost; readability scores the paragraphs themselves. Measured: it fires on 2 of the
     1,171 benchmark pages, both such losses (recall 0.00 -> 0.98 and 0.01 -> 0.99), and on none where
     our body was right (large set +0.19 recall and +0.20 precision points, 181-page set unchanged); the
     thresholds are not critical (prose share 0.3-1.0, agreement 0.2-0.5 fire on the same pages).
     ~0.4 ms per page on average (readability costs ~9 ms where it runs).

Texts are compared by 4-word shingles (runs of word characters), so CJK text without spaces and
punctuation differences are handled alike.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.extract.blocks import UNSPACED_SCRIPT, Block

WORD_RUN = re.compile(r"\w+", re.UNICODE)
# The recall pass's body is kept unless it is this much longer than a substantial precision pass.
RECALL_GROWTH, PRECISION_SUBSTANTIAL = 1.2, 500
AGREE = 0.5  # share of the smaller body's shingles the other must hold for the passes to agree
FILL_MIN_CHARS = 120
INTERIOR_MIN_CHARS, INTERIOR_MIN_WORDS = 40, 5  # a sentence between two article paragraphs
# Paragraphs after everything the two bodies share are added only when the precision body is less
# than this share of the recall body (it took a piece of the article; else the tail is comments, notices).
TAIL_FILL_SHARE = 0.5
# A body whose prose is under this share of its text may be the site's navigation (`needs_rescue`).
WEAK_PROSE, PROSE_LINE, RESCUE_MIN_PROSE = 0.3, 80, 300
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


def prose_chars(blocks: list[Block]) -> int:
    """Characters in lines that read as prose: `PROSE_LINE` characters or more (a Chinese, Japanese or
    Korean character counted twice: it carries about as much as two letters) ending like a sentence."""
    total = 0
    for block in blocks:
        for line in block.text.split("\n"):
            line = line.strip()
            if line.endswith(SENTENCE_END) and len(line) + len(UNSPACED_SCRIPT.findall(line)) >= PROSE_LINE:
                total += len(line)
    return total


def needs_rescue(blocks: list[Block]) -> bool:
    """Little of the body reads as prose (under `WEAK_PROSE` of its text): both passes may have taken
    the site's navigation or a teaser list instead of the article (`rescue_body` then decides)."""
    size = sum(len(b.text) for b in blocks)
    return prose_chars(blocks) < WEAK_PROSE * size or not size


def rescue_body(blocks: list[Block], other: list[Block]) -> bool:
    """`other` (readability's body for the page) replaces `blocks`: it holds `RESCUE_MIN_PROSE` characters
    of prose or more, over twice as much as ours, and the two are not the same text (`passes_agree`)."""
    theirs = prose_chars(other)
    mine_text = " ".join(b.text for b in blocks)
    return (theirs >= RESCUE_MIN_PROSE and theirs > 2 * prose_chars(blocks)
            and (not shingles(mine_text) or not passes_agree(mine_text, " ".join(b.text for b in other))))


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


def _interior_sentence(block: Block) -> bool:
    """A shorter paragraph that reads as a sentence, put back only between two article paragraphs (a
    one-sentence paragraph of a text set with line breaks, a paragraph right before an ad box)."""
    text = block.text.rstrip()
    return (block.kind == "p" and len(text) >= INTERIOR_MIN_CHARS and "\n" not in text
            and text.endswith(SENTENCE_END) and len(WORD_RUN.findall(text)) >= INTERIOR_MIN_WORDS)


def _worth_filling(units: list[Block], n: int, final: int, article: list[bool]) -> bool:
    """Unit `n` of the recall body is put back if new: a fill paragraph anywhere, a long list item or a
    shorter sentence only between blocks both bodies share (`final`: the last of those), the sentence
    with article text right before and after it (`article`: shared or fill paragraphs)."""
    unit = units[n]
    if is_fill_paragraph(unit):
        return True
    if n >= final:
        return False
    return _fill_item(unit) or 0 < n and article[n - 1] and article[n + 1] and _interior_sentence(unit)


def _fill_item(block: Block) -> bool:
    """A list item shaped like a fill paragraph: paragraphs set as a list ("- The ministry said ..."),
    put back only between blocks both bodies share (at the edges, items are menus and teasers)."""
    return block.kind == "item" and is_fill_paragraph(Block(kind="p", text=block.text))


def _key(text: str) -> str:
    return " ".join(WORD_RUN.findall(text.lower()))


def _opens_with(text: str, lead: str) -> bool:
    """The text starts like the page's description (`lead`, its words), over at least 40 characters
    (a description is often the article's first sentences, cut short)."""
    if len(lead) < 40:
        return False
    key = _key(text)
    n = min(len(lead), 80)
    return key[:n] == lead[:n] or len(key) >= 40 and lead.startswith(key)


def _units(wide: list[Block], owner: dict[str, int], lead: str = "") -> list[Block]:
    """The recall body's blocks, a multi-line paragraph split into its lines when it holds some of the
    precision body's lines or continues the article (it follows a block holding a precision paragraph,
    or a split block that had paragraphs): the recall pass often reads a post written as text and line
    breaks (`<div>` text with `<br>`s) as one paragraph whose lines the precision pass partly dropped.
    In a block holding precision lines, the lines after the last of them are left out (a run of text
    often goes on past the article into the page's notices and teasers). A multi-line block elsewhere
    (a footer's legal notice, a comment, an address) stays whole, unless it opens with the page's
    description (`lead`): then it is the article, which the precision pass dropped whole."""
    units: list[Block] = []
    continues = False  # the previous recall block was article text
    for block in wide:
        lines = [Block(kind="p", text=line) for line in block.text.split("\n")]
        owned = [i for i, line in enumerate(lines) if _key(line.text) in owner]
        if block.kind == "p" and len(lines) > 1 and _key(block.text) not in owner \
                and (owned or continues or _opens_with(lines[0].text, lead)):
            units += lines[:owned[-1] + 1] if owned else lines
        else:
            units.append(block)
        continues = (bool(owned) or _key(block.text) in owner or continues and len(lines) > 1) \
            and any(is_fill_paragraph(b) for b in lines)
    return units


def fill_from_wide(precise: list[Block], wide: list[Block], description: str | None = None,
                   pictures: frozenset[str] = frozenset()) -> list[Block]:
    """The precision body's blocks, in their order, with the recall body's long sentence-shaped
    paragraphs it dropped, each put after the precision block that precedes it in the recall body.
    Blocks are matched by their words (spacing and line breaks differ between the passes), and by
    their lines (one recall paragraph may hold several precision blocks); a paragraph whose text the
    precision body already holds for the most part (split differently) is not added.
    A multi-line recall paragraph opening with the page's `description` is read line by line (`_units`);
    a paragraph whose words are an image's alt or title text (`pictures`) is a caption and stays out.
    Unchanged when the two bodies share no block."""
    owner: dict[str, int] = {}  # words of a precision block, and of each of its lines -> its index
    for i, block in enumerate(precise):
        owner.setdefault(_key(block.text), i)
        for line in block.text.split("\n") if "\n" in block.text else ():
            owner.setdefault(_key(line), i)
    units = _units(wide, owner, _key(description or ""))
    if not any(_key(u.text) in owner for u in units):
        return precise
    have = shingles(" ".join(b.text for b in precise))
    after: dict[int, list[Block]] = {}  # precision index (-1: before the first) -> blocks to add after it
    replace: dict[int, Block] = {}
    last = -1
    final = max(n for n, u in enumerate(units) if _key(u.text) in owner)  # the last unit both bodies share
    small = sum(len(b.text) for b in precise) < TAIL_FILL_SHARE * sum(len(b.text) for b in wide)
    captions = {_key(text) for text in pictures}
    pictured = [_key(u.text) in captions for u in units]  # an image's alt text printed as its caption
    article = [_key(u.text) in owner or is_fill_paragraph(u) and not pictured[n] for n, u in enumerate(units)]
    for n, unit in enumerate(units):
        at = owner.get(_key(unit.text))
        if at is not None:
            last = max(last, at)
            if _key(unit.text) == _key(precise[at].text):
                replace.setdefault(at, unit)  # the recall pass's copy of the same block (one line, no breaks)
            continue
        if pictured[n] or not _worth_filling(units, n, final, article):
            continue
        mine = shingles(unit.text)
        if sum((mine & have).values()) < AGREE * sum(mine.values()) and (n < final or small):
            after.setdefault(last, []).append(unit)
            have += mine
    out = after.get(-1, [])
    for i, block in enumerate(precise):
        out += [replace.get(i, block), *after.get(i, [])]
    return out
