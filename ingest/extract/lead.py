"""Lead recovery: the standfirst that news pages print between the headline and the body container.

Many CMSs put the lead ("teaser", "intro", "standfirst", "chapeau", "entradilla", "sommario",
"Vorspann", "lid"...) in an element of its own above the article body; trafilatura takes the body
container and the lead is lost, although it is often the most important sentence of the article.
`find_lead` reads the page tree (before trafilatura prunes it) and returns that text when several
signals agree, never on one alone:

  - position: the element lies after the page's headline (`<h1>`) and before the body's first
    paragraph in document order;
  - name: its class, id or itemprop says lead in one of many languages (`LEAD_WORDS`);
  - text: it matches the page's `og:description` / `description` meta or the feed entry's summary
    (a description that appears nowhere in the page is not used: it may be an editor's blurb).

A candidate needs two of the three (position and a long, sentence-shaped text without links counts as
two), and is never a copy of the title, a kicker (a short label without a sentence), a date line or a
byline, nor text inside a figure, navigation, aside or footer (unless that element holds the body too: a
page laid out in a table), nor a block holding scripts or form
controls (an archive widget's month menu in a `<select>` reads as one long line of text). The body's
first paragraph is searched for past a figure caption printed above the lead. The lead is added once:
if the body already starts with it (or holds it) nothing is added.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"\w+", re.UNICODE)
CLASS_TOKEN = re.compile(r"[a-z]+")
# Whole words in class/id/itemprop that name a lead (split at -, _, spaces and camelCase).
LEAD_WORDS = {
    "lead", "lede", "leadin", "leadtext", "intro", "introduction", "introtext", "standfirst", "summary",
    "description", "abstract", "excerpt", "dek", "deck", "teaser", "teasertext", "subtitle", "subheadline",
    "chapeau", "chapo", "accroche", "entradilla", "entradeta", "bajada", "sumario", "copete", "sommario",
    "catenaccio", "vorspann", "einleitung", "anriss", "kurztext", "lid", "zajawka", "wstep", "lide",
    "linhafina", "olho", "resumo", "resumen", "samenvatting", "inleiding",
}
OUTSIDE = {"nav", "footer", "aside", "figure", "figcaption", "form", "button", "script", "style", "noscript",
           "template", "select", "label", "time", "address", "ul", "ol", "li", "table", "a"}
OUTSIDE_WORDS = {"nav", "navigation", "menu", "footer", "sidebar", "breadcrumb", "breadcrumbs", "related",
                 "comments", "comment", "share", "social", "newsletter", "cookie", "consent", "promo", "ad",
                 "ads", "advert", "caption", "byline", "author", "meta", "dateline", "kicker", "overline",
                 "eyebrow", "topline", "dachzeile", "occhiello", "antetitulo", "credit", "tags", "paywall"}
CANDIDATE_TAGS = {"p", "div", "h2", "h3", "h4", "span", "section", "header", "strong", "b", "em", "summary", "font"}
DATELINE = re.compile(r"^[\W\d_]*(\d{1,2}[./:-]\d{1,2}|\d{4}|updated|aktualisiert|publié|publicado|pubblicato)",
                      re.I)
BYLINE = re.compile(r"^(by|von|par|por|di|de|da|przez|door|от|av|af)\s+\w+", re.I)
TERMINAL = tuple('.!?…"“”»\'’。！？')
MIN_CHARS, MAX_CHARS = 40, 900


def _norm(text: str) -> str:
    return " ".join(WORD.findall(unicodedata.normalize("NFKC", text.lower())))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _name_words(node) -> set[str]:
    """Words of the element's class, id, itemprop, role and data-* values, split at -, _, spaces and
    camelCase, plus adjacent pairs joined ("linha-fina" -> linhafina, "lead-text" -> leadtext)."""
    raw = " ".join(v for k, v in node.attrib.items()
                   if k in ("class", "id", "itemprop", "role") or k.startswith("data-"))
    raw = re.sub(r"([a-z])([A-Z])", r"\1 \2", raw).lower()
    tokens = CLASS_TOKEN.findall(raw)
    return set(tokens) | {a + b for a, b in zip(tokens, tokens[1:], strict=False)}


def _excluded(node, body_wrappers: frozenset = frozenset()) -> bool:
    """Inside a figure, navigation, list, link...; or in a box named as something else (byline, kicker,
    share, related...) within three levels (page-wide wrappers further up say little). An element
    that also holds the body (`body_wrappers`: a page laid out in a table, a post set in a list item)
    says nothing about the lead."""
    for depth, el in enumerate((node, *node.iterancestors())):
        if el.tag in ("body", "html") or el in body_wrappers:
            break
        if el.tag in OUTSIDE:
            return True
        if depth <= 3:
            names = _name_words(el)
            if names & OUTSIDE_WORDS and not names & LEAD_WORDS:
                return True
    return False


def _sentence_shaped(text: str) -> bool:
    words = len(WORD.findall(text))
    cjk = sum(1 for ch in text if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return (words >= 8 or cjk >= 25) and (text.rstrip().endswith(TERMINAL) or len(text) >= 100)


def _matches(text: str, hints: list[str]) -> bool:
    """The text is (the start of) one of the hints, or a hint is the start of the text, or they share
    nearly all words (descriptions are often cut short with "…")."""
    norm = _norm(text)
    if not norm:
        return False
    words = set(norm.split())
    for hint in hints:
        h = _norm(hint)
        if len(h) < 30:
            continue
        if norm.startswith(h[:80]) or h.startswith(norm[:80]):
            return True
        hw = set(h.split())
        if hw and len(words & hw) / len(hw) >= 0.8 and len(words & hw) / len(words) >= 0.6:
            return True
    return False


def _bad_lead(text: str, title: str | None) -> bool:
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return True
    if BYLINE.match(text) and len(text) < 120 or DATELINE.match(text) and len(WORD.findall(text)) < 12:
        return True
    if title:
        t, n = set(_norm(title).split()), set(_norm(text).split())
        if n and t and len(n & t) / len(n) >= 0.8:
            return True  # the headline again (perhaps with the site name)
    return False


def _order(tree) -> dict:
    return {el: i for i, el in enumerate(tree.iter()) if isinstance(el.tag, str)}


def _headline(tree, title: str | None):
    h1s = [h for h in tree.iter("h1") if _text(h)]
    if title:
        t = set(_norm(title).split())
        for h in h1s:
            words = set(_norm(_text(h)).split())
            if words and len(words & t) / len(words) >= 0.6:
                return h
    return h1s[0] if h1s else None


def find_lead(tree, body_first, title: str | None, hints: list[str]) -> str | None:
    """The page's lead outside the body container, or None (module docstring). `body_first` is the
    element holding the start of the body's first paragraph as trafilatura extracted it."""
    order = _order(tree)
    head = _headline(tree, title)
    start = order.get(head, -1) if head is not None else -1
    end = order.get(body_first) if body_first is not None else None
    best: tuple[int, int, str] | None = None
    seen: set[str] = set()
    wrappers = frozenset(body_first.iterancestors()) if body_first is not None else frozenset()
    for el, index in order.items():
        if el.tag not in CANDIDATE_TAGS or index <= start and not hints:
            continue
        if end is not None and index >= end:
            break
        named = bool(_name_words(el) & LEAD_WORDS)
        between = head is not None and index > start and (end is None or index < end)
        if not (named or between):
            continue
        # a wrapper of other blocks is not the lead; its paragraphs are candidates of their own
        inner = {c.tag for c in el.iter() if c is not el}
        if inner & {"script", "style", "noscript", "iframe", "form", "template", "select", "option", "button",
                    "input", "textarea"}:
            continue  # text_content() would read code and widgets (a month menu, a form) as text
        if inner & {"p", "div", "section", "h1", "h2", "h3", "ul", "ol", "figure", "table"} and not named:
            continue
        text = _text(el)
        if not text or text in seen or _bad_lead(text, title) or _excluded(el, wrappers):
            continue
        seen.add(text)
        links = sum(len(_text(a)) for a in el.iter("a"))
        if links > 0.3 * len(text):
            continue
        described = _matches(text, hints)
        shape = _sentence_shaped(text)
        score = named + between + described + (between and shape and len(text) >= 100 and not links)
        if score >= 2 and shape and (best is None or score > best[0]):
            best = (score, index, text)
    return best[2] if best else None


def already_in(lead: str, blocks_text: list[str]) -> bool:
    """The body holds the lead already (trafilatura kept it, maybe split over blocks or shortened)."""
    lead_norm = _norm(lead)
    joined = " ".join(_norm(t) for t in blocks_text[:6])
    return lead_norm[:120] in joined or (len(lead_norm) > 60 and lead_norm[-60:] in joined)
