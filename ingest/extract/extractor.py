"""trafilatura as the base extractor: page HTML in, metadata and body blocks out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import trafilatura
from lxml import etree
from trafilatura.utils import load_html

from ingest.config import ExtractSettings
from ingest.extract.blocks import Block, blocks_from_body

SPACE = re.compile(r"\s+")


def _node_text(node) -> str:
    return SPACE.sub(" ", node.text_content()).strip()


def figure_captions(tree) -> list[str]:
    """Texts of the page's <figcaption>s: when the body prints one again, it is a caption, not content."""
    out: list[str] = []
    for node in tree.iter("figcaption"):
        text = _node_text(node)
        if text and text not in out:
            out.append(text)
    return out


def _neighbour_paragraph(node, preceding: bool) -> str | None:
    for sib in node.itersiblings(preceding=preceding):
        if not isinstance(sib.tag, str):
            continue
        if sib.tag == "p":
            text = _node_text(sib)
            if text:
                return text
        elif sib.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"):
            return None
    return None


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


def decode_html(data: bytes | str, content_type: str | None = None) -> str:
    """Decode page bytes: HTTP charset, then <meta charset>, then UTF-8, then cp1252 as a last resort."""
    if isinstance(data, str):
        return data
    candidates = []
    if content_type and "charset=" in content_type.lower():
        candidates.append(content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'"))
    head = data[:4096].decode("ascii", "ignore").lower()
    for marker in ('charset="', "charset='", "charset="):
        pos = head.find(marker)
        if pos >= 0:
            value = head[pos + len(marker):pos + len(marker) + 20]
            candidates.append(value.split('"')[0].split("'")[0].split(";")[0].split(">")[0].strip())
            break
    candidates += ["utf-8", "cp1252"]
    for enc in candidates:
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


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


def parse_html(html: str):
    """Parse once; trafilatura gets the same tree (it works on a copy) and we read captions and headings."""
    try:
        return load_html(html)
    except (ValueError, etree.ParserError):
        return None


def prune_tree(tree, xpaths: list[str]):
    """Drop nodes matched by per-site rules before trafilatura sees them."""
    for xp in xpaths:
        for node in tree.xpath(xp):
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)
    return tree


def extract_parts(html: str, url: str | None, settings: ExtractSettings,
                  prune_xpaths: list[str] | None = None) -> PageParts | None:
    """Run trafilatura; None when it finds no article body."""
    tree = parse_html(html)
    if tree is None:
        return None
    if prune_xpaths:
        prune_tree(tree, prune_xpaths)
    # trafilatura prunes figures and headings from the tree it is given: read them first.
    captions, headings = figure_captions(tree), heading_candidates(tree)
    doc = trafilatura.bare_extraction(
        tree, url=url, favor_precision=settings.favor_precision,
        include_comments=settings.include_comments, include_tables=True, with_metadata=True,
    )
    if doc is None or doc.body is None:
        return None
    return PageParts(
        blocks=recover_headings(headings, blocks_from_body(doc.body)),
        title=doc.title, author=doc.author, published=_date(doc.date), language=doc.language,
        canonical_url=doc.url, description=doc.description, sitename=doc.sitename,
        tags=_split_tags(doc.tags) + [c for c in _split_tags(doc.categories) if c not in _split_tags(doc.tags)],
        captions=captions, raw_chars=len(html),
    )
