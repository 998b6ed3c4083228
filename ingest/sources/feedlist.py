"""The feed list: `config/feeds.yaml`, plus OPML import and export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from ingest.config import parse_flag, read_yaml
from ingest.errors import ConfigError
from ingest.models import FeedConfig

KNOWN_KEYS = {"url", "name", "interval", "category", "enabled"}


def load_feeds(path: Path) -> list[FeedConfig]:
    """Read feeds.yaml (`feeds:` list of {url, name?, interval?, category?, enabled?}). Missing file: no feeds."""
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
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(str(path), f"{key}.url", f"expected an http(s) URL, got {url!r}")
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
        feeds.append(FeedConfig(url=url, name=texts["name"], interval=interval, category=texts["category"],
                                enabled=enabled))
    return feeds


def save_feeds(path: Path, feeds: list[FeedConfig]) -> None:
    """Write feeds.yaml atomically, keeping only keys that differ from the defaults."""
    items = []
    for feed in feeds:
        item: dict = {"url": feed.url}
        if feed.name:
            item["name"] = feed.name
        if feed.category:
            item["category"] = feed.category
        if feed.interval:
            item["interval"] = feed.interval
        if not feed.enabled:
            item["enabled"] = False
        items.append(item)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text("# Feeds polled by ingest. Edit by hand or with `ingest feeds add|remove|import-opml`.\n"
                   + yaml.safe_dump({"feeds": items}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)


def add_feed(path: Path, feed: FeedConfig) -> bool:
    """Append a feed; False if its URL is already listed."""
    feeds = load_feeds(path)
    if any(f.url == feed.url for f in feeds):
        return False
    feeds.append(feed)
    save_feeds(path, feeds)
    return True


def remove_feed(path: Path, url: str) -> bool:
    feeds = load_feeds(path)
    kept = [f for f in feeds if f.url != url and f.name != url]
    if len(kept) == len(feeds):
        return False
    save_feeds(path, kept)
    return True


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
                if url is None or url in seen:
                    continue
                seen.add(url)
                name = text if text and text.strip() != raw.strip() else None
                feeds.append(FeedConfig(url=url, name=name, category=_category(outline.get("category")) or category))
            else:
                walk(outline, text or category)

    walk(body, None)
    return feeds


def _category(value: str | None) -> str | None:
    """First category of an OPML 2.0 `category` attribute ("/News/World,/Tech" -> "News/World")."""
    if not value:
        return None
    first = value.split(",")[0].strip().strip("/")
    return first or None


def to_opml(feeds: list[FeedConfig], title: str = "ingest feeds") -> str:
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
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
