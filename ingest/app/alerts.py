"""Alerts: the rules of config/rules.yaml as the pages show them, adding a rule, previewing and testing
a rule against the stored articles, the ledger, its Atom feeds, and delivering what is pending.

Rule preview (the web's /api/rules/preview and `ingest rules preview`, one implementation): matches
per *published* day over the last `days` UTC calendar days, today included, i.e. published in
[midnight `days - 1` days ago, next midnight) UTC, with the 5 newest matches as examples.
Channel targets (apprise URLs may hold passwords) are never shown, only their scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.app.base import AppBase
from ingest.app.filters import Filters, InputError, validate_query
from ingest.app.timeline import day_keys
from ingest.errors import IngestError
from ingest.models import SearchHit
from ingest.store import SearchRequest
from ingest.store.base import AlertRecord

if TYPE_CHECKING:
    from ingest.alerts.rules import Rule
    from ingest.alerts.volume import VolumeReading

MAX_PREVIEW_DAYS = 3650
PREVIEW_EXAMPLES = 5


@dataclass(slots=True)
class RuleView:
    """A rule as the pages and /api/rules show it: channel schemes only, never their URLs."""

    name: str
    query: str
    description: str | None = None
    channels: list[str] = field(default_factory=list)  # schemes only (mailto, slack, ...), never the URL
    enabled: bool = True
    mode: str = "instant"
    filters: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "query": self.query, "description": self.description,
                "channels": self.channels, "enabled": self.enabled, "mode": self.mode, "filters": self.filters}


@dataclass(slots=True)
class RulePreview:
    query: str
    days: list[datetime]       # each day's midnight (UTC), oldest first, today last
    counts: list[int]          # matches published that day
    examples: list[SearchHit]  # the newest matches

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def per_day(self) -> float:
        return round(self.total / len(self.days), 2)


def _get(obj: Any, name: str, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _schemes(channels: Any) -> list[str]:
    out: list[str] = []
    for ch in [channels] if isinstance(channels, str | dict) else channels or []:
        target = str(ch if isinstance(ch, str) else (_get(ch, "url") or _get(ch, "label") or ""))
        scheme = target.split("://", 1)[0] if "://" in target else target.split(":", 1)[0]
        if scheme and scheme not in out:
            out.append(scheme[:20])
    return out


def _listish(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def rule_view(obj: Any, name: str = "") -> RuleView:
    """A RuleView of a validated Rule, or of a rule entry as the YAML file has it (an invalid file)."""
    filters = {k: _listish(_get(obj, k)) for k in ("sources", "languages", "tags") if _get(obj, k)}
    return RuleView(name=str(_get(obj, "name", name) or name), query=str(_get(obj, "query", "") or ""),
                    description=_get(obj, "description"), channels=_schemes(_get(obj, "notify")),
                    enabled=bool(_get(obj, "enabled", True)), mode=str(_get(obj, "mode", "instant") or "instant"),
                    filters=filters)


def rule_views(path: Path) -> tuple[list[RuleView], str | None]:
    """(rules, a note for the page: why the rules file could not be used, or None).

    Read by `ingest.alerts.rules.load_rules` (validated, secrets expanded but never shown); an invalid
    file still lists the entries it has, with the reader's error as the note."""
    from ingest.alerts.rules import load_rules
    from ingest.config import read_yaml

    try:
        return [rule_view(r) for r in load_rules(path)], None
    except IngestError as exc:
        note = str(exc)
    try:
        data = read_yaml(path)
    except IngestError:
        return [], note
    entries = data.get("rules") if isinstance(data, dict) else None
    return [rule_view(item, f"rule-{i + 1}") for i, item in enumerate(entries or []) if isinstance(item, dict)], note


def save_rule(path: Path, name: str, query: str, description: str | None = None,
              notify: list[str] | None = None) -> bool:
    """Append a new rule to rules.yaml (`ingest.alerts.rules.append_rule`: validated as the daemon reads
    it, comments kept); a bad query raises QueryError (its position shown), other problems InputError."""
    from ingest.alerts.rules import NAME, NAME_HELP, RuleInputError, append_rule

    if not NAME.match(name or ""):
        raise InputError(f"rule name: {NAME_HELP}")
    validate_query(query)  # a QueryError keeps its position for the form
    try:
        return append_rule(Path(path), name, query, description, notify=notify)
    except RuleInputError as exc:
        raise InputError(str(exc)) from None


class AlertsMixin(AppBase):
    def rules(self, check_queries: bool = True) -> list[Rule]:
        """The validated rules of config/rules.yaml; a missing file is an error (RulesError names every problem)."""
        from ingest.alerts.rules import load_rules

        return load_rules(self.settings.rules_file, check_queries=check_queries, missing_ok=False)

    def rule(self, name: str) -> Rule:
        rules = self.rules()
        for rule in rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in rules) or "none"
        raise IngestError(f"{self.settings.rules_file}: no rule named {name!r} (rules: {known})")

    def rule_views(self) -> tuple[list[RuleView], str | None]:
        return rule_views(Path(self.settings.rules_file))

    def save_rule(self, name: str, query: str, description: str | None = None,
                  notify: list[str] | None = None) -> bool:
        return save_rule(Path(self.settings.rules_file), name, query, description, notify)

    def list_alerts(self, rule: str | None = None, limit: int = 50, undelivered: bool = False) -> list[AlertRecord]:
        """The ledger, newest first."""
        return self.store.index.list_alerts(rule=rule, limit=limit, undelivered=undelivered)

    def rule_known(self, name: str) -> bool:
        """A rule of rules.yaml, or one the ledger still has alerts of."""
        views, _ = self.rule_views()
        return name in {r.name for r in views} or bool(self.store.index.list_alerts(rule=name, limit=1))

    def rule_atom(self, name: str, base_url: str) -> str:
        """The rule's Atom feed (`ingest.alerts.atom.rule_feed`), each entry with the passage that matched."""
        from ingest.alerts.atom import rule_feed

        view = next((r for r in self.rule_views()[0] if r.name == name), None)
        return rule_feed(self.store.index, name, base_url=base_url, query=view.query if view else None)

    def preview_rule(self, query: str, days: int = 30, filters: Filters | None = None) -> RulePreview:
        """What a rule would have matched (see the module docstring for the bounds)."""
        validate_query(query)
        if not query.strip():
            raise InputError("a rule needs a query")
        keys = day_keys(min(max(days, 1), MAX_PREVIEW_DAYS))
        req = (filters or Filters()).request(query)
        req.since, req.until = keys[0], keys[-1] + timedelta(days=1)
        hist = dict(self.store.index.histogram(req, "day", "published"))
        req.limit, req.sort = PREVIEW_EXAMPLES, "date"
        return RulePreview(query=query, days=keys, counts=[hist.get(k, 0) for k in keys],
                           examples=self.store.index.search(req).hits)

    def test_rule(self, rule: Rule, days: int, limit: int) -> tuple[int, list[dict]]:
        """(matching stories indexed in the last `days` days, one row per story shown): its filters passed
        or not, and whether it already alerted."""
        from ingest.alerts.engine import story_of

        now = datetime.now(UTC)
        result = self.store.index.search(SearchRequest(query=rule.query, limit=limit, sort="date", collapse=True,
                                                 indexed_since=now - timedelta(days=days)))
        alerted = {r.story for r in self.store.index.list_alerts(rule=rule.name, limit=10_000)}
        rows = []
        for hit in result.hits:
            article = self.store.index.get_article(hit.id)
            if article is None:
                continue
            rows.append({"id": hit.id, "title": hit.title, "url": hit.url, "source": hit.source,
                         "published": hit.published.isoformat() if hit.published else None,
                         "copies": hit.cluster_size, "passes_filters": rule.accepts(article, now),
                         "alerted": story_of(article) in alerted})
        return result.total, rows

    def volume_reading(self, rule: Rule) -> VolumeReading:
        """A volume rule now: the window's count against its baseline."""
        from ingest.alerts.volume import measure

        return measure(self.store.index, rule)

    def deliver_alerts(self, rule: str | None = None) -> tuple[int, int]:
        """Send undelivered alerts now (of one rule, or all), digests and rate limits included, in this
        thread; first the rules run on stored articles they never saw. Returns (sent, still undelivered)."""
        from ingest.alerts import engine_for

        engine = engine_for(self.settings, self.store, start=False)  # this thread sends, no schedule
        if engine is None:
            raise IngestError(f"{self.settings.rules_file}: file not found (no alert rules)")
        engine.evaluate_backlog()  # stored articles whose rules never ran (a crash, a cluster outage)
        for r in engine.rules:
            if rule in (None, r.name):
                engine.deliver(r)
        left = len(self.store.index.list_alerts(rule=rule, undelivered=True, limit=10_000))
        return engine.delivered, left

