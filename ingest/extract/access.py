"""Access (free, paywalled, teaser) and pages that are not articles at all (bot challenges, consent walls).

`page_access` reads the page before extraction:
  - schema.org `isAccessibleForFree` (JSON-LD, microdata or meta) false -> paywalled, true -> free;
  - `article:content_tier` meta (locked / metered -> paywalled, free -> free);
  - a paywall container: an element whose class or id names a paywall (paywall, regwall, piano
    `tp-container`, "premium", "plus" and "subscriber only" boxes) -> paywalled.
Payment prompts in the body ("Weiterlesen mit Abo", "Subscribe to continue reading", "Réservé aux
abonnés"...) are the rule pack's `paywall` family: the cleaner removes them and the article is
marked paywalled; the visible teaser stays the article's text. A body much shorter than the
site's usual articles (the pipeline knows the median) makes an unmarked article a `teaser`.

`blocked_page` recognises what a crawler gets instead of the article: a bot challenge ("Just a
moment...", "Attention Required!", "Checking your browser", captchas) or a consent wall with
nothing else on the page. Such a page is an extraction error, never an article.
"""

from __future__ import annotations

import json
import re
from itertools import product

from lxml import etree

from ingest.models import Access

FREE_FALSE = re.compile(r'"isAccessibleForFree"\s*:\s*"?(false|False|FALSE|0|no)"?')
FREE_TRUE = re.compile(r'"isAccessibleForFree"\s*:\s*"?(true|True|TRUE|1|yes)"?')
# Names of paywall containers in class and id values (a whole word between spaces, "_" or "-").
PAYWALL_NAMES = ("paywall", "paywalled", "pay-wall", "regwall", "registration-wall", "meter-wall",
                 "premium-?(?:content|article|wall|barrier|box)", "subscriber-?only", "subscription-?wall",
                 "plus-?(?:content|paywall|teaser)", "tp-container", "piano-?(?:offer|paywall)",
                 "article-?locked", "locked-?content", "content-?locked", "abo-?(?:teaser|wall|box)",
                 "offer-?wall", "barrier-?page")
PAYWALL_WORDS = re.compile(rf"(?:^|[\s_-])({'|'.join(PAYWALL_NAMES)})(?:$|[\s_-])", re.I)
NAME_TOKEN = re.compile(r"\(\?:[a-z|-]+\)|-\?|[a-z-]")  # (?:a|b), an optional "-", a letter or "-"


def _spellings(name: str) -> list[str]:
    """Every text a PAYWALL_NAMES entry matches (lower case): "abo-?(?:wall|box)" -> abo-wall, abowall, ..."""
    tokens = NAME_TOKEN.findall(name)
    assert "".join(tokens) == name, f"PAYWALL_NAMES: {name!r} uses more than letters, -, -? and (?:a|b)"
    options = [t[3:-1].split("|") if t.startswith("(") else ["-", ""] if t == "-?" else [t] for t in tokens]
    return ["".join(parts) for parts in product(*options)]


# Each name's spellings under its plain start (the text before its first "-?" or "("): tested first.
PAYWALL_SPELLINGS: dict[str, list[str]] = {}
for _name in PAYWALL_NAMES:
    PAYWALL_SPELLINGS.setdefault(re.split(r"-\?|\(", _name)[0], []).extend(_spellings(_name))
# An IGNORECASE match takes four non-ASCII letters for ASCII ones (İ ı ſ K): folded before lower-casing,
# so a plain substring test finds every spelling PAYWALL_WORDS could match.
CASE_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def names_paywall(values: list[str]) -> bool:
    """Whether some class or id value of `values` names a paywall: every value at once, by substring
    tests for the names' spellings first (most pages hold none), PAYWALL_WORDS only when one is found."""
    joined = "\n".join(values)  # a newline is a word boundary for PAYWALL_WORDS, and no name holds one
    folded = joined.translate(CASE_FOLD).lower()
    return any(start in folded and any(s in folded for s in spellings) for start, spellings in PAYWALL_SPELLINGS.items()) \
        and PAYWALL_WORDS.search(joined) is not None


CHALLENGE_TITLE = re.compile(r"^(just a moment|attention required|please wait|checking your browser|"
                             r"access denied|pardon our interruption|are you a (?:robot|human)|"
                             r"security check|one more step|bot verification|ddos-guard|verify you are human|"
                             r"captcha|robot check|request blocked|you have been blocked)", re.I)
CHALLENGE_MARKERS = ("cf-browser-verification", "cf_chl_", "challenge-platform", "g-recaptcha", "h-captcha",
                     "px-captcha", "captcha-delivery.com", "datadome", "_incapsula_resource", "sucuri_cloudproxy")
CONSENT_WORDS = re.compile(r"(cookie|consent|zustimm|einwillig|datenschutz|privacy|vie privée|consentement|"
                           r"consentimiento|consenso|privacidade|prywatno|zgod|werbefrei|pur-abo|mit werbung)", re.I)


ACCEPT_WORDS = re.compile(r"\b(accept|agree|akzeptier|zustimmen|einverstanden|accepter|j'accepte|aceptar|acepto|"
                          r"accetta|accetto|aceitar|aceito|akceptuj|zgadzam)", re.I)


def _meta(tree, *names: str) -> list[str]:
    out = []
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").lower()
        if key in names and el.get("content") is not None:
            out.append(el.get("content").strip().lower())
    return out


# Every class and id value of the page as plain strings, in one C-level pass (no element proxies).
CLASS_AND_ID_VALUES = etree.XPath("//@class | //@id", smart_strings=False)
NOT_PAYWALL_HOLDERS = ("script", "style", "meta", "link", "html", "body")


def _paywall_container(tree) -> bool:
    """An element (not script, style, meta, link, html, body) whose class or id names a paywall.
    Most pages name no paywall in any class or id value at all (`names_paywall`): only the others
    are walked element by element."""
    if not names_paywall(CLASS_AND_ID_VALUES(tree)):
        return False
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in NOT_PAYWALL_HOLDERS:
            continue
        names = f"{el.get('class') or ''} {el.get('id') or ''}"
        if names.strip() and PAYWALL_WORDS.search(names):
            return True
    return False


def page_access(tree) -> str:
    """What the page itself says about access (before its body is looked at): Access value."""
    scripts = " ".join(s.text or "" for s in tree.iter("script") if "ld+json" in (s.get("type") or ""))
    if FREE_FALSE.search(scripts):
        return Access.PAYWALLED
    micro = _meta(tree, "isaccessibleforfree")
    tier = _meta(tree, "article:content_tier", "content_tier")
    if any(v in ("false", "0", "no") for v in micro) or any(v in ("locked", "metered", "premium") for v in tier):
        return Access.PAYWALLED
    if _paywall_container(tree):
        return Access.PAYWALLED
    if FREE_TRUE.search(scripts) or any(v in ("true", "1", "yes") for v in micro) or "free" in tier:
        return Access.FREE
    return Access.UNKNOWN


def _json_title(tree) -> str:
    for s in tree.iter("script"):
        if "ld+json" in (s.get("type") or "") and s.text:
            try:
                data = json.loads(s.text)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("headline"):
                return str(data["headline"])
    return ""


def _challenge(title: str, html: str) -> bool:
    """A bot challenge's title, or a challenge script's marker in the page's start."""
    if CHALLENGE_TITLE.match(title):
        return True
    head = html[:200_000].lower()
    return any(m in head for m in CHALLENGE_MARKERS)


def blocked_page(tree, html: str, body_text: str) -> str | None:
    """Why this page is not an article (bot challenge, consent wall), or None."""
    title = " ".join((tree.findtext(".//title") or "").split())
    # the body's length first: the page of an article is not scanned for challenge markers
    if len(body_text) < 600 and _challenge(title, html) and not _json_title(tree):
        return f"bot challenge ({title or 'challenge script'})"
    words = len(body_text.split())
    if words < 80 and len(CONSENT_WORDS.findall(body_text)) >= 2 and ACCEPT_WORDS.search(body_text) \
            and not _json_title(tree):
        return "consent wall"
    return None


# -- publication time from the page ------------------------------------------------------------------

DATE_KEYS = ("article:published_time", "og:published_time", "datepublished", "publishdate", "pubdate",
             "dc.date.issued", "dcterms.created", "date", "sailthru.date", "parsely-pub-date")
JSON_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")


def _parse_when(value: str):
    """(aware datetime, precision) from an ISO-like value; a date alone has precision day."""
    from datetime import UTC, datetime

    from ingest.models import Precision

    value = value.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    if ISO_TIME.match(value):
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)), Precision.TIME
    return dt.replace(tzinfo=UTC), Precision.DAY


def page_published(tree):
    """(datetime, precision) of the page's own publication time: JSON-LD datePublished, then meta tags,
    then `<time datetime>` / itemprop datePublished; values with a time of day first. None if none."""
    from ingest.models import Precision

    found = []
    scripts = " ".join(s.text or "" for s in tree.iter("script") if "ld+json" in (s.get("type") or ""))
    found += [m.group(1) for m in JSON_DATE.finditer(scripts)]
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in DATE_KEYS and el.get("content"):
            found.append(el.get("content"))
    for el in tree.iter("time"):
        if el.get("datetime") and (el.get("itemprop") or "").lower() in ("datepublished", ""):
            found.append(el.get("datetime"))
    parsed = [p for p in (_parse_when(v) for v in found) if p]
    timed = [p for p in parsed if p[1] == Precision.TIME]
    return (timed or parsed or [None])[0]
