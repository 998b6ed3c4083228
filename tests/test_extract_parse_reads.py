"""The page tree and the cheap reads over it (ingest/extract/extractor.py, access.py).

Pages are parsed with our own parser (a C-level element class lookup instead of lxml.html's Python
one): the tree must be exactly the one trafilatura's `load_html` builds, every element an
`HtmlElement` (trafilatura takes only those as a parsed tree), form controls included, and
trafilatura's own parser must stay as it was for everyone else in the process. The paywall-container
read looks at every class and id value at once before walking elements: it must answer as a walk
over every element does.
"""

from __future__ import annotations

import random
from copy import copy
from pathlib import Path

import pytest
from lxml import html as lxml_html
from trafilatura.utils import HTML_PARSER, load_html

from ingest.config import ExtractSettings
from ingest.extract import extract_article
from ingest.extract.access import PAYWALL_WORDS, page_access
from ingest.extract.extractor import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    PageTooComplex,
    check_bounds,
    decode_html,
    parse_html,
)
from ingest.models import Access

PAGES = Path(__file__).parent / "fixtures" / "clean2" / "pages"
PARAS = [
    "The council will decide next week whether the old swimming pool by the river is rebuilt or closed for "
    "good, after engineers found the roof beams rotten through.",
    "Rebuilding would cost about four million euros over two years; the pool's friends have collected nine "
    "thousand signatures to keep it open, the mayor said on Monday.",
    "A smaller pool at the school would cost half as much but could not host the regional swimming "
    "competitions the town has held every summer since 1972.",
]
FORM_PAGE = f"""<!DOCTYPE html><html lang="en"><head><title>Pool decision next week</title>
<meta name="description" content="The council decides on the river pool."></head><body>
<form class="search" action="/search"><label for="q">Search</label><input id="q" name="q" value="pool">
<select name="section"><option value="1">News</option><option value="2">Sport</option></select>
<textarea name="note">Tell us</textarea><button type="submit">Go</button></form>
<article><h1>Pool decision next week</h1>{''.join(f'<p>{p}</p>' for p in PARAS)}
<form class="newsletter"><label>Your e-mail <input type="email" name="m"></label><input type="submit" value="Subscribe"></form>
</article><!-- a comment --><?pi target?></body></html>"""


def test_the_tree_is_the_one_trafilatura_builds_and_every_element_an_html_element():
    pages = [FORM_PAGE] + [decode_html(p.read_bytes()) for p in sorted(PAGES.glob("*.html"))]
    assert len(pages) > 20
    for page in pages:
        ours, theirs = parse_html(page), load_html(page)
        assert lxml_html.tostring(ours, encoding="unicode") == lxml_html.tostring(theirs, encoding="unicode")
        assert all(isinstance(el, lxml_html.HtmlElement) for el in ours.iter())
        assert load_html(ours) is ours  # trafilatura takes it as a parsed tree, no second parse
        assert ours.getroottree().docinfo.doctype == theirs.getroottree().docinfo.doctype


def test_a_page_with_form_controls_extracts_its_article_and_trafilatura_keeps_its_own_parser():
    result = extract_article(FORM_PAGE.encode(), "https://news.example.org/2026/pool.html", ExtractSettings())
    assert result.method == "page"
    assert result.text.split("\n\n")[:3] == PARAS
    assert "Tell us" not in result.text and "Subscribe" not in result.text
    assert result.title == "Pool decision next week"
    # trafilatura's module-level parser still hands out lxml.html's form classes to other callers
    form = lxml_html.fromstring(FORM_PAGE, parser=HTML_PARSER).find(".//form")
    assert isinstance(form, lxml_html.FormElement)
    ours = parse_html(FORM_PAGE)
    assert type(ours.find(".//form")) is lxml_html.HtmlElement
    assert type(copy(ours).find(".//form")) is lxml_html.HtmlElement  # trafilatura's copies keep our lookup


def _walked_access_names(tree) -> bool:
    """The plain walk: an element (not script, style, meta, link, html, body) naming a paywall."""
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag not in ("script", "style", "meta", "link", "html", "body"):
            if PAYWALL_WORDS.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
                return True
    return False


def test_the_paywall_container_read_answers_as_a_walk_over_every_element():
    rng = random.Random(20)
    pieces = ["paywall", "Pay-Wall", "PREMIUM", "premium-box", "premiumBox", "abo", "abo-teaser", "aboWall", "about",
              "plus", "plus-content", "google-plus", "article", "article-locked", "content", "locked", "tp-container",
              "piano", "piano_offer", "offer-wall", "barrier-page", "subſcriber-only", "ſubscription-wall",
              "regwall", "metered", "meter-wall", "teaser", "box", "wall", "LOCKED-CONTENT", "arcticle"]
    seps = [" ", "-", "_", "", "  ", "\n", ":"]
    tags = ["div", "section", "span", "script", "body", "p", "aside"]
    paywalled = 0
    for _ in range(400):
        els = []
        for _ in range(rng.randint(1, 4)):
            tag = rng.choice(tags)
            cls = rng.choice(seps).join(rng.sample(pieces, rng.randint(1, 3)))
            ident = rng.choice(["", rng.choice(pieces)])
            els.append(f'<{tag} class="{cls}" id="{ident}">x</{tag}>' if tag != "body" else "")
        page = f"<html><head><title>t</title></head><body class='{rng.choice(pieces)}'>{''.join(els)}</body></html>"
        tree = parse_html(page)
        expected = _walked_access_names(tree)
        paywalled += expected
        assert (page_access(tree) == Access.PAYWALLED) == expected, page
    assert 40 < paywalled < 360  # both answers were tried often


def test_a_page_over_both_bounds_names_the_one_met_first_in_document_order():
    deep = "<div>" * (MAX_DEPTH + 5) + "x" + "</div>" * (MAX_DEPTH + 5)
    flat = "<p>x</p>" * MAX_ELEMENTS
    with pytest.raises(PageTooComplex, match="deeper than"):
        check_bounds(parse_html(f"<html><body>{deep}{flat}</body></html>"))
    with pytest.raises(PageTooComplex, match="more than 50,000 elements"):
        check_bounds(parse_html(f"<html><body>{flat}{deep}</body></html>"))
    at_both = "<p>x</p>" * (MAX_ELEMENTS - MAX_DEPTH) + "<div>" * (MAX_DEPTH - 2) + "x"  # html, body: 2 levels
    check_bounds(parse_html(f"<html><body>{at_both}</body></html>"))
    with pytest.raises(PageTooComplex, match="deeper than"):  # one level deeper, still 50,000 elements
        check_bounds(parse_html(f"<html><body>{at_both[8:]}<div>y</div></body></html>"))
    with pytest.raises(PageTooComplex, match="elements"):
        check_bounds(parse_html(f"<html><body><p>x</p>{at_both}</body></html>"))
