"""The inputs every search page, export, timeline, facet and rule preview shares: filters and queries.

`Filters` holds the date range on `published` (days as the user typed them), sources, languages and
tags; `validate_query` raises the query language's QueryError (with its position) for a query that
cannot be parsed. A request parameter that cannot be used raises InputError (shown inline on a page,
HTTP 400 in the API, one line in the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ingest.choices import SortOrder
from ingest.errors import IngestError
from ingest.store import SearchRequest

MAX_VALUES = 50  # values of one repeated filter (tag=..&tag=..): each one is a term of the store's query


class InputError(IngestError, ValueError):
    """A request parameter that cannot be used (bad date, unknown field); shown inline / as HTTP 400."""


def parse_day(value: str | None, name: str) -> datetime | None:
    """`YYYY-MM-DD` (or a full ISO timestamp) as an aware UTC datetime; empty -> None."""
    if value is None or not value.strip():
        return None
    from ingest.query.parser import DATE_RANGE_TEXT, EARLIEST, LATEST

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


def _clean(values: list[str] | None, name: str = "filter") -> list[str]:
    cleaned = [v.strip() for v in values or [] if v and v.strip()]
    if len(cleaned) > MAX_VALUES:
        raise InputError(f"{name}: at most {MAX_VALUES} values, got {len(cleaned)}")
    return cleaned


def sort_order(value: str) -> SortOrder:
    """A sort order from a request: anything unknown is relevance."""
    return "date" if value == "date" else "relevance"


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

    def without(self, own: str) -> Filters:
        """These filters with one of sources/languages/tags emptied (a facet counts without its own)."""
        other = Filters(since=self.since, until=self.until, sources=self.sources, languages=self.languages,
                        tags=self.tags)
        setattr(other, own, [])
        return other


def validate_query(query: str) -> None:
    """Raise QueryError (with its position) for a query that cannot be parsed; empty means 'everything'."""
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
