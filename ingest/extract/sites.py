"""Per-site cleaning rules from `config/sites/*.yaml`, on top of the built-in rule pack.

    # config/sites/example.org.yaml
    domain: example.org            # also matches www.example.org; a list is allowed: [a.org, b.org]
    strip:                         # removed from the page before trafilatura sees it
      - "//div[@class='newsletter-box']"       # XPath (starts with / or ( )
      - "aside.related, div#promo"             # or simple CSS: tag, .class, #id, [attr], [attr=v]
    strip_text:                    # regular expressions (case-insensitive); a body block they match is removed
      - "^Lesen Sie auch:"

`prune_xpaths` and `drop_patterns` (the `SiteProfile` field names) are accepted as synonyms of
`strip` and `strip_text`. A file may also hold several sites: a YAML list of such mappings, or
`sites: [...]`. Every problem is a `ConfigError(file, key, message)` naming the file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lxml import etree

from ingest.config import read_yaml
from ingest.errors import ConfigError
from ingest.extract.clean import SiteProfile

KEYS = {"domain": "domain", "strip": "strip", "prune_xpaths": "strip", "strip_text": "strip_text",
        "drop_patterns": "strip_text", "notes": "notes"}
# one compound selector: tag, .class, #id and [attr], [attr=v], [attr^=v], [attr$=v], [attr*=v], [attr~=v]
COMPOUND = re.compile(r"^(?P<tag>[a-zA-Z][\w-]*|\*)?(?P<rest>(?:\.[\w-]+|#[\w-]+|\[[^\]]+\])*)$")
PART = re.compile(r"\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+)|\[(?P<attr>[\w:-]+)\s*(?:(?P<op>[~^$*]?=)\s*(?P<val>\"[^\"]*\"|'[^']*'|[^\]\s]*))?\s*\]")
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d+)?$")


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


def _pattern(value: Any, file: str, key: str) -> re.Pattern:
    if not isinstance(value, str) or not value:
        raise ConfigError(file, key, "expected a regular expression (a string)")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
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
                          "unknown key (known: domain, strip or prune_xpaths, strip_text or drop_patterns, notes)")
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
    return [SiteProfile(domain=k, prune_xpaths=list(xpaths), drop_patterns=list(patterns), source=file) for k in keys]


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
