"""How the pages and the JSON API show what `ingest.app.Ingest` computes: snippets, hits, errors, alerts."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from ingest.app import RulePreview
from ingest.errors import QueryError

MARK = re.compile(r"\[([^\W_]{1,100})\]")  # make_snippet marks single tokens: [word]


def snippet_html(snippet: str | None) -> Markup:
    """Store snippets mark matches as [word]; render those as <mark>, escaping everything else."""
    if not snippet:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in MARK.finditer(snippet):
        out.append(str(escape(snippet[pos:m.start()])))
        out.append(f"<mark>{escape(m.group(1))}</mark>")
        pos = m.end()
    out.append(str(escape(snippet[pos:])))
    return Markup("".join(out))


def snippet_plain(snippet: str | None) -> str:
    return MARK.sub(r"\1", snippet or "")


def query_error_dict(exc: QueryError) -> dict:
    message = str(exc).split("\n", 1)[0]
    return {"error": "invalid query", "message": message, "query": exc.query, "position": exc.position}


def hit_dict(hit) -> dict:
    return {"id": hit.id, "url": hit.url, "title": hit.title, "source": hit.source,
            "published": hit.published.isoformat() if hit.published else None,
            "snippet": hit.snippet, "language": hit.language, "domain": hit.domain, "score": hit.score,
            "cluster_id": hit.cluster_id, "cluster_size": hit.cluster_size, "access": hit.access,
            "published_precision": hit.published_precision}


def alert_dict(rec) -> dict:
    return {"rule": rec.rule, "story": rec.story, "title": rec.title, "url": rec.url, "sources": rec.sources,
            "article_ids": rec.article_ids, "created": rec.created.isoformat() if rec.created else None,
            "delivered": rec.delivered.isoformat() if rec.delivered else None, "attempts": rec.attempts,
            "last_error": rec.last_error}


def preview_dict(preview: RulePreview) -> dict:
    return {"query": preview.query, "days": len(preview.days), "buckets": [k.date().isoformat() for k in preview.days],
            "counts": preview.counts, "total": preview.total, "per_day": preview.per_day,
            "examples": [hit_dict(h) for h in preview.examples]}
