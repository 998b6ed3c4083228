"""Saved searches and saved dashboards: `config/searches.yaml`, shared by the CLI and the web app.

    searches:
      - name: drones-de                  # letters, digits, - _ . (the stable URL: /searches/drones-de)
        query: 'Drohne* AND NOT Fußball'
        description: German drone coverage
        sources: [Rheinblick]            # optional filters, as on the search page
        languages: [de]
        tags: []
        days: 30                         # optional: only the last N days (relative, so a feed stays current)
        sort: date                       # date (default) | relevance
        collapse: true                   # one hit per story
    dashboards:
      - name: energy
        queries: ['Energie* OR energy', 'Strompreis*']
        days: 90
        interval: week                   # auto | hour | day | week | month

Each saved search has a stable page (`/searches/NAME`), an Atom and a JSON feed of its newest hits,
and becomes an alert rule in one step (`ingest searches rule NAME`, or the web's "Make alert").
Validation is the same everywhere (names, query syntax, values) and errors name the file and key;
edits keep the file's comments (round trip, `ingest.config_edit`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ingest.config import read_yaml
from ingest.errors import ConfigError, IngestError, QueryError
from ingest.models import utcnow
from ingest.store.base import SearchRequest

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SEARCH_KEYS = {"name", "query", "description", "sources", "languages", "tags", "days", "sort", "collapse", "digest"}
DIGEST_KEYS = {"every", "notify"}
DIGEST_RULE_PREFIX = "search."   # a saved search's digest is the alert rule `search.NAME`
DASHBOARD_KEYS = {"name", "queries", "description", "days", "interval"}
INTERVALS = ("auto", "hour", "day", "week", "month")
MAX_DASHBOARD_QUERIES = 6


@dataclass(slots=True)
class SavedSearch:
    name: str
    query: str
    description: str | None = None
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    days: int | None = None
    sort: str = "date"
    collapse: bool = False
    digest: dict[str, Any] | None = None   # {every: 1d, notify: [...]}: new matches by email/apprise

    def request(self, limit: int = 50, offset: int = 0) -> SearchRequest:
        since = utcnow() - timedelta(days=self.days) if self.days else None
        return SearchRequest(query=self.query, limit=limit, offset=offset, sort=self.sort, collapse=self.collapse,
                             sources=list(self.sources), languages=list(self.languages), tags=list(self.tags),
                             since=since)

    def search_params(self) -> list[tuple[str, str]]:
        """The search page's URL parameters for this search (dates as a relative `since`)."""
        out = [("q", self.query)] if self.query else []
        if self.days:
            out.append(("since", (utcnow() - timedelta(days=self.days - 1)).date().isoformat()))
        out += [("source", s) for s in self.sources] + [("lang", v) for v in self.languages]
        out += [("tag", t) for t in self.tags]
        out += [("sort", "date")] if self.sort == "date" else []
        return out + ([("collapse", "1")] if self.collapse else [])

    def to_yaml(self) -> dict[str, Any]:
        item: dict[str, Any] = {"name": self.name, "query": self.query}
        for key in ("description", "days"):
            if getattr(self, key):
                item[key] = getattr(self, key)
        for key in ("sources", "languages", "tags"):
            if getattr(self, key):
                item[key] = list(getattr(self, key))
        if self.sort != "date":
            item["sort"] = self.sort
        if self.collapse:
            item["collapse"] = True
        if self.digest:
            item["digest"] = dict(self.digest)
        return item

    def to_dict(self) -> dict[str, Any]:
        from ingest.alerts.rules import redact_url

        digest = None if not self.digest else {"every": self.digest.get("every"),
                                                "notify": [redact_url(u) for u in self.digest.get("notify") or []]}
        return {"name": self.name, "query": self.query, "description": self.description, "sources": self.sources,
                "languages": self.languages, "tags": self.tags, "days": self.days, "sort": self.sort,
                "collapse": self.collapse, "digest": digest}


@dataclass(slots=True)
class SavedDashboard:
    name: str
    queries: list[str]
    description: str | None = None
    days: int | None = None
    interval: str = "auto"

    def params(self) -> list[tuple[str, str]]:
        out = [("q", q) for q in self.queries]
        if self.days:
            out.append(("since", (utcnow() - timedelta(days=self.days - 1)).date().isoformat()))
        return out + ([("interval", self.interval)] if self.interval != "auto" else [])

    def to_yaml(self) -> dict[str, Any]:
        item: dict[str, Any] = {"name": self.name, "queries": list(self.queries)}
        if self.description:
            item["description"] = self.description
        if self.days:
            item["days"] = self.days
        if self.interval != "auto":
            item["interval"] = self.interval
        return item


def check_query(query: str, where: str, path: Path) -> None:
    from ingest.query import parse

    try:
        parse(query)
    except QueryError as exc:
        raise ConfigError(str(path), where, str(exc).split("\n", 1)[0]) from None


def _strings(value: Any, where: str, path: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(str(path), where, "expected a list of strings")
    return [v.strip() for v in value if v.strip()]


def _days(value: Any, where: str, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36_500:
        raise ConfigError(str(path), where, "expected a whole number of days from 1 to 36500")
    return value


def _search(item: Any, where: str, path: Path) -> SavedSearch:
    if not isinstance(item, dict):
        raise ConfigError(str(path), where, "expected a mapping with name and query")
    unknown = sorted(set(item) - SEARCH_KEYS)
    if unknown:
        raise ConfigError(str(path), f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(SEARCH_KEYS))})")
    name, query = item.get("name"), item.get("query")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(str(path), f"{where}.name", "letters, digits, '-', '_' or '.', at most 64 characters")
    if not isinstance(query, str):
        raise ConfigError(str(path), f"{where}.query", "expected the query as text")
    if query.strip():
        check_query(query, f"{where}.query", path)
    if item.get("digest") is not None and not query.strip():
        raise ConfigError(str(path), f"{where}.digest", "a digest needs a query (the rule it becomes matches it)")
    sort = item.get("sort", "date")
    if sort not in ("date", "relevance"):
        raise ConfigError(str(path), f"{where}.sort", "expected date or relevance")
    collapse = item.get("collapse", False)
    if not isinstance(collapse, bool):
        raise ConfigError(str(path), f"{where}.collapse", "expected true or false")
    return SavedSearch(name=name, query=query.strip(), description=item.get("description") or None,
                       sources=_strings(item.get("sources"), f"{where}.sources", path),
                       languages=_strings(item.get("languages"), f"{where}.languages", path),
                       tags=_strings(item.get("tags"), f"{where}.tags", path),
                       days=_days(item.get("days"), f"{where}.days", path), sort=sort, collapse=collapse,
                       digest=_digest(item.get("digest"), f"{where}.digest", path))


def _digest(value: Any, where: str, path: Path) -> dict[str, Any] | None:
    """A saved search's digest: {every: 1d|1w|..., notify: [apprise URLs]}; checked like an alert rule's."""
    from ingest.alerts.rules import parse_duration

    if value is None:
        return None
    if not isinstance(value, dict) or "every" not in value:
        raise ConfigError(str(path), where, "expected {every: 1d, notify: [URL, ...]}")
    unknown = sorted(set(value) - DIGEST_KEYS)
    if unknown:
        raise ConfigError(str(path), f"{where}.{unknown[0]}", "unknown key (known: every, notify)")
    try:
        parse_duration(value["every"])
    except ValueError as exc:
        raise ConfigError(str(path), f"{where}.every", str(exc)) from None
    return {"every": value["every"], "notify": _strings(value.get("notify"), f"{where}.notify", path)}


def digest_rules(path: Path, env: dict[str, str] | None = None) -> list:
    """Every saved search with a digest, as an alert rule in digest mode named `search.NAME`: the
    ledger then sends each matching story once, grouped at the digest's interval (UTC multiples),
    with the same messages, retries and Atom feed (/alerts/search.NAME.atom) as any rule."""
    from ingest.alerts.rules import parse_rules

    searches = [s for s in load(path)[0] if s.digest]
    if not searches:
        return []
    raw = [{"name": DIGEST_RULE_PREFIX + s.name, "query": s.query, "description": f"saved search {s.name}",
            "sources": s.sources, "languages": s.languages, "tags": s.tags, "mode": "digest",
            "digest": {"every": digest["every"]}, "notify": digest.get("notify") or []}
           for s in searches if (digest := s.digest)]
    return parse_rules({"rules": raw}, str(path), env)


def _dashboard(item: Any, where: str, path: Path) -> SavedDashboard:
    if not isinstance(item, dict):
        raise ConfigError(str(path), where, "expected a mapping with name and queries")
    unknown = sorted(set(item) - DASHBOARD_KEYS)
    if unknown:
        raise ConfigError(str(path), f"{where}.{unknown[0]}",
                          f"unknown key (known: {', '.join(sorted(DASHBOARD_KEYS))})")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(str(path), f"{where}.name", "letters, digits, '-', '_' or '.', at most 64 characters")
    queries = _strings(item.get("queries"), f"{where}.queries", path)
    if len(queries) > MAX_DASHBOARD_QUERIES:
        raise ConfigError(str(path), f"{where}.queries", f"at most {MAX_DASHBOARD_QUERIES} queries")
    for i, q in enumerate(queries):
        check_query(q, f"{where}.queries[{i}]", path)
    interval = item.get("interval", "auto")
    if interval not in INTERVALS:
        raise ConfigError(str(path), f"{where}.interval", f"expected one of {', '.join(INTERVALS)}")
    return SavedDashboard(name=name, queries=queries, description=item.get("description") or None,
                          days=_days(item.get("days"), f"{where}.days", path), interval=interval)


def load(path: Path) -> tuple[list[SavedSearch], list[SavedDashboard]]:
    """Both lists from searches.yaml (a missing file: none). Duplicate names are an error."""
    path = Path(path)
    if not path.exists():
        return [], []
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a mapping with `searches:` and/or `dashboards:`")
    unknown = sorted(set(data) - {"searches", "dashboards"})
    if unknown:
        raise ConfigError(str(path), unknown[0], "unknown key (known: dashboards, searches)")
    out: tuple[list, list] = ([], [])
    for key, parse, target in (("searches", _search, out[0]), ("dashboards", _dashboard, out[1])):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise ConfigError(str(path), key, "expected a list")
        seen: set[str] = set()
        for i, item in enumerate(items):
            entry = parse(item, f"{key}[{i}]", path)
            if entry.name in seen:
                raise ConfigError(str(path), f"{key}[{i}].name", f"{entry.name!r} is used twice")
            seen.add(entry.name)
            target.append(entry)
    return out


def add(path: Path, key: str, entry: SavedSearch | SavedDashboard) -> None:
    """Append a saved search or dashboard (validated as when loaded; the name must be new)."""
    from ingest.config_edit import edit_list

    parse = _search if key == "searches" else _dashboard
    parse(entry.to_yaml(), f"{key}[new]", Path(path))  # same checks as loading
    searches, dashboards = load(path)
    if entry.name in {e.name for e in (searches if key == "searches" else dashboards)}:
        kind = "saved search" if key == "searches" else "saved dashboard"
        raise IngestError(f"{path}: a {kind} named {entry.name!r} exists already")
    def append(items: list) -> bool:
        items.append(entry.to_yaml())
        return True

    edit_list(Path(path), key, append,
              header="Saved searches and dashboards (ingest searches / the web app edit this file).")


def remove(path: Path, key: str, name: str) -> bool:
    from ingest.config_edit import edit_list

    if not Path(path).exists():
        return False

    def change(items: list) -> bool:
        keep = [i for i in items if not (isinstance(i, dict) and i.get("name") == name)]
        if len(keep) == len(items):
            return False
        items[:] = keep
        return True

    return edit_list(Path(path), key, change)
