"""trafilatura as the base extractor: page HTML in, metadata and body blocks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import trafilatura
from lxml import html as lxml_html

from ingest.config import ExtractSettings
from ingest.extract.blocks import Block, blocks_from_body


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


def prune_tree(html: str, xpaths: list[str]):
    """Parse HTML and drop nodes matched by site rules before trafilatura sees them."""
    tree = lxml_html.fromstring(html)
    for xp in xpaths:
        for node in tree.xpath(xp):
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)
    return tree


def extract_parts(html: str, url: str | None, settings: ExtractSettings,
                  prune_xpaths: list[str] | None = None) -> PageParts | None:
    """Run trafilatura; None when it finds no article body."""
    source = prune_tree(html, prune_xpaths) if prune_xpaths else html
    doc = trafilatura.bare_extraction(
        source, url=url, favor_precision=settings.favor_precision,
        include_comments=settings.include_comments, include_tables=True, with_metadata=True,
    )
    if doc is None or doc.body is None:
        return None
    return PageParts(
        blocks=blocks_from_body(doc.body),
        title=doc.title, author=doc.author, published=_date(doc.date), language=doc.language,
        canonical_url=doc.url, description=doc.description, sitename=doc.sitename,
        tags=_split_tags(doc.tags) + [c for c in _split_tags(doc.categories) if c not in _split_tags(doc.tags)],
        raw_chars=len(html),
    )
