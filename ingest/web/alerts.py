"""Alert rules for the web app: read through `ingest.alerts` when it is installed, else from rules.yaml.

The alerts engine is optional for the web app: everything here is imported lazily and degrades to a
plain reading of `config/rules.yaml` (and a minimal Atom feed built from the store's alert ledger).
Channel targets (apprise URLs may hold passwords) are never shown, only their scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import yaml

from ingest.app import Ingest
from ingest.errors import IngestError
from ingest.models import utcnow

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
    """The rule's Atom feed: from `ingest.alerts.atom.rule_feed` when available, else from the ledger."""
    try:
        from ingest.alerts.atom import rule_feed
    except ImportError:
        return _ledger_atom(app, rule, base_url)
    return rule_feed(app.store, rule, base_url=base_url)


def _iso(value: datetime | None) -> str:
    return (value or utcnow()).isoformat().replace("+00:00", "Z")


def _ledger_atom(app: Ingest, rule: str, base_url: str) -> str:
    records = app.store.list_alerts(rule=rule, limit=50)
    updated = max((r.created for r in records), default=None)
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>{xml_escape('ingest alerts: ' + rule)}</title>",
             f"<id>{xml_escape(base_url.rstrip('/') + '/alerts/' + rule)}</id>",
             f"<updated>{_iso(updated)}</updated>", "<generator>ingest</generator>",
             f'<link rel="self" href="{xml_escape(base_url.rstrip("/") + "/alerts/" + rule + ".atom")}"/>']
    for r in records:
        summary = f"{len(r.article_ids)} article(s) from {', '.join(r.sources) or 'unknown sources'}"
        parts += ["<entry>", f"<title>{xml_escape(r.title or r.url)}</title>",
                  f'<link href="{xml_escape(r.url, {chr(34): "&quot;"})}"/>',
                  f"<id>{xml_escape('urn:ingest:alert:' + rule + ':' + r.story)}</id>",
                  f"<updated>{_iso(r.created)}</updated>", f"<summary>{xml_escape(summary)}</summary>",
                  "</entry>"]
    parts.append("</feed>")
    return "\n".join(parts) + "\n"


# -- saving ---------------------------------------------------------------------------------------------

def save_rule(app: Ingest, name: str, query: str, description: str | None = None) -> bool:
    """Append a new rule to rules.yaml, keeping the file's text and comments as they are.

    The query is validated first; an existing name is refused (edit the file to change a rule).
    The result is parsed again before it replaces the file, so a failed edit leaves it untouched.
    """
    from ingest.config import load_yaml, read_yaml
    from ingest.web.service import InputError, validate_query

    if not RULE_NAME.match(name or ""):
        raise InputError("rule name: letters, digits, '-', '_' or '.', at most 64 characters")
    if not query.strip():
        raise InputError("a rule needs a query")
    validate_query(query)
    path = Path(app.settings.rules_file)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = read_yaml(path) if text.strip() else None
    if data is None:
        data, text = {"rules": []}, (text.rstrip("\n") + "\n" if text.strip() else "") + "rules:\n"
    if not isinstance(data, dict) or not isinstance(data.get("rules") or [], list):
        raise IngestError(f"{path}: expected 'rules:' with a list of rules; add the rule by hand")
    existing = data.get("rules") or []
    if any(isinstance(r, dict) and r.get("name") == name for r in existing):
        raise InputError(f"a rule named {name!r} already exists (edit {path} to change it)")
    entry = {"name": name, "query": query}
    if description:
        entry["description"] = description
    indent = "  "
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if stripped.startswith("- name:"):
            indent = line[:len(line) - len(stripped)]
    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=10_000)
    added = "".join(indent + line + "\n" for line in block.splitlines())
    new_text = text.rstrip("\n") + "\n\n" + f"{indent}# added in the web app, {utcnow():%Y-%m-%d %H:%M} UTC\n" + added
    check = load_yaml(new_text, str(path))
    rules = check.get("rules") if isinstance(check, dict) else None
    if not isinstance(rules, list) or rules[-1] != entry or rules[:-1] != existing:
        raise IngestError(f"{path}: cannot append a rule safely (is 'rules:' the last section?); add it by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
    return True
