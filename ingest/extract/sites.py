r"""Per-site cleaning rules from `config/sites/*.yaml`, on top of the built-in rule pack.

    # config/sites/example.org.yaml
    domain: example.org            # also matches www.example.org; a list is allowed: [a.org, b.org]
    strip:                         # removed from the page before trafilatura sees it
      - "//div[@class='newsletter-box']"       # XPath (starts with / or ( )
      - "aside.related, div#promo"             # or simple CSS: tag, .class, #id, [attr], [attr=v]
    strip_text:                    # regular expressions (case-insensitive); a body block they match is removed
      - "^Lesen Sie auch:"
    request:                       # how this site's feeds and pages are requested (ingest/sources/profile.py)
      user_agent: "Mozilla/5.0 ..."
      cookies: {consent: "yes"}
      politeness: {min_interval: 2}

A feed's own `profile:` in feeds.yaml wins over the site's `request:` key by key.

`strip_text` patterns are untrusted input to a backtracking engine, so they are checked when
loaded and bounded when run: a pattern with a repetition inside an unbounded repetition
(`^(a+)+$`, `(\w+\s?)*`) or an ambiguous alternation under one (`(a|aa)+`, `(x|x)*`) is a
ConfigError naming the file and key (rewrite it, or make the inner part possessive `a++` or atomic
`(?>...)`); each pattern then runs in the `regex` module with a time budget of `PATTERN_TIMEOUT`
seconds per block on at most `PATTERN_MAX_CHARS` characters, and a pattern that overruns is
switched off for the rest of that article with a warning naming it.

`prune_xpaths` and `drop_patterns` (the `SiteProfile` field names) are accepted as synonyms of
`strip` and `strip_text`. A file may also hold several sites: a YAML list of such mappings, or
`sites: [...]`. Every problem is a `ConfigError(file, key, message)` naming the file and the key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]  # the parser's tables: no public API, no stubs
from re import _parser as sre_parse  # type: ignore[attr-defined]  # walks a pattern's parse tree
from typing import Any

import regex
from lxml import etree

from ingest.config import read_yaml
from ingest.errors import ConfigError
from ingest.sources.profile import RequestProfile, parse_profile

log = logging.getLogger(__name__)
PATTERN_TIMEOUT = 0.05      # seconds one site pattern may spend on one block
PATTERN_MAX_CHARS = 10_000  # characters of a block a site pattern reads (rules target short blocks)
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
KEYS = {"domain": "domain", "strip": "strip", "prune_xpaths": "strip", "strip_text": "strip_text",
        "drop_patterns": "strip_text", "notes": "notes", "request": "request"}
# one compound selector: tag, .class, #id and [attr], [attr=v], [attr^=v], [attr$=v], [attr*=v], [attr~=v]
COMPOUND = re.compile(r"^(?P<tag>[a-zA-Z][\w-]*|\*)?(?P<rest>(?:\.[\w-]+|#[\w-]+|\[[^\]]+\])*)$")
PART = re.compile(r"\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+)|\[(?P<attr>[\w:-]+)\s*(?:(?P<op>[~^$*]?=)\s*(?P<val>\"[^\"]*\"|'[^']*'|[^\]\s]*))?\s*\]")
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d+)?$")


@dataclass(slots=True)
class SiteProfile:
    """What the cleaner knows about one site: config rules and learned boilerplate."""

    domain: str
    prune_xpaths: list[str] = field(default_factory=list)
    drop_patterns: list = field(default_factory=list)  # re.Pattern or SitePattern (time-budgeted)
    learned: set[str] = field(default_factory=set)
    source: str | None = None  # the config file it came from
    request: RequestProfile | None = None  # the file's `request:` section (ingest.sources.profile)


def _literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return "concat('" + "', \"'\", '".join(value.split("'")) + "')"


def _compound_to_xpath(piece: str) -> str | None:
    m = COMPOUND.match(piece)
    if not m or not piece:
        return None
    step = m.group("tag") or "*"
    for part in PART.finditer(m.group("rest")):
        if part.group("cls"):
            step += f"[contains(concat(' ', normalize-space(@class), ' '), ' {part.group('cls')} ')]"
        elif part.group("id"):
            step += f"[@id='{part.group('id')}']"
        else:
            attr, op, val = part.group("attr"), part.group("op"), part.group("val")
            if op is None:
                step += f"[@{attr}]"
                continue
            val = val[1:-1] if val[:1] in "'\"" else val
            lit = _literal(val)
            step += {
                "=": f"[@{attr}={lit}]",
                "^=": f"[starts-with(@{attr}, {lit})]",
                "$=": f"[substring(@{attr}, string-length(@{attr}) - {len(val) - 1})={lit}]",
                "*=": f"[contains(@{attr}, {lit})]",
                "~=": f"[contains(concat(' ', normalize-space(@{attr}), ' '), ' {val} ')]",
            }[op]
    return step


def css_to_xpath(selector: str) -> str | None:
    """Simple CSS to XPath: compound selectors (`tag`, `.class`, `#id`, `tag.class#id`, `[attr]`,
    `[attr=v]`, `[attr^=v]`, `[attr$=v]`, `[attr*=v]`, `[attr~=v]`), descendant chains (`aside .promo`)
    and groups (`a, b`). Anything else (`>`, `+`, `~`, pseudo-classes) gives None: write XPath then."""
    groups = [g.strip() for g in selector.split(",")]
    if not all(groups):
        return None
    paths = []
    for group in groups:
        steps = []
        for piece in re.findall(r"(?:[^\s\[]|\[[^\]]*\])+", group):
            step = _compound_to_xpath(piece)
            if step is None:
                return None
            steps.append(step)
        if not steps:
            return None
        paths.append("//" + "//".join(steps))
    return " | ".join(paths)


def _xpath(expr: Any, file: str, key: str) -> str:
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(file, key, "expected an XPath or a CSS selector (a string)")
    expr = expr.strip()
    xp = expr if expr.startswith(("/", "(", "./")) else css_to_xpath(expr)
    if xp is None:
        raise ConfigError(file, key, f"{expr!r} is neither an XPath (starting with / or ( ) nor a simple CSS "
                                     "selector (tag, .class, #id, [attr=value], descendants, groups)")
    try:
        etree.XPath(xp)
    except etree.XPathSyntaxError as exc:
        raise ConfigError(file, key, f"invalid XPath {xp!r}: {exc}") from None
    return xp


class SitePattern:
    """A site's `strip_text` pattern, run with a time budget (see the module docstring).

    Has `pattern` and `search` like `re.Pattern`, and pickles. `extract_article` works on
    `fresh()` copies, so a pattern switched off stays off for that one article only."""

    def __init__(self, pattern: str, where: str = ""):
        self.pattern, self.where = pattern, where
        self._compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
        self.disabled = False

    def search(self, text: str):
        if self.disabled:
            return None
        try:
            return self._compiled.search(text[:PATTERN_MAX_CHARS], timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            self.disabled = True
            log.warning("%s: pattern %r ran over its %gs budget; not applied to the rest of this article",
                        self.where or "site rule", self.pattern, PATTERN_TIMEOUT)
            return None

    def fresh(self) -> SitePattern:
        """A copy for one article (switched on again), sharing the compiled pattern."""
        copy = object.__new__(SitePattern)
        copy.pattern, copy.where, copy._compiled, copy.disabled = self.pattern, self.where, self._compiled, False
        return copy

    def __repr__(self) -> str:
        return f"SitePattern({self.pattern!r})"


def _first_literals(branch: list) -> int | None:
    return branch[0][1] if branch and branch[0][0] == sre.LITERAL else None


def backtracking_risk(items, repeated: bool = False) -> str | None:
    """Why the parsed pattern can backtrack exponentially, or None: a repetition inside an
    unbounded repetition, or an alternation under one whose branches can match the same start."""
    for op, av in items:
        if op in REPEATS:
            low, high, body = av
            if repeated and high > 1:
                return "a repetition inside a repetition can backtrack exponentially"
            found = backtracking_risk(body, repeated or high == sre.MAXREPEAT)
        elif op == sre.BRANCH:
            branches = av[1]
            if repeated:
                firsts = [_first_literals(b) for b in branches]
                if any(not b for b in branches) or len({f for f in firsts if f is not None}) < sum(
                        1 for f in firsts if f is not None):
                    return "alternatives that can match the same text inside a repetition backtrack exponentially"
            found = next((r for r in (backtracking_risk(b, repeated) for b in branches) if r), None)
        elif op == sre.SUBPATTERN:
            found = backtracking_risk(av[3], repeated)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = backtracking_risk(av[1], repeated)
        else:  # literals, classes, anchors; atomic groups and possessive repeats never backtrack into
            found = None
        if found:
            return found
    return None


def _pattern(value: Any, file: str, key: str) -> SitePattern:
    if not isinstance(value, str) or not value:
        raise ConfigError(file, key, "expected a regular expression (a string)")
    try:
        parsed = sre_parse.parse(value, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(file, key, f"invalid regular expression: {exc}") from None
    risk = backtracking_risk(list(parsed))
    if risk:
        raise ConfigError(file, key, f"{value!r}: {risk}; rewrite it (or use a possessive a++ / atomic (?>...) inner part)")
    try:
        return SitePattern(value, f"{file}: {key}")
    except regex.error as exc:
        raise ConfigError(file, key, f"invalid regular expression: {exc}") from None


def _list(data: dict, names: list[str], file: str, prefix: str) -> tuple[str, list]:
    present = [n for n in names if n in data]
    if len(present) > 1:
        raise ConfigError(file, prefix + present[1], f"same as {present[0]}: give only one of them")
    if not present or data[present[0]] is None:
        return (names[0], [])
    value = data[present[0]]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(file, prefix + present[0], "expected a list")
    return present[0], value


def parse_site(data: Any, file: str, prefix: str = "") -> list[SiteProfile]:
    """One site mapping -> one profile per domain it names."""
    if not isinstance(data, dict):
        raise ConfigError(file, prefix.rstrip(".") or "", "expected a mapping with domain, strip, strip_text")
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ConfigError(file, prefix + str(unknown[0]),
                          "unknown key (known: domain, strip or prune_xpaths, strip_text or drop_patterns, "
                          "request, notes)")
    domains = data.get("domain")
    domains = [domains] if isinstance(domains, str) else domains
    if not domains or not isinstance(domains, list) or not all(isinstance(d, str) and d.strip() for d in domains):
        raise ConfigError(file, prefix + "domain", "expected a domain name or a list of them")
    keys = []
    for d in domains:
        key = d.strip().lower().removeprefix("www.")
        if "/" in key or not DOMAIN.match(key):
            raise ConfigError(file, prefix + "domain", f"{d!r} is not a host name (write example.org, not a URL)")
        keys.append(key)
    strip_key, strip = _list(data, ["strip", "prune_xpaths"], file, prefix)
    text_key, texts = _list(data, ["strip_text", "drop_patterns"], file, prefix)
    xpaths = [_xpath(x, file, f"{prefix}{strip_key}[{i}]") for i, x in enumerate(strip)]
    patterns = [_pattern(x, file, f"{prefix}{text_key}[{i}]") for i, x in enumerate(texts)]
    request = parse_profile(data.get("request"), file, prefix + "request", scope=tuple(keys))
    return [SiteProfile(domain=k, prune_xpaths=list(xpaths), drop_patterns=list(patterns), source=file,
                        request=request) for k in keys]


def load_site_profiles(sites_dir: Path) -> dict[str, SiteProfile]:
    """Profiles by domain (lower case, without www.); an empty dict when the folder does not exist."""
    profiles: dict[str, SiteProfile] = {}
    sites_dir = Path(sites_dir)
    if not sites_dir.is_dir():
        return profiles
    for path in sorted([*sites_dir.glob("*.yaml"), *sites_dir.glob("*.yml")]):
        file = str(path)
        data = read_yaml(path)
        if data is None:
            continue
        if isinstance(data, dict) and "sites" in data:
            if set(data) != {"sites"} or not isinstance(data["sites"], list):
                raise ConfigError(file, "sites", "expected `sites:` alone, with a list of site mappings")
            entries = [(item, f"sites[{i}].") for i, item in enumerate(data["sites"])]
        elif isinstance(data, list):
            entries = [(item, f"[{i}].") for i, item in enumerate(data)]
        else:
            entries = [(data, "")]
        for item, prefix in entries:
            for profile in parse_site(item, file, prefix):
                if profile.domain in profiles:
                    other = profiles[profile.domain].source
                    raise ConfigError(file, prefix + "domain", f"{profile.domain} is already configured in {other}")
                profiles[profile.domain] = profile
    return profiles
