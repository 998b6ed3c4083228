"""Places and watchlist entities: found in every language form the data covers, stored on both
backends, queried with `place:` and `entity:`, counted as facets, re-applied to stored articles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.app import Ingest
from ingest.enrich.entities import load_watchlist, tag_articles
from ingest.enrich.places import country_name, find_places
from ingest.errors import ConfigError
from ingest.models import Article
from ingest.store import SearchRequest

WATCHLIST = """# who we watch
entities:
  - name: Nicolás Maduro
    type: person
    aliases: [Maduro, Nicolas Maduro, Präsident Maduro]
    forms: {de: [Maduros]}
    exclude: [Maduro-Straße]
  - name: Deutsche Bahn
    type: organization
    aliases: [DB]
"""


@pytest.mark.parametrize(("title", "body", "expected"), [
    ("Drohnen für Caracas", "Die venezolanische Regierung empfing iranische Techniker.", {"VE", "IR", "Caracas"}),
    ("Accord", "Les autorités vénézuéliennes ont signé avec Téhéran.", {"VE", "IR", "Tehran"}),
    ("Acuerdo", "El gobierno venezolano y funcionarios iraníes firmaron en Caracas.", {"VE", "IR", "Caracas"}),
    ("Accordo", "Il governo venezuelano ha firmato con l'Iran.", {"VE", "IR"}),
    ("Deal", "Venezuelan officials met Iranian engineers in the U.S. embassy.", {"VE", "IR", "US"}),
    ("Kiew", "In Kiew heulten die Sirenen; Russland griff an.", {"UA", "RU", "Kyiv"}),
])
def test_places_in_many_forms(title, body, expected):
    assert set(find_places(title, body)) == expected             # language unknown: every language's forms
    language = {"Drohnen für Caracas": "de", "Accord": "fr", "Acuerdo": "es", "Accordo": "it"}.get(title, "en")
    if title != "Kiew":
        assert set(find_places(title, body, language)) == expected


def test_every_country_code_in_the_place_data_is_a_code():
    """YAML reads an unquoted NO (Norway) as false: an article saying "Norwegian" then broke the store batch."""
    import yaml

    from ingest.enrich.places import DATA

    codes = list(yaml.safe_load(DATA.read_text(encoding="utf-8")))
    assert all(isinstance(c, str) and len(c) == 2 and c.isupper() for c in codes), [c for c in codes if not isinstance(c, str)]
    assert find_places("Oil", "Norwegian officials met in the capital.", "en") == ["NO"]


def test_no_places_in_look_alikes():
    assert find_places("Heirat im Dorf", "Der Rat tagte; in Indiana und bei den Indianern blieb es ruhig.", "de") == []
    assert find_places("Thanksgiving", "the turkey was cheap this year", "en") == []   # lower-case: the bird
    assert country_name("VE", "de") == "Venezuela" and country_name("Caracas") == "Caracas"


def test_watchlist_aliases_forms_exclusions(tmp_path):
    path = tmp_path / "entities.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    watch = load_watchlist(path)
    assert watch.find("Venezuela", "Präsident Maduro sprach.", "de") == ["Nicolás Maduro"]
    assert watch.find("x", "NICOLAS MADURO said", "en") == ["Nicolás Maduro"]        # case and accents folded
    assert watch.find("x", "Maduros Rede", "de") == ["Nicolás Maduro"]               # a German form
    assert watch.find("x", "Maduros speech", "en") == []                              # not an English form
    assert watch.find("x", "Die Maduro-Straße wurde gesperrt.", "de") == []           # excluded phrase
    assert watch.find("x", "Madurojas", "es") == []                                   # whole words only
    assert watch.find("Streik", "Die DB streikt.", "de") == ["Deutsche Bahn"]


@pytest.mark.parametrize(("text", "key"), [
    ("entities:\n  - {aliases: [x]}\n", "entities[0].name"),
    ("entities:\n  - {name: A, type: planet}\n", "entities[0].type"),
    ("entities:\n  - {name: A, colour: red}\n", "entities[0].colour"),
    ("entities:\n  - {name: A}\n  - {name: A}\n", "entities[1].name"),
    ("entities:\n  - {name: A, forms: {de: [1]}}\n", "entities[0].forms.de"),
])
def test_bad_watchlists_name_the_key(tmp_path, text, key):
    path = tmp_path / "entities.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_watchlist(path)
    assert f"{path}: {key}:" in str(exc.value)


def art(i: str, title: str, body: str, lang: str = "de") -> Article:
    return Article(id=i, url=f"https://blatt.test/{i}", title=title, body=body, source="Blatt", domain="blatt.test",
                   language=lang, published=datetime(2026, 11, 20, tzinfo=UTC), content_hash=i)


@pytest.fixture
def app(backend_settings):
    (backend_settings.entities_file).write_text(WATCHLIST, encoding="utf-8")
    application = Ingest(backend_settings)
    arts = [art("a1", "Maduro empfängt Delegation", "Präsident Maduro empfing in Caracas iranische Gäste."),
            art("a2", "Ölpreise", "Die venezolanische Ölförderung stieg."),
            art("a3", "Bahnstreik", "Die Deutsche Bahn streikt in München."),
            art("a4", "Straßenfest", "Auf der Maduro-Straße wurde gefeiert.")]
    tag_articles(arts, application.watchlist())
    application.store.index.upsert_articles(arts)
    flush = (application.store.index.outbox.flush if application.store.index.outbox else None)
    if flush:
        flush()
    yield application
    application.close()


def ids(app, query: str) -> set[str]:
    return {h.id for h in app.search(query, limit=50).hits}


def test_place_and_entity_queries_on_both_backends(app):
    assert ids(app, "place:VE") == {"a1", "a2"}                  # Caracas and "venezolanische" count for VE
    assert ids(app, "place:Caracas") == {"a1"}
    assert ids(app, "place:(IR OR DE)") == {"a1", "a3"}
    assert ids(app, 'entity:"Nicolás Maduro"') == {"a1"}         # not the street
    assert ids(app, 'entity:"nicolás maduro" AND NOT place:IR') == set()
    assert ids(app, "entity:Deutsche*") == {"a3"}
    facets = dict(app.store.index.facet(SearchRequest(), "places", 10))
    assert facets["VE"] == 2 and facets["Caracas"] == 1
    assert dict(app.store.index.facet(SearchRequest(), "entities", 10)) == {"Nicolás Maduro": 1, "Deutsche Bahn": 1}


def test_retag_applies_an_edited_watchlist(app):
    app.settings.entities_file.write_text(WATCHLIST + "  - {name: Ölförderung, type: topic}\n", encoding="utf-8")
    assert app.retag() == 1
    assert ids(app, "entity:Ölförderung") == {"a2"}


def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    """An existing SQLite file from before places/entities gets the columns when opened; nothing is lost."""
    from ingest.store import open_sqlite
    from ingest.store.sqlite.schema import SCHEMA_VERSION

    path = str(tmp_path / "old.db")
    store = open_sqlite(path)
    store.index.upsert_articles([art("old", "Alt", "Ein Artikel aus der alten Version.")])
    for column in ("places", "entities"):
        store.index.query(f"ALTER TABLE articles DROP COLUMN {column}")
    store.index.query("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store.close()
    store = open_sqlite(path)
    try:
        assert store.state.db.schema_version() == SCHEMA_VERSION >= 2
        old = store.index.get_article("old")
        assert old.body == "Ein Artikel aus der alten Version." and old.places == [] and old.entities == []
    finally:
        store.close()
