"""Feed formats and hostile documents, parsed from hand-written bytes (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.errors import FeedParseError
from ingest.sources.parse import NotAFeed, declares_entities, discover_feeds, parse_feed

BASE = "http://feeds.example.invalid/"

RSS_091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel>
  <title>Old School</title><link>http://old.example.invalid/</link><description>d</description>
  <language>en</language>
  <item><title>First &amp; foremost</title><link>http://old.example.invalid/1</link>
    <description>One</description></item>
  <item><title>Second</title><link>http://old.example.invalid/2</link></item>
</channel></rss>"""

RSS_092 = b"""<?xml version="1.0"?>
<rss version="0.92"><channel><title>Point Nine Two</title><link>http://n.example.invalid/</link>
  <description>d</description>
  <item><title>Enclosed</title><link>http://n.example.invalid/a</link><description>x</description>
    <category>Radio</category><enclosure url="http://n.example.invalid/a.mp3" length="1" type="audio/mpeg"/></item>
</channel></rss>"""

RSS_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
  <channel rdf:about="http://rdf.example.invalid/">
    <title>RDF Site</title><link>http://rdf.example.invalid/</link><description>d</description>
    <sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
    <items><rdf:Seq><rdf:li rdf:resource="http://rdf.example.invalid/story"/></rdf:Seq></items>
  </channel>
  <item rdf:about="http://rdf.example.invalid/story">
    <title>RDF story</title><link>http://rdf.example.invalid/story</link>
    <description>Told in RDF</description><dc:date>2026-11-16T10:00:00Z</dc:date>
    <dc:creator>Ada</dc:creator><dc:subject>Science</dc:subject>
  </item>
</rdf:RDF>"""

RSS_20 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Zwei Punkt Null</title><link>http://rss.example.invalid/</link><description>d</description>
  <language>de</language><ttl>45</ttl>
  <item><title>Drohnen über dem Hafen</title><link>/news/1?utm_source=rss</link>
    <guid isPermaLink="false">urn:story:1</guid><pubDate>Mon, 16 Nov 2026 10:00:00 +0100</pubDate>
    <description>Kurz</description><content:encoded><![CDATA[<p>Lang und ausführlich</p>]]></content:encoded>
    <category>Politik</category><category>Hafen</category><author>red@example.invalid (Redaktion)</author></item>
  <item><title>No link, permalink guid</title><guid>http://rss.example.invalid/news/2</guid></item>
  <item><title>Script link</title><link>javascript:alert(1)</link></item>
  <item><title>No link at all</title></item>
</channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Atom Site</title><link href="http://atom.example.invalid/"/><id>urn:feed</id>
  <updated>2026-11-16T12:00:00Z</updated>
  <entry><title>Atom entry</title><id>tag:atom.example.invalid,2026:1</id>
    <link rel="alternate" type="text/html" href="http://atom.example.invalid/e1"/>
    <link rel="edit" href="http://atom.example.invalid/edit/1"/>
    <published>2026-11-16T09:30:00Z</published><updated>2026-11-16T11:00:00Z</updated>
    <author><name>Grace</name></author><category term="Tech"/>
    <summary>Short</summary><content type="html">&lt;p&gt;Full text&lt;/p&gt;</content></entry>
  <entry><title>Relative</title><id>tag:atom.example.invalid,2026:2</id><link href="/e2"/>
    <updated>2026-11-15T08:00:00Z</updated></entry>
</feed>"""

JSON_FEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1", "title": "JSON Site", "home_page_url": "https://json.example.invalid/",
    "language": "fr",
    "items": [
        {"id": "1", "url": "https://json.example.invalid/1", "title": "Élection", "content_html": "<p>Texte</p>",
         "summary": "Résumé", "date_published": "2026-11-16T10:00:00Z", "date_modified": "2026-11-16T11:00:00+01:00",
         "authors": [{"name": "Marie"}], "tags": ["Politique", "Politique", 5]},
        {"id": 2, "external_url": "https://elsewhere.example.invalid/x", "content_text": "plain", "language": "en",
         "author": {"name": "Old style"}},
        {"id": "3", "title": "no url"},
        "not an item",
    ],
}).encode()


def test_rss_091_with_netscape_doctype():
    feed = parse_feed(RSS_091, BASE)
    assert feed.title == "Old School" and feed.language == "en"
    assert [(e.title, e.link) for e in feed.entries] == [("First & foremost", "http://old.example.invalid/1"),
                                                         ("Second", "http://old.example.invalid/2")]


def test_rss_092_categories():
    feed = parse_feed(RSS_092, BASE)
    assert feed.entries[0].link == "http://n.example.invalid/a" and feed.entries[0].categories == ["Radio"]


def test_rss_10_rdf_with_syndication_module():
    feed = parse_feed(RSS_10, BASE)
    e = feed.entries[0]
    assert feed.title == "RDF Site" and e.link == "http://rdf.example.invalid/story" and e.title == "RDF story"
    assert e.published == datetime(2026, 11, 16, 10, 0, tzinfo=UTC) and e.author == "Ada"
    assert feed.ttl_seconds == 1800  # hourly, twice


def test_rss_20_full_item():
    feed = parse_feed(RSS_20, BASE)
    assert feed.ttl_seconds == 45 * 60 and feed.language == "de"
    first = feed.entries[0]
    assert first.title == "Drohnen über dem Hafen"
    assert first.link == "http://feeds.example.invalid/news/1?utm_source=rss"  # relative link resolved
    assert first.guid == "urn:story:1" and first.categories == ["Politik", "Hafen"]
    assert first.published == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    assert "ausführlich" in first.content and first.summary == "Kurz"
    links = [e.link for e in feed.entries]
    assert links == [first.link, "http://rss.example.invalid/news/2"]  # javascript: and link-less items dropped


def test_atom():
    feed = parse_feed(ATOM, BASE)
    e1, e2 = feed.entries
    assert feed.title == "Atom Site" and feed.site_url == "http://atom.example.invalid/"
    assert e1.link == "http://atom.example.invalid/e1" and e1.guid == "tag:atom.example.invalid,2026:1"
    assert e1.published == datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
    assert e1.updated == datetime(2026, 11, 16, 11, 0, tzinfo=UTC)
    assert e1.author == "Grace" and e1.categories == ["Tech"] and "Full text" in e1.content
    assert e2.link == "http://feeds.example.invalid/e2" and e2.published == datetime(2026, 11, 15, 8, 0, tzinfo=UTC)


def test_json_feed_11():
    feed = parse_feed(JSON_FEED, BASE, "application/feed+json")
    assert feed.title == "JSON Site" and feed.language == "fr"
    a, b = feed.entries
    assert (a.link, a.guid, a.title, a.author) == ("https://json.example.invalid/1", "1", "Élection", "Marie")
    assert a.categories == ["Politique"] and a.content == "<p>Texte</p>" and a.language == "fr"
    assert a.published == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    assert a.updated == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    assert (b.link, b.guid, b.author, b.language, b.content) == (
        "https://elsewhere.example.invalid/x", "2", "Old style", "en", "plain")


@pytest.mark.parametrize("doc", [
    b'{"version": "https://jsonfeed.org/version/1.1", "items": "nope"}',
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": 5, "tags": "abc", "date_published": 7}]}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"version": "1.0", "items": []}',
    b"{not json",
])
def test_hostile_json_feeds_raise_parse_errors_only(doc):
    try:
        feed = parse_feed(doc, BASE, "application/json")
    except FeedParseError:
        return
    assert feed.entries == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>x</title><link>http://x.invalid/</link></item>
</channel></rss>"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be"])
def test_entity_expansion_refused_in_any_encoding(encoding):
    data = BILLION_LAUGHS.replace('version="1.0"?>', f'version="1.0" encoding="{encoding}"?>', 1).encode(encoding)
    with pytest.raises(FeedParseError, match="entit"):
        parse_feed(data, BASE)


def test_external_entity_refused_and_entity_mention_without_doctype_allowed():
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel>&x;</channel></rss>'
    assert declares_entities(xxe)
    mention = (b"<rss version='2.0'><channel><title>XML</title><item><title>On &lt;!ENTITY&gt;</title>"
               b"<link>http://x.invalid/1</link><description><![CDATA[write <!ENTITY x 'y'> in a DTD]]></description>"
               b"</item></channel></rss>")
    assert len(parse_feed(mention, BASE).entries) == 1


UMLAUT_FEED = ("<?xml version='1.0'{decl}?><rss version='2.0'><channel><title>Grüße aus Köln</title>"
               "<link>http://k.example.invalid/</link><item><title>Bürgermeister ärgert Öko-Verbände</title>"
               "<link>http://k.example.invalid/1</link><description>Straße</description></item></channel></rss>")


@pytest.mark.parametrize("decl,content_type", [
    (" encoding='utf-8'", "application/rss+xml; charset=utf-8"),  # Latin-1 bytes declared as UTF-8 twice
    (" encoding='utf-8'", None),
    ("", None),                                                     # no declaration at all
    ("", "text/xml"),                                               # text/xml without charset
])
def test_latin1_feed_with_wrong_or_missing_charset_keeps_umlauts(decl, content_type):
    data = UMLAUT_FEED.format(decl=decl).encode("iso-8859-1")
    feed = parse_feed(data, BASE, content_type)
    assert feed.title == "Grüße aus Köln"
    assert feed.entries[0].title == "Bürgermeister ärgert Öko-Verbände" and feed.entries[0].summary == "Straße"


def test_utf8_feed_without_declaration_served_as_text_xml():
    feed = parse_feed(UMLAUT_FEED.format(decl="").encode("utf-8"), BASE, "text/xml")
    assert feed.entries[0].title == "Bürgermeister ärgert Öko-Verbände"


def test_latin1_json_feed_is_read():
    doc = '{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://j.invalid/1", "title": "Ärger"}]}'
    assert parse_feed(doc.encode("iso-8859-1"), BASE).entries[0].title == "Ärger"


HTML_PAGE = b"""<!doctype html><html><head><title>Site</title>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://site.example.invalid/atom">
<link rel="alternate" hreflang="de" href="/de/">
<link rel="stylesheet" href="/s.css"></head><body><a href="/rss/">RSS</a></body></html>"""


def test_html_served_as_feed_raises_not_a_feed_with_candidates():
    with pytest.raises(NotAFeed) as info:
        parse_feed(HTML_PAGE, "https://site.example.invalid/news/")
    assert info.value.candidates == ["https://site.example.invalid/feed.xml", "https://site.example.invalid/atom"]


def test_html_without_link_tags_falls_back_to_feed_anchors():
    page = b"<html><body><a href='/about'>About</a><a href='/feeds/atom.xml'>Atom</a></body></html>"
    assert discover_feeds(page, "http://s.invalid/") == ["http://s.invalid/feeds/atom.xml"]


def test_html_fragment_without_html_tag_is_not_a_feed():
    with pytest.raises(NotAFeed):
        parse_feed(b"<head><title>Oops</title></head><body>maintenance</body>", BASE)


@pytest.mark.parametrize("doc", [b"", b"plain text, no feed", b"<rss><channel><item><title>unclosed",
                                 b"\xff\xfe\x00garbage", b"<?xml version='1.0'?><nothing/>"])
def test_malformed_documents_raise_parse_errors(doc):
    with pytest.raises(FeedParseError):
        parse_feed(doc, BASE)


def test_entry_times_keep_the_feeds_zone():
    """Issue 13: `published` keeps the time and zone the feed gives (the same instant, not moved to UTC)."""
    from ingest.sources.parse import parse_feed

    rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>http://x.example/</link>"
           b"<item><title>a</title><link>http://x.example/a</link><pubDate>Mon, 02 Mar 2026 08:15:00 +0100</pubDate></item>"
           b"<item><title>b</title><link>http://x.example/b</link><pubDate>Mon, 02 Mar 2026 07:15:00 GMT</pubDate></item>"
           b"</channel></rss>")
    a, b = parse_feed(rss, "http://x.example/feed").entries
    assert a.published.isoformat() == "2026-03-02T08:15:00+01:00"
    assert a.published == b.published
