"""Watch terms counted per article: inflections, phrases, prefixes, acronyms."""

from __future__ import annotations

from ingest.enrich.mentions import count_mentions

TITLE = "Drohnen über dem Flughafen: Deutsche Bahn stoppt Züge"
BODY = ("Am Abend wurden zwei Drohnen über dem Gelände gesichtet. Eine Drohne flog nahe an die Gleise heran. "
        "Die Deutsche Bahn stoppte den Verkehr, ein Sprecher der Deutschen Bahn sprach von einer Vorsichtsmaßnahme. "
        "Die Bundespolizei prüft den Einsatz einer Drohnenabwehr. US-Behörden hatten vor ähnlichen Fällen gewarnt; "
        "let us see.")


def test_inflections_count():
    counts = count_mentions(TITLE, BODY, "de", ["Drohne"])
    assert counts == {"Drohne": 3}  # Drohnen (title), Drohnen, Drohne; not Drohnenabwehr


def test_title_and_body_both_count():
    assert count_mentions("Drohne gesichtet", "", "de", ["Drohnen"]) == {"Drohnen": 1}
    assert count_mentions("", "Drohne gesichtet", "de", ["Drohnen"]) == {"Drohnen": 1}


def test_english_plural_and_case():
    counts = count_mentions("Drones grounded", "A drone was seen. Police said the drones left.", "en", ["drone"])
    assert counts == {"drone": 3}


def test_term_in_another_language_than_the_article():
    # "Drohne" is stemmed under every query language, so it also counts in an English text quoting it
    assert count_mentions("", "Germans call it a Drohne; two Drohnen were seen.", "en", ["Drohne"]) == {"Drohne": 2}


def test_phrases_match_inflected_sequences():
    assert count_mentions(TITLE, BODY, "de", ["Deutsche Bahn"]) == {"Deutsche Bahn": 3}


def test_prefix_terms():
    assert count_mentions(TITLE, BODY, "de", ["Drohne*"]) == {"Drohne*": 4}


def test_acronyms_match_capitals_only():
    assert count_mentions(TITLE, BODY, "de", ["US"]) == {"US": 1}
    assert count_mentions(TITLE, BODY, "de", ["us"]) == {"us": 2}


def test_absent_terms_are_left_out_and_no_terms_is_empty():
    assert count_mentions(TITLE, BODY, "de", ["Hubschrauber", "Drohne"]) == {"Drohne": 3}
    assert count_mentions(TITLE, BODY, "de", []) == {}
    assert count_mentions(TITLE, BODY, "de", ["", "  ", "*"]) == {}


def test_unknown_language_still_counts_exact_and_query_language_forms():
    assert count_mentions("", "Drohnen und Drohne", None, ["Drohne"]) == {"Drohne": 2}
