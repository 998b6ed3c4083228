"""Container choice between trafilatura's precision and recall bodies (ingest/extract/container.py).

Examples and counter-examples for each decision: the two passes disagree (the precision pass took a
footer or an event box: the recall body is the article), they agree (the recall body's extra is a
comment thread: the precision body stays), and which dropped paragraphs are filled back.
"""

from __future__ import annotations

from lxml import etree

from ingest.extract.blocks import Block
from ingest.extract.container import choose_body, fill_from_wide, is_fill_paragraph, passes_agree

ARTICLE = [
    "The regional court acquitted the former police chief of all corruption charges on Thursday morning, "
    "ending the longest trial of the decade.",
    "He was sentenced only for threatening the officers who arrested him ten years ago at his family home, "
    "a sentence he has already served in custody.",
    "The prosecutor had argued for years that a fuel mafia paid officers for confidential information about "
    "raids, wiretaps and witnesses.",
    "The judges found that the indictment contained embarrassing errors and that no such group had ever been "
    "shown to exist in the region.",
]
FOOTER = [
    "All rights to the materials on this site are protected by law, including copyright and related rights.",
    "Any use of these materials in electronic media requires a link; printed use needs written permission.",
    "Registration certificate issued by the federal service for the supervision of mass communications.",
    "Advertising department: call us on weekdays from nine to six, or write to the address given below.",
]
COMMENTS = [f"Reader {n} wrote on 30.12.11 that this is the best news of the year and deserves a toast tonight."
            for n in range(12)]


def body(paragraphs: list[str]):
    root = etree.Element("body")
    for text in paragraphs:
        etree.SubElement(root, "p").text = text
    return root


def p(text: str, kind: str = "p") -> Block:
    return Block(kind=kind, text=text)


# -- passes_agree / choose_body ---------------------------------------------------------------------

def test_passes_agree_when_the_precision_body_is_inside_the_recall_body():
    assert passes_agree(" ".join(ARTICLE[:2]), " ".join(ARTICLE + COMMENTS))


def test_passes_disagree_when_the_precision_body_is_elsewhere_on_the_page():
    assert not passes_agree(" ".join(FOOTER), " ".join(ARTICLE + FOOTER[:1]))


def test_passes_agree_on_unspaced_scripts_by_the_same_measure():
    article = "中国科学家发现了一种新的抗疟疾抗原，可能用于疫苗。研究团队经过多年实验，结果令人鼓舞，论文已经发表。"
    assert passes_agree(article, "导航，首页，新闻。" + article)
    assert not passes_agree("版权所有，未经许可，不得转载，联系我们，广告服务，网站地图。", article)


def test_disagreeing_passes_take_the_recall_body():
    precise, wide = body(FOOTER), body(ARTICLE + FOOTER[:1] + COMMENTS[:2])
    assert choose_body(precise, wide) is wide


def test_agreeing_passes_keep_the_precision_body_when_the_recall_body_adds_a_comment_thread():
    precise, wide = body(ARTICLE), body(ARTICLE + COMMENTS)
    assert choose_body(precise, wide) is precise


def test_the_recall_body_is_kept_when_it_adds_little():
    precise, wide = body(ARTICLE[:3]), body(ARTICLE)
    assert choose_body(precise, wide) is wide


def test_a_smaller_recall_body_inside_the_precision_body_does_not_replace_it():
    precise, wide = body(ARTICLE), body(ARTICLE[1:3])
    assert choose_body(precise, wide) is precise
    assert choose_body(None, wide) is wide and choose_body(precise, None) is precise


def test_a_smaller_recall_body_elsewhere_on_the_page_does():
    precise, wide = body(FOOTER + COMMENTS[:3]), body(ARTICLE[:2])  # the precision pass took the footer
    assert choose_body(precise, wide) is wide


# -- fill_from_wide ---------------------------------------------------------------------------------

def test_fill_paragraph_examples_and_counter_examples():
    assert is_fill_paragraph(p(ARTICLE[1]))
    assert is_fill_paragraph(p("Przed godziną 12 złotówka zaczęła gwałtownie tracić do głównych walut. Na euro "
                               "osiągnęła poziom 4,45 zł, a na dolarze doszła do 3,45."))
    assert is_fill_paragraph(p("Η μελέτη δημοσιεύθηκε στο περιοδικό και δείχνει ότι οι χιμπαντζήδες σε "
                               "αιχμαλωσία ζουν περισσότερο από τους ελεύθερους συγγενείς τους."))
    assert not is_fill_paragraph(p("Comments (25)"))  # short
    assert not is_fill_paragraph(p("~Pan z Łódki\n[2011-12-29 21:09]\nSpadek wartości złotówki to najlepsza "
                                   "z możliwych informacji, wszak gospodarka eksportowa na tym zyska."))  # comment
    assert not is_fill_paragraph(p(ARTICLE[0], kind="item"))  # a list item: teasers, menus
    assert not is_fill_paragraph(p(ARTICLE[0], kind="head"))
    assert not is_fill_paragraph(p("Everblades get physical, run over Express in a game that went to overtime "
                                   "and ended with two penalty shots and a standing ovation 8:13 AM"))  # no end


def test_fill_puts_dropped_paragraphs_back_in_the_recall_order():
    wide = [p("Saturday 14 January"), p(ARTICLE[0]), p(ARTICLE[1]), p("Comments (25)"), p(ARTICLE[2]),
            p("Reader 1\n30.12.11\nNice."), p(COMMENTS[0], kind="item"), p(COMMENTS[1], kind="row")]
    precise = [p(ARTICLE[0]), p("Comments (25)"), p(ARTICLE[2])]
    out = [b.text for b in fill_from_wide(precise, wide)]
    assert out == [ARTICLE[0], ARTICLE[1], "Comments (25)", ARTICLE[2]]


def test_fill_matches_blocks_by_their_words_and_adds_no_text_twice():
    precise = [p(ARTICLE[0]), p(ARTICLE[1].replace(", a", ",\na")), p(ARTICLE[2])]
    wide = [p(ARTICLE[0]), p(ARTICLE[1]), p(ARTICLE[2] + " " + ARTICLE[3][:40] + ".")]
    # the same paragraph with a line break is one block; a longer copy of a kept paragraph is not added
    assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], ARTICLE[1], ARTICLE[2]]


def test_fill_keeps_precision_blocks_the_recall_body_lacks_and_needs_a_shared_block():
    precise = [p(ARTICLE[0]), p(ARTICLE[2]), p(ARTICLE[3])]
    wide = [p(ARTICLE[0]), p(ARTICLE[1]), p(ARTICLE[2])]
    assert [b.text for b in fill_from_wide(precise, wide)] == ARTICLE
    assert fill_from_wide(precise, [p(FOOTER[0]), p(FOOTER[1])]) is precise  # nothing in common: unchanged
    assert fill_from_wide(precise, []) is precise


# -- a recall paragraph of several lines (a post written as text and <br>s) ---------------------------

def test_dropped_first_lines_of_a_text_with_line_breaks_are_filled_back():
    # The recall pass reads the post as one paragraph with line breaks; the precision pass kept only
    # its later lines (as blocks of their own) and lost the first paragraph.
    wide = [p("Tuesday, April 28"), p("\n".join(ARTICLE))]
    precise = [p(ARTICLE[1]), p(ARTICLE[2]), p(ARTICLE[3])]
    assert [b.text for b in fill_from_wide(precise, wide)] == ARTICLE


def test_a_multi_line_block_continuing_the_article_is_split_and_filled():
    # the article goes on in a multi-line block right after the paragraph both bodies share
    wide = [p(ARTICLE[0]), p("\n".join(ARTICLE[1:])), p("Reader 1\n30.12.11\n" + COMMENTS[0])]
    precise = [p(ARTICLE[0]), p("Comments (25)")]
    out = [b.text for b in fill_from_wide(precise, wide)]
    assert out[:4] == ARTICLE and COMMENTS[0] not in " ".join(out)


def test_lines_after_the_last_shared_line_and_footer_blocks_stay_out():
    # the run of text goes on past the article into the site's notices; a legal footer is one
    # multi-line block of its own: neither is article text
    run = "\n".join([ARTICLE[0], ARTICLE[1], FOOTER[0]])
    wide = [p(run), p(ARTICLE[2]), p("\n".join(FOOTER[1:]))]
    precise = [p(ARTICLE[0]), p(ARTICLE[1]), p(ARTICLE[2]), p(ARTICLE[3])]
    out = [b.text for b in fill_from_wide(precise, wide)]
    assert out == [ARTICLE[0], ARTICLE[1], ARTICLE[2], ARTICLE[3]]


def test_paragraphs_after_the_shared_part_need_a_precision_body_that_took_only_a_piece():
    tail = [p(COMMENTS[0]), p(COMMENTS[1])]
    # the precision body is the whole article: what follows it in the recall body is a comment thread
    assert [b.text for b in fill_from_wide([p(t) for t in ARTICLE], [p(t) for t in ARTICLE] + tail)] == ARTICLE
    # the precision body took the first paragraph of a long article: the rest is put back
    wide = [p(t) for t in ARTICLE] + [p(t) for t in FOOTER[:2]]
    out = [b.text for b in fill_from_wide([p(ARTICLE[0])], wide)]
    assert out[:4] == ARTICLE


def test_long_list_items_between_shared_blocks_are_filled_but_not_at_the_edges():
    item = p("- " + ARTICLE[1], kind="item")
    edge = p("- " + ARTICLE[3], kind="item")
    wide = [p(ARTICLE[0]), item, p(ARTICLE[2]), edge]
    precise = [p(ARTICLE[0]), p(ARTICLE[2])]
    assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], item.text, ARTICLE[2]]
    menu = p("Home", kind="item")
    assert [b.text for b in fill_from_wide(precise, [p(ARTICLE[0]), menu, p(ARTICLE[2])])] == [ARTICLE[0], ARTICLE[2]]


def test_a_multi_line_block_opening_with_the_page_description_is_the_article():
    # the precision pass kept the comment thread under the article; the recall pass has the article as
    # one run of lines (text set with <br>s) between the photo credit and the tag line both passes kept
    credit, tags = p("(photo: Agency)"), p("TAGS: court, police, fuel")
    article = p("\n".join([*ARTICLE, "MORE ON THIS STORY »"]))
    precise = [credit, tags, *map(p, COMMENTS[:4])]
    wide = [credit, article, tags, *map(p, COMMENTS[:4])]
    description = ARTICLE[0][:150] + "..."
    out = [b.text for b in fill_from_wide(precise, wide, description)]
    assert out == [credit.text, *ARTICLE, tags.text, *COMMENTS[:4]]  # the short link line stays out
    # counter-examples: no description, or one that is not how the block opens (a site's legal notice)
    assert [b.text for b in fill_from_wide(precise, wide)] == [b.text for b in precise]
    notice = p("\n".join(FOOTER))
    wide = [credit, notice, tags, *map(p, COMMENTS[:4])]
    assert [b.text for b in fill_from_wide(precise, wide, description)] == [b.text for b in precise]


# -- shorter sentences inside the text, pictures' captions ---------------------------------------------

def test_a_shorter_sentence_between_article_paragraphs_is_filled_back():
    # A one-sentence paragraph (a run right before an ad box) the precision pass dropped inside the text.
    short = "The appeals court in the capital upheld the sentence of the general."
    wide = [p(ARTICLE[0]), p(ARTICLE[1]), p(short), p(ARTICLE[2]), p(ARTICLE[3])]
    precise = [p(ARTICLE[0]), p(ARTICLE[2]), p(ARTICLE[3])]
    assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], ARTICLE[1], short, ARTICLE[2], ARTICLE[3]]


def test_shorter_lines_stay_out_at_the_edges_or_without_article_on_both_sides():
    short = "The appeals court in the capital upheld the sentence of the general."
    precise = [p(ARTICLE[0]), p(ARTICLE[2])]
    # after the last shared block: an end-of-page notice as often as article text
    assert [b.text for b in fill_from_wide(precise, [p(ARTICLE[0]), p(ARTICLE[2]), p(short)])] == [ARTICLE[0], ARTICLE[2]]
    # a teaser between a menu line and the article
    wide = [p(ARTICLE[0]), p("Most read"), p(short), p(ARTICLE[2])]
    assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], ARTICLE[2]]
    # between article paragraphs, but not a sentence: a headline-like link, a few words
    for line in ("Former police chief acquitted of corruption charges in the capital", "Read it all here."):
        wide = [p(ARTICLE[0]), p(line), p(ARTICLE[2])]
        assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], ARTICLE[2]]


def test_a_paragraph_printing_a_pictures_alt_text_is_a_caption_and_stays_out():
    caption = ("The former police chief leaves the courtroom in the capital after the verdict was read out on "
               "Thursday morning.")
    short = "A telescope with a camera body, the standard kit for a large moon."
    precise = [p(ARTICLE[0]), p(ARTICLE[1]), p(ARTICLE[2])]
    wide = [p(ARTICLE[0]), p(caption), p(ARTICLE[1]), p(short), p(ARTICLE[2])]
    out = [b.text for b in fill_from_wide(precise, wide, pictures=frozenset({caption, short + " "}))]
    assert out == [ARTICLE[0], ARTICLE[1], ARTICLE[2]]
    # without the pictures both are article text by their shape
    assert [b.text for b in fill_from_wide(precise, wide)] == [ARTICLE[0], caption, ARTICLE[1], short, ARTICLE[2]]


def test_picture_texts_are_the_alt_and_title_texts_of_images():
    from ingest.extract.extractor import parse_html, picture_texts

    tree = parse_html('<html><body><div class="img_wrapper"><img src="a.jpg" alt="The general leaves the court '
                      'after the verdict"><span>The general leaves the court after the verdict</span></div>'
                      '<img src="b.jpg" title="A telescope with a camera body" alt="photo"><img src="c.jpg">'
                      '<p>Text of the article.</p></body></html>')
    assert picture_texts(tree) == {"The general leaves the court after the verdict", "A telescope with a camera body"}
