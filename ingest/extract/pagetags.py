"""Tags and credits printed outside the body trafilatura keeps, read from the page tree.

trafilatura usually drops the tag box under an article (it is all links); the page still says which
tags the article has. `page_tag_blocks` finds every tags header on the page ("Verwendete
Schlagwörter", "Tags:", "Mots-clés", "Argomenti"...) by the rule pack's `tags` rules and reads the
values printed in it or after it, leaving navigation, footers and sidebars out; `is_credit` tells a
photo credit or copyright line by the pack's `credit` rules. Both run before extraction
(`extractor.py`); `split_values` is shared with the walker's tag blocks.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.extract.rulepack import CleanRule, Prepared, load_clean_rules

TAG_SPLIT = re.compile(r"\s*[,;|•·/]\s*|\s+[-–—]\s+|\n")
CAMEL = re.compile(r"(?<=[a-zäöüßàâçéèêëîïôûùüÿñæœáíóú])(?=[A-ZÄÖÜÀÂÇÉÈÊËÎÏÔÛÙÜŸÑÆŒÁÍÓÚ])"
                   r"|(?<=[A-ZÄÖÜ])(?=[A-ZÄÖÜ][a-zäöüß])")

NOT_ARTICLE_TAGS = {"nav", "footer", "aside", "script", "style", "noscript", "template", "form"}
NOT_ARTICLE_WORDS = {"nav", "navbar", "navigation", "menu", "footer", "sidebar", "breadcrumb",
                     "breadcrumbs", "masthead", "topbar", "megamenu"}
CLASS_WORD = re.compile(r"[a-z]+")


def _outside_article(node) -> bool:
    for anc in node.iterancestors():
        if anc.tag in NOT_ARTICLE_TAGS:
            return True
        words = set(CLASS_WORD.findall(f"{anc.get('class') or ''} {anc.get('id') or ''}".lower()))
        if words & NOT_ARTICLE_WORDS:
            return True
    return False


def _text_of(node) -> str:
    return " ".join(node.text_content().split())


def _link_values(node) -> list[str]:
    nodes = [node] if node.tag == "a" else list(node.iter("a"))
    return [t for t in (_text_of(a) for a in nodes) if t]


def split_values(text: str) -> list[str]:
    values = [v.strip(" :#.") for v in TAG_SPLIT.split(text)]
    if len(values) == 1 and (len(CAMEL.findall(values[0])) >= 2 or len(values[0]) > 25) and CAMEL.search(values[0]):
        values = [v.strip() for v in CAMEL.split(values[0])]
    return [v for v in values if v]


def _values_after(node) -> list[str]:
    """Tag values printed after a tags header: the links, item texts or list in the next elements."""
    cur, siblings = node, []
    for _ in range(4):
        siblings = [s for s in cur.itersiblings() if isinstance(s.tag, str)]
        if siblings or cur.getparent() is None:
            break
        cur = cur.getparent()
    values: list[str] = []
    for sib in siblings:
        text = _text_of(sib)
        if not text:
            continue
        if len(text) > 400 or sib.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and values:
            break
        found = _link_values(sib)
        if not found:
            kids = [_text_of(k) for k in sib if isinstance(k.tag, str)]
            kids = [k for k in kids if k]
            found = kids if kids and all(len(k) <= 60 for k in kids) else split_values(text)
        if not found or any(len(v) > 60 for v in found):
            break
        values += found
    return values


@lru_cache(maxsize=8)
def _any_of(rules: tuple[CleanRule, ...]) -> re.Pattern:
    """One pattern that matches where any of `rules` might (a quick first test)."""
    return re.compile("|".join(f"(?:{r.regex.pattern})" for r in rules), re.IGNORECASE)


def page_tag_blocks(tree) -> list[tuple[list[str], frozenset]]:
    """(tags, the header's ancestors) of every tags header on the page ("Verwendete Schlagwörter", "Tags:",
    "Mots-clés", "Argomenti"...) with the values printed in it or after it; navigation, footers and
    sidebars left out. The caller keeps those inside the article's area."""
    rules = [r for r in load_clean_rules() if r.kind == "tags"]
    quick = _any_of(tuple(rules))
    out: list[tuple[list[str], frozenset]] = []
    for node in tree.iter():
        text = node.text
        if not text or not isinstance(node.tag, str) or node.tag in ("html", "head", "body", "title", "a", "script", "style"):
            continue
        own = " ".join(text.split())
        if not own or len(own) > 60 or not quick.search(own.lower()) or not any(r.matches(own) for r in rules):
            continue
        if _outside_article(node):
            continue
        values = _link_values(node)
        if not values:
            full = _text_of(node)
            label, colon, rest = full.partition(":")
            values = split_values(rest) if colon and rest.strip() else []
        if not values:
            values = _values_after(node)
        values = [v for v in values if len(v) <= 60]
        if values:
            out.append((list(dict.fromkeys(values)), frozenset(node.iterancestors())))
    return out


def is_credit(text: str) -> bool:
    """A photo credit or copyright line by the rule pack's `credit` rules."""
    prepared = Prepared(text)
    return any(r.kind == "credit" and r.matches_prepared(prepared) for r in load_clean_rules())
