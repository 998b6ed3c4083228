"""Page-tree fixes before trafilatura: markup it misreads in ways that lose article text.

Each fix is small, leaves the page's text as it reads in a browser, and is applied to the parsed
tree once, before trafilatura and our readers (captions, headings, lead) see it (`fix_tree`):

  - `break_leading_text`: a post written as text and `<br>`s straight in a block container
    (`<section>First paragraph.<br><br>Second...`) comes out of trafilatura without its first run:
    each `<br>` becomes a paragraph made of the text after it, and the container's own text before
    its first `<br>` is dropped (always in a `<section>`, `<article>` or `<main>`, in a `<div>` when
    the page has paragraphs elsewhere). That run is the article's first paragraph; an empty `<br>`
    put before it makes it a paragraph like the others. A first run that goes on in links before its
    `<br>` is put in a `<p>` only when the container's class or id says it is the text (`TEXT_NAMES`:
    "tresc", "article-body", "entry"...): elsewhere such a run is mostly a footer's notice. A run that starts
    right after a block inside such a container (a related-links box, a picture's box: trafilatura
    drops the box with the text after it, `<p><div class="image">…</div>First paragraph</p>` parses
    that way) gets a `<br>` of its own when a `<br>` ends it, else a `<p>` up to the next block.
  - `drop_counter_badges`: a link whose text is a number, first in its paragraph and glued to the
    paragraph's first word (`<p><a class="comments_count">0</a>The minister said...`), is a comment
    or like counter drawn as a badge; trafilatura keeps its text, so the paragraph would start with
    "0The". The badge is dropped, its tail kept.
"""

from __future__ import annotations

import re

from lxml import etree

# Block containers whose own leading text trafilatura drops when the text goes on in <br>-separated runs.
RUN_CONTAINERS = frozenset({"div", "section", "article", "main"})
# Block elements after which a text run starts afresh (a related-links box inside the text, a picture).
BLOCKS = frozenset({"div", "p", "table", "ul", "ol", "dl", "section", "aside", "figure", "blockquote", "h1", "h2",
                    "h3", "h4", "h5", "h6", "form", "center"})
# Class/id words of a container that holds the article's text (several languages), where a leading run
# that goes on in links before its first <br> is still the first paragraph (elsewhere: a footer's notice).
TEXT_NAMES = frozenset({"content", "text", "body", "article", "story", "entry", "post", "tresc", "tekst", "inhalt",
                        "artikel", "contenu", "contenido", "testo", "conteudo", "texto", "corpo", "cuerpo"})
NAME_TOKEN = re.compile(r"[a-z]+")
COUNT = re.compile(r"\d{1,6}")
WORD_START = re.compile(r"[^\W\d_]")


def break_leading_text(tree) -> None:
    """Give the first run of a text set with line breaks its own `<br>` (module docstring)."""
    for br in list(tree.iter("br")):
        parent = br.getparent()
        if parent is None or parent.tag not in RUN_CONTAINERS:
            continue
        before = br.getprevious()
        if before is None and parent.text and parent.text.strip():
            first = etree.Element("br")
            first.tail, parent.text = parent.text, None
            parent.insert(0, first)
        elif before is not None and _named_as_text(parent) and parent.text and WORD_START.search(parent.text) \
                and _run_before(br, parent):
            _wrap_leading_run(parent, br)
    for block in list(tree.iter(*BLOCKS)):
        parent = block.getparent()
        if parent is not None and parent.tag in RUN_CONTAINERS and block.tail and WORD_START.search(block.tail):
            _wrap_tail_run(block)


def _named_as_text(node) -> bool:
    """The element's class or id says it holds the article's text ("tresc", "article-body", "entry")."""
    names = set(NAME_TOKEN.findall(" ".join((node.get("class") or "", node.get("id") or "")).lower()))
    return bool(names & TEXT_NAMES)


def _run_before(br, parent) -> bool:
    """Only inline elements (no block, no other `<br>`) between the container's start and `br`."""
    return all(not (isinstance(n.tag, str) and (n.tag == "br" or n.tag in BLOCKS)) for n in br.itersiblings(preceding=True))


def _wrap_leading_run(parent, br) -> None:
    """The container's own text and the inline elements before its first `<br>`, in a `<p>` of their own."""
    run = list(br.itersiblings(preceding=True))[::-1]
    paragraph = etree.Element("p")
    paragraph.text, parent.text = parent.text, None
    parent.insert(0, paragraph)
    for node in run:
        paragraph.append(node)


def _wrap_tail_run(block) -> None:
    """Give the text run after `block` a line of its own, where a browser shows it: a `<br>` before it when
    a `<br>` ends it, else a `<p>` holding it (its tail and the inline elements up to the next block)."""
    run = []
    node = block.getnext()
    while node is not None and not (isinstance(node.tag, str) and (node.tag == "br" or node.tag in BLOCKS)):
        run.append(node)
        node = node.getnext()
    if node is not None and node.tag == "br":  # a run of a <br>-set text: a break of its own, like the others
        first = etree.Element("br")
        first.tail, block.tail = block.tail, None
        block.addnext(first)
        return
    paragraph = etree.Element("p")
    paragraph.text, block.tail = block.tail, None
    block.addnext(paragraph)
    for node in run:
        paragraph.append(node)  # moves it, its tail with it


def _starts_paragraph(link) -> bool:
    """Nothing but empty elements (anchors) before the link in its `<p>`, and no text."""
    parent = link.getparent()
    if parent is None or parent.tag != "p" or (parent.text or "").strip():
        return False
    for sibling in link.itersiblings(preceding=True):
        if (sibling.tail or "").strip() or sibling.text_content().strip():
            return False
    return True


def drop_counter_badges(tree) -> None:
    """Drop number-only links glued to the first word of their paragraph (module docstring)."""
    for link in list(tree.iter("a")):
        text, tail = link.text or "", link.tail or ""
        if len(link) or not COUNT.fullmatch(text) or not WORD_START.match(tail) or not _starts_paragraph(link):
            continue
        parent = link.getparent()
        previous = link.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(link)


def fix_tree(tree) -> None:
    """Apply every fix of the module to the parsed page, in place."""
    break_leading_text(tree)
    drop_counter_badges(tree)
