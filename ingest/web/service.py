"""What the pages and the JSON API compute: filters, search, timelines, facets, feed health.

Everything here goes through the store seams (via `ingest.app.Ingest`), so it works the same
on SQLite and Elasticsearch. The web layer (`server.py`, `api.py`) only turns these into HTML/JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup, escape

from ingest.app import Ingest
from ingest.errors import QueryError
from ingest.models import SearchResult, utcnow
from ingest.query.parser import DATE_RANGE_TEXT, EARLIEST, LATEST
from ingest.store import SearchRequest
from ingest.store.base import FACET_FIELDS

MAX_OFFSET = 10_000      # deep paging cap: offset + limit never goes beyond this
MAX_PAGE_SIZE = 100
MAX_EXPORT = 5_000
MAX_QUERIES = 6          # series side by side on the dashboard
INTERVALS = ("hour", "day", "week", "month")


class InputError(ValueError):
    """A request parameter that cannot be used (bad date, unknown field); shown inline / as HTTP 400."""


# -- filters ------------------------------------------------------------------------------------------

def parse_day(value: str | None, name: str) -> datetime | None:
    """`YYYY-MM-DD` (or a full ISO timestamp) as an aware UTC datetime; empty -> None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            parsed = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name}: {value[:40]!r} is not a date (expected YYYY-MM-DD)") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= parsed < LATEST:
        raise InputError(f"{name}: {text[:40]} is outside the dates that can be searched ({DATE_RANGE_TEXT})")
    return parsed


MAX_VALUES = 50  # values of one repeated filter (tag=..&tag=..): each one is a term of the store's query


def _clean(values: list[str] | None, name: str = "filter") -> list[str]:
    cleaned = [v.strip() for v in values or [] if v and v.strip()]
    if len(cleaned) > MAX_VALUES:
        raise InputError(f"{name}: at most {MAX_VALUES} values, got {len(cleaned)}")
    return cleaned


@dataclass(slots=True)
class Filters:
    """The filters every page and endpoint shares: date range on `published`, sources, languages, tags."""

    since: str = ""
    until: str = ""        # inclusive day
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, since: str | None = None, until: str | None = None, sources: list[str] | None = None,
             languages: list[str] | None = None, tags: list[str] | None = None) -> Filters:
        f = cls(since=(since or "").strip(), until=(until or "").strip(), sources=_clean(sources, "source"),
                languages=_clean(languages, "lang"), tags=_clean(tags, "tag"))
        f.bounds()  # validate early
        return f

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """(since, until-exclusive) as datetimes; `until` is a whole day, so its end is the next midnight."""
        since = parse_day(self.since, "since")
        until = parse_day(self.until, "until")
        if until is not None and len(self.until) == 10:
            until += timedelta(days=1)
        if since and until and since >= until:
            raise InputError("since must be before until")
        return since, until

    def request(self, query: str = "", **kw) -> SearchRequest:
        since, until = self.bounds()
        return SearchRequest(query=query, sources=list(self.sources), languages=list(self.languages),
                             tags=list(self.tags), since=since, until=until, **kw)

    def params(self) -> list[tuple[str, str]]:
        out = [("since", self.since)] if self.since else []
        out += [("until", self.until)] if self.until else []
        out += [("source", s) for s in self.sources] + [("lang", v) for v in self.languages]
        return out + [("tag", t) for t in self.tags]


def query_error_dict(exc: QueryError) -> dict:
    message = str(exc).split("\n", 1)[0]
    return {"error": "invalid query", "message": message, "query": exc.query, "position": exc.position}


def validate_query(query: str) -> None:
    """Raise QueryError (with its position) for an invalid query; empty means 'everything'."""
    if query.strip():
        from ingest.query import parse

        parse(query)


def combine(queries: list[str]) -> str:
    """Several queries as one: articles matching any of them (each validated on its own first)."""
    live = [q for q in queries if q.strip()]
    for q in live:
        validate_query(q)
    if not live:
        return ""
    return live[0] if len(live) == 1 else " OR ".join(f"({q})" for q in live)


# -- snippets -------------------------------------------------------------------------------------------

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


# -- search ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Page:
    result: SearchResult
    page: int
    per_page: int
    offset: int
    last_page: int      # the last page that can be shown (deep paging is capped at MAX_OFFSET)
    capped: bool        # more results exist than can be paged to


def search_page(app: Ingest, query: str, filters: Filters, sort: str = "relevance", page: int = 1,
                per_page: int = 20, collapse: bool = False) -> Page:
    per_page = min(max(per_page, 1), MAX_PAGE_SIZE)
    max_page = max(1, MAX_OFFSET // per_page)
    page = min(max(page, 1), max_page)
    offset = (page - 1) * per_page
    sort = sort if sort in ("relevance", "date") else "relevance"
    result = app.store.index.search(filters.request(query, limit=per_page, offset=offset, sort=sort, collapse=collapse))
    pages = max(1, -(-result.total // per_page))
    return Page(result=result, page=page, per_page=per_page, offset=offset, last_page=min(pages, max_page),
                capped=pages > max_page)


def export_rows(app: Ingest, query: str, filters: Filters, sort: str, limit: int) -> SearchResult:
    limit = min(max(limit, 1), MAX_EXPORT)
    return app.store.index.search(filters.request(query, limit=limit, sort=sort))


def hit_dict(hit) -> dict:
    return {"id": hit.id, "url": hit.url, "title": hit.title, "source": hit.source,
            "published": hit.published.isoformat() if hit.published else None,
            "snippet": hit.snippet, "language": hit.language, "domain": hit.domain, "score": hit.score,
            "cluster_id": hit.cluster_id, "cluster_size": hit.cluster_size, "access": hit.access,
            "published_precision": hit.published_precision}


# -- time series ----------------------------------------------------------------------------------------

def _floor(ts: datetime, interval: str) -> datetime:
    ts = ts.astimezone(UTC)
    if interval == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _step(ts: datetime, interval: str) -> datetime:
    if interval == "hour":
        return ts + timedelta(hours=1)
    if interval == "day":
        return ts + timedelta(days=1)
    if interval == "week":
        return ts + timedelta(days=7)
    return (ts.replace(day=1) + timedelta(days=32)).replace(day=1)


def choose_interval(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "day"
    span = (end - start).total_seconds() / 86400
    if span <= 3:
        return "hour"
    if span <= 180:
        return "day"
    if span <= 1100:
        return "week"
    return "month"


def _back(ts: datetime, interval: str) -> datetime:
    if interval == "month":
        return (ts - timedelta(days=1)).replace(day=1)
    return ts - (_step(ts, interval) - ts)


def _bucket_keys(found: list[datetime], since: datetime | None, until: datetime | None, interval: str,
                 limit: int = 2000) -> list[datetime]:
    """Every bucket from the first to the last (zero buckets included), spanning the date filter if set.

    Steps start from a key the store returned, so buckets line up with the backend's own bucketing.
    """
    lo = _floor(since, interval) if since is not None else None
    hi = _floor(until - timedelta(seconds=1), interval) if until is not None else None
    if not found and lo is None and hi is None:
        return []
    anchor = min(found) if found else (lo or hi)
    first, steps = anchor, 0
    while lo is not None and _back(first, interval) >= lo and steps < limit:
        first, steps = _back(first, interval), steps + 1
    last = max([*found, *([hi] if hi is not None else [])], default=anchor)
    keys: list[datetime] = []
    cur = first
    while cur <= last and len(keys) < limit:
        keys.append(cur)
        cur = _step(cur, interval)
    return sorted(set(keys) | set(found))


def timeline(app: Ingest, queries: list[str], filters: Filters, interval: str = "auto",
             date_field: str = "published") -> dict:
    """Mentions over time for each query side by side, with the share of all articles per bucket."""
    queries = [q.strip() for q in queries if q.strip()][:MAX_QUERIES]
    for q in queries:
        validate_query(q)
    if date_field not in ("published", "indexed"):
        raise InputError("field must be published or indexed")
    since, until = filters.bounds()
    store = app.store
    base = filters.request("")
    if interval == "auto":
        if since is not None and until is not None:
            interval = choose_interval(since, until)
        else:
            days = store.index.histogram(base, "day", date_field)
            start = since or (days[0][0] if days else None)
            end = until or (days[-1][0] + timedelta(days=1) if days else None)
            interval = choose_interval(start, end)
    if interval not in INTERVALS:
        raise InputError(f"interval must be auto or one of {', '.join(INTERVALS)}")
    totals = dict(store.index.histogram(base, interval, date_field))
    per_query = [dict(store.index.histogram(filters.request(q), interval, date_field)) for q in queries]
    found = sorted({k for h in [totals, *per_query] for k in h})
    # a range without an end runs to now, so 'last 7 days' shows the quiet days up to today
    keys = _bucket_keys(found, since, until or (utcnow() if since else None), interval)
    total_counts = [totals.get(k, 0) for k in keys]
    all_total = sum(total_counts)
    series = []
    for q, hist in zip(queries, per_query, strict=True):
        counts = [hist.get(k, 0) for k in keys]
        share = [round(100.0 * c / t, 2) if t else 0.0 for c, t in zip(counts, total_counts, strict=True)]
        n = sum(counts)
        series.append({"query": q, "counts": counts, "share": share, "total": n,
                       "share_total": round(100.0 * n / all_total, 2) if all_total else 0.0})
    return {"interval": interval, "field": date_field, "buckets": [k.isoformat() for k in keys],
            "totals": total_counts, "total": all_total, "series": series}


def facet(app: Ingest, queries: list[str], filters: Filters, field_name: str, size: int = 10) -> dict:
    if field_name not in FACET_FIELDS:
        raise InputError(f"field must be one of {', '.join(FACET_FIELDS)}")
    size = min(max(size, 1), 100)
    query = combine(queries)
    buckets = app.store.index.facet(filters.request(query), field_name, size)
    total = app.store.index.search(filters.request(query, limit=0)).total
    if field_name == "places":  # country codes get their names; cities are names already
        from ingest.enrich.places import country_name

        return {"field": field_name, "query": query, "total": total,
                "buckets": [{"key": k, "count": n, "label": country_name(k)} for k, n in buckets]}
    return {"field": field_name, "query": query, "total": total,
            "buckets": [{"key": k, "count": n} for k, n in buckets]}


def preview_rule(app: Ingest, query: str, days: int = 30, filters: Filters | None = None) -> dict:
    """What a rule would have matched: matches per day over the last `days` days, plus a few examples."""
    validate_query(query)
    if not query.strip():
        raise InputError("a rule needs a query")
    days = min(max(days, 1), 365)
    today = _floor(utcnow(), "day")
    since = today - timedelta(days=days - 1)
    until = today + timedelta(days=1)
    req = (filters or Filters()).request(query)
    req.since, req.until = since, until
    hist = dict(app.store.index.histogram(req, "day", "published"))
    keys = [since + timedelta(days=i) for i in range(days)]
    counts = [hist.get(k, 0) for k in keys]
    req.limit, req.sort = 5, "date"
    sample = app.store.index.search(req)
    return {"query": query, "days": days, "buckets": [k.date().isoformat() for k in keys], "counts": counts,
            "total": sum(counts), "per_day": round(sum(counts) / days, 2),
            "examples": [hit_dict(h) for h in sample.hits]}


# -- feed health ----------------------------------------------------------------------------------------

def feed_health(app: Ingest, days: int = 30) -> dict:
    """Every feed's state with the articles per day it brought (by feed URL: two feeds of one outlet
    get a line each) over the last `days` days."""
    days = min(max(days, 1), 180)
    today = _floor(utcnow(), "day")
    since = today - timedelta(days=days - 1)
    keys = [since + timedelta(days=i) for i in range(days)]
    rows = app.status()
    store = app.store
    feeds = []
    for row in rows:
        data = row.to_dict()
        activity = None
        if row.articles:
            req = SearchRequest(feeds=[row.url] + [row.resolved_url] * bool(row.resolved_url), since=since, until=today + timedelta(days=1))
            hist = dict(store.index.histogram(req, "day", "published"))
            activity = [hist.get(k, 0) for k in keys]
        data["source"] = row.name if activity is not None else None
        data["activity"] = activity
        feeds.append(data)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return {"backend": app.settings.store.backend, "days": [k.date().isoformat() for k in keys],
            "outbox": outbox_size(app), "by_status": counts, "feeds": feeds}


def outbox_size(app: Ingest) -> int | None:
    fn = app.store.index.outbox.size if app.store.index.outbox else None
    if not callable(fn):
        return None
    try:
        return int(fn())
    except Exception:  # noqa: BLE001 - a health page must render even when the outbox cannot be read
        return None


def source_quality(app: Ingest) -> list[dict]:
    return [{"source": q.source, "articles": q.articles, "fallback_share": q.fallback_share,
             "median_body_chars": q.median_body_chars, "boilerplate_share": q.boilerplate_share, "access": q.access}
            for q in app.store.index.source_quality()]
