"""Per-site rules from config/sites: nodes pruned before extraction, patterns removed after."""

from __future__ import annotations

import json

import pytest

from ingest.cli.main import main
from ingest.errors import ConfigError
from ingest.extract.sites import css_to_xpath, load_site_profiles

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Harbour fees rise</title></head><body>
<article><h1>Harbour fees rise</h1>
<p>The harbour authority raised mooring fees by twelve percent on Monday, citing the cost of dredging the channel.</p>
<div class="sponsor-box"><p>This story is brought to you by Anchor Insurance, the insurer of choice for sailors.</p></div>
<p>Sailing clubs said the increase would hit small boat owners hardest and asked for a reduced winter rate.</p>
<p>PARTNER CONTENT: Discover the coast with our travel partner and save twenty percent on your next trip.</p>
<p>The council will discuss the fees again in January after a consultation with harbour users and residents.</p>
</article></body></html>"""


def test_site_rules_change_extraction(tmp_path, capsys):
    config = tmp_path / "config"
    (config / "sites").mkdir(parents=True)
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    base = ["--config", str(config), "--db", str(tmp_path / "x.db")]
    main(["extract", str(page), "--url", "https://www.harbour.example/fees", "--json", *base])
    before = json.loads(capsys.readouterr().out)["text"]
    assert "Anchor Insurance" in before and "PARTNER CONTENT" in before
    (config / "sites" / "harbour.yaml").write_text(
        "domain: harbour.example\nstrip:\n  - div.sponsor-box\nstrip_text:\n  - '^partner content:'\n")
    main(["extract", str(page), "--url", "https://www.harbour.example/fees", "--json", *base])
    after = json.loads(capsys.readouterr().out)["text"]
    assert "Anchor Insurance" not in after and "PARTNER CONTENT" not in after
    assert "reduced winter rate" in after and "consultation with harbour users" in after


def test_css_selectors_translate():
    assert css_to_xpath("aside.related") == "//aside[contains(concat(' ', normalize-space(@class), ' '), ' related ')]"
    assert css_to_xpath("#promo") == "//*[@id='promo']"
    assert css_to_xpath("div > p") is None


@pytest.mark.parametrize("text, key", [
    ("strip: ['//div']\n", "domain"),
    ("domain: a.org\nstrip: ['div > p']\n", "strip[0]"),
    ("domain: a.org\nstrip_text: ['(unclosed']\n", "strip_text[0]"),
    ("domain: a.org\nstripp: []\n", "stripp"),
])
def test_bad_site_file_names_file_and_key(tmp_path, text, key):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_site_profiles(tmp_path)
    assert "bad.yaml" in str(info.value) and key in str(info.value)
