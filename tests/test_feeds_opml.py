"""OPML import/export: categories round-trip, odd URLs, hostile files; feeds.yaml round-trip."""

from __future__ import annotations

import pytest

from ingest.errors import ConfigError
from ingest.models import FeedConfig
from ingest.sources.feedlist import load_feeds, parse_opml, save_feeds, to_opml

FEEDS = [
    FeedConfig(url="https://a.example.org/feed", name="Alpha", category="Politik"),
    FeedConfig(url="https://b.example.org/rss", name=None, category="Politik"),
    FeedConfig(url="https://c.example.org/atom", name="Gamma & Co <3>", category="Wirtschaft/Börse"),
    FeedConfig(url="https://d.example.org/x?a=1&b=2", name="Delta", category=None),
]


def key(feeds):
    return [(f.url, f.name, f.category) for f in feeds]


def test_opml_round_trip_keeps_urls_names_and_categories():
    text = to_opml(FEEDS)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert key(parse_opml(text.encode("utf-8"))) == key(FEEDS)


def test_opml_import_nested_groups_category_attribute_and_odd_urls():
    opml = b"""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
      <outline text="News"><outline text="World">
          <outline text="W1" type="rss" xmlUrl="https://w.example.org/1"/></outline>
        <outline text="N1" type="rss" xmlUrl="feed://n.example.org/rss"/>
        <outline text="N2" type="rss" xmlUrl="feed:https://n.example.org/atom"/>
        <outline text="Bad" type="rss" xmlUrl="javascript:alert(1)"/>
        <outline text="Tagged" type="rss" category="/Sport/Fussball,/Other" xmlUrl="https://s.example.org/f"/>
        <outline text="dup" type="rss" xmlUrl="https://w.example.org/1"/></outline>
      <outline text="https://plain.example.org/f" type="rss" xmlUrl="https://plain.example.org/f"/>
    </body></opml>"""
    assert key(parse_opml(opml)) == [
        ("https://w.example.org/1", "W1", "World"),
        ("http://n.example.org/rss", "N1", "News"),
        ("https://n.example.org/atom", "N2", "News"),
        ("https://s.example.org/f", "Tagged", "Sport/Fussball"),
        ("https://plain.example.org/f", None, None),  # text that is just the URL is no name
    ]


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml><body>&a;</body></opml>',
    b"<opml><body><outline",
    b"<opml><head/></opml>",
])
def test_bad_opml_is_a_config_error(data):
    with pytest.raises(ConfigError):
        parse_opml(data)


def test_feeds_yaml_round_trip(tmp_path):
    path = tmp_path / "feeds.yaml"
    feeds = FEEDS + [FeedConfig(url="https://e.example.org/f", interval=600, enabled=False)]
    save_feeds(path, feeds)
    assert load_feeds(path) == feeds
