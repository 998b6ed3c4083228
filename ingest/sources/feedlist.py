"""The feed list: `config/feeds.yaml`, plus OPML import and export.

Every feed URL is checked (`urls.check_url`) when a feed is added and when an OPML file is
imported: a URL that could never be polled (bad port or IPv6 literal, control characters, too
long, not http(s)) is an error naming the file and the entry. In a hand-edited feeds.yaml such a
URL is logged (file and entry) and kept, so that one bad line never stops the other feeds: its poll
fails with the same reason, recorded on that feed (`ingest status`). `strict=True` raises instead. OPML files are read by expat with
any DOCTYPE internal subset refused, so no entity can be declared whatever the file's encoding.

A feed's `profile:` (user agent, headers, cookies, proxy, fetch_pages, politeness) is parsed by
`ingest.sources.profile`; an error in it names the file, the entry, its URL and the key. Saving the
list (`feeds add/remove/import-opml`) never rewrites an existing entry's profile. OPML carries the
user agent, cookies, headers and proxy in FreshRSS's namespace (`frss:CURLOPT_USERAGENT`,
`CURLOPT_COOKIE`, `CURLOPT_HTTPHEADER` one `Name: value` per line, `CURLOPT_PROXY`), written as in
feeds.yaml (a `${VAR}` reference, never its value); `fetch_pages` and `politeness` have no OPML
convention and stay in feeds.yaml.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from xml.parsers import expat

from ingest.config import parse_flag, read_yaml
from ingest.errors import ConfigError
from ingest.models import FeedConfig
from ingest.sources.profile import (
    OPML_NS,
    feed_scope,
    from_opml_attributes,
    parse_profile,
    to_opml_attributes,
)
from ingest.sources.urls import InvalidURL, check_url

log = logging.getLogger("ingest.sources")
KNOWN_KEYS = {"url", "name", "interval", "category", "enabled", "profile"}


def load_feeds(path: Path, strict: bool = False, env: Mapping[str, str] | None = None) -> list[FeedConfig]:
    """Read feeds.yaml (`feeds:` list of {url, name?, interval?, category?, enabled?, profile?}). Missing
    file: no feeds. A URL that can never be polled is kept and logged (strict: a ConfigError naming the
    entry). `profile` is a request profile (`ingest.sources.profile`); its `${VAR}` secrets come from
    `env` (default: the process environment)."""
    if not path.exists():
        return []
    data = read_yaml(path) or {}
    items = data.get("feeds") if isinstance(data, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(str(path), "feeds", "expected a list of feeds")
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = f"feeds[{i}]"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            raise ConfigError(str(path), key, "expected a mapping with at least `url`")
        unknown = set(item) - KNOWN_KEYS
        if unknown:
            raise ConfigError(str(path), f"{key}.{sorted(unknown)[0]}", f"unknown key (known: {', '.join(sorted(KNOWN_KEYS))})")
        try:
            url = check_url(item.get("url"))
        except InvalidURL as exc:
            if strict or not isinstance(item.get("url"), str) or not item["url"].strip():
                raise ConfigError(str(path), f"{key}.url", str(exc)) from None
            log.warning("%s: %s.url: %s (this feed fails; the others are polled)", path, key, exc)
            url = item["url"].strip()
        interval = item.get("interval")
        if interval is not None and (not isinstance(interval, int | float) or interval <= 0):
            raise ConfigError(str(path), f"{key}.interval", "expected a positive number of seconds")
        texts = {}
        for k in ("name", "category"):
            value = item.get(k)
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
                raise ConfigError(str(path), f"{key}.{k}", "expected a text")
            texts[k] = str(value) if value is not None else None
        try:
            enabled = parse_flag(item.get("enabled", True))
        except ValueError as exc:
            raise ConfigError(str(path), f"{key}.enabled", str(exc)) from None
        if url in seen:
            continue
        seen.add(url)
        profile = parse_profile(item.get("profile"), str(path), f"{key} ({url}).profile", env, feed_scope(url))
        feeds.append(FeedConfig(url=url, name=texts["name"], interval=interval, category=texts["category"],
                                enabled=enabled, profile=profile))
    return feeds


HEADER = "Feeds polled by ingest. Edit by hand or with `ingest feeds add|remove|import-opml`."


def _item(feed: FeedConfig) -> dict:
    """A feed as written into feeds.yaml: only keys that differ from the defaults."""
    item: dict = {"url": feed.url}
    if feed.name:
        item["name"] = feed.name
    if feed.category:
        item["category"] = feed.category
    if feed.interval:
        item["interval"] = feed.interval
    if not feed.enabled:
        item["enabled"] = False
    if feed.profile is not None and feed.profile.raw:
        item["profile"] = _quoted(feed.profile.raw)
    return item


def _quoted(value):
    """Texts double-quoted when written: the writer speaks YAML 1.2, the loader 1.1 (`yes` stays a text)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, dict):
        return {k: _quoted(v) for k, v in value.items()}
    return DoubleQuotedScalarString(value) if isinstance(value, str) else value


def _url_of(item) -> str | None:
    return item if isinstance(item, str) else (item.get("url") if isinstance(item, dict) else None)


def save_feeds(path: Path, feeds: list[FeedConfig]) -> None:
    """Make feeds.yaml list exactly `feeds`: entries already there keep their place and comments, the
    others are appended, the rest removed."""
    from ingest.config_edit import edit_list

    wanted = {f.url: f for f in feeds}

    def change(items: list) -> bool:
        present = {_url_of(i) for i in items}
        items[:] = [i for i in items if _url_of(i) in wanted]
        for i, item in enumerate(items):  # entries already listed take the given values, in place
            fresh = _item(wanted[_url_of(item) or ""])
            if isinstance(item, str):
                items[i] = fresh if len(fresh) > 1 else item
            else:
                for key in ("name", "category", "interval", "enabled"):
                    if key in fresh:
                        item[key] = fresh[key]
                    elif key in item:
                        del item[key]
        items.extend(_item(f) for f in feeds if f.url not in present)
        return True

    edit_list(path, "feeds", change, header=HEADER)


def add_feeds(path: Path, feeds: list[FeedConfig]) -> int:
    """Append the feeds not listed yet (comments and order of the file kept); returns how many."""
    from ingest.config_edit import edit_list

    known = {f.url for f in load_feeds(path)}
    new = [f for f in dict((f.url, f) for f in feeds).values() if f.url not in known]
    def append(items: list) -> bool:
        items.extend(_item(f) for f in new)
        return True

    if new:
        edit_list(path, "feeds", append, header=HEADER)
    return len(new)


def add_feed(path: Path, feed: FeedConfig) -> bool:
    """Append a feed; False if its URL is already listed."""
    return add_feeds(path, [feed]) == 1


def remove_feed(path: Path, url: str) -> bool:
    """Remove the entry with this URL (or name); comments around other entries stay."""
    from ingest.config_edit import edit_list

    def change(items: list) -> bool:
        keep = [i for i in items if _url_of(i) != url and not (isinstance(i, dict) and i.get("name") == url)]
        if len(keep) == len(items):
            return False
        items[:] = keep
        return True

    return edit_list(path, "feeds", change, header=HEADER)


def _feed_url(raw: str | None) -> str | None:
    """An OPML xmlUrl as an http(s) URL: `feed://` and `feed:https://` forms unwrapped, others dropped."""
    url = (raw or "").strip()
    low = url.lower()
    if low.startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    return url if url.lower().startswith(("http://", "https://")) else None


def parse_opml(data: bytes) -> list[FeedConfig]:
    """Feeds of an OPML file; nested outlines become the category (innermost group title).

    The `category` attribute (OPML 2.0: comma-separated, slash-delimited paths) wins over the
    group; outlines without an http(s) xmlUrl are skipped; repeated URLs are kept once.
    """
    if b"<!ENTITY" in data.upper():
        raise ConfigError("OPML", "", "entity declarations are not allowed")
    try:
        _refuse_internal_subset(data)
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError("OPML", "", f"not valid XML: {exc}") from None
    body = root.find("body")
    if body is None:
        raise ConfigError("OPML", "body", "no <body> element")
    feeds: list[FeedConfig] = []
    seen: set[str] = set()

    def walk(node: ET.Element, category: str | None) -> None:
        for outline in node.findall("outline"):
            raw = outline.get("xmlUrl") or outline.get("xmlurl")
            text = outline.get("title") or outline.get("text")
            if raw:
                url = _feed_url(raw)
                if url is not None:
                    try:
                        url = check_url(url)
                    except InvalidURL as exc:
                        key = f"outline {text!r} xmlUrl" if text else "outline xmlUrl"
                        raise ConfigError("OPML", key, str(exc)) from None
                if url is None or url in seen:
                    continue
                seen.add(url)
                name = text if text and text.strip() != raw.strip() else None
                key = f"outline {text!r}" if text else "outline"
                profile = parse_profile(from_opml_attributes(outline.attrib), "OPML", key, scope=feed_scope(url))
                feeds.append(FeedConfig(url=url, name=name, category=_category(outline.get("category")) or category,
                                        profile=profile))
            else:
                walk(outline, text or category)

    walk(body, None)
    return feeds


def _refuse_internal_subset(data: bytes) -> None:
    """Refuse a DOCTYPE with an internal subset (where entities are declared), as expat decodes the
    document: a byte search for <!ENTITY misses it in UTF-16, EBCDIC and other encodings."""
    parser = expat.ParserCreate()

    def doctype(_name, _sysid, _pubid, has_internal_subset) -> None:
        if has_internal_subset:
            raise ConfigError("OPML", "", "entity declarations are not allowed (DOCTYPE with an internal subset)")

    def entity(*_args) -> None:
        raise ConfigError("OPML", "", "entity declarations are not allowed")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, ValueError) as exc:  # ValueError: an encoding expat cannot read (utf-16-le...)
        raise ConfigError("OPML", "", f"not valid XML: {exc}") from None


def _category(value: str | None) -> str | None:
    """First category of an OPML 2.0 `category` attribute ("/News/World,/Tech" -> "News/World")."""
    if not value:
        return None
    first = value.split(",")[0].strip().strip("/")
    return first or None


def to_opml(feeds: list[FeedConfig], title: str = "ingest feeds") -> str:
    ET.register_namespace("frss", OPML_NS)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[str | None, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in groups:
                groups[feed.category] = ET.SubElement(body, "outline", text=feed.category, title=feed.category)
            parent = groups[feed.category]
        attrs = {"type": "rss", "text": feed.name or feed.url, "xmlUrl": feed.url}
        if feed.name:
            attrs["title"] = feed.name
        if feed.profile is not None:
            attrs.update(to_opml_attributes(feed.profile))
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
