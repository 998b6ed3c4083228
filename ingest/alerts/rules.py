"""Alert rules from `config/rules.yaml`: loading, validation, `${ENV}` secrets and redaction.

    rules:
      - name: iran-venezuela
        query: 'Iran AND Venezuela'
        notify: ['json://127.0.0.1:8025/hook']
        mode: instant

Every problem is reported with the file and the key at fault (`rules[2].query: invalid query: ...
at position 7`). Notification URLs may reference secrets as `${ENV_VAR}`; they are expanded at load
time and never shown: anything printed or logged about a channel uses its redacted `label`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.config import parse_flag
from ingest.errors import ConfigError, IngestError

NAME_MAX = 80  # a rule's name becomes its feed URL /alerts/<name>.atom
NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}$")
NAME_HELP = f"letters, digits, '-', '_' or '.', at most {NAME_MAX} characters"
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
MODES = ("instant", "digest", "volume")
RULE_KEYS = ("name", "query", "sources", "languages", "tags", "notify", "mode", "digest", "volume", "min_interval",
             "max_age", "enabled", "description")
VOLUME_KEYS = ("window", "baseline", "direction", "ratio", "min_count")
DIRECTIONS = ("up", "down", "both")


@dataclass(slots=True)
class VolumeSpec:
    """mode: volume — compare the matches of the last `window` with the rate over the `baseline` before it.

    A spike: window count >= min_count and >= ratio x the baseline's count per window. A drop: the
    baseline's count per window >= min_count and the window's count <= that / ratio. `min_count` keeps
    quiet topics from paging anyone."""

    window: float = 86400.0          # seconds
    baseline: float = 14 * 86400.0   # seconds, right before the window
    direction: str = "up"            # up | down | both
    ratio: float = 3.0
    min_count: int = 5


@dataclass(slots=True)
class Channel:
    """One notification target (an apprise URL). `url` holds secrets: use `label` in any output."""

    url: str
    label: str                                   # redacted, safe to print and log
    key: str                                     # stable id stored in the ledger's channels_done
    secrets: tuple[str, ...] = ()                # substrings to scrub from error messages

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:  # never leak the URL through a repr in a log or traceback
        return f"Channel({self.label!r})"


@dataclass(slots=True)
class Rule:
    name: str
    query: str
    notify: list[Channel] = field(default_factory=list)
    mode: str = "instant"
    digest_every: float | None = None            # seconds, mode digest
    min_interval: float | None = None            # seconds between two deliveries of this rule
    max_age: float | None = None                 # seconds: older articles (by published date) never alert
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    enabled: bool = True
    description: str | None = None
    volume: VolumeSpec | None = None             # mode volume

    @property
    def per_article(self) -> bool:
        """Matched against each stored batch (instant, digest); volume rules are checked on a clock."""
        return self.mode != "volume"

    @property
    def batched(self) -> bool:
        """Several stories go out in one message (digest, or rate-limited instant)."""
        return self.mode == "digest" or bool(self.min_interval)

    def accepts(self, article, now: datetime | None = None) -> bool:
        """The rule's filters (sources, languages, tags, max_age) on one stored article."""
        if self.sources:
            wanted = {s.lower() for s in self.sources}
            domain = (article.domain or "").lower()
            if (article.source or "").lower() not in wanted and not any(
                    domain == w or domain.endswith("." + w) for w in wanted):
                return False
        if self.languages and (article.language or "").lower() not in {x.lower() for x in self.languages}:
            return False
        if self.tags and not {t.lower() for t in article.tags} & {t.lower() for t in self.tags}:
            return False
        if self.max_age and article.published is not None and now is not None:
            if article.published < now - timedelta(seconds=self.max_age):
                return False
        return True

    def summary(self) -> dict:
        """What `ingest rules list --json` shows: everything but the secrets."""
        return {"name": self.name, "query": self.query, "mode": self.mode, "digest_every": self.digest_every,
                "volume": None if self.volume is None else {
                    "window": self.volume.window, "baseline": self.volume.baseline,
                    "direction": self.volume.direction, "ratio": self.volume.ratio,
                    "min_count": self.volume.min_count},
                "min_interval": self.min_interval, "max_age": self.max_age, "sources": self.sources,
                "languages": self.languages, "tags": self.tags, "enabled": self.enabled,
                "notify": [c.label for c in self.notify], "description": self.description}


class RulesError(ConfigError):
    """Every problem of a rules file; the message names the first, `problems` holds them all."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.problems = problems
        key, message = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})" if len(problems) > 1 else ""
        super().__init__(file, key, message + more)

    def lines(self) -> list[str]:
        return [f"{self.file}: {k}: {m}" if k else f"{self.file}: {m}" for k, m in self.problems]


# -- small parsers ---------------------------------------------------------------------------------

def parse_duration(value) -> float:
    """Seconds from 90, "90s", "15m", "1h", "1.5h", "1d", "1w"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30m, 1h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 1h, 1d)")
        seconds = float(m.group(1)) * UNITS[(m.group(2) or "").lower() or None]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return seconds


def format_duration(seconds: float | None) -> str:
    if not seconds:
        return "-"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def expand_env(text: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """`${VAR}` -> its value. Returns the text and the values substituted (they are secrets)."""
    used: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in env:
            raise KeyError(name)
        used.append(env[name])
        return env[name]

    return ENV_REF.sub(sub, text), used


def redact_url(url: str) -> str:
    """A URL with everything that may be a secret masked: user info, path, query. Scheme and host stay
    when the host looks like a host name (Slack, Telegram & co. put tokens where the host goes)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split(":", 1)[0] + "://***"
    looks_like_host = host and ("." in host or host == "localhost") and len(host) < 64
    out = f"{parts.scheme}://" + ("***@" if parts.username or parts.password else "")
    out += (host + port) if looks_like_host else "***"
    if parts.path.strip("/"):
        out += "/***"
    return out + ("?***" if parts.query else "")


def _channel_secrets(url: str, env_values: list[str]) -> tuple[str, ...]:
    secrets = [v for v in env_values if len(v) >= 3]
    try:
        parts = urlsplit(url)
        secrets += [p for p in (parts.password, parts.username) if p]
        secrets += [seg for seg in parts.path.split("/") if len(seg) >= 6]
        secrets += [kv.split("=", 1)[1] for kv in parts.query.split("&") if "=" in kv and len(kv.split("=", 1)[1]) >= 6]
        if parts.hostname and "." not in parts.hostname and parts.hostname != "localhost":
            secrets.append(parts.netloc)
    except ValueError:
        secrets.append(url)
    return tuple(dict.fromkeys(secrets))


def make_channel(url: str, env_values: list[str] | None = None) -> Channel:
    """A channel from an expanded apprise URL; ValueError when apprise cannot use it."""
    label = redact_url(url)
    key = url.split(":", 1)[0].lower() + ":" + hashlib.sha256(url.encode()).hexdigest()[:12]
    channel = Channel(url=url, label=label, key=key, secrets=_channel_secrets(url, env_values or []))
    plugin = _apprise_plugin(url)
    if plugin is None:
        raise ValueError(f"{label}: not a notification URL apprise can use (unknown scheme or missing parts)")
    return channel


def _apprise_plugin(url: str):
    try:
        import apprise
    except ImportError:  # pragma: no cover - apprise is a dependency
        return object()
    quiet = logging.getLogger("apprise")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL + 1)  # its complaint is replaced by ours, with the key at fault
    try:
        return apprise.Apprise.instantiate(url)
    except Exception:  # noqa: BLE001 - any failure means "cannot use this URL"
        return None
    finally:
        quiet.setLevel(level)


def query_problem(query: str) -> str | None:
    """The problem with a rule's query as one line, or None: parsed, and compiled as SQLite would run it."""
    from ingest.errors import QueryError
    from ingest.query import parse
    from ingest.store.sqlite.query import compile_sqlite

    try:
        compile_sqlite(parse(query))
    except QueryError as exc:
        return str(exc).split("\n")[0]
    return None


# -- loading ---------------------------------------------------------------------------------------

def _strings(value, key: str, problems: list) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    problems.append((key, "expected a list of strings"))
    return []


def _rule(i: int, raw, env: dict[str, str], problems: list, check_queries: bool) -> Rule | None:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        problems.append((where, "expected a mapping with name, query, notify, mode"))
        return None
    start = len(problems)
    unknown = [k for k in raw if k not in RULE_KEYS]
    for k in unknown:
        problems.append((f"{where}.{k}", f"unknown key (known: {', '.join(RULE_KEYS)})"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append((f"{where}.name", "missing: every rule needs a name"))
        name = None
    elif not NAME.match(name):
        problems.append((f"{where}.name", f"{name!r}: use letters, digits, '.', '_' and '-' (it becomes the "
                                          f"feed URL /alerts/{name}.atom)"))
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        problems.append((f"{where}.query", "missing: every rule needs a query"))
        query = None
    elif check_queries:
        problem = query_problem(query)
        if problem:
            problems.append((f"{where}.query", problem))

    channels = _channels(raw, where, env, problems)
    mode, every, volume = _mode(raw, where, problems)
    durations: dict[str, float | None] = {}
    for k in ("min_interval", "max_age"):
        durations[k] = None
        if raw.get(k) is not None:
            try:
                durations[k] = parse_duration(raw[k])
            except ValueError as exc:
                problems.append((f"{where}.{k}", str(exc)))
    try:
        enabled = parse_flag(raw.get("enabled", True))
    except ValueError as exc:
        enabled = True
        problems.append((f"{where}.enabled", str(exc)))
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.append((f"{where}.description", "expected a string"))
    filters = {k: _strings(raw.get(k), f"{where}.{k}", problems) for k in ("sources", "languages", "tags")}
    if len(problems) > start or name is None or query is None:
        return None
    return Rule(name=name, query=query.strip(), notify=channels, mode=mode, digest_every=every,
                min_interval=durations["min_interval"], max_age=durations["max_age"], enabled=enabled,
                description=description, volume=volume, **filters)


def _channels(raw: dict, where: str, env: dict[str, str], problems: list) -> list[Channel]:
    channels: list[Channel] = []
    for j, url in enumerate(_strings(raw.get("notify"), f"{where}.notify", problems)):
        key = f"{where}.notify[{j}]"
        try:
            expanded, used = expand_env(url.strip(), env)
        except KeyError as exc:
            problems.append((key, f"environment variable {exc.args[0]} is not set"))
            continue
        try:
            channels.append(make_channel(expanded, used))
        except ValueError as exc:
            problems.append((key, str(exc)))
    return channels


def _mode(raw: dict, where: str, problems: list) -> tuple[Any, float | None, VolumeSpec | None]:
    """(mode, digest interval for digest rules, volume spec for volume rules)."""
    digest = raw.get("digest")
    mode = raw.get("mode", "digest" if digest is not None else "instant")
    if raw.get("volume") is not None and mode != "volume":
        problems.append((f"{where}.volume", "only with mode: volume"))
    if mode not in MODES:
        problems.append((f"{where}.mode", f"{mode!r}: expected instant, digest or volume"))
    elif mode == "volume":
        return mode, None, _volume(raw.get("volume"), f"{where}.volume", problems)
    elif mode == "digest":
        return mode, _digest_every(digest, where, problems), None
    elif digest is not None:
        problems.append((f"{where}.digest", "only with mode: digest"))
    return mode, None, None


def _digest_every(digest: Any, where: str, problems: list) -> float | None:
    if isinstance(digest, str | int | float) and not isinstance(digest, bool):
        digest = {"every": digest}
    if not isinstance(digest, dict) or "every" not in digest:
        problems.append((f"{where}.digest", "mode digest needs a schedule, e.g. digest: {every: 1h}"))
        return None
    for k in digest:
        if k != "every":
            problems.append((f"{where}.digest.{k}", "unknown key (known: every)"))
    try:
        return parse_duration(digest["every"])
    except ValueError as exc:
        problems.append((f"{where}.digest.every", str(exc)))
        return None


def _volume(raw, where: str, problems: list) -> VolumeSpec:
    spec = VolumeSpec()
    if raw is None:
        return spec
    if not isinstance(raw, dict):
        problems.append((where, "expected a mapping, e.g. {window: 1d, baseline: 14d, ratio: 3, min_count: 5}"))
        return spec
    for k in raw:
        if k not in VOLUME_KEYS:
            problems.append((f"{where}.{k}", f"unknown key (known: {', '.join(VOLUME_KEYS)})"))
    for k in ("window", "baseline"):
        if raw.get(k) is not None:
            try:
                setattr(spec, k, parse_duration(raw[k]))
            except ValueError as exc:
                problems.append((f"{where}.{k}", str(exc)))
    direction = raw.get("direction", "up")
    if direction not in DIRECTIONS:
        problems.append((f"{where}.direction", f"{direction!r}: expected up, down or both"))
    else:
        spec.direction = direction
    ratio = raw.get("ratio", spec.ratio)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio <= 1:
        problems.append((f"{where}.ratio", "expected a number above 1 (3 = three times the usual volume)"))
    else:
        spec.ratio = float(ratio)
    min_count = raw.get("min_count", spec.min_count)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        problems.append((f"{where}.min_count", "expected a whole number of articles, at least 1"))
    else:
        spec.min_count = min_count
    if spec.baseline < spec.window:
        problems.append((f"{where}.baseline", "the baseline must be at least as long as the window"))
    return spec


def parse_rules(data, file: str, env: dict[str, str] | None = None, check_queries: bool = True) -> list[Rule]:
    """Rules from the parsed YAML document; RulesError listing every problem."""
    env = dict(os.environ if env is None else env)
    problems: list[tuple[str, str]] = []
    if data is None:
        return []
    if not isinstance(data, dict):
        raise RulesError(file, [("", "expected a mapping with a `rules:` list")])
    for k in data:
        if k != "rules":
            problems.append((str(k), "unknown key (the file holds one key, rules:)"))
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RulesError(file, problems + [("rules", "expected a list of rules")])
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_rules):
        rule = _rule(i, raw, env, problems, check_queries)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append((f"rules[{i}].name", f"{rule.name!r} is already the name of rules[{seen[rule.name]}]"))
            continue
        seen[rule.name] = i
        rules.append(rule)
    if problems:
        raise RulesError(file, problems)
    return rules


def load_rules(path: str | Path, env: dict[str, str] | None = None, check_queries: bool = True,
               missing_ok: bool = True) -> list[Rule]:
    """The rules of `path` (config/rules.yaml). A missing file means no rules unless `missing_ok` is False."""
    from ingest.config import read_yaml

    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise ConfigError(str(path), "", "file not found (alert rules live in config/rules.yaml)")
    return parse_rules(read_yaml(path), str(path), env, check_queries)


class RuleInputError(IngestError):
    """A rule given through the CLI or the web that cannot be added; the message says why."""


def append_rule(path: Path, name: str, query: str, description: str | None = None, *,
                notify: list[str] | None = None, sources: list[str] | None = None,
                languages: list[str] | None = None, tags: list[str] | None = None) -> bool:
    """Append a new rule to rules.yaml, keeping the file's comments and layout (round-trip edit).

    The whole resulting rule list is validated exactly as the CLI and the daemon read it (query,
    channel URLs, `${VAR}` secrets present in the environment) before the file is replaced; an
    existing name is refused (edit the file to change a rule). A failed check leaves the file as it was.
    """
    import json

    from ingest.config_edit import edit_list

    if not query.strip():
        raise RuleInputError("a rule needs a query")
    entry: dict[str, Any] = {"name": name, "query": query}
    if description:
        entry["description"] = description
    for key, value in (("sources", sources), ("languages", languages), ("tags", tags), ("notify", notify)):
        if value:
            entry[key] = list(value)

    def change(items: list) -> bool:
        plain = json.loads(json.dumps(list(items), default=str))
        if any(isinstance(r, dict) and r.get("name") == name for r in plain):
            raise RuleInputError(f"a rule named {name!r} already exists (edit {path} to change it)")
        try:
            parse_rules({"rules": [*plain, entry]}, str(path))
        except RulesError as exc:
            mine = [m for k, m in exc.problems if k.startswith(f"rules[{len(plain)}]")]
            raise RuleInputError(mine[0] if mine else str(exc)) from None
        items.append(entry)
        return True

    return edit_list(Path(path), "rules", change)
