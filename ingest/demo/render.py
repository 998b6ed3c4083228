"""HTML pages and RSS/Atom feeds of the sample site, from plain string templates.

Every outlet has its own page layout (a WordPress-like one, a Drupal-like one, a custom CMS
with schema.org microdata and one with JSON-LD and `itemprop=articleBody`), so nothing
downstream can be tuned to a single structure. The boilerplate inside each body container
is produced from the same strings `boilerplate_lines()` returns, so tests can check for it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.demo.site import DemoArticle, Outlet

# where the photo credit and the ad marker sit between paragraphs (index of the paragraph before)
SLOTS = {"rheinblick": {"credit": 0, "ad": 2, "read_also": 3}, "alpenpost": {"credit": 1, "ad": 2},
         "harbour": {"credit": 1, "ad": 3}, "ledger": {"credit": 2, "ad": 1}}


def e(text: str) -> str:
    return escape(text, quote=True)


# -- boilerplate inside the body container ------------------------------------------------------


def boilerplate_lines(a: DemoArticle, outlet: Outlet) -> list[str]:
    """Every line of boilerplate the article's body container shows, in page order."""
    b = outlet.body
    teasers = [title for title, _ in a.related[:3]]
    credit = [a.credit] if a.credit else []
    glued = "".join(a.tags)  # the tag links have no whitespace between them
    key = outlet.key
    if key == "rheinblick":
        read_also = [f"{b['read_also']} {a.related[3][0]}"] if len(a.related) > 3 and len(a.paragraphs) > 3 else []
        return [*credit, b["ad"], *read_also, b["whatsapp_headline"], b["whatsapp_text"], b["share"],
                b["related"], *teasers, b["tags"], glued]
    if key == "alpenpost":
        return [b["cookie"], *credit, b["ad"], b["telegram"], b["newsletter"], b["related"], *teasers,
                b["tags"], glued]
    if key == "harbour":
        return [*credit, b["ad"], b["telegram"], b["newsletter"], b["share"], b["related"], *teasers,
                b["tags"], glued]
    if key == "ledger":
        return [b["listen"], b["ad"], *credit, b["whatsapp"], b["related"], *teasers, b["briefing"],
                b["tags"], glued]
    raise KeyError(f"no page layout for outlet {key!r}")


def _paragraphs(a: DemoArticle, inserts: dict[int, list[str]], heading: str = "h2") -> str:
    """The body paragraphs and subheadings, with boilerplate snippets after text paragraph N (from 0).

    Snippets for a position past the last paragraph go at the end."""
    subs = set(a.subheadings)
    texts = [p for p in a.paragraphs if p not in subs]
    parts: list[str] = []
    n = -1
    for p in a.paragraphs:
        if p in subs:
            parts.append(f"<{heading}>{e(p)}</{heading}>")
            continue
        parts.append(f"<p>{e(p)}</p>")
        n += 1
        for slot, snippets in inserts.items():
            if slot == n or (n == len(texts) - 1 and slot > n):
                parts.extend(snippets)
    if not texts:
        parts.extend(x for snippets in inserts.values() for x in snippets)
    return "\n".join(parts)


def _tag_links(a: DemoArticle, prefix: str) -> str:
    return "".join(f'<a href="{prefix}{e(t.lower().replace(" ", "-"))}" rel="tag">{e(t)}</a>' for t in a.tags)


def _figure(a: DemoArticle, cls: str = "") -> str:
    if not a.caption:
        return ""
    cls = f' class="{cls}"' if cls else ""
    return (f'<figure{cls}><img src="/img/{e(a.slug)}.jpg" alt="" width="1200" height="675">'
            f"<figcaption>{e(a.caption)}</figcaption></figure>")


# -- page chrome --------------------------------------------------------------------------------


def _head(a: DemoArticle, outlet: Outlet, extra: str = "") -> str:
    tags = "".join(f'<meta property="article:tag" content="{e(t)}">' for t in a.tags)
    feed = outlet.feeds[0]
    ftype = "application/atom+xml" if feed["format"] == "atom" else "application/rss+xml"
    return (f'<head><meta charset="{outlet.charset}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(a.title)} | {e(outlet.name)}</title>"
            f'<meta name="description" content="{e(a.lead)}">'
            f'<meta name="author" content="{e(a.author)}">'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{e(a.title)}">'
            f'<meta property="og:description" content="{e(a.lead)}">'
            f'<meta property="og:site_name" content="{e(outlet.name)}"><meta property="og:url" content="{e(a.url)}">'
            f'<meta property="og:image" content="{outlet.base_url}/img/{e(a.slug)}.jpg">'
            f'<meta property="article:published_time" content="{a.published.isoformat()}">'
            f'<meta property="article:section" content="{e(a.section)}">{tags}'
            f'<link rel="canonical" href="{e(a.url)}">'
            f'<link rel="alternate" type="{ftype}" title="{e(feed["name"])}" href="{outlet.base_url}{feed["path"]}">'
            f'<link rel="stylesheet" href="/static/{outlet.key}.css">{extra}</head>')


def _nav(outlet: Outlet, cls: str) -> str:
    items = "".join(f'<li><a href="/{e(s.lower().replace(" & ", "-"))}/">{e(s)}</a></li>'
                    for s in outlet.chrome["sections"])
    return f'<nav class="{cls}"><ul>{items}</ul></nav>'


def _cookie_banner(outlet: Outlet) -> str:
    c = outlet.chrome
    return (f'<div id="cookie-consent" class="consent-banner" role="dialog"><p>{e(c["cookie"])}</p>'
            f'<button type="button">{e(c["cookie_button"])}</button></div>')


def _most_read(outlet: Outlet, most_read: list[DemoArticle], cls: str) -> str:
    items = "".join(f'<li><a href="{e(x.url)}">{e(x.title)}</a></li>' for x in most_read)
    return f'<aside class="{cls}"><h3>{e(outlet.chrome["most_read"])}</h3><ol>{items}</ol></aside>'


def _footer(outlet: Outlet, year: int) -> str:
    links = " ".join(f'<a href="/{e(x.lower().replace(" ", "-"))}">{e(x)}</a>' for x in outlet.chrome["footer"])
    return f'<footer class="site-footer"><p>© {year} {e(outlet.name)}</p><p class="footer-links">{links}</p></footer>'


def _teaser_items(a: DemoArticle) -> str:
    return "".join(f'<li><a href="{e(url)}">{e(title)}</a></li>' for title, url in a.related[:3])


def _json_ld(a: DemoArticle, outlet: Outlet) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
            "datePublished": a.published.isoformat(), "author": {"@type": "Person", "name": a.author},
            "publisher": {"@type": "Organization", "name": outlet.name}, "keywords": a.tags,
            "mainEntityOfPage": a.url, "inLanguage": a.lang}
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


# -- the four layouts ---------------------------------------------------------------------------


def _rheinblick(a: DemoArticle, o: Outlet, most_read: list[DemoArticle]) -> str:
    b, slots = o.body, SLOTS["rheinblick"]
    inserts: dict[int, list[str]] = {slots["ad"]: [f'<div class="ad-slot ad-inline"><span>{e(b["ad"])}</span></div>']}
    if a.credit:
        inserts.setdefault(slots["credit"], []).insert(0, f'<p class="credit">{e(a.credit)}</p>')
    if len(a.related) > 3 and len(a.paragraphs) > 3:
        title, url = a.related[3]
        inserts.setdefault(slots["read_also"], []).append(
            f'<p class="read-also"><strong>{e(b["read_also"])}</strong> <a href="{e(url)}">{e(title)}</a></p>')
    body = (f'<article id="post-{zlib.crc32(a.slug.encode()) % 90000 + 10000}" class="post type-post status-publish">'
            f'<header class="entry-header"><span class="kicker">{e(a.section.title())}</span>'
            f'<h1 class="entry-title">{e(a.title)}</h1>'
            f'<p class="byline">{e(o.chrome["byline"])} <span class="author vcard">{e(a.author)}</span> · '
            f'<time class="entry-date" datetime="{a.published.isoformat()}">{a.published:%d.%m.%Y, %H:%M} Uhr</time>'
            f'</p></header>'
            f'<div class="entry-content"><p class="lead"><strong>{e(a.lead)}</strong></p>'
            f'{_figure(a, "wp-block-image")}\n{_paragraphs(a, inserts)}\n'
            f'<p class="wp-caption-text">{e(a.caption)}</p>'
            f'<p><strong>{e(b["whatsapp_headline"])}</strong></p><p>{e(b["whatsapp_text"])}</p>'
            f'<div class="sharedaddy"><p>{e(b["share"])}</p></div>'
            f'<h3>{e(b["related"])}</h3><ul class="related-posts">{_teaser_items(a)}</ul>'
            f'<h3>{e(b["tags"])}</h3><p class="tags-links">{_tag_links(a, "/thema/")}</p>'
            f'</div></article>')
    return (f'<!DOCTYPE html><html lang="{o.language}">{_head(a, o)}<body class="single single-post">'
            f'{_cookie_banner(o)}<header class="site-header"><a href="/" class="custom-logo-link">{e(o.name)}</a>'
            f'{_nav(o, "main-navigation")}</header><div id="content" class="site-content"><main id="main">'
            f'<nav class="breadcrumbs"><a href="/">Startseite</a> › <a href="/{e(a.section)}/">{e(a.section.title())}</a>'
            f'</nav>{body}</main>{_most_read(o, most_read, "widget-area")}</div>'
            f'{_footer(o, a.published.year)}</body></html>')


def _alpenpost(a: DemoArticle, o: Outlet, most_read: list[DemoArticle]) -> str:
    b, slots = o.body, SLOTS["alpenpost"]
    inserts: dict[int, list[str]] = {slots["ad"]: [f'<div class="advertisement"><span>{e(b["ad"])}</span></div>']}
    if a.credit:
        inserts.setdefault(slots["credit"], []).insert(0, f'<p class="field--name-field-credit">{e(a.credit)}</p>')
    body = (f'<div class="node node--type-article node--view-mode-full">'
            f'<h1 class="page-title"><span class="field--name-title">{e(a.title)}</span></h1>'
            f'<div class="node__meta">{e(o.chrome["byline"])} <span class="field--name-uid">{e(a.author)}</span>, '
            f'<span class="field--name-created">{a.published:%d.%m.%Y um %H:%M Uhr}</span></div>'
            f'<div class="field field--name-field-lead"><p>{e(a.lead)}</p></div>'
            f'<div class="field field--name-body clearfix">{_figure(a, "field--name-field-image")}'
            f'<div class="cookie-note"><p>{e(b["cookie"])}</p></div>\n{_paragraphs(a, inserts)}\n'
            f'<p>{e(a.caption)}</p><p class="promo">{e(b["telegram"])}</p>'
            f'<div class="newsletter-box"><p>{e(b["newsletter"])}</p></div>'
            f'<div class="more"><h4>{e(b["related"])}</h4><ul>{_teaser_items(a)}</ul></div>'
            f'<div class="field--name-field-tags"><span>{e(b["tags"])}</span>{_tag_links(a, "/themen/")}</div>'
            f'</div></div>')
    return (f'<!DOCTYPE html><html lang="{o.language}" dir="ltr">{_head(a, o)}'
            f'<body class="path-node page-node-type-article"><div class="dialog-off-canvas-main-canvas">'
            f'<header role="banner"><div class="site-branding"><a href="/" rel="home">{e(o.name)}</a></div>'
            f'{_nav(o, "menu--main")}</header><main role="main"><div class="region region-content">{body}</div>'
            f'{_most_read(o, most_read, "region region-sidebar-second")}</main>'
            f'{_footer(o, a.published.year)}{_cookie_banner(o)}</div></body></html>')


def _harbour(a: DemoArticle, o: Outlet, most_read: list[DemoArticle]) -> str:
    b, slots = o.body, SLOTS["harbour"]
    inserts: dict[int, list[str]] = {slots["ad"]: [f'<div class="ad-container"><p>{e(b["ad"])}</p></div>']}
    if a.credit:
        inserts.setdefault(slots["credit"], []).insert(0, f'<p class="photo-credit">{e(a.credit)}</p>')
    body = (f'<article itemscope itemtype="https://schema.org/NewsArticle">'
            f'<h1 itemprop="headline">{e(a.title)}</h1><p class="standfirst">{e(a.lead)}</p>'
            f'<p class="meta"><span itemprop="author">{e(o.chrome["byline"])} {e(a.author)}</span> '
            f'<time itemprop="datePublished" datetime="{a.published.isoformat()}">'
            f'{a.published:%a %d %b %Y %H.%M} GMT</time></p>'
            f'<section class="story-body">{_figure(a, "lead-image")}<p class="caption-repeat">{e(a.caption)}</p>\n'
            f'{_paragraphs(a, inserts)}\n'
            f'<aside class="promo"><p>{e(b["telegram"])}</p></aside><p>{e(b["newsletter"])}</p>'
            f'<p class="share">{e(b["share"])}</p><h2>{e(b["related"])}</h2><ul>{_teaser_items(a)}</ul>'
            f'<p class="topics">{e(b["tags"])} {_tag_links(a, "/topics/")}</p></section></article>')
    return (f'<!DOCTYPE html><html lang="{o.language}">{_head(a, o, _json_ld(a, o))}<body>'
            f'{_cookie_banner(o)}<header class="masthead"><a href="/" class="brand">{e(o.name)}</a>'
            f'{_nav(o, "primary-nav")}</header><div class="layout"><main>{body}</main>'
            f'{_most_read(o, most_read, "rail most-read")}</div>{_footer(o, a.published.year)}</body></html>')


def _ledger(a: DemoArticle, o: Outlet, most_read: list[DemoArticle]) -> str:
    b, slots = o.body, SLOTS["ledger"]
    inserts: dict[int, list[str]] = {slots["ad"]: [f'<div class="dfp-ad"><small>{e(b["ad"])}</small></div>']}
    if a.credit:
        inserts.setdefault(slots["credit"], []).append(f'<p class="image-credit">{e(a.credit)}</p>')
    teasers = " ".join(f'<a href="{e(url)}">{e(title)}</a>' for title, url in a.related[:3])
    body = (f'<div class="article"><h1>{e(a.title)}</h1>'
            f'<div class="byline">{e(o.chrome["byline"])} {e(a.author)} | {a.published:%d %B %Y}</div>'
            f'<div itemprop="articleBody"><p class="audio-player">{e(b["listen"])}</p>'
            f'<p class="intro">{e(a.lead)}</p>\n{_paragraphs(a, inserts)}\n'
            f'<p><em>{e(b["whatsapp"])}</em></p><p>{e(b["related"])} {teasers}</p>'
            f'{_figure(a)}<p>{e(a.caption)}</p><p>{e(b["briefing"])}</p>'
            f'<p class="tags">{e(b["tags"])} {_tag_links(a, "/tag/")}</p></div></div>')
    return (f'<!DOCTYPE html><html lang="{o.language}">{_head(a, o, _json_ld(a, o))}<body>'
            f'<div class="top-bar">{_cookie_banner(o)}</div><header><div class="logo">{e(o.name)}</div>'
            f'{_nav(o, "nav")}</header><div class="container"><div class="col-main">{body}</div>'
            f'<div class="col-side">{_most_read(o, most_read, "trending")}</div></div>'
            f'{_footer(o, a.published.year)}</body></html>')


LAYOUTS: dict[str, Callable[[DemoArticle, Outlet, list[DemoArticle]], str]] = {
    "rheinblick": _rheinblick, "alpenpost": _alpenpost, "harbour": _harbour, "ledger": _ledger}


def render_page(a: DemoArticle, outlet: Outlet, most_read: list[DemoArticle]) -> str:
    return LAYOUTS[outlet.key](a, outlet, most_read)


def render_index(outlet: Outlet, articles: list[DemoArticle]) -> str:
    items = "".join(f'<li><a href="{e(a.url)}">{e(a.title)}</a> <p>{e(a.lead)}</p></li>' for a in articles)
    alternates = "".join(
        f'<link rel="alternate" type="application/{f["format"]}+xml" title="{e(f["name"])}" '
        f'href="{outlet.base_url}{f["path"]}">' for f in outlet.feeds if f["kind"] == "ok")
    return (f'<!DOCTYPE html><html lang="{outlet.language}"><head><meta charset="{outlet.charset}">'
            f"<title>{e(outlet.name)}</title>{alternates}</head><body>{_cookie_banner(outlet)}"
            f"<header><h1>{e(outlet.name)}</h1>{_nav(outlet, 'nav')}</header><main><ul>{items}</ul></main>"
            f"{_footer(outlet, 2026)}</body></html>")


def error_page(status: int, language: str) -> str:
    text = {404: ("Seite nicht gefunden", "Page not found"), 500: ("Interner Serverfehler", "Internal server error")}
    title = text.get(status, ("Fehler", "Error"))[0 if language == "de" else 1]
    return f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"><title>{title}</title></head>' \
           f"<body><h1>{status} {title}</h1></body></html>"


# -- feeds ----------------------------------------------------------------------------------------


def full_text_html(a: DemoArticle) -> str:
    """The article as its feed entry carries it (content:encoded / Atom content)."""
    subs = set(a.subheadings)
    return "".join(f"<h2>{e(p)}</h2>" if p in subs else f"<p>{e(p)}</p>" for p in [a.lead, *a.paragraphs])


def rss(outlet: Outlet, feed: dict, articles: list[DemoArticle], updated: datetime) -> str:
    items = []
    for a in articles:
        cats = "".join(f"<category>{e(t)}</category>" for t in a.tags)
        content = ""
        if a.feed_content:
            content = (f"<content:encoded><![CDATA[{a.feed_content}]]></content:encoded>"
                       if outlet.charset == "utf-8" and "]]>" not in a.feed_content
                       else f"<content:encoded>{e(a.feed_content)}</content:encoded>")
        items.append(f"<item><title>{e(a.title)}</title><link>{e(a.url)}</link>"
                     f'<guid isPermaLink="false">{outlet.key}-{e(a.slug)}</guid>'
                     f"<pubDate>{format_datetime(a.published)}</pubDate><dc:creator>{e(a.author)}</dc:creator>"
                     f"{cats}<description>{e(a.lead)}</description>{content}</item>\n")
    return (f'<?xml version="1.0" encoding="{outlet.charset}"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"><channel>\n'
            f"<title>{e(feed['name'])}</title><link>{outlet.base_url}/</link>"
            f"<description>{e(_feed_description(outlet))}</description>"
            f'<atom:link href="{outlet.base_url}{feed["path"]}" rel="self" type="application/rss+xml"/>'
            f"<language>{outlet.language}</language><lastBuildDate>{format_datetime(updated)}</lastBuildDate>"
            f"<generator>{e(outlet.name)} CMS</generator><ttl>15</ttl>\n{''.join(items)}</channel></rss>\n")


def atom(outlet: Outlet, feed: dict, articles: list[DemoArticle], updated: datetime) -> str:
    entries = []
    for a in articles:
        cats = "".join(f'<category term="{e(t)}"/>' for t in a.tags)
        content = f'<content type="html">{e(a.feed_content)}</content>' if a.feed_content else ""
        entries.append(f'<entry><title>{e(a.title)}</title><link rel="alternate" type="text/html" href="{e(a.url)}"/>'
                       f"<id>tag:{outlet.key}.example,2026:{e(a.slug)}</id><published>{a.published.isoformat()}"
                       f"</published><updated>{a.published.isoformat()}</updated>"
                       f"<author><name>{e(a.author)}</name></author>{cats}"
                       f"<summary>{e(a.lead)}</summary>{content}</entry>\n")
    return (f'<?xml version="1.0" encoding="{outlet.charset}"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">'
            f"<title>{e(feed['name'])}</title><subtitle>{e(_feed_description(outlet))}</subtitle>"
            f'<link rel="self" type="application/atom+xml" href="{outlet.base_url}{feed["path"]}"/>'
            f'<link rel="alternate" type="text/html" href="{outlet.base_url}/"/>'
            f"<id>{outlet.base_url}/</id><updated>{updated.isoformat()}</updated>"
            f"<generator>{e(outlet.name)} CMS</generator>\n{''.join(entries)}</feed>\n")


def malformed(outlet: Outlet, feed: dict) -> str:
    """A feed cut off mid-element (as when the CMS export dies): not XML, and no entry in it."""
    return (f'<?xml version="1.0" encoding="{outlet.charset}"?>\n<rss version="2.0"><channel>'
            f"<title>{e(feed['name'])}</title><link>{outlet.base_url}/sport/</link>"
            "<description>Sport aus der Region</description>"
            "<lastBuildDate>Fri, 20 Nov 2026 06:00:00 +0100</lastBuildDate>\n<ite")


def _feed_description(outlet: Outlet) -> str:
    return {"de": f"Aktuelle Nachrichten von {outlet.name}"}.get(outlet.language, f"The latest news from {outlet.name}")
