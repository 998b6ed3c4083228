"""The rule pack (ingest/extract/rules/*.yaml) and the cleaner's structural rules, block by block.

Every rule matches its `examples` and spares its `counter_examples`; no rule touches the real article
sentences below (which mention WhatsApp, newsletters, cookies, tags...); bad rule files fail loudly;
and clean_blocks keeps the lead and every real paragraph while moving tags and captions aside.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.config import ExtractSettings
from ingest.errors import ConfigError
from ingest.extract import extract_article
from ingest.extract.blocks import Block, LinkIndex, fingerprint
from ingest.extract.rulepack import CleanRuleError, load_clean_rules, parse_clean_rules
from ingest.extract.sites import SiteProfile, css_to_xpath, load_site_profiles
from ingest.extract.walker import clean_blocks

RULES = load_clean_rules()
RULES_DIR = Path(__file__).resolve().parent.parent / "ingest" / "extract" / "rules"

# Real article sentences, long and short, in five languages: no rule may remove any of them.
ARTICLE_SENTENCES = [
    "Die Verdächtigen hatten sich über einen WhatsApp-Kanal verabredet, sagte die Staatsanwältin am Dienstag vor dem Landgericht.",
    "Der Newsletter des Ministeriums hatte die Pläne bereits im Frühjahr angekündigt.",
    "Themen wie Klima und Migration bestimmten die Debatte im Landtag.",
    "Mehr zum Thema Klima wollte die Ministerin am Dienstag nicht sagen.",
    "Von der Leyen kündigte am Montag neue Sanktionen an.",
    "Anzeigen gegen den Bürgermeister wurden inzwischen eingestellt.",
    "The minister said WhatsApp messages between officials would be handed over to the inquiry.",
    "Read more about the court's reasoning in the judgment published on Friday.",
    "Subscribers to the pension scheme will get their first payment in March, the trustees said.",
    "Comments made by the minister angered opposition parties.",
    "By the end of the year, the council expects to have spent twice the budget.",
    "Tags on the animals showed that they had travelled more than 3,000 miles.",
    "Share prices fell by five percent after the announcement.",
    "Related costs rose sharply, the company said in its annual report.",
    "On 20 November 2019 the court ruled against the government.",
    "Photographs of the damage were shared widely on social media by residents.",
    "Lire entre les lignes : voilà ce que demandait le juge aux enquêteurs.",
    "Les cookies tiers seront interdits à partir de l'an prochain, a annoncé le régulateur.",
    "Suivez le guide, disait la pancarte à l'entrée du musée.",
    "Temas como la vivienda y el empleo marcaron el debate en el Congreso.",
    "El boletín oficial publicó la medida el martes, según fuentes del ministerio.",
    "Compartir coche se ha vuelto habitual entre los estudiantes de la universidad.",
    "Leggi anche tu il rapporto, ha detto il sindaco ai cittadini presenti in sala.",
    "Temi come il lavoro e la sanità hanno dominato il dibattito in consiglio comunale.",
    "Il canale Telegram del gruppo è stato chiuso dalla polizia postale.",
]


def rule(rule_id: str):
    return next(r for r in RULES if r.id == rule_id)


# -- the pack ----------------------------------------------------------------------------------------

def test_rule_pack_covers_languages_and_categories():
    ids = {r.id for r in RULES}
    assert len(ids) == len(RULES), "duplicate rule ids"
    for lang in ("de", "en", "fr", "es", "it"):
        mine = [r for r in RULES if r.source == f"{lang}.yaml"]
        assert {r.kind for r in mine} >= {"drop", "section", "tags"}, lang
        for what in ("related", "tags", "newsletter", "cookie", "read"):
            assert any(what in r.id for r in mine), f"{lang}: no {what} rule"
    common = {r.id for r in RULES if r.source == "common.yaml"}
    assert {"photo-credit", "caption-with-credit", "copyright-symbol", "ad-marker", "share-buttons",
            "messenger-channel", "dateline", "byline"} <= common
    assert all(r.examples for r in RULES), [r.id for r in RULES if not r.examples]


@pytest.mark.parametrize("r", RULES, ids=[r.id for r in RULES])
def test_rule_examples_and_counter_examples(r):
    for example in r.examples:
        assert r.matches(example), f"{r.id} misses {example!r}"
    for sentence in r.counter_examples:
        assert not r.matches(sentence), f"{r.id} would delete {sentence!r}"


@pytest.mark.parametrize("sentence", ARTICLE_SENTENCES, ids=range(len(ARTICLE_SENTENCES)))
def test_no_rule_removes_article_sentences(sentence):
    hits = [r.id for r in RULES if r.matches(sentence)]
    assert not hits, f"{hits} would delete {sentence!r}"


def test_no_rule_removes_a_long_paragraph():
    para = ("Abonnieren Sie unseren WhatsApp-Kanal, sagte der Sprecher der Stadtwerke, sei nicht der richtige "
            "Weg, um über Störungen zu informieren; die Stadt setze weiter auf Lautsprecherwagen, Aushänge "
            "und das Radio, weil viele ältere Menschen kein Smartphone besäßen und sich bei Stromausfällen "
            "sonst niemand um sie kümmere. Auch der Newsletter werde eingestellt, weil ihn im vergangenen Jahr "
            "nur noch wenige hundert Haushalte abonniert hätten.")
    assert len(para) > 400 and not [r.id for r in RULES if r.matches(para)]


@pytest.mark.parametrize("data, message", [
    ({"rules": [{"id": "x", "pattern": "^a$", "kind": "zap"}]}, "kind must be"),
    ({"rules": [{"pattern": "^a$"}]}, "missing id"),
    ({"rules": [{"id": "x", "pattern": "^(a$"}]}, "bad pattern"),
    ({"rules": [{"id": "x", "pattern": "^a$"}, {"id": "x", "pattern": "^b$"}]}, "duplicate id"),
    ({"rules": [{"id": "x", "pattern": "^{{nope}}$"}]}, "unknown placeholder"),
    ({"rules": [{"id": "x", "pattern": "^a$", "max_chars": 5000}]}, "max_chars"),
    ({"rules": [{"id": "x", "pattern": "^a$", "where": "middle"}]}, "where must be"),
])
def test_bad_rules_are_refused(data, message):
    with pytest.raises(CleanRuleError, match=re.escape(message)):
        parse_clean_rules([("bad.yaml", data)])


def test_vocab_placeholders_expand_across_files():
    rules = parse_clean_rules([("a.yaml", {"vocab": {"colour": ["red", "blue"], "thing": "{{colour}} (car|bike)"}}),
                         ("b.yaml", {"rules": [{"id": "t", "pattern": "^{{thing}}$", "examples": ["red car"]}]})])
    assert rules[0].matches("Red car") and rules[0].matches("blue bike") and not rules[0].matches("green car")


def test_every_rule_file_is_a_mapping_with_rules():
    import yaml

    for path in RULES_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict) and isinstance(data.get("rules"), list), path.name


# -- the cleaner -------------------------------------------------------------------------------------

LEAD = "Der Stadtrat hat am Dienstag den Haushalt für das kommende Jahr mit großer Mehrheit beschlossen."
P1 = ("Die Ausgaben steigen um vier Prozent, vor allem wegen höherer Personalkosten und der Sanierung "
      "von drei Schulen, die seit Jahren auf neue Dächer warten.")
P2 = ("Die Opposition kritisierte die neuen Schulden. Der Kämmerer verwies auf Zuschüsse des Landes, die "
      "erst im Herbst fest zugesagt worden seien.")
P3 = ("Im Frühjahr soll der Rat über den Bau einer neuen Sporthalle entscheiden; dafür sind im Haushalt "
      "bereits Planungskosten vorgesehen.")


def p(text: str, **kw) -> Block:
    return Block("p", text, **kw)


def texts(result) -> list[str]:
    return [b.text for b in result.blocks]


def test_promos_go_and_the_article_stays():
    blocks = [p(LEAD), p(P1), p("Anzeige"), p(P2), p("Mit WhatsApp immer auf dem neuesten Stand bleiben!"),
              p("Abonnieren Sie unseren WhatsApp-Kanal, um die Neuigkeiten direkt auf Ihr Handy zu erhalten …"),
              p("Beitrag teilen"), p(P3)]
    result = clean_blocks(blocks, "de")
    assert texts(result) == [LEAD, P1, P2, P3]
    assert len(result.removed) == len(result.reasons) == 4
    assert "rule ad-marker" in result.reasons


def test_related_header_takes_its_teasers_but_not_the_next_section():
    blocks = [p(LEAD), p(P1), Block("head", "Das könnte Sie auch interessieren"),
              p("Iran stellt neue Langstreckendrohne vor", links=1, link_chars=39,
                link_texts=("Iran stellt neue Langstreckendrohne vor",)),
              Block("item", "Venezuela: Opposition ruft zu Protesten auf"),
              Block("head", "Washington kündigt Konsequenzen an"), p(P2), p(P3)]
    result = clean_blocks(blocks, "de")
    assert texts(result) == [LEAD, P1, "Washington kündigt Konsequenzen an", P2, P3]


def test_about_the_author_takes_the_rest_only_near_the_end():
    bio = "Jana Berger schreibt seit 2010 über Kommunalpolitik und lebt mit ihrer Familie in Neustadt."
    tail = clean_blocks([p(LEAD), p(P1), p(P2), p(P3), Block("head", "Über den Autor"), p(bio)], "de")
    assert texts(tail) == [LEAD, P1, P2, P3]
    early = clean_blocks([p(LEAD), Block("head", "Zur Person"), p(P1), p(P2), p(P3)], "de")
    assert "Zur Person" in texts(early)


def test_glued_tag_links_become_tags_in_page_order():
    tags = ("Drohnen", "Export", "Iran", "Technologie", "USA", "Venezuela")
    index = LinkIndex(["Startseite", *tags, "Impressum"])
    run = p("".join(tags))
    index.annotate(run)
    assert run.link_texts == tags and run.link_density == 1.0
    result = clean_blocks([p(LEAD), p(P1), p(P2), p("Verwendete Schlagwörter"), run], "de")
    assert texts(result) == [LEAD, P1, P2] and result.tags == list(tags)


def test_glued_tags_without_links_are_split_at_case_changes():
    result = clean_blocks([p(LEAD), p(P1), p("Schlagworte"), p("HamburgHafenVerdiStreik")], "de")
    assert result.tags == ["Hamburg", "Hafen", "Verdi", "Streik"] and texts(result) == [LEAD, P1]


@pytest.mark.parametrize("line, tags", [
    ("Themen: Verkehr, Rheinbrücke, Neustadt", ["Verkehr", "Rheinbrücke", "Neustadt"]),
    ("Tags: Iran, Venezuela", ["Iran", "Venezuela"]),
    ("Mots-clés : Environnement · Baignade", ["Environnement", "Baignade"]),
    ("Etiquetas: Sequía | Embalses", ["Sequía", "Embalses"]),
    ("Tag: Porto, Crociere, Turismo", ["Porto", "Crociere", "Turismo"]),
])
def test_tag_lines_become_tags(line, tags):
    result = clean_blocks([p(LEAD), p(P1), p(line)], None)
    assert result.tags == tags and texts(result) == [LEAD, P1]


def test_caption_printed_twice_is_kept_once_in_captions():
    caption = "Blick auf die Rheinbrücke bei Neustadt, die seit 2024 saniert wird."
    blocks = [p(caption), p("Foto: Rheinkurier/Lisa Hoff"), p(LEAD), p(P1), p(caption), p(P2)]
    result = clean_blocks(blocks, "de", captions=[caption])
    assert texts(result) == [LEAD, P1, P2]
    assert result.captions == [caption, "Foto: Rheinkurier/Lisa Hoff"]


@pytest.mark.parametrize("credit", ["Foto: dpa/Max Mustermann", "Bild: Alpenpost/Archiv", "Photo: Jane Doe",
                                    "Photograph: Getty Images", "© Reuters", "Credit: NASA", "Crédit photo : AFP",
                                    "Foto di Mario Rossi / Ansa", "Fotografía: EFE"])
def test_credits_between_paragraphs_go_to_captions(credit):
    result = clean_blocks([p(LEAD), p(P1), p(credit), p(P2)], None)
    assert texts(result) == [LEAD, P1, P2] and result.captions == [credit]


def test_headline_repeat_and_kicker_go_the_standfirst_and_lead_stay():
    """Recall first (issue 13): a deck is content unless it repeats the title, the feed's title or a
    learned block; a kicker label goes."""
    title = "Stadtrat beschließt Haushalt für 2027"
    deck = "Mehr Geld für Schulen, neue Schulden und eine Sporthalle in Planung: was der Beschluss bedeutet"
    blocks = [Block("p", "Kommunalpolitik"), Block("head", title), Block("head", deck), p(LEAD), p(P1), p(P2)]
    result = clean_blocks(blocks, "de", title=title)
    assert texts(result) == [deck, LEAD, P1, P2]
    assert result.reasons == ["kicker", "title"]
    feed_title = "Haushalt 2027: Stadtrat beschließt mehr Geld für Schulen und neue Schulden"
    again = clean_blocks([Block("head", feed_title), p(LEAD), p(P1), p(P2)], "de", title=title, titles=(feed_title,))
    assert texts(again) == [LEAD, P1, P2]
    learned = SiteProfile(domain="x.example", learned={fingerprint(deck)})
    assert texts(clean_blocks([Block("head", deck), p(LEAD), p(P1), p(P2)], "de", learned, title=title)) == [LEAD, P1, P2]


def test_long_sentence_like_paragraph_at_the_top_is_never_a_deck():
    lead = ("Prezes Polskiego Związku Piłki Nożnej - Grzegorz Lato został członkiem Komisji FIFA "
            "ds. Bezpieczeństwa na Stadionach.")
    result = clean_blocks([Block("head", lead), p(P1), p(P2)], "pl", title="Lato w komisji FIFA")
    assert texts(result) == [lead, P1, P2]


def test_short_lead_and_sentences_at_the_top_are_never_taken_for_a_deck():
    lead = "Der Rat hat entschieden."
    result = clean_blocks([p(lead), p(P1), p(P2)], "de", title="Rat entscheidet über Haushalt")
    assert texts(result) == [lead, P1, P2]


def test_datelines_and_bylines_at_the_edges():
    blocks = [p("Von Jana Berger"), p("Aktualisiert am 20.11.2025, 14:32 Uhr"), p(LEAD), p(P1), p(P2),
              p("Jana Doe contributed to this report.")]
    assert texts(clean_blocks(blocks, None)) == [LEAD, P1, P2]


def test_repeats_only_right_after_themselves():
    quote = "„Wir haben keine Wahl“, sagte der Kämmerer in der Sitzung am Dienstagabend."
    result = clean_blocks([p(LEAD), p(quote), p(quote), p(P1), p(quote), p(P2)], "de")
    assert texts(result) == [LEAD, quote, P1, quote, P2]


def test_site_patterns_and_learned_blocks_but_never_the_lead():
    promo = "Nordbote-Abo: Alle Artikel für 1 Euro im ersten Monat."
    site = SiteProfile(domain="nordbote.example", drop_patterns=[re.compile("^nordbote-abo:", re.I)],
                       learned={fingerprint(LEAD), fingerprint(P3)})
    result = clean_blocks([p(LEAD), p(P1), p(promo), p(P2), p(P3)], "de", site)
    assert texts(result) == [LEAD, P1, P2]


def test_teaser_links_between_paragraphs_and_strips_at_the_end():
    teaser = "Neue Fähre soll ab Mai fahren"
    strip = ["Pendler klagen über Staus am Brückenkopf", "Landesbetrieb räumt Planungsfehler ein",
             "Weinfest: Neue Regeln für Stände"]
    link = {"links": 1, "link_chars": 0}
    blocks = [p(LEAD), p(P1), p(teaser, link_texts=(teaser,), **{**link, "link_chars": len(teaser)}), p(P2),
              *[Block("item", t, links=1, link_chars=len(t), link_texts=(t,)) for t in strip]]
    assert texts(clean_blocks(blocks, "de")) == [LEAD, P1, P2]


# -- tags and captions through extract_article ------------------------------------------------------

PAGE = f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Haushalt beschlossen</title>
<meta name="keywords" content="Neustadt, haushalt"><meta property="article:tag" content="Finanzen"></head><body>
<nav class="menu"><p>Themen</p><ul><li><a href="/t/sport">Sport</a></li><li><a href="/t/kultur">Kultur</a></li></ul></nav>
<article><h1>Haushalt beschlossen</h1>
<figure><img src="a.jpg"><figcaption>Der Ratssaal am Dienstag. <span class="credit">Foto: Stadt Neustadt</span></figcaption></figure>
<p>{LEAD}</p><p>{P1}</p><p>Der Ratssaal am Dienstag.</p><p>{P2}</p><p>{P3}</p>
<div class="schlagworte"><h4>Verwendete Schlagwörter</h4><p><a href="/thema/haushalt" rel="tag">Haushalt</a><a href="/thema/neustadt" rel="tag">Neustadt</a><a href="/thema/schulen" rel="tag">Schulen</a></p></div>
</article>
<aside class="sidebar"><figure><img src="b.jpg"><figcaption>Ein Bild aus einem anderen Artikel.</figcaption></figure></aside>
</body></html>"""


def test_extract_article_fills_tags_and_captions():
    got = extract_article(PAGE, "https://neustadt.example/haushalt", ExtractSettings(), feed_tags=["Politik", "finanzen"])
    assert got.text.split("\n\n") == [LEAD, P1, P2, P3]
    assert got.tags[:3] == ["Haushalt", "Neustadt", "Schulen"]
    assert "Finanzen" in got.tags and "Politik" in got.tags
    assert "Sport" not in got.tags and "Kultur" not in got.tags  # the site's menu, not the article's tags
    assert len({t.lower() for t in got.tags}) == len(got.tags)
    assert got.captions == ["Der Ratssaal am Dienstag.", "Foto: Stadt Neustadt"]


# -- per-site config ---------------------------------------------------------------------------------

def test_site_files_single_list_and_synonyms(tmp_path):
    (tmp_path / "one.yaml").write_text("domain: www.One.example\nprune_xpaths: ['//div[@id=\"promo\"]']\n"
                                       "drop_patterns: ['^Anzeige von']\n")
    (tmp_path / "more.yaml").write_text("sites:\n  - domain: [two.example, three.example]\n"
                                        "    strip: ['aside.related, div[data-box=teaser]']\n"
                                        "  - domain: four.example\n    strip_text: ['^Mehr aus']\n")
    profiles = load_site_profiles(tmp_path)
    assert set(profiles) == {"one.example", "two.example", "three.example", "four.example"}
    assert profiles["one.example"].prune_xpaths == ['//div[@id="promo"]']
    assert profiles["one.example"].drop_patterns[0].search("anzeige von X")
    assert profiles["two.example"].prune_xpaths == [
        "//aside[contains(concat(' ', normalize-space(@class), ' '), ' related ')] | //div[@data-box='teaser']"]
    assert load_site_profiles(tmp_path / "missing") == {}


@pytest.mark.parametrize("text, key", [
    ("domain: https://a.example/news\n", "domain"),
    ("domain: a.example\nstrip: ['//div[']\n", "strip[0]"),
    ("domain: a.example\nstrip: [42]\n", "strip[0]"),
    ("domain: a.example\nstrip: ['a']\nprune_xpaths: ['b']\n", "prune_xpaths"),
    ("sites:\n  - domain: a.example\n  - strip: ['a']\n", "sites[1].domain"),
    ("- domain: a.example\n  colour: red\n", "[0].colour"),
])
def test_bad_site_files_name_file_and_key(tmp_path, text, key):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_site_profiles(tmp_path)
    assert "bad.yaml" in str(info.value) and key in str(info.value)


def test_same_domain_twice_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("domain: a.example\n")
    (tmp_path / "b.yaml").write_text("domain: www.a.example\n")
    with pytest.raises(ConfigError, match="already configured"):
        load_site_profiles(tmp_path)


@pytest.mark.parametrize("css, xpath", [
    ("div", "//div"),
    ("#promo", "//*[@id='promo']"),
    ("p.note.small", "//p[contains(concat(' ', normalize-space(@class), ' '), ' note ')]"
                     "[contains(concat(' ', normalize-space(@class), ' '), ' small ')]"),
    ("[data-ad]", "//*[@data-ad]"),
    ("a[href^='/tag/']", "//a[starts-with(@href, '/tag/')]"),
    ("div[class*=teaser]", "//div[contains(@class, 'teaser')]"),
    ("article .share", "//article//*[contains(concat(' ', normalize-space(@class), ' '), ' share ')]"),
    ("div > p", None),
    ("p:first-child", None),
])
def test_css_to_xpath(css, xpath):
    assert css_to_xpath(css) == xpath


def test_related_list_whose_header_trafilatura_dropped():
    """trafilatura drops the "Mehr zum Thema" heading over a list but keeps the items: the heading is
    put back from the page, and the rule then removes it with its list."""
    page = (f"<html><body><article><h1>Haushalt beschlossen</h1><p>{LEAD}</p><p>{P1}</p><p>{P2}</p>"
            "<h3>Mehr zum Thema</h3><ul><li>Neue Fähre soll ab Mai fahren</li>"
            "<li>Pendler klagen über Staus am Brückenkopf</li></ul></article></body></html>")
    got = extract_article(page, "https://neustadt.example/a", ExtractSettings())
    assert got.text.split("\n\n") == [LEAD, P1, P2]


# -- issue 13: promos by features, headers by structure ------------------------------------------------

def test_promo_feature_examples_and_counter_examples():
    """Promos written as sentences (families.yaml `promo`): every example scores, no counter-example does."""
    from ingest.extract.rulepack import PROMO_THRESHOLD, load_promo, promo_score

    words = load_promo()
    assert len(words.examples) >= 7 and len(words.counter_examples) >= 5
    for text in words.examples:
        assert promo_score(text) >= PROMO_THRESHOLD, text
    for text in words.counter_examples:
        assert promo_score(text, at_edge=True) < PROMO_THRESHOLD, text


def test_promo_in_mid_article_goes_a_sentence_about_the_channel_stays():
    promo = "Der Morgen-Newsletter: Jeden Tag die wichtigsten Nachrichten in Ihrem Postfach. Jetzt kostenlos anmelden"
    news = "Telegram-Kanäle der Gruppe verbreiteten das Video binnen Stunden, wie Forscher herausfanden."
    result = clean_blocks([p(LEAD), p(P1), p(promo), p(news), p(P2), p(P3)], "de")
    assert texts(result) == [LEAD, P1, news, P2, P3]
    assert "promo" in result.reasons


@pytest.mark.parametrize("header", ["Unsere Auswahl für Sie", "Dazu passend", "Handpicked for you", "Nos sélections",
                                    "Nuestra selección", "La nostra scelta", "Wybrane dla Ciebie"])
def test_any_short_header_over_teaser_links_goes_with_them(header):
    teasers = ["Neue Fähre soll ab Mai zwischen den Ufern fahren", "Landesbetrieb räumt Fehler bei der Planung ein"]
    blocks = [p(LEAD), p(P1), p(P2), Block("head", header),
              *[Block("item", t, links=1, link_chars=len(t), link_texts=(t,)) for t in teasers], p(P3)]
    result = clean_blocks(blocks, None)
    assert texts(result) == [LEAD, P1, P2, P3]


def test_a_subheading_over_paragraphs_is_not_a_teaser_header():
    blocks = [p(LEAD), Block("head", "Was jetzt geplant ist"), p(P1), p(P2)]
    assert texts(clean_blocks(blocks, None)) == [LEAD, "Was jetzt geplant ist", P1, P2]


def test_a_short_subscription_stem_ends_a_word():
    """"abo" (German: subscription) is a subscription word in compounds and on its own, not inside "about"."""
    from ingest.extract.rulepack import load_promo

    words = load_promo()
    for text in ("jetzt abo sichern", "alle abos im überblick", "das jahresabo kostet", "für digitalabo-kunden"):
        assert words.subscription.search(text), text
    for text in ("tell us about it", "see above", "the abortion law", "abolish the tax"):
        assert not words.subscription.search(text), text
