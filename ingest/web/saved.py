"""A saved search as feeds: Atom 1.0 and JSON Feed 1.1 of its newest hits (`/searches/NAME.atom|.json`).

Entry ids are the article ids, so a feed reader shows each article once however often it polls;
the content is the hit's snippet with the query's words marked (`<mark>` in Atom HTML).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ingest.models import SearchResult

MARK = ("\x02", "\x03")


def _ts(value: datetime | None) -> str:
    value = value or datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _snippet_html(snippet: str) -> str:
    """Search snippets mark matches as [word]; as HTML they become <mark>word</mark>."""
    import re

    marked = re.sub(r"\[([^\[\]]+)\]", lambda m: MARK[0] + m.group(1) + MARK[1], snippet or "")
    return escape(marked).replace(MARK[0], "<mark>").replace(MARK[1], "</mark>")


def atom(search, result: SearchResult, base_url: str) -> str:
    base = base_url.rstrip("/")
    page = f"{base}/searches/{quote(search.name)}"
    updated = max((h.published for h in result.hits if h.published), default=None)
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>{escape(f'urn:ingest:search:{search.name}')}</id>",
           f"<title>{escape(f'ingest: {search.name}')}</title>",
           f"<subtitle>{escape(search.description or search.query)}</subtitle>",
           f"<updated>{_ts(updated)}</updated>", "<generator>ingest</generator>",
           f'<link rel="self" type="application/atom+xml" href={quoteattr(page + ".atom")}/>',
           f'<link rel="alternate" type="text/html" href={quoteattr(page)}/>']
    for h in result.hits:
        out += ["<entry>", f"<id>{escape(f'urn:ingest:article:{h.id}')}</id>", f"<title>{escape(h.title)}</title>",
                f'<link rel="alternate" href={quoteattr(h.url)}/>',
                f"<updated>{_ts(h.published)}</updated>", f"<published>{_ts(h.published)}</published>",
                f"<author><name>{escape(h.source)}</name></author>",
                f'<content type="html">{escape(_snippet_html(h.snippet))}</content>', "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"


def json_feed(search, result: SearchResult, base_url: str) -> str:
    base = base_url.rstrip("/")
    page = f"{base}/searches/{quote(search.name)}"
    items = [{"id": h.id, "url": h.url, "title": h.title, "content_html": _snippet_html(h.snippet),
              "date_published": _ts(h.published) if h.published else None, "authors": [{"name": h.source}],
              "language": h.language, "_ingest": {"source": h.source, "cluster_id": h.cluster_id,
                                                  "cluster_size": h.cluster_size}}
             for h in result.hits]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": f"ingest: {search.name}",
                       "description": search.description or search.query, "home_page_url": page,
                       "feed_url": page + ".json", "items": items, "_ingest": {"query": search.query,
                                                                             "total": result.total}},
                      ensure_ascii=False)
