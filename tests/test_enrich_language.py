"""Language: ISO 639-1 codes, declared vs detected, and what wins when they disagree."""

from __future__ import annotations

import pytest

from ingest.enrich import language as lang_mod
from ingest.enrich.language import declared_language, detect_language, language_code, reconcile_language

GERMAN = ("Die Landesregierung hat am Dienstag einen Plan zur Sanierung der maroden Brücken vorgestellt. "
          "Bis zum Jahr 2030 sollen mehr als zweihundert Bauwerke erneuert werden, die Kosten werden auf "
          "mehrere Milliarden Euro geschätzt. Pendler müssen sich auf Umleitungen einstellen.")
ENGLISH = ("The regional government on Tuesday presented a plan to repair its crumbling bridges. More than "
           "two hundred structures are to be renewed by 2030, at a cost estimated at several billion euros. "
           "Commuters should expect diversions.")
FRENCH = ("Le gouvernement régional a présenté mardi un plan de rénovation des ponts vétustes. Plus de deux "
          "cents ouvrages doivent être remplacés d'ici 2030, pour un coût estimé à plusieurs milliards d'euros. "
          "Les automobilistes doivent s'attendre à des déviations.")


@pytest.mark.parametrize("value,code", [
    ("de", "de"), ("de-AT", "de"), ("de_at", "de"), ("DE-CH", "de"), ("en-US", "en"), ("pt-BR", "pt"),
    ("zh-Hant-TW", "zh"), ("deu", "de"), ("ger", "de"), ("German", "de"), ("iw", "he"), ("nb-NO", "no"),
    ("und", None), ("x-default", None), ("", None), (None, None), ("123", None), ("english", "en"),
])
def test_language_code_normalises_declarations(value, code):
    assert language_code(value) == code


@pytest.mark.parametrize("html,code", [
    (b'<!DOCTYPE html><html class="no-js" lang="de-AT"><head>', "de"),
    (b"<html xml:lang='fr' xmlns='http://www.w3.org/1999/xhtml'>", "fr"),
    (b'<html><head><meta http-equiv="Content-Language" content="es"></head>', "es"),
    (b'<html><head><meta property="og:locale" content="pt_BR" /></head>', "pt"),
    (b'<html><head><meta content="it_IT" property="og:locale"></head>', "it"),
    (b"<html><head><title>x</title></head>", None),
    (None, None),
])
def test_declared_language_from_the_page(html, code):
    assert declared_language(html) == code


def test_detection_on_clear_texts():
    assert detect_language(GERMAN)[0] == "de"
    assert detect_language(ENGLISH)[0] == "en"
    assert detect_language(FRENCH)[0] == "fr"
    assert detect_language("12 34 56 789 -- !!")[0] is None  # no letters, no language
    assert detect_language("")[0] is None


def test_short_text_declared_wins():
    # "Pendler" alone could be anything: too short to overrule the publisher
    assert reconcile_language("Pendler warten", declared="en") == "en"
    assert reconcile_language("Commuters wait at the station", declared="de-AT") == "de"
    assert reconcile_language("Commuters wait at the station", declared=None, feed="nl") == "nl"


def test_long_text_contradicting_a_wrong_declaration_detected_wins():
    # WordPress sites ship lang="en-US" whatever they publish in
    assert reconcile_language(GERMAN, declared="en-US") == "de"
    assert reconcile_language(ENGLISH, declared=None, feed="de") == "en"
    assert reconcile_language(FRENCH, declared="de", feed="de") == "fr"


def test_long_text_agreeing_keeps_the_code_without_region():
    assert reconcile_language(GERMAN, declared="de-AT") == "de"
    assert reconcile_language(GERMAN, declared="de_CH", feed="en") == "de"


def test_page_declaration_beats_the_feed():
    assert reconcile_language("Kurz", declared="fr", feed="de") == "fr"


def test_nothing_declared_takes_detection_even_when_short():
    assert reconcile_language("Die Brücke ist gesperrt", None, None) == "de"
    assert reconcile_language("", None, None) is None
    assert reconcile_language("", declared="it") == "it"


def test_min_chars_is_the_switch(monkeypatch):
    assert reconcile_language(ENGLISH, declared="de", min_chars=10_000) == "de"
    assert reconcile_language(ENGLISH, declared="de", min_chars=50) == "en"


def test_close_languages_keep_a_plausible_declaration(monkeypatch):
    # detector: 70 % Indonesian, 30 % Malay; the site says Malay: keep it. At 2 % it is not plausible.
    monkeypatch.setattr(lang_mod, "language_probabilities", lambda text: [("id", 0.7), ("ms", 0.3)])
    assert reconcile_language("x" * 500, declared="ms") == "ms"
    monkeypatch.setattr(lang_mod, "language_probabilities", lambda text: [("id", 0.98), ("ms", 0.02)])
    assert reconcile_language("x" * 500, declared="ms") == "id"


def test_detector_only_codes_map_to_iso_639_1(monkeypatch):
    monkeypatch.setattr(lang_mod, "_identifier", lambda: type("I", (), {
        "rank": staticmethod(lambda text: [("arz", 0.6), ("ar", 0.3), ("fa", 0.1)])})())
    assert detect_language("مرحبا بكم في القاهرة")[0] == "ar"


def test_a_huge_declared_language_is_read_by_its_start_and_not_cached_whole():
    """A feed or page can declare any string as its language: its first `MAX_DECLARED` characters are read."""
    from ingest.enrich import language

    assert language.language_code("de-" + "x" * 1_000_000) == "de"
    assert language.language_code(" " + "q" * 1_000_000) is None
    assert language.language_code("en-GB") == "en"
