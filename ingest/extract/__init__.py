"""extract: trafilatura plus our cleaning. Page bytes in, `Extracted` out.

    from ingest.extract import extract_article
    result = extract_article(html_bytes, url, settings.extract)

The modules, in the order a page meets them: `extractor.py` (bounds, `treefix.py` markup fixes,
trafilatura and `container.py` choosing and filling its body, lead and headings
recovered, access, page tags via `pagetags.py`), `blocks.py` (the body as typed blocks and their
fingerprints), `walker.py` (the block walker removing boilerplate, its steps an ordered list) over
`rulepack.py` (rules as data, `rules/*.yaml`), `sites.py` (per-site config) and `learned.py` (the
blocks each site has learned from its stored pages).
"""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.config import ExtractSettings
from ingest.extract.blocks import Block, blocks_to_text, fingerprint
from ingest.extract.extractor import PageTooComplex, decode_html, extract_parts
from ingest.extract.sites import SiteProfile
from ingest.extract.walker import CleanResult, clean_blocks
from ingest.limits import MAX_TEXT_CHARS, bounded
from ingest.models import Access, Extracted
from ingest.text import normalize_text

TAG = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    """A feed summary's text (its markup dropped), to compare with the page's lead."""
    import html as html_lib

    return " ".join(html_lib.unescape(TAG.sub(" ", html)).split())

MAX_PLAIN_HTML = 1_000_000  # characters of feed content read as plain text when extraction gave nothing

__all__ = ["Block", "CleanResult", "PageTooComplex", "SiteProfile", "extract_article", "extract_feed_content",
           "fingerprint"]


def _merge_tags(*groups: list[str]) -> list[str]:
    out: list[str] = []
    lowered: set[str] = set()
    for group in groups:
        for tag in group:
            tag = tag.strip()
            if tag and tag.lower() not in lowered:
                lowered.add(tag.lower())
                out.append(tag)
    return out


def extract_article(html: bytes | str, url: str | None, settings: ExtractSettings,
                    site: SiteProfile | None = None, feed_tags: list[str] | None = None,
                    content_type: str | None = None, feed_title: str | None = None,
                    feed_summary: str | None = None) -> Extracted:
    """Extract and clean one page. Returns method='none' with empty text when nothing was found.
    The feed entry's title and summary, when given, help to recognise the headline and the lead."""
    if site is not None and site.drop_patterns:  # time-budgeted site patterns: a fresh budget per article
        site = replace(site, drop_patterns=[p.fresh() if hasattr(p, "fresh") else p for p in site.drop_patterns])
    text = decode_html(html, content_type)
    hints = [_plain(feed_summary)] if feed_summary else []
    parts = extract_parts(text, url, settings, site.prune_xpaths if site else None, hints)
    if parts is None or parts.blocked:
        return Extracted(text="", method="none", raw_chars=len(text), tags=_merge_tags(feed_tags or []),
                         blocked=parts.blocked if parts is not None else None)
    for block in parts.blocks:  # soft hyphens, zero-width characters, odd spaces, NFC: before any rule sees it
        block.text = normalize_text(block.text)
    lead = normalize_text(parts.lead)
    cleaned = clean_blocks(parts.blocks, parts.language, site, title=parts.title, captions=parts.captions,
                           lead=lead, titles=(feed_title,) if feed_title else ())
    access = parts.access
    if any(r.startswith("rule paywall") for r in cleaned.reasons):
        access = Access.PAYWALLED  # a payment prompt in the body: removed, the teaser before it kept
    return Extracted(
        access=access, published_precision=parts.published_precision,
        # NFC: Python and SQLite must split the same words (a decomposed accent would split a word for one).
        text=normalize_text(blocks_to_text(cleaned.blocks)),
        title=normalize_text(parts.title), author=parts.author, published=parts.published,
        language=parts.language, canonical_url=parts.canonical_url, description=parts.description or cleaned.standfirst,
        sitename=parts.sitename, tags=_merge_tags(cleaned.tags, parts.tags, feed_tags or []),
        captions=list(dict.fromkeys(normalize_text(c) for c in parts.captions + cleaned.captions)),
        removed=cleaned.removed, removed_reasons=cleaned.reasons, raw_chars=parts.raw_chars, method="page",
        fingerprints=[(fingerprint(b.text), b.text) for b in parts.blocks[1:]],
    )


def extract_feed_content(content_html: str, url: str | None, settings: ExtractSettings,
                         site: SiteProfile | None = None, feed_tags: list[str] | None = None) -> Extracted:
    """Fallback: the feed entry's own content (or summary) cleaned the same way as a page.

    Content over the extraction bounds (`PageTooComplex`) is read as plain text, cut to
    `MAX_TEXT_CHARS`."""
    wrapped = f"<html><body><article>{content_html}</article></body></html>"
    try:
        result = extract_article(wrapped, url, settings, site, feed_tags)
    except PageTooComplex:
        result = Extracted(text="", method="none", raw_chars=len(wrapped), tags=_merge_tags(feed_tags or []))
    if not result.text:
        from lxml import html as lxml_html  # plain text of a short summary that trafilatura rejects

        try:
            plain = lxml_html.fromstring(wrapped[:MAX_PLAIN_HTML]).text_content().strip()
        except Exception:  # noqa: BLE001 - unparseable summary: keep what we have
            plain = ""
        result.text = bounded(plain, MAX_TEXT_CHARS)
    result.method = "feed" if result.text else "none"
    return result
