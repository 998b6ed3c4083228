"""trafilatura as the base extractor: page HTML in, metadata and body blocks out.

Extraction cost grows with the page's size and element count (trafilatura walks the tree many
times), so a page is bounded before trafilatura sees it: at most `MAX_HTML_CHARS` characters,
`MAX_ELEMENTS` elements and `MAX_DEPTH` levels of nesting (libxml2 itself stops nesting at 256);
a page with more than `MAX_TAG_MARKS` "<" is refused before parsing, so the parse's memory is
bounded too.
Real news pages stay far below (1,171 benchmark pages: at most 1.6 M characters, 8,124 elements,
depth 51). A page over a bound raises `PageTooComplex` with the reason: the pipeline records it
on the entry and falls back to the feed's text.

CPU: the page is parsed once (`parse_html`, our own parser with a C-level element class lookup:
lxml.html's Python lookup ran once per element proxy, 7 % of the extraction CPU) and trafilatura
works on copies of that tree, which keep the cheap lookup. Our reads before trafilatura are whole-page
walks or XPath counts, kept cheap where they run on every page (bounds counted in C, class values
judged once per distinct value, paywall names looked for in all class and id values at once);
trafilatura's two passes are most of the rest and are left as they are (tests/test_extract_parse_reads.py).
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from lxml.html import fromstring as html_fromstring
from trafilatura.external import sanitize_tree, try_readability
from trafilatura.settings import Document, Extractor
from trafilatura.utils import is_dubious_html, repair_faulty_html

from ingest.config import ExtractSettings
from ingest.errors import IngestError
from ingest.extract.access import blocked_page, page_access, page_published
from ingest.extract.blocks import Block, LinkIndex, blocks_from_body, link_texts
from ingest.extract.container import choose_body, fill_from_wide, needs_rescue, rescue_body
from ingest.extract.lead import already_in, find_lead
from ingest.extract.pagetags import is_credit, page_tag_blocks
from ingest.extract.treefix import fix_tree
from ingest.fetch.charset import decode_page
from ingest.models import Precision

SPACE = re.compile(r"\s+")
MAX_HTML_CHARS = 5_000_000
MAX_ELEMENTS = 50_000
MAX_DEPTH = 200
MAX_TAG_MARKS = 4 * MAX_ELEMENTS  # "<" in the page: opening and closing tags, scripts' comparisons


class PageTooComplex(IngestError):
    """The page exceeds an extraction bound (size, elements, depth); the message says which."""


def _node_text(node) -> str:
    return SPACE.sub(" ", node.text_content()).strip()


# Class-name words that mark a caption or a photo credit in common CMS markup
# (wp-caption-text, image-caption, article__legend, bildunterschrift, field-pie, didascalia...).
CAPTION_WORDS = {"caption", "figcaption", "legend", "legende", "légende", "bildunterschrift", "bu", "pie",
                 "piefoto", "didascalia", "cutline", "epigrafe", "podpis"}
CREDIT_WORDS = {"credit", "credits", "copyright", "photographer", "fotograf", "byline", "signature", "source",
                "quelle", "autor", "author", "firma"}
CLASS_WORDS = re.compile(r"[a-zäöüé]+")
CAMEL = re.compile(r"([a-zäöüé])([A-ZÄÖÜÉ])")


def _words_of_class(cls: str) -> set[str]:
    """Words of a class attribute, split at -, _, spaces and camelCase ("imageCaption", "podpisZdjecia")."""
    return set(CLASS_WORDS.findall(CAMEL.sub(r"\1 \2", cls).lower()))


def _class_words(node) -> set[str]:
    return _words_of_class(node.get("class") or "")


CLASS_HINT = re.compile("|".join(sorted(CAPTION_WORDS | CREDIT_WORDS, key=len, reverse=True)))


def _class_kind(cls: str) -> int:
    """1 when the class names a caption, 2 when it names a credit, 0 otherwise."""
    if not CLASS_HINT.search(cls.lower()):
        return 0
    words = _words_of_class(cls)
    return 1 if words & CAPTION_WORDS else 2 if words & CREDIT_WORDS else 0


def _class_candidates(tree) -> tuple[list, list]:
    """Elements whose class names a caption, and those whose class names a credit (one pass). A page
    repeats its class values many times: each distinct value is judged once."""
    captions, credits = [], []
    kinds: dict[str, int] = {}
    for el in tree.iter(etree.Element):
        cls = el.get("class")
        if not cls:
            continue
        kind = kinds.get(cls)
        if kind is None:
            kind = kinds[cls] = _class_kind(cls)
        if kind == 1:
            captions.append(el)
        elif kind == 2:
            credits.append(el)
    return captions, credits


def _lineage(node) -> frozenset:
    """The element's ancestors (the elements themselves: lxml proxies are only stable while referenced)."""
    return frozenset(node.iterancestors())


def figure_captions(tree) -> list[tuple[str, frozenset]]:
    """(text, the element's ancestors) of the page's captions and photo credits: <figcaption>s
    and elements whose class says caption, read before trafilatura prunes figures. When the body prints
    one again it is a caption, not content. A credit marked up inside a caption is its own entry."""
    out: list[tuple[str, frozenset]] = []
    seen: set[str] = set()
    by_class, credit_nodes = _class_candidates(tree)
    nodes = [*tree.iter("figcaption"), *by_class]
    inner = {id(n) for n in nodes}
    for node in nodes:
        if node.tag in ("html", "body", "article", "main"):
            continue
        if any(id(d) in inner for d in node.iterdescendants()):
            continue  # the innermost caption element holds the caption
        full = _node_text(node)
        if not full or len(full) > 400:
            continue
        credits = [_node_text(d) for d in node.iterdescendants()
                   if isinstance(d.tag, str) and _class_words(d) & CREDIT_WORDS]
        credits = [c for c in credits if c and c != full]
        text = full
        for credit in credits:
            text = text.replace(credit, " ")
        text = SPACE.sub(" ", text).strip()
        around = _lineage(node)
        credits += [c for c in _credit_after(node) if c not in credits]
        for value in [text, *credits]:
            if value and value not in seen:
                seen.add(value)
                out.append((value, around))
    for node in credit_nodes:  # a credit line of its own ("<p class="td-credit">Foto di ...</p>")
        if node.tag not in ("html", "body", "article", "main"):
            text = _node_text(node)
            if text and text not in seen and len(text) <= 160 and is_credit(text):
                seen.add(text)
                out.append((text, _lineage(node)))
    return out


def _credit_after(node) -> list[str]:
    """A credit printed right after a caption element (or after the figure holding it)."""
    for _ in range(3):
        nxt = node.getnext()
        while nxt is not None and not isinstance(nxt.tag, str):
            nxt = nxt.getnext()
        if nxt is not None:
            text = _node_text(nxt)
            return [text] if text and len(text) <= 160 and is_credit(text) else []
        node = node.getparent()
        if node is None:
            break
    return []


def _probes(blocks: list[Block]) -> list[str]:
    """Starts of the body's first paragraphs, to find them again in the page."""
    return [b.text[:30] for b in blocks if b.kind == "p" and len(b.text) >= 60 and "\n" not in b.text[:30]][:6]


TEXT_WITH = etree.XPath("//text()[contains(., $probe)]")
TEXT_WITH_SPACES = etree.XPath("//text()[contains(normalize-space(.), $probe)]")


def article_area(tree, blocks: list[Block]):
    """The element that holds the article: the nearest common ancestor of the body's paragraphs, and
    the wrappers around it that add little text (so a figure or a tag box next to the text container
    belongs to it, a page-wide column does not)."""
    common: list | None = None
    for probe in _probes(blocks)[:3]:
        hits = TEXT_WITH(tree, probe=probe) or TEXT_WITH_SPACES(tree, probe=probe)
        if not hits or hits[0].getparent() is None:
            continue
        chain = [hits[0].getparent(), *hits[0].getparent().iterancestors()]
        common = chain if common is None else [c for c in common if c in set(chain)]
    if not common:
        return None
    area = common[0]
    size = len(area.text_content())
    for _ in range(4):  # up through wrappers that add little text (a figure, a tag box, a heading)
        parent = area.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        parent_size = len(parent.text_content())
        if parent_size > size * 1.3 + 1500:
            break
        area, size = parent, parent_size
    return area


def article_captions(captions: list[tuple[str, frozenset]], area,
                     description: str | None = None) -> list[str]:
    """The captions of the article itself: those inside the article's area (a teaser's or a sidebar's
    picture is someone else's caption). A "caption" that is the page's description is the standfirst
    or lead printed over the picture, not a caption."""
    desc = SPACE.sub(" ", description or "").strip().lower()
    return [text for text, lineage in captions
            if area is not None and area in lineage and not (desc and text.lower().startswith(desc[:100]))]


def article_tags(tag_blocks: list[tuple[list[str], frozenset]], area) -> list[str]:
    """Tags of the tag boxes inside the article's area (not a site-wide topic list)."""
    out: list[str] = []
    for values, lineage in tag_blocks:
        if area is not None and area in lineage:
            out += [v for v in values if v not in out]
    return out


def _neighbour_paragraph(node, preceding: bool) -> str | None:
    for sib in node.itersiblings(preceding=preceding):
        if not isinstance(sib.tag, str):
            continue
        if sib.tag == "p":
            text = _node_text(sib)
            if text:
                return text
        elif sib.tag in ("ul", "ol") and not preceding:  # a heading over a list: its first item follows
            first = next((li for li in sib.iter("li")), None)
            return _node_text(first) or None if first is not None else None
        elif sib.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"):
            return None
    return None


def picture_texts(tree) -> frozenset[str]:
    """Every image's alt and title text of 15 characters or more: a paragraph printing one is the
    picture's caption, not article text (`fill_from_wide` does not put it back)."""
    return frozenset(str(t) for t in tree.xpath("//img/@alt | //img/@title") if len(t) >= 15)


def heading_candidates(tree) -> list[tuple[str, str | None, str | None]]:
    """(subheading, paragraph before, paragraph after) of the page, read before trafilatura prunes the tree."""
    out = []
    for node in tree.iter("h2", "h3", "h4"):
        heading = _node_text(node)
        if heading and len(heading) <= 200:
            out.append((heading, _neighbour_paragraph(node, True), _neighbour_paragraph(node, False)))
    return out


def recover_headings(candidates: list[tuple[str, str | None, str | None]], blocks: list[Block]) -> list[Block]:
    """Re-insert subheadings trafilatura dropped although it kept the paragraphs right before and after."""
    texts = {b.text for b in blocks}
    for heading, before, after in candidates:
        if heading in texts:
            continue
        positions = {b.text: i for i, b in enumerate(blocks)}
        if before in positions and after in positions and positions[after] == positions[before] + 1:
            blocks.insert(positions[after], Block(kind="head", text=heading))
            texts.add(heading)
    return blocks


@dataclass(slots=True)
class PageParts:
    blocks: list[Block]
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    sitename: str | None = None
    tags: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    raw_chars: int = 0
    lead: str | None = None  # the lead found outside the body container, first of `blocks`
    access: str = "unknown"  # what the page's markup says (ingest.extract.access)
    published_precision: str | None = None
    blocked: str | None = None  # a bot challenge or consent wall, not an article


def decode_html(data: bytes | str, content_type: str | None = None) -> str:
    """Decode page bytes with the charset reconciled for this page (`ingest.fetch.charset`)."""
    return decode_page(data, content_type).text


BODY_TEXT_WITH = etree.XPath("//body//text()[contains(., $probe)]")
BODY_TEXT_WITH_SPACES = etree.XPath("//body//text()[contains(normalize-space(.), $probe)]")


def body_start(tree, blocks: list[Block], title: str | None = None, captions: tuple[str, ...] = ()):
    """The page element holding the start of the body's first paragraph (None when not found); a
    headline trafilatura kept at the top is not the body, nor is a figure's caption (the picture often
    sits above the lead)."""
    for block in blocks[:4]:
        probe = block.text.split("\n")[0][:30]
        if len(probe) < 12 or block.kind == "head" or title and block.text.strip() == title.strip():
            continue
        if any(len(c) >= 20 and block.text.startswith(c[:60]) for c in captions):
            continue
        hits = BODY_TEXT_WITH(tree, probe=probe) or BODY_TEXT_WITH_SPACES(tree, probe=probe)
        if hits and hits[0].getparent() is not None:
            return hits[0].getparent()
    return None


def recover_lead(tree, blocks: list[Block], title: str | None, hints: list[str],
                 captions: tuple[str, ...] = ()) -> str | None:
    """The lead printed outside the body container (`ingest.extract.lead`), unless the body has it."""
    lead = find_lead(tree, body_start(tree, blocks, title, captions), title, [h for h in hints if h])
    if lead and not already_in(lead, [b.text for b in blocks]):
        return lead
    return None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _split_tags(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _page_parser() -> etree.HTMLParser:
    """The HTML parser of our page trees: trafilatura's parser options (its `utils.HTML_PARSER`:
    comments and processing instructions dropped, no ids collected, no default doctype) with a
    C-level element class lookup. lxml.html's own parser looks every element proxy's class up in
    Python (`HtmlElementClassLookup.lookup`, one call per proxy: 7 % of the extraction CPU), to hand
    out form, input, select, textarea and label classes nothing in extraction uses. Every element is
    an `HtmlElement` here all the same (trafilatura checks for it), and the copies trafilatura makes
    of the tree keep the document's parser, so its passes get the cheap lookup too. Our own parser:
    trafilatura's module-level one stays as it is for every other caller in the process."""
    parser = etree.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                              remove_comments=True, remove_pis=True)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))
    return parser


PAGE_PARSER = _page_parser()


def _parse_with(html: str | bytes):
    try:
        return html_fromstring(html, parser=PAGE_PARSER)
    except (ValueError, etree.LxmlError):  # a str with an encoding declaration; an empty document
        return None


def parse_html(html: str):
    """Parse once; trafilatura gets the same tree (it works on a copy) and we read captions and headings.
    The same steps as trafilatura's `load_html` for a decoded page (its repair of the page start, a
    second parse from UTF-8 bytes when the text one fails or comes out empty, a page not starting
    like HTML refused when it parses to less than two children), with `PAGE_PARSER`."""
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree = _parse_with(html)
    if tree is None or len(tree) < 1:
        tree = _parse_with(html.encode("utf-8", "surrogatepass"))
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree


ELEMENTS = etree.XPath("count(descendant-or-self::*)")
# The first element deeper than MAX_DEPTH levels (the root is level 1), in document order
TOO_DEEP = etree.XPath("(" + "/".join(["*"] * MAX_DEPTH) + ")[1]")
PLACE = etree.XPath("count(preceding::*) + count(ancestor-or-self::*)")  # an element's number in document order


def check_bounds(tree) -> None:
    """Raise PageTooComplex when the tree has more than `MAX_ELEMENTS` elements or `MAX_DEPTH` levels;
    when it has both, the bound an element-by-element walk meets first. Counted in C (XPath): a walk in
    Python cost more than the rest of our reads of the page together."""
    elements = int(ELEMENTS(tree))
    deep = TOO_DEEP(tree)
    if deep and (elements <= MAX_ELEMENTS or PLACE(deep[0]) <= MAX_ELEMENTS):
        raise PageTooComplex(f"page nests elements deeper than {MAX_DEPTH} levels; not extracted")
    if elements > MAX_ELEMENTS:
        raise PageTooComplex(f"page has more than {MAX_ELEMENTS:,} elements; not extracted")


def prune_tree(tree, xpaths: list[str]):
    """Drop nodes matched by per-site rules before trafilatura sees them."""
    for xp in xpaths:
        try:
            found = tree.xpath(xp)
        except etree.XPathError:  # validated when loaded; an evaluation error must not lose the page
            continue
        for node in found if isinstance(found, list) else ():
            parent = node.getparent() if isinstance(node, etree._Element) else None
            if parent is not None:
                if node.tail:  # keep the text that follows the removed node
                    prev = node.getprevious()
                    if prev is not None:
                        prev.tail = (prev.tail or "") + node.tail
                    else:
                        parent.text = (parent.text or "") + node.tail
                parent.remove(node)
    return tree


def readability_blocks(tree, url: str | None) -> list[Block]:
    """The body readability (the copy bundled with trafilatura) finds on the page, as trafilatura
    converts it when it prefers that body itself; [] when it finds none. It scores containers by their
    paragraphs' text and commas, where trafilatura's passes look for named containers first: on a
    table-laid page without them both passes can take the navigation (`container.rescue_body`)."""
    try:
        body, _ = sanitize_tree(try_readability(copy(tree)), Extractor(output_format="txt", url=url))
    except Exception:  # noqa: BLE001 - a third-party algorithm: the page keeps the body it has
        return []
    return blocks_from_body(body)


def _bare_extraction(tree: Any, url: str | None, **options: Any) -> Document | None:
    """trafilatura's document for the tree (never its deprecated dict form), or None."""
    doc = trafilatura.bare_extraction(tree, url=url, **options)
    return doc if isinstance(doc, Document) else None


def extract_parts(html: str, url: str | None, settings: ExtractSettings,
                  prune_xpaths: list[str] | None = None, hints: list[str] | None = None) -> PageParts | None:
    """Run trafilatura; None when it finds no article body. PageTooComplex beyond the bounds."""
    if len(html) > MAX_HTML_CHARS:
        raise PageTooComplex(f"page has {len(html):,} characters of HTML (limit {MAX_HTML_CHARS:,}); not extracted")
    if html.count("<") > MAX_TAG_MARKS:
        raise PageTooComplex(f"page has more than {MAX_TAG_MARKS:,} tags; not extracted")
    tree = parse_html(html)
    if tree is None:
        return None
    check_bounds(tree)
    if prune_xpaths:
        prune_tree(tree, prune_xpaths)
    fix_tree(tree)  # markup trafilatura misreads (a <br>-set text's first run, counter badges)
    # trafilatura prunes figures and headings from the tree it is given: read them first.
    figures, headings, links = figure_captions(tree), heading_candidates(tree), LinkIndex(link_texts(tree))
    tag_blocks = page_tag_blocks(tree)
    pictures = picture_texts(tree)
    access, page_time = page_access(tree), page_published(tree)
    doc = _bare_extraction(
        tree, url=url, favor_precision=settings.favor_precision,
        include_comments=settings.include_comments, include_tables=True, with_metadata=True,
    )
    body = doc.body if doc is not None else None
    wide_body = None
    if settings.recall_pass:
        wide = _bare_extraction(
            tree, url=url, favor_recall=True, include_comments=settings.include_comments, include_tables=True,
            with_metadata=doc is None or doc.body is None,
        )
        if doc is None or doc.body is None:
            doc = wide
        wide_body = wide.body if wide is not None else None
        body = choose_body(body, wide_body)  # ingest.extract.container
    if doc is None or body is None:
        blocked = blocked_page(tree, html, "")
        return PageParts(blocks=[], blocked=blocked, raw_chars=len(html)) if blocked else None
    blocks = blocks_from_body(body)
    if settings.recall_pass and wide_body is not None and body is not wide_body:
        # paragraphs the precision pass dropped
        blocks = fill_from_wide(blocks, blocks_from_body(wide_body), doc.description, pictures)
    if needs_rescue(blocks):  # little prose: both passes may have taken the navigation (container.py)
        other = readability_blocks(tree, url)
        if rescue_body(blocks, other):
            blocks = other
    blocks = recover_headings(headings, blocks)
    lead = recover_lead(tree, blocks, doc.title, [doc.description or "", *(hints or [])],
                        tuple(text for text, _ in figures))
    if lead:
        blocks.insert(0, Block(kind="p", text=lead))
    for block in blocks:
        links.annotate(block)
    area = article_area(tree, blocks) if figures or tag_blocks else None
    captions = article_captions(figures, area, doc.description)
    meta_tags = _split_tags(doc.tags) + [c for c in _split_tags(doc.categories) if c not in _split_tags(doc.tags)]
    page_tags = article_tags(tag_blocks, area)
    published, precision = page_time or (_date(doc.date), Precision.DAY if doc.date else None)
    return PageParts(
        blocks=blocks, access=access, published_precision=precision,
        blocked=blocked_page(tree, html, " ".join(b.text for b in blocks)),
        title=doc.title, author=doc.author, published=published, language=doc.language,
        canonical_url=doc.url, description=doc.description, sitename=doc.sitename,
        tags=page_tags + [t for t in meta_tags if t not in page_tags],
        captions=captions, raw_chars=len(html), lead=lead,
    )
