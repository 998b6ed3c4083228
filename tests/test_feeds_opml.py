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


def test_feed_edits_keep_the_users_comments(tmp_path):
    """`feeds add`, `remove` and OPML import edit feeds.yaml in place: comments, blank lines and the
    order of what the user wrote survive."""
    from ingest.sources.feedlist import add_feed, add_feeds, remove_feed

    path = tmp_path / "feeds.yaml"
    path.write_text(
        "# My feeds -- checked every Monday\n"
        "feeds:\n"
        "  # wire services\n"
        "  - url: https://wire.example.org/rss   # the fast one\n"
        "    name: Wire\n"
        "\n"
        "  # regional\n"
        "  - url: https://region.example.org/feed\n"
        "    category: Regional\n", encoding="utf-8")
    assert add_feed(path, FeedConfig(url="https://new.example.org/atom", name="New"))
    assert not add_feed(path, FeedConfig(url="https://wire.example.org/rss"))
    assert add_feeds(path, [FeedConfig(url="https://opml.example.org/rss", category="Imported")]) == 1
    assert remove_feed(path, "https://region.example.org/feed")
    text = path.read_text(encoding="utf-8")
    for comment in ("# My feeds -- checked every Monday", "# wire services", "# the fast one"):
        assert comment in text
    assert [f.url for f in load_feeds(path)] == ["https://wire.example.org/rss", "https://new.example.org/atom",
                                                 "https://opml.example.org/rss"]
    assert load_feeds(path)[0].name == "Wire" and load_feeds(path)[2].category == "Imported"
