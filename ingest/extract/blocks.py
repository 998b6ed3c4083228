"""Blocks: the article body as a list of typed text blocks (paragraph, heading, list item, quote...)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree

SPACE = re.compile(r"\s+")
WORDS = re.compile(r"\w+", re.UNICODE)
UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # CJK, kana, Hangul: no spaces, no reliable full stop
BLOCK_TAGS = {"p": "p", "head": "head", "quote": "quote", "item": "item", "cell": "cell", "code": "code"}


@dataclass(slots=True)
class Block:
    kind: str  # p | head | item | quote | row | code
    text: str
    links: int = 0          # number of <ref> links inside the block
    link_chars: int = 0     # characters of link text inside the block
    link_texts: tuple[str, ...] = ()

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0



def fingerprint(text: str) -> str:
    """Normalized paragraph fingerprint: case, accents, digits and punctuation folded away. The key of
    learned boilerplate (the same paragraph on many pages of one site)."""
    norm = unicodedata.normalize("NFKD", text.lower())
    words = [w for w in WORDS.findall(norm) if not w.isdigit()]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]


INLINE_SPACE = re.compile(r"[^\S\n]+")
NESTED_BLOCKS = {"p", "head", "quote", "item", "list", "row", "cell", "code", "table"}


def _text(node: etree._Element) -> str:
    """Text of a block: a <lb/> is a line break, a nested block is set off by a space, and spaces are folded."""
    parts: list[str] = []

    def walk(el: etree._Element, top: bool) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "lb":
            parts.append("\n")
        elif not top and tag in NESTED_BLOCKS:
            parts.append(" ")
        if el.text and tag:
            parts.append(el.text)
        for child in el:
            walk(child, False)
        if not top:
            if tag in NESTED_BLOCKS:
                parts.append(" ")
            if el.tail:
                parts.append(el.tail)

    walk(node, True)
    lines = (INLINE_SPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _block(kind: str, node: etree._Element) -> Block | None:
    text = _text(node)
    if not text:
        return None
    refs = [_text(r) for r in node.iter("ref")]
    refs = [r for r in refs if r]
    return Block(kind=kind, text=text, links=len(refs), link_chars=sum(len(r) for r in refs), link_texts=tuple(refs))


def blocks_from_body(body: etree._Element | None) -> list[Block]:
    """Flatten trafilatura's body tree into blocks in document order.

    Paragraphs, headings, quotes and code are blocks; list items are blocks of their own; a table
    row is one block (cells joined with " | "); loose text between elements becomes a paragraph.
    """
    if body is None:
        return []
    out: list[Block] = []

    def loose(text: str | None) -> None:
        text = SPACE.sub(" ", text or "").strip()
        if text:
            out.append(Block(kind="p", text=text))

    def walk(node: etree._Element) -> None:
        loose(node.text)
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in ("p", "head", "quote", "code"):
                block = _block(BLOCK_TAGS[tag], child)
                if block:
                    out.append(block)
            elif tag == "item":
                block = _block("item", child)
                if block:
                    out.append(block)
            elif tag == "row":
                cells = [_text(c) for c in child if isinstance(c.tag, str)]
                cells = [c for c in cells if c]
                if cells:
                    out.append(Block(kind="row", text=" | ".join(cells)))
            elif tag in ("list", "table", "div", "section", "body"):
                walk(child)
            elif tag:  # inline element (hi, ref, lb, graphic) directly in a container
                block = _block("p", child)
                if block:
                    out.append(block)
            loose(child.tail)

    walk(body)
    return out


def blocks_to_text(blocks: list[Block]) -> str:
    return "\n\n".join(b.text for b in blocks)


SEPARATORS = " ,;|•·/–—-"


class LinkIndex:
    """The page's link texts (read before trafilatura drops the links), to tell which blocks are links.

    trafilatura's body keeps no <ref> unless asked for links, which changes what it extracts; so a
    block's link share is recovered by matching its text against the texts of the page's <a>s:
    a block that *is* one link text, or a run of them glued together or joined by separators (a tag
    cloud printed as "DrohnenExportIranTechnologieUSAVenezuela"), or one containing long link texts.
    """

    def __init__(self, texts) -> None:
        self.texts = {t for t in texts if 0 < len(t) <= 150}
        self.by_start: dict[str, list[str]] = {}
        for t in sorted(self.texts, key=len, reverse=True):
            self.by_start.setdefault(t[:2], []).append(t)
        self.long = sorted((t for t in self.texts if len(t) >= 12 and " " in t), key=len, reverse=True)

    def segment(self, text: str, limit: int = 40) -> list[str] | None:
        """`text` as a sequence of link texts with only separators between them, or None."""
        memo: dict[int, list[str] | None] = {}

        def at(pos: int) -> list[str] | None:
            while pos < len(text) and text[pos] in SEPARATORS:
                pos += 1
            if pos == len(text):
                return []
            if pos in memo:
                return memo[pos]
            memo[pos] = None
            for cand in self.by_start.get(text[pos:pos + 2], ()):
                if text.startswith(cand, pos):
                    rest = at(pos + len(cand))
                    if rest is not None and len(rest) < limit:
                        memo[pos] = [cand, *rest]
                        break
            return memo[pos]

        return at(0)

    def annotate(self, block: Block) -> None:
        if block.links or not self.texts:
            return
        text = block.text.replace("\n", " ")
        if text in self.texts:
            block.links, block.link_chars, block.link_texts = 1, len(text), (text,)
            return
        if len(text) > 400:
            return
        parts = self.segment(text)
        if parts and len(parts) >= 2:
            block.links, block.link_chars, block.link_texts = len(parts), len(text), tuple(parts)
            return
        label, colon, rest = text.partition(":")
        if colon and len(label) <= 40:  # "Etiquetas: Sequía Embalses Agua" - a label, then links
            parts = self.segment(rest.strip())
            if parts and len(parts) >= 2:
                block.links, block.link_chars, block.link_texts = len(parts), len(rest.strip()), tuple(parts)
                return
        found: list[tuple[int, str]] = []
        taken = [False] * len(text)
        for cand in self.long:
            pos = text.find(cand)
            if pos < 0 or any(taken[pos:pos + len(cand)]):
                continue
            before = text[pos - 1] if pos else " "
            after = text[pos + len(cand)] if pos + len(cand) < len(text) else " "
            if before.isalnum() or after.isalnum():
                continue
            found.append((pos, cand))
            taken[pos:pos + len(cand)] = [True] * len(cand)
        if found:
            found.sort()
            block.links, block.link_chars = len(found), sum(len(c) for _, c in found)
            block.link_texts = tuple(c for _, c in found)


def link_texts(tree: etree._Element) -> list[str]:
    """Texts of the page's links, in-page anchors (tables of contents, footnotes) excluded."""
    out = []
    for node in tree.iter("a"):
        href = (node.get("href") or "").strip()
        if href.startswith("#") or href.lower().startswith("javascript:"):
            continue
        text = SPACE.sub(" ", node.text_content()).strip()
        if text:
            out.append(text)
    return out
