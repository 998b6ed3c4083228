"""URL normalization: the article key must be the same for every variant of one article."""

from __future__ import annotations

import pytest

from ingest.sources.urls import domain_of, normalize_url

CANONICAL = "https://example.com/politik/drohnen-123"


@pytest.mark.parametrize("variant", [
    "https://example.com/politik/drohnen-123",
    "http://example.com/politik/drohnen-123",
    "https://www.example.com/politik/drohnen-123/",
    "https://EXAMPLE.com:443/politik/drohnen-123",
    "https://example.com/politik/drohnen-123#comments",
    "https://example.com/politik/drohnen-123?utm_source=rss&utm_medium=feed&utm_campaign=x",
    "https://example.com/politik/drohnen-123?fbclid=IwAR0&gclid=abc&mc_cid=1&mc_eid=2&_ga=3",
    "https://example.com/politik/drohnen-123?xtor=RSS-1&at_medium=rss&wt_mc=feed&ns_source=x&ocid=y",
    "https://example.com/politik/drohnen-123?mkt_tok=z&_hsenc=a&_hsmi=b&igshid=c&msclkid=d",
    "https://m.example.com/politik/drohnen-123",
    "https://mobile.example.com/politik/drohnen-123",
    "https://amp.example.com/politik/drohnen-123",
    "https://example.com/politik/drohnen-123/amp",
    "https://example.com/politik/drohnen-123/amp/",
    "https://example.com/amp/politik/drohnen-123",
    "https://example.com/politik/drohnen-123?amp",
    "https://example.com/politik/drohnen-123?amp=1",
    "https://example.com/politik/drohnen-123?outputType=amp",
    "https://example-com.cdn.ampproject.org/c/s/example.com/politik/drohnen-123?utm_source=x",
    "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/politik/drohnen-123/amp",
    "https://example.com//politik///drohnen-123",
    "https://example.com/politik/drohnen%2D123",
    "  https://example.com/politik/drohnen-123  ",
])
def test_variants_fold_to_one_key(variant):
    assert normalize_url(variant) == CANONICAL


def test_amp_html_suffix():
    assert normalize_url("https://m.example.com/news/story.amp.html") == "https://example.com/news/story.html"


def test_meaningful_query_parameters_are_kept_and_sorted():
    assert normalize_url("https://example.com/article?id=7&page=2&utm_source=x") == \
        "https://example.com/article?id=7&page=2"
    assert normalize_url("https://example.com/article?page=2&id=7") == normalize_url("https://example.com/article?id=7&page=2")
    assert normalize_url("https://example.com/a?id=7") != normalize_url("https://example.com/a?id=8")


def test_distinct_articles_stay_distinct():
    urls = ["https://example.com/a", "https://example.com/b", "https://other.com/a", "https://example.com:8080/a",
            "https://example.com/amplifier", "https://example.com/campaign/amp-ed", "https://example.com/a?q=amp"]
    assert len({normalize_url(u) for u in urls}) == len(urls)


def test_short_hosts_are_not_folded():
    # m.tv is a domain of its own, not a mobile variant of "tv"
    assert normalize_url("https://m.tv/x") == "https://m.tv/x"


def test_percent_escapes_and_idn():
    assert normalize_url("https://example.com/caf%c3%a9") == "https://example.com/caf%C3%A9"
    assert normalize_url("https://example.com/a%2fb") == "https://example.com/a%2Fb"  # reserved stays escaped
    assert normalize_url("https://Bücher.example/x") == normalize_url("https://xn--bcher-kva.example/x")


def test_bad_port_does_not_raise():
    assert normalize_url("https://example.com:99999/x").startswith("https://example.com")


def test_domain_of():
    assert domain_of("https://www.Example.com/a") == "example.com"
    assert domain_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert domain_of("https://example.com:443/a") == "example.com"


@pytest.mark.parametrize(("url", "stored_id"), [
    ("https://m.example.com/politik/drohnen-123", "729af7b25cf3d483fc01"),
    ("http://WWW.Example.com:80/a/?utm_source=x&b=2&a=1", "c0f0ab3a284a86da37a7"),
    ("https://münchen.de./x", "b925410f98ea47240e35"),
    ("https://amp.news.example.org/s/1", "ca035c5fd6d30708a988"),
    ("https://m.bbc.co.uk/news", "e6cab4415be57c5e3282"),
])
def test_article_ids_of_stored_urls_never_change(url, stored_id):
    from ingest.models import article_id

    assert article_id(normalize_url(url)) == stored_id


def test_one_site_one_key_whatever_the_host_variant():
    from urllib.parse import urlsplit

    variants = ["https://m.example.com/a", "https://www.example.com/b", "https://Example.com./c",
                "https://mobile.example.com/d", "https://amp.example.com/e", "http://example.com:80/f"]
    assert {domain_of(u) for u in variants} == {"example.com"}
    for u in variants:  # the site key is the host of the article id's URL
        assert domain_of(u) == urlsplit(normalize_url(u)).hostname
    assert domain_of("https://m.example.com:8443/a") == "example.com:8443"
