"""Blocks: the article body as a list of typed text blocks (paragraph, heading, list item, quote...)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

SPACE = re.compile(r"\s+")
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


def _text(node: etree._Element) -> str:
    return SPACE.sub(" ", "".join(node.itertext())).strip()


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
