"""Blocks: the article body as a list of typed text blocks (paragraph, heading, list item, quote...)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

SPACE = re.compile(r"\s+")
BLOCK_TAGS = {"p": "p", "head": "head", "quote": "quote", "item": "item", "cell": "cell", "code": "code"}


@dataclass(slots=True)
class Block:
    kind: str  # p | head | item | quote | cell | code | caption
    text: str
    links: int = 0          # number of <ref> links inside the block
    link_chars: int = 0     # characters of link text inside the block


def _text(node: etree._Element) -> str:
    return SPACE.sub(" ", "".join(node.itertext())).strip()


def blocks_from_body(body: etree._Element | None) -> list[Block]:
    """Flatten trafilatura's body tree into blocks in document order."""
    if body is None:
        return []
    out: list[Block] = []
    for node in body.iter():
        tag = node.tag if isinstance(node.tag, str) else ""
        kind = BLOCK_TAGS.get(tag)
        if kind is None:
            continue
        # A <p> inside an <item> or <cell> is emitted by its container.
        if any(a.tag in ("item", "cell", "quote") for a in node.iterancestors()) and tag == "p":
            continue
        text = _text(node)
        if not text:
            continue
        refs = node.findall(".//ref")
        out.append(Block(kind=kind, text=text, links=len(refs), link_chars=sum(len(_text(r)) for r in refs)))
    return out


def blocks_to_text(blocks: list[Block]) -> str:
    return "\n\n".join(b.text for b in blocks)
