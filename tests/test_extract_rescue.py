"""The readability rescue (ingest/extract/container.py `needs_rescue`/`rescue_body`, extractor.py
`readability_blocks`): when both trafilatura passes take the site's navigation or a teaser list, the
body readability finds replaces it.

The page is written by the project in the way some news sites print an article: the text in a
`<div>` whose class also names a tracking hook with "banner" in it (`txtmain reachbanner`), between
link columns and a box of teasers. trafilatura discards containers named "banner" when the rest of
the page holds enough text, so both of its passes return the section menu and teasers and the
article is lost; readability scores the paragraphs themselves and finds it. Counter-examples: a
body that reads as prose is never replaced (readability is not even run), nor by a body of the
same text, a short one, or a list without sentences.
"""

from __future__ import annotations

import trafilatura

from ingest.config import ExtractSettings
from ingest.extract import extract_article
from ingest.extract.blocks import Block
from ingest.extract.container import needs_rescue, prose_chars, rescue_body

ARTICLE = [
    "Moscow, 4 January. The space agency expects fragments of the probe to fall on 15 January, a spokesman "
    "for the air defence forces said on Wednesday morning.",
    "The date may still change under the influence of outside factors such as solar activity, he added, and "
    "the forces keep watching the orbit around the clock.",
    "The probe is now on a low orbit with a period of 88 minutes, an apogee of 224 kilometres and a perigee "
    "of 184 kilometres, according to the latest figures.",
    "Radar and optical stations send complete information to the control centre, which will publish the "
    "expected area of the fall a day before it happens.",
]
TEASERS = ["Piracy got cheaper", "Margaret Thatcher: photos", "A first-grader's suit for three thousand",
           "Markets close lower", "Weather: snow in the capital", "Football: the derby ends in a draw",
           "Elections: the count goes on", "Cinema: the week's premieres", "Science: a new comet",
           "Health: flu season starts"]


def page(article_class: str) -> bytes:
    sections = "".join(f'<a href="/s/{i}">Section {i}</a> | ' for i in range(12))
    column = "".join(f'<div class="item"><a href="/n/{i}">{t[:22]}</a></div><div class="item">{t[:12]} {i} Jan</div>'
                     for i, t in enumerate(TEASERS * 8))
    teasers = "".join(f'<p><a href="/t/{i}">{t}</a> {t} in brief for readers on day {i}</p>'
                      for i, t in enumerate(TEASERS * 2))
    body = "".join(f"<p>{p}</p>" for p in ARTICLE)
    return f"""<html><head><title>Probe fall forecast</title></head><body>
<table width=980><tr><td>{sections}</td></tr></table>
<div class="col">{column}</div>
<h1 class="newsheadline">Probe fall forecast</h1>
<div class="{article_class}">{body}</div>
<div class="col">{column}</div>
<div class="news">{teasers}</div>
</body></html>""".encode()


def p(text: str) -> Block:
    return Block(kind="p", text=text)


def test_both_passes_miss_the_article_and_the_rescue_finds_it():
    html = page("txtmain reachbanner")
    for options in ({"favor_precision": True}, {"favor_recall": True}):  # the failure this guards against
        assert "spokesman" not in (trafilatura.extract(html.decode(), **options) or "")
    text = extract_article(html, "https://news.example/probe", ExtractSettings()).text
    assert text.startswith(ARTICLE[0])
    assert all(sentence in text for sentence in ARTICLE)
    assert "in brief for readers" not in text and "Section 3" not in text


def test_the_rescued_body_is_the_article_alone():
    # without the misleading name trafilatura finds the article itself (with the teaser box under it);
    # the rescued body is readability's container: the article's paragraphs and nothing else
    plain = extract_article(page("txtmain"), "https://news.example/probe", ExtractSettings()).text
    assert all(sentence in plain for sentence in ARTICLE)
    rescued = extract_article(page("txtmain reachbanner"), "https://news.example/probe", ExtractSettings()).text
    assert rescued == "\n\n".join(ARTICLE)


def test_prose_is_long_lines_ending_like_a_sentence():
    assert prose_chars([p(ARTICLE[0])]) == len(ARTICLE[0])
    assert prose_chars([p("Markets close lower: what the ministry and the regions made of it on day 3")]) == 0
    assert prose_chars([p("Short sentence here.")]) == 0
    # a Chinese sentence of 45 characters reads like one of 90 letters
    zh = "南投縣衛生局針對傳統市場與超市進行年節食品抽驗，一共抽驗九十件，只有兩件不合格，不合格率百分之二點二。"
    assert prose_chars([p(zh)]) == len(zh)


def test_a_body_that_reads_as_prose_is_never_replaced():
    assert not needs_rescue([p(s) for s in ARTICLE])
    menu = [p(" | ".join(f"Section {i}" for i in range(12))), *(p(t) for t in TEASERS)]
    assert needs_rescue(menu)
    assert needs_rescue([])


def test_rescue_needs_more_prose_and_another_text():
    menu = [p(" | ".join(f"Section {i}" for i in range(12))), *(p(t) for t in TEASERS)]
    assert rescue_body(menu, [p(s) for s in ARTICLE])
    assert not rescue_body(menu, [p(t + " in brief") for t in TEASERS])  # a list without sentences
    assert not rescue_body(menu, [p(ARTICLE[0])])  # under RESCUE_MIN_PROSE characters of prose
    # our body holds the article in short lines (a poem, a list of quotes): the same text is not replaced
    ours = [p(line) for s in ARTICLE for line in s.split(", ")]
    assert needs_rescue(ours)
    assert not rescue_body(ours, [p(s) for s in ARTICLE])
