"""Enrichment over the bundled sample site, ingested end to end: language, clusters, keywords, dates, mentions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ingest.app import Ingest
from ingest.demo.site import DemoSite
from ingest.enrich.junk import junk
from ingest.enrich.keywords import stopwords
from ingest.models import FeedConfig
from ingest.sources.feedlist import save_feeds
from ingest.text import fold

BOILERPLATE_WORDS = {"whatsapp", "telegram", "newsletter", "cookies", "foto", "photograph", "dpa", "anzeige",
                     "advertisement", "teilen", "share", "folgen", "briefing", "einverstanden", "listen", "anmelden"}


@pytest.fixture
def ingested(settings):
    """(demo site articles by URL, stored articles by URL), ingested through feeds.yaml."""
    settings.enrich.watch_terms = ["Drohne", "drone"]
    with DemoSite(timeout_feed_delay=1) as site:
        save_feeds(settings.feeds_file, [FeedConfig(url=f["url"], name=f["name"]) for f in site.feeds
                                         if f["kind"] == "ok"])
        with Ingest(settings) as app:
            report = app.run_once()
            stored = {a.url: a for a in app.store.index.iter_articles()}
        demo = {a.url: a for a in site.articles}
        outlets = {o.key: o for o in site.outlets}
    assert report.stored == len(stored) and set(stored) <= set(demo)
    assert {u for u, a in demo.items() if a.status == 200} <= set(stored)
    return demo, stored, outlets


def test_demo_corpus_enrichment(ingested):
    demo, stored, outlets = ingested
    problems: list[str] = []

    # language: right for every article (outlets declare theirs in the feed; detection agrees)
    for url, a in stored.items():
        if a.language != demo[url].lang:
            problems.append(f"language {a.language} != {demo[url].lang}: {a.title}")

    # clusters: every article has one; syndicated copies share it, nothing else does
    groups: dict[str, set[str]] = {}
    for url, a in stored.items():
        if not a.cluster_id:
            problems.append(f"no cluster: {a.title}")
        key = demo[url].syndication_group or url
        groups.setdefault(key, set()).add(a.cluster_id)
    for key, clusters in groups.items():
        if len(clusters) != 1:
            problems.append(f"{key}: copies in clusters {clusters}")
    cluster_ids = [next(iter(c)) for c in groups.values()]
    if len(cluster_ids) != len(set(cluster_ids)):
        problems.append("unrelated articles share a cluster")
    synd = {k for k in groups if not k.startswith("http")}
    assert len(synd) >= 3, synd  # the sample site carries several stories on two outlets
    for key in synd:
        copies = [a for url, a in stored.items() if demo[url].syndication_group == key]
        originals = [a for a in copies if a.is_original]
        earliest = min(demo[a.url].published for a in copies)
        if len(copies) < 2 or len(originals) != 1 or demo[originals[0].url].published != earliest:
            problems.append(f"{key}: originals {[a.title for a in originals]} of {len(copies)} copies")
    for url, a in stored.items():
        if not demo[url].syndication_group and not a.is_original:
            problems.append(f"not a copy but not original: {a.title}")

    # keywords: present, no boilerplate fragments, no stop words at the edges, no outlet or author names
    j = junk()
    for url, a in stored.items():
        d = demo[url]
        stops = stopwords(a.language)
        names = {fold(w) for w in d.author.split()} | {fold(w) for w in outlets[d.outlet].name.split()}
        if len(a.keywords) < 3:
            problems.append(f"few keywords {a.keywords}: {a.title}")
        if not {fold(t) for t in d.tags} & {fold(k) for k in a.keywords}:
            problems.append(f"no tag among keywords {a.keywords}: {a.title}")
        for kw in a.keywords:
            words = [fold(w) for w in kw.replace("-", " ").split()]
            furniture = {fold(v) for v in outlets[d.outlet].body.values()}
            if fold(kw) in j.phrases | furniture or set(words) & BOILERPLATE_WORDS or set(words) <= names:
                problems.append(f"boilerplate keyword {kw!r}: {a.title}")
            if words[0] in stops or words[-1] in stops:
                problems.append(f"stop word at an edge of {kw!r}: {a.title}")
            if any(w.isdigit() or len(w) == 1 for w in words):
                problems.append(f"fragment keyword {kw!r}: {a.title}")
        if len({k.lower() for k in a.keywords}) != len(a.keywords):
            problems.append(f"case duplicates {a.keywords}")

    # dates: the feed's precise time (the pages only say the day); ingest time stored apart
    for url, a in stored.items():
        if a.published != demo[url].published:
            problems.append(f"published {a.published} != {demo[url].published}: {a.title}")
        if a.indexed is None or a.indexed - a.published < timedelta(0):
            problems.append(f"indexed {a.indexed} before published {a.published}: {a.title}")

    # watch terms: "Drohne" counts "Drohnen", "drone" counts "drones"
    for a in stored.values():
        text = fold(f"{a.title} {a.body}")
        has = "drohne" in text or "drone" in text
        if has != bool(a.mentions):
            problems.append(f"mentions {a.mentions}: {a.title}")
    drones_de = next(a for a in stored.values() if a.title.startswith("Kölner Startup schickt Drohnen"))
    if drones_de.mentions.get("Drohne", 0) < 2:
        problems.append(f"Drohne mentions {drones_de.mentions}")

    assert not problems, "\n".join(problems)
