"""Watchlists of people, organisations, places and topics: `config/entities.yaml`, applied to every article.

    entities:
      - name: Nicolás Maduro            # the canonical name stored in the article's `entities`
        type: person                    # person | organization | place | topic | other
        aliases: [Maduro, Nicolas Maduro, Präsident Maduro]
        forms:                          # language-specific extra forms (genitives, transliterations)
          de: [Maduros]
          ru: [Мадуро]
        exclude: [Maduro-Straße]        # phrases that never count (a street, a namesake)

An alias matches as a whole phrase, case- and accent-insensitively (Nicolas = Nicolás, Müller =
Mueller), after the `exclude` phrases are blanked out of the text; `forms` apply to articles in
that language (or of unknown language). An analyst writes the spellings once here instead of long
OR-lists in every query; `entity:"Nicolás Maduro"` then finds every spelling, on both backends, in
search, dashboards and alert rules (a watchlist entry is a rule away: `query: entity:"Nicolás Maduro"`).
Named-entity recognition proper is not done: no maintained package ships a model inside its wheel
for the languages we need, and nothing may be downloaded at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError
from ingest.text import fold as text_fold

TYPES = ("person", "organization", "place", "topic", "other")
KEYS = {"name", "type", "aliases", "forms", "exclude", "description"}
MAX_TEXT = 200_000


UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def fold(text: str) -> str:
    """ingest.text.fold after German umlauts are written out, so Müller and Mueller are one spelling."""
    return text_fold(text.lower().translate(UMLAUTS))


def _pattern(phrases: list[str]) -> re.Pattern | None:
    folded = sorted({fold(p).strip() for p in phrases if p.strip()}, key=len, reverse=True)
    if not folded:
        return None
    # whole words: no letter or digit right before or after (linear: one alternation, no nesting)
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(p) for p in folded) + r")(?![\w])")


@dataclass(slots=True)
class Entity:
    name: str
    type: str = "other"
    aliases: list[str] = field(default_factory=list)
    forms: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    description: str | None = None
    _all: re.Pattern | None = None
    _by_lang: dict[str, re.Pattern | None] = field(default_factory=dict)
    _exclude: re.Pattern | None = None

    def compile(self) -> Entity:
        base = [self.name, *self.aliases]
        self._all = _pattern(base + [f for forms in self.forms.values() for f in forms])
        self._by_lang = {lang: _pattern(base + forms) for lang, forms in self.forms.items()}
        self._by_lang[""] = _pattern(base)
        self._exclude = _pattern(self.exclude)
        return self

    def matches(self, folded_text: str, language: str | None) -> bool:
        if self._exclude is not None:
            folded_text = self._exclude.sub(" ", folded_text)
        pattern = self._all if not language else self._by_lang.get(language, self._by_lang[""])
        return pattern is not None and pattern.search(folded_text) is not None


class Watchlist:
    def __init__(self, entities: list[Entity]):
        self.entities = [e.compile() for e in entities]

    def __bool__(self) -> bool:
        return bool(self.entities)

    def find(self, title: str, body: str, language: str | None = None) -> list[str]:
        text = fold(f"{title}\n{body[:MAX_TEXT]}")
        return [e.name for e in self.entities if e.matches(text, language)]


def tag_articles(articles, watchlist: Watchlist | None) -> None:
    """Set each article's `places` (gazetteer) and `entities` (watchlist) from its title and body."""
    from ingest.enrich.places import find_places

    for a in articles:
        a.places = find_places(a.title, a.body, a.language)
        a.entities = watchlist.find(a.title, a.body, a.language) if watchlist else []


def _strings(value: Any, where: str, path: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(str(path), where, "expected a list of non-empty strings")
    return [v.strip() for v in value]


def load_watchlist(path: Path) -> Watchlist:
    """Watchlist from entities.yaml (a missing file: empty). Errors name the file and key."""
    from ingest.config import read_yaml

    path = Path(path)
    if not path.exists():
        return Watchlist([])
    data = read_yaml(path) or {}
    if not isinstance(data, dict) or set(data) - {"entities"}:
        raise ConfigError(str(path), "", "expected a mapping with one key, `entities:` (a list)")
    items = data.get("entities") or []
    if not isinstance(items, list):
        raise ConfigError(str(path), "entities", "expected a list")
    out, seen = [], set()
    for i, item in enumerate(items):
        where = f"entities[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(str(path), where, "expected a mapping with at least `name`")
        unknown = sorted(set(item) - KEYS)
        if unknown:
            raise ConfigError(str(path), f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(KEYS))})")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(str(path), f"{where}.name", "every entity needs a name")
        if name in seen:
            raise ConfigError(str(path), f"{where}.name", f"{name!r} is listed twice")
        seen.add(name)
        kind = item.get("type", "other")
        if kind not in TYPES:
            raise ConfigError(str(path), f"{where}.type", f"{kind!r}: expected one of {', '.join(TYPES)}")
        forms = item.get("forms") or {}
        if not isinstance(forms, dict):
            raise ConfigError(str(path), f"{where}.forms", "expected a mapping of language code to forms")
        out.append(Entity(name=name.strip(), type=kind, aliases=_strings(item.get("aliases"), f"{where}.aliases", path),
                          forms={str(k): _strings(v, f"{where}.forms.{k}", path) for k, v in forms.items()},
                          exclude=_strings(item.get("exclude"), f"{where}.exclude", path),
                          description=item.get("description")))
    return Watchlist(out)
