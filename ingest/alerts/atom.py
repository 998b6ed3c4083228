"""A rule's hits as an Atom feed, newest first: what the web app serves at /alerts/<rule>.atom.

    from ingest.alerts.atom import rule_feed
    xml = rule_feed(index, "iran-venezuela", base_url="http://127.0.0.1:8080")

One entry per ledger record (= one story), linking the first copy and listing every outlet.
Entries appear as soon as a story is claimed, whether or not a channel has delivered it yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ingest.alerts.delivery import MARK, query_words, resolve

if TYPE_CHECKING:
    from ingest.store.protocols import Index

ATOM_TYPE = "application/atom+xml; charset=utf-8"


def _ts(value: datetime | None) -> str:
    value = value or datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_feed(index: Index, rule_name: str, limit: int = 50, base_url: str | None = None, query: str | None = None) -> str:
    """Atom 1.0 document of the rule's latest `limit` alerts (an empty feed for a rule without any).
    With the rule's `query`, each entry carries the passage that matched, its words in <mark>."""
    records = index.list_alerts(rule=rule_name, limit=limit)
    updated = max((r.created for r in records), default=None)
    self_url = f"{base_url.rstrip('/')}/alerts/{quote(rule_name)}.atom" if base_url else None
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>{escape(f'urn:ingest:alerts:{rule_name}')}</id>",
           f"<title>{escape(f'ingest alerts: {rule_name}')}</title>",
           f"<updated>{_ts(updated)}</updated>",
           "<author><name>ingest</name></author>", "<generator>ingest</generator>"]
    if self_url:
        out.append(f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>')
    words = query_words(query) if query else None
    for record in records:
        story = resolve(index, record, words)
        outlets = story.outlets
        lines = [f"Outlets ({len(outlets)}): {', '.join(outlets)}"]
        lines += [f"{c.source}: {c.url}" for c in story.copies]
        html = "<p>" + "</p><p>".join(escape(line) for line in lines) + "</p>"
        if story.passage:  # why it matched, first: escaped text, then the marks
            marked = escape(story.passage).replace(MARK[0], "<mark>").replace(MARK[1], "</mark>")
            html = f"<blockquote>{marked}</blockquote>" + html
            lines[0] = story.passage.replace(MARK[0], "").replace(MARK[1], "") + " — " + lines[0]
        out += ["<entry>",
                f"<id>{escape(f'urn:ingest:alert:{rule_name}:{record.story}')}</id>",
                f"<title>{escape(record.title)}</title>",
                f"<link rel=\"alternate\" href={quoteattr(record.url)}/>"]
        out += [f"<link rel=\"related\" href={quoteattr(c.url)} title={quoteattr(c.source)}/>"
                for c in story.copies if c.url != record.url]
        published = min((c.published for c in story.copies if c.published), default=None)
        out += [f"<updated>{_ts(record.created)}</updated>",
                f"<published>{_ts(published or record.created)}</published>"]
        out += [f"<author><name>{escape(name)}</name></author>" for name in outlets[:1]]
        out += [f"<category term={quoteattr(name)} label=\"outlet\"/>" for name in outlets]
        out += [f"<summary type=\"text\">{escape(lines[0])}</summary>",
                f"<content type=\"html\">{escape(html)}</content>", "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
