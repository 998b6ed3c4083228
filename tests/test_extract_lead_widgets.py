"""Lead recovery never takes a page widget for the lead (ingest/extract/lead.py).

A blog page written by the project: the archive widget (a month menu in a <select>) sits between
the page's headline and the post, in a box whose class says nothing about a sidebar. Its text
reads as one long run, so position and length alone looked like a lead; a block holding form
controls is a widget, not a standfirst.
"""

from __future__ import annotations

import pytest

from ingest.config import ExtractSettings
from ingest.extract import extract_article

PARAS = [
    "Over the next few weeks the county library will open its reading rooms on Sunday afternoons, a first in "
    "its ninety-year history, after a vote of the council.",
    "The librarians asked for the change two years ago, when a survey showed that most working families could "
    "only visit at the weekend and found the doors closed.",
    "The extra hours are paid from the county's culture fund and cost about forty thousand euros a year, a sum "
    "the council called modest for what it brings.",
]
MONTHS = "".join(f"<option value='/{y}/{m}'>{name} ({n})</option>" for y in (2011, 2010)
                 for m, name, n in ((9, "September", 1), (7, "July", 3), (4, "April", 4), (3, "March", 2),
                                    (1, "January", 6), (12, "December", 5), (11, "November", 4)))
PAGE = f"""<html><head><title>Library opens on Sundays</title></head><body>
<div class="header"><h1>The Town Reader</h1></div>
<div class="column-right"><div class="widget BlogArchive"><h2>Archives</h2>
<div class="widget-content"><select>{MONTHS}</select></div></div></div>
<div class="main"><div class="post">
<h3 class="post-title">Library opens on Sundays</h3>
<div class="post-header">Tuesday, April 28, 2009</div>
<div class="post-body">{PARAS[0]}<br><br>{PARAS[1]}<br><br>{PARAS[2]}<br></div>
<div class="post-footer">Posted by Ann Smith at 12:08 PM</div>
</div></div></body></html>"""


def test_a_month_menu_between_headline_and_post_is_not_the_lead():
    result = extract_article(PAGE.encode(), "https://blog.example.org/2009/04/library.html", ExtractSettings())
    assert "September (1)" not in result.text and "November (4)" not in result.text
    for para in PARAS:
        assert para in result.text
    assert result.text.startswith(PARAS[0])


BODY = [
    "Łapówki wynosiły średnio około stu złotych i były przekazywane za odstąpienie od kontroli celnej lub jej "
    "przyspieszenie, mówi prokurator prowadzący sprawę od początku.",
    "Wszyscy celnicy wskazani przez oskarżonego zostali już skazani przez sąd okręgowy, a wobec dwóch z nich "
    "toczy się jeszcze osobne postępowanie.",
    "Oskarżony przyznał się do zarzucanych mu czynów i złożył wniosek o skazanie go bez przeprowadzania "
    "rozprawy, na co prokuratura się zgodziła.",
]
LEAD = ("Prokuratura oskarżyła byłego piłkarza i akcjonariusza klubu o korupcję. Mężczyzna przyznał się do "
        "wręczenia celnikom co najmniej 90 tys. zł i poprosił o wyrok w zawieszeniu.")
CAPTION = "Akcjonariusz klubu przyznał się do wręczania łapówek"
CAPTION_PAGE = f"""<html lang="pl"><head><title>Akcjonariusz klubu z zarzutami o korupcję</title>
<meta name="description" content="{LEAD[:120]}"></head><body>
<div class="article"><h1>Akcjonariusz klubu z zarzutami o korupcję</h1>
<div class="fotoK2 ramka"><img src="/f.jpg" alt="">
<p class="podpisZdjecia"><span>{CAPTION}</span> (&copy; Agencja/archiwum)</p></div>
<section class="zajawka">{LEAD}</section>
<section id="tresc" class="row">{''.join(f'<p>{t}</p>' for t in BODY)}</section>
</div></body></html>"""


def test_a_caption_above_the_lead_is_a_caption_and_the_lead_after_it_is_kept():
    # "podpisZdjecia" (Polish: the picture's caption) is a camelCase class: its words are read one by one
    result = extract_article(CAPTION_PAGE.encode(), "https://news.example.pl/artykul/1.html", ExtractSettings())
    assert result.text.startswith(LEAD)
    assert CAPTION not in result.text and any(c.startswith(CAPTION) for c in result.captions)
    for para in BODY:
        assert para in result.text


POST = [
    "Ahead of the election, all eyes are on jobs and taxes, but the choices voters make on Tuesday could also "
    "shape the rules for every network in the country for years.",
    "As a general rule, one result would most benefit the incumbent carriers, according to a report out on "
    "Friday from an investment bank that follows the sector.",
    "The other would favour the newer wireless carriers and the smaller rivals, the same report says, although "
    "its authors expect the differences to be modest.",
]
EXCERPT = ("The presidential election will have big impacts on tax policies and spending plans over the next four "
           "years, but it will also play a role in telecoms policy.")
TEASER = ("Our guide to every other race on the ballot this year, from the governors' contests to the local "
          "measures on school funding and transit.")


def post_page(wrapper: str) -> str:
    """A blog that sets its post in a list item of a widget list (or a table cell): the excerpt box sits in
    the same item as the post; a related post's teaser sits in a list of its own."""
    post = (f'<h2 class="entry-title">How the election affects telecoms</h2>'
            f'<div class="post-sub-head"><div class="excerpt"><p>{EXCERPT}</p></div></div>'
            f'<div class="post-content">{"".join(f"<p>{t}</p>" for t in POST)}</div>')
    related = f'<ul class="more"><li><div class="excerpt"><p>{TEASER}</p></div></li></ul>'
    wrapped = (f'<ul class="widgets"><li class="full-post widget">{post}</li></ul>' if wrapper == "li"
               else f'<table><tr><td class="main">{post}</td></tr></table>')
    return f"""<html><head><title>How the election affects telecoms</title>
<meta property="og:description" content="{EXCERPT}"></head><body>
<div id="menu"><a href="/">Home</a></div>{related}{wrapped}</body></html>"""


@pytest.mark.parametrize("wrapper", ["li", "td"])
def test_the_excerpt_is_the_lead_when_a_list_item_or_table_cell_holds_the_whole_post(wrapper):
    result = extract_article(post_page(wrapper).encode(), "https://blog.example.com/2012/11/telecoms/",
                             ExtractSettings())
    assert result.text.startswith(EXCERPT)
    for para in POST:
        assert para in result.text
    assert TEASER not in result.text  # an excerpt in a list that does not hold the post stays out


def test_a_lead_set_in_a_font_element_is_recovered():
    # older CMSs set the lead and the body in <font> elements; the lead's itemprop names it
    lead = ("The city's ambulance service had its busiest year of the decade, its chief said on Monday, with "
            "almost seventy thousand calls.")
    page = f"""<html><head><title>Ambulances' busiest year</title><meta name="description" content="{lead}"></head>
<body><div id="menu"><a href="/">Home</a></div><div class="article"><h1>Ambulances' busiest year</h1>
<font class="articleBody" itemprop="description">{lead}</font><br/>
<font class="articleBody" itemprop="articleBody">{"".join(f"<p>{t}</p>" for t in POST)}</font></div></body></html>"""
    result = extract_article(page.encode(), "https://news.example.ee/daily/ambulances", ExtractSettings())
    assert result.text.startswith(lead)
    for para in POST:
        assert para in result.text
