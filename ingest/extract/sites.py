"""Per-site cleaning rules from `config/sites/*.yaml` (in the spirit of FiveFilters site configs).

    # config/sites/example.org.yaml
    domain: example.org            # also matches www.example.org; a list is allowed: [a.org, b.org]
    strip:                         # removed from the page before trafilatura sees it
      - "//div[@class='newsletter-box']"       # XPath
      - "aside.related"                        # or a simple CSS selector: tag, .class, #id, tag.class
    strip_text:                    # regular expressions; a body paragraph they match is removed
      - "^Lesen Sie auch:"
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from ingest.config import read_yaml
from ingest.errors import ConfigError
from ingest.extract.clean import SiteProfile

SIMPLE_CSS = re.compile(r"^(?P<tag>[a-zA-Z][\w-]*)?(?:(?P<dot>\.)(?P<cls>[\w-]+)|#(?P<id>[\w-]+))?$")
KNOWN_KEYS = {"domain", "strip", "strip_text"}


def css_to_xpath(selector: str) -> str | None:
    """`tag`, `.class`, `#id`, `tag.class`, `tag#id`, and descendant chains of those; else None."""
    parts = []
    for piece in selector.split():
        m = SIMPLE_CSS.match(piece)
        if not m or not (m.group("tag") or m.group("cls") or m.group("id")):
            return None
        step = m.group("tag") or "*"
        if m.group("cls"):
            step += f"[contains(concat(' ', normalize-space(@class), ' '), ' {m.group('cls')} ')]"
        if m.group("id"):
            step += f"[@id='{m.group('id')}']"
        parts.append(step)
    return "//" + "//".join(parts)


def _xpath(expr: str, file: str, key: str) -> str:
    xp = expr if expr.startswith(("/", "(")) else css_to_xpath(expr)
    if xp is None:
        raise ConfigError(file, key, f"{expr!r} is neither an XPath nor a simple CSS selector (tag, .class, #id)")
    try:
        etree.XPath(xp)
    except etree.XPathSyntaxError as exc:
        raise ConfigError(file, key, f"invalid XPath {xp!r}: {exc}") from None
    return xp


def load_site_profiles(sites_dir: Path) -> dict[str, SiteProfile]:
    """Profiles by domain (without www.); an empty dict when the folder does not exist."""
    profiles: dict[str, SiteProfile] = {}
    if not sites_dir.is_dir():
        return profiles
    for path in sorted(sites_dir.glob("*.y*ml")):
        data = read_yaml(path) or {}
        file = str(path)
        if not isinstance(data, dict):
            raise ConfigError(file, "", "expected a mapping with domain, strip, strip_text")
        unknown = set(data) - KNOWN_KEYS
        if unknown:
            raise ConfigError(file, sorted(unknown)[0], f"unknown key (known: {', '.join(sorted(KNOWN_KEYS))})")
        domains = data.get("domain")
        domains = [domains] if isinstance(domains, str) else domains
        if not domains or not all(isinstance(d, str) and d for d in domains):
            raise ConfigError(file, "domain", "expected a domain name or a list of them")
        xpaths = [_xpath(str(x), file, f"strip[{i}]") for i, x in enumerate(data.get("strip") or [])]
        patterns = []
        for i, pattern in enumerate(data.get("strip_text") or []):
            try:
                patterns.append(re.compile(str(pattern), re.IGNORECASE))
            except re.error as exc:
                raise ConfigError(file, f"strip_text[{i}]", f"invalid regular expression: {exc}") from None
        for domain in domains:
            key = domain.lower().removeprefix("www.")
            profiles[key] = SiteProfile(domain=key, prune_xpaths=xpaths, drop_patterns=patterns)
    return profiles
