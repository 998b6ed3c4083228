"""Alert rules for the web app: read through `ingest.alerts` when it is installed, else from rules.yaml.

The alerts engine is optional for the web app: everything here is imported lazily and degrades to a
plain reading of `config/rules.yaml` (and a minimal Atom feed built from the store's alert ledger).
Channel targets (apprise URLs may hold passwords) are never shown, only their scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.app import Ingest
from ingest.errors import IngestError

RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(slots=True)
class RuleView:
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


def _get(obj: Any, name: str, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _schemes(channels: Any) -> list[str]:
    if channels is None:
        return []
    if isinstance(channels, str | dict):
        channels = [channels]
    out = []
    for ch in channels:
        target = ch if isinstance(ch, str) else (_get(ch, "url") or _get(ch, "label") or "")
        target = str(target)
        scheme = target.split("://", 1)[0] if "://" in target else target.split(":", 1)[0]
        if scheme and scheme not in out:
            out.append(scheme[:20])
    return out


def _listish(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _view(name: str, obj: Any) -> RuleView:
    if isinstance(obj, str):
        return RuleView(name=name, query=obj)
    filters = {k: _listish(_get(obj, k)) for k in ("sources", "languages", "tags") if _get(obj, k)}
    return RuleView(name=str(_get(obj, "name", name) or name), query=str(_get(obj, "query", "") or ""),
                    description=_get(obj, "description"), channels=_schemes(_get(obj, "notify")),
                    enabled=bool(_get(obj, "enabled", True)), mode=str(_get(obj, "mode", "instant") or "instant"),
                    filters=filters)


def _from_data(data: Any) -> list[RuleView]:
    """Rules as the YAML file has them, unvalidated (when the alerts engine is missing or rejects the file)."""
    if data is None:
        return []
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if isinstance(data, dict):
        return [_view(str(k), v) for k, v in data.items()]
    if isinstance(data, list):
        return [_view(str(_get(item, "name", f"rule-{i + 1}")), item) for i, item in enumerate(data)
                if isinstance(item, dict | str)]
    return []


def _raw_rules(path: Path) -> list[RuleView]:
    from ingest.config import read_yaml

    try:
        return _from_data(read_yaml(path))
    except IngestError:
        return []


def load_rules(app: Ingest) -> tuple[list[RuleView], str | None]:
    """(rules, a note for the page: why the rules file could not be used, or None).

    Through `ingest.alerts.load_rules` (validated, secrets expanded but never shown) when the alerts
    engine is installed; an invalid file still lists what it says, with the engine's error as the note.
    """
    path = Path(app.settings.rules_file)
    try:
        from ingest.alerts import load_rules as engine_load
    except ImportError:
        engine_load = None
    if engine_load is not None:
        try:
            return [_view(r.name, r) for r in engine_load(path)], None
        except IngestError as exc:
            return _raw_rules(path), str(exc)
    if not path.exists():
        return [], None
    return _raw_rules(path), None


def find_rule(app: Ingest, name: str) -> RuleView | None:
    rules, _ = load_rules(app)
    return next((r for r in rules if r.name == name), None)


# -- Atom ----------------------------------------------------------------------------------------------

def atom_feed(app: Ingest, rule: str, base_url: str) -> str:
    """The rule's Atom feed (`ingest.alerts.atom.rule_feed`), each entry with the passage that matched."""
    from ingest.alerts.atom import rule_feed

    view = find_rule(app, rule)
    return rule_feed(app.store.index, rule, base_url=base_url, query=view.query if view else None)


# -- saving ---------------------------------------------------------------------------------------------

def save_rule(app: Ingest, name: str, query: str, description: str | None = None,
              notify: list[str] | None = None) -> bool:
    """Append a new rule to rules.yaml (`ingest.alerts.rules.append_rule`: validated as the CLI reads
    it, comments kept); problems come back as InputError (a 400 with the message)."""
    from ingest.alerts.rules import RuleInputError, append_rule
    from ingest.web.service import InputError, validate_query

    if not RULE_NAME.match(name or ""):
        raise InputError("rule name: letters, digits, '-', '_' or '.', at most 64 characters")
    validate_query(query)  # a QueryError keeps its position for the form
    try:
        return append_rule(Path(app.settings.rules_file), name, query, description, notify=notify)
    except RuleInputError as exc:
        raise InputError(str(exc)) from None
