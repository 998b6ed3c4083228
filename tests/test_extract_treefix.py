"""Page-tree fixes before trafilatura (ingest/extract/treefix.py).

`break_leading_text`: text set with line breaks straight in a block container. Pages written by the project in the way many regional news sites and blogs print an article: a
standfirst in its own element, then the body as one run of text in a `<section>` or `<div>` with
`<br><br>` between the paragraphs, its last paragraphs as `<p>`s. trafilatura drops the run before the first `<br>` (the body's
first paragraph); `break_leading_text` gives it a break of its own. Counter-examples: a container
whose text runs into links before its first break (a footer's notice), and a paragraph with a break.

`drop_counter_badges`: a comment counter drawn as a badge before each paragraph ("0" glued to the
paragraph's first word). Counter-examples: numbers that are text (a count followed by a space, a
product name, a number inside the sentence).
"""

from __future__ import annotations

import pytest
from lxml import etree, html

from ingest.config import ExtractSettings
from ingest.extract import extract_article
from ingest.extract.treefix import break_leading_text, drop_counter_badges

RUNS = [
    "- We accuse the shareholder of handing at least ninety thousand in bribes to customs officers over four "
    "years - says the spokesman of the appeal prosecutor's office.",
    "The payments averaged one hundred a time and bought the waiving or the speeding up of border checks on "
    "building materials brought in from abroad.",
    "All the officers named in the indictment have already been sentenced by the district court, or their "
    "trials are still going on there.",
    "The accused admitted the charges and asked to be sentenced without a trial; the prosecution agreed to a "
    "suspended sentence and a fine.",
]
STANDFIRST = ("The appeal prosecutor charged a former footballer and club shareholder with corruption; he admitted "
              "paying customs officers and asked for a suspended sentence.")
MORE = [
    "The shareholder sat on the club's board for six years and was one of its best known figures in the city, "
    "where he also ran a building materials business.",
    "The club said in a statement that it had learned of the charges from the press and that the shareholder "
    "had given up his seat on the board last spring.",
    "The district court will set a date for the hearing on the prosecution's request next month, a court "
    "spokeswoman said on Tuesday afternoon.",
]
RELATED = ["Customs officers in the dock again", "The club's new owner presents his plans",
           "Border checks to be sped up next year"]


def assert_unchanged(fix, page: str) -> None:
    """The fix leaves this page's tree exactly as parsed."""
    tree = html.fromstring(page)
    before = etree.tostring(tree)
    fix(tree)
    assert etree.tostring(tree) == before


def page(container: str) -> str:
    related = "".join(f"<p class='related'><a href='/news/{n}.html'>{t}</a></p>" for n, t in enumerate(RELATED))
    return f"""<html><head><title>Shareholder charged with corruption - Courier</title></head><body>
<div id="menu"><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">Sport</a></div>
<div class="article"><h1>Shareholder charged with corruption</h1>
<p class="date">2012-01-03 12:54</p>
<p class="standfirst">{STANDFIRST}</p>
<{container} id="text">
      {RUNS[0]}<br><br>{RUNS[1]}<br><br>{RUNS[2]}<br><br>{RUNS[3]}
</{container}>
{"".join(f"<p>{m}</p>" for m in MORE)}
<div class="see-also"><h3>See also</h3>{related}</div>
</div>
<div id="footer"><p>Copyright 2012 Courier Media. All rights reserved.</p></div></body></html>"""


@pytest.mark.parametrize("container", ["section", "div", "article"])
def test_the_first_run_of_a_text_set_with_line_breaks_is_kept(container):
    result = extract_article(page(container).encode(), "https://courier.example.com/news/1.html", ExtractSettings())
    for run in RUNS + MORE:
        assert run in result.text
    assert result.text.index(RUNS[0]) < result.text.index(RUNS[1])


def test_the_break_adds_no_text_and_moves_none():
    tree = html.fromstring(page("section"))
    before = tree.text_content()
    break_leading_text(tree)
    section = tree.get_element_by_id("text")
    assert section.text is None and section[0].tag == "br" and section[0].tail.strip() == RUNS[0]
    assert tree.text_content() == before


def test_a_container_whose_text_runs_into_links_before_its_break_is_left_alone():
    notice = ('<div class="bottom">Owner of the <a href="/">Courier</a> site: Courier Media Ltd, version 5.0.<br>'
              "Legal notice: the materials of this site may be quoted with a direct link to the page.</div>")
    assert_unchanged(break_leading_text, f"<html><body>{notice}</body></html>")


def test_a_paragraph_with_a_line_break_is_left_alone():
    assert_unchanged(break_leading_text, "<html><body><p>First line of an address<br>Second line</p></body></html>")


BADGED = [
    "A woman in the province of Walloon Brabant intends to sell a meteorite that fell near her house, a "
    "Brussels radio station reported on Thursday.",
    "To check whether the stone was a meteorite she used a magnet, which was attracted to it at once, she told "
    "the station's reporter.",
    "If an official examination confirms it, she will sell the stone to the highest bidder, the news agency "
    "added in its report.",
]


def badge_page() -> str:
    paras = "".join(f'<p id="p_{n}"><a name="p_{n}"></a><a class="comments_count" title="Leave a comment" '
                    f'href="#c{n}">{n % 2}</a>{text}</p>' for n, text in enumerate(BADGED))
    return f"""<html><head><title>Meteorite for sale</title></head><body><div id="menu"><a href="/">Home</a></div>
<div class="article"><h1>Meteorite for sale</h1><div class="article-text">{paras}</div></div>
<div id="footer"><p>Copyright 2012 Radio. All rights reserved.</p></div></body></html>"""


def test_a_counter_badge_glued_to_each_paragraph_is_dropped():
    result = extract_article(badge_page().encode(), "https://radio.example.com/2012/01/05/1", ExtractSettings())
    assert result.text.split("\n\n") == BADGED


@pytest.mark.parametrize("paragraph", [
    '<p><a href="/c">3</a> readers asked the ministry about the new rules before the holidays.</p>',
    '<p><a href="/apps/1password">1Password</a> keeps every password in one vault, its makers say.</p>',
    '<p>The <a href="/sales">2</a>nd round of sales starts on Monday in every shop of the chain.</p>',
    '<p>Prices rose again.<a href="#fn1">1</a>Analysts expect them to keep rising until spring.</p>',
])
def test_numbers_that_are_text_are_kept(paragraph):
    assert_unchanged(drop_counter_badges, f"<html><body>{paragraph}</body></html>")


def test_a_dropped_badge_keeps_the_text_after_it():
    tree = html.fromstring('<html><body><p><a name="p1"></a><a href="#c">12</a>The minister said no.</p></body></html>')
    drop_counter_badges(tree)
    assert tree.find(".//p").text_content() == "The minister said no."



def test_a_run_right_after_a_block_inside_the_text_gets_its_own_break():
    # a related-links box inside a text set with <br>s: trafilatura may drop the box together with the text
    # that follows it (its tail); the run after the box is moved into a <br> of its own, nothing else changes
    box = "".join(f'<p class="links"><a href="/news/{n}.html">{t}</a></p>' for n, t in enumerate(RELATED))
    tree = html.fromstring(f'<html><body><section id="text">{RUNS[0]}<br><br><div class="see-also">{box}</div>'
                          f"{RUNS[1]}<br><br>{RUNS[2]}</section></body></html>")
    before = tree.text_content()
    break_leading_text(tree)
    box_el = tree.find_class("see-also")[0]
    assert not box_el.tail and box_el.getnext().tag == "br" and box_el.getnext().tail == RUNS[1]
    assert tree.text_content() == before


def test_a_run_after_an_inline_element_is_left_alone():
    assert_unchanged(break_leading_text, f'<html><body><div>{RUNS[0]} <b>in bold</b> {RUNS[1]}<br>{RUNS[2]}</div></body></html>')


def picture_page() -> str:
    """A paper's site that opens each story's first paragraph with its picture box: `<p><div class="image">`
    (a <div> cannot sit in a <p>, so the parser closes the <p> and the text becomes the box's tail)."""
    first, *rest = MORE
    picture = ('<div class="image"><table align="right"><caption>The club stadium on match day</caption>'
               '<tr><td><img src="/getImage.do?id=1"></td></tr></table></div>')
    return f"""<html><head><title>Shareholder charged - Courier</title></head><body>
<div id="menu"><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">Sport</a></div>
<div class="story"><div class="title">Shareholder charged</div>
<div class="story_body"><P>{picture}{first}</P>{"".join(f"<P>{t}</P>" for t in rest + RUNS)}</div></div>
<div id="footer"><p>Copyright 2012 Courier Media. All rights reserved.</p></div></body></html>"""


def test_the_first_paragraph_after_a_picture_box_is_kept():
    result = extract_article(picture_page().encode(), "https://courier.example.com/news/3.html", ExtractSettings())
    for para in MORE + RUNS:
        assert para in result.text
    assert result.text.index(MORE[0]) < result.text.index(MORE[1])


def test_a_leading_run_with_links_in_a_container_named_as_the_text_gets_a_paragraph():
    run = ("According to the portal <a href='/tag/stilic'>Semir Stilic</a> is only one of the candidates, "
           "with two other midfielders from the league.")
    tree = html.fromstring(f'<html><body><section id="tresc" class="row">{run}<br><br>{RUNS[1]}<br><br>{RUNS[2]}'
                           "</section></body></html>")
    before = tree.text_content()
    break_leading_text(tree)
    first = tree.get_element_by_id("tresc")[0]
    assert first.tag == "p" and first.text_content().startswith("According to the portal Semir Stilic is only")
    assert first.getnext().tag == "br" and tree.text_content() == before
    # the same run in a box not named as the text (a footer's notice) is left as it is
    notice = html.fromstring(f'<html><body><div class="bot1 fl">{run}<br>Legal notice: quote with a link.</div>'
                             "</body></html>")
    kept = etree.tostring(notice)
    break_leading_text(notice)
    assert etree.tostring(notice) == kept
