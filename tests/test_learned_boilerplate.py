"""Learned boilerplate (`ingest/extract/learned.py`) over a real store, on every backend: the threshold,
an editor's pin and reject, what a stored batch newly teaches, and which articles a re-clean takes."""

from __future__ import annotations

import json

from ingest.config import ExtractSettings
from ingest.extract.blocks import fingerprint
from ingest.extract.learned import LearnedBoilerplate
from ingest.extract.sites import SiteProfile
from ingest.models import Article, BlockStatus, Extracted

DOMAIN = "harbour.test"
PROMO = "Folgen Sie uns auf unserem WhatsApp-Kanal, dort gibt es alle Nachrichten zuerst."
NOTE = "Mit Material der Nachrichtenagenturen."
FP_PROMO, FP_NOTE = fingerprint(PROMO), fingerprint(NOTE)


def article(n: int) -> Article:
    return Article(id=f"{n:020x}", url=f"https://{DOMAIN}/{n}", title=f"Hafen Bericht {n}",
                   body=f"Die Hafenarbeiter streiken am Tag {n} weiter. {PROMO}", source="Harbour", domain=DOMAIN,
                   language="de")


def page(*blocks: str) -> Extracted:
    return Extracted(text=" ".join(blocks), method="page", fingerprints=[(fingerprint(b), b) for b in blocks])


def test_a_block_is_learned_at_the_threshold_and_editors_overrule_the_count(store):
    learned = LearnedBoilerplate(ExtractSettings(learn_min_articles=3), store.index)
    store.index.upsert_articles([article(n) for n in range(4)])
    grown = learned.learn([(DOMAIN, article(n).id, page(PROMO, NOTE if n == 0 else f"Absatz {n}")) for n in range(2)])
    assert grown == {} and learned.for_site(DOMAIN) == set()  # seen twice: not yet
    grown = learned.learn([(DOMAIN, article(2).id, page(PROMO))])
    assert grown == {DOMAIN: {FP_PROMO}} and learned.for_site(DOMAIN) == {FP_PROMO}
    assert learned.learn([(DOMAIN, article(3).id, page(PROMO))]) == {}  # nothing new the fourth time

    # what `ingest sites show` lists: the same rule, with the editor's decisions
    stats = {s.fingerprint: s for s in store.index.block_stats(DOMAIN, since=learned.since())}
    assert learned.is_learned(stats[FP_PROMO]) and not learned.is_learned(stats[FP_NOTE])
    assert store.index.set_block_status(DOMAIN, FP_NOTE, BlockStatus.PINNED)
    assert store.index.set_block_status(DOMAIN, FP_PROMO, BlockStatus.REJECTED)
    assert learned.for_site(DOMAIN) == {FP_PROMO}  # cached until forgotten
    learned.forget(DOMAIN)
    assert learned.for_site(DOMAIN) == {FP_NOTE}

    # the walker's view of the site: its config profile plus what it learned
    profile = learned.site_profile(DOMAIN, SiteProfile(domain=DOMAIN, prune_xpaths=["//aside"], learned={"x"}))
    assert profile.prune_xpaths == ["//aside"] and profile.learned == {FP_NOTE, "x"}


def test_feed_text_teaches_nothing_and_reclean_takes_only_the_articles_a_block_was_seen_in(store):
    learned = LearnedBoilerplate(ExtractSettings(learn_min_articles=2), store.index)
    store.index.upsert_articles([article(n) for n in range(3)])
    feed = page(PROMO)
    feed.method = "feed"
    assert learned.learn([(DOMAIN, article(n).id, feed) for n in range(3)]) == {}
    assert learned.for_site(DOMAIN) == set()  # as when the pipeline cleans the site's pages
    assert learned.learn([(DOMAIN, article(n).id, page(PROMO)) for n in (0, 1)]) == {DOMAIN: {FP_PROMO}}
    assert [a.id for a in learned.reclean_targets(DOMAIN, {FP_PROMO})] == [article(0).id, article(1).id]
    assert sorted(a.id for a in learned.reclean_targets(DOMAIN)) == [article(n).id for n in range(3)]


SHARED = "Our reporters checked every figure in this story against the port authority's own records."
SOMETIMES = "Corrections to this report can be sent to the harbour desk at any time of the day."
STORY = "The harbour authority said on Monday that container traffic rose for the {n}th month in a row."


def test_sites_show_marks_what_is_learned_and_pin_reject_reset_change_it(capsys, tmp_path, server, monkeypatch):
    """The CLI reads the one is-learned rule: seen in `learn_min_articles` articles, unless rejected; pinned always."""
    from loopback import Reply, article_page, rss

    from ingest.cli.main import main

    monkeypatch.setenv("INGEST_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("INGEST_EXTRACT__WORKERS", "1")
    items = []
    for n in range(4):
        paras = [STORY.format(n=n + 2), SHARED] + ([SOMETIMES] if n < 2 else [])
        server.route(f"/s/{n}", Reply(body=article_page(f"Harbour story {n}", paras),
                                      headers={"Content-Type": "text/html; charset=utf-8"}))
        items.append({"title": f"Harbour story {n}", "link": server.url(f"/s/{n}")})
    server.route("/s.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    domain = f"127.0.0.1:{server.port}"

    def show() -> dict[str, tuple[int, bool]]:
        capsys.readouterr()
        assert main(["sites", "show", domain, "--json", *base]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return {r["text"]: (r["articles"], r["learned"]) for r in rows}

    assert main(["feeds", "add", server.url("/s.xml"), "--no-check", *base]) == 0
    assert main(["run", "--once", *base]) == 0
    assert show()[SHARED] == (4, True) and show()[SOMETIMES] == (2, False)
    assert main(["sites", "reject", domain, fingerprint(SHARED), *base]) == 0
    assert main(["sites", "pin", domain, fingerprint(SOMETIMES), *base]) == 0
    assert show()[SHARED] == (4, False) and show()[SOMETIMES] == (2, True)
    assert main(["sites", "reset", domain, fingerprint(SHARED), *base]) == 0
    assert show()[SHARED] == (4, True)


def test_counts_narrowed_to_a_batchs_blocks_agree_with_the_whole_site(store):
    """`block_stats(fingerprints=...)` is the whole site's answer cut to those blocks, on every backend
    (what `learn` reads after a batch instead of every block the site ever printed)."""
    store.index.upsert_articles([article(n) for n in range(5)])
    own = ["", "Die Kräne stehen still.", "Möwen kreisen über dem Kai.", "Ein Schiff legt ab.", "Der Lotse wartet."]
    sightings = [(article(n).id, [(fingerprint(b), b) for b in (PROMO, NOTE, own[n]) if b]) for n in range(5)]
    store.index.record_blocks(DOMAIN, sightings)
    assert store.index.set_block_status(DOMAIN, fingerprint(own[3]), BlockStatus.PINNED)
    since = LearnedBoilerplate(ExtractSettings(), store.index).since()
    for min_articles in (1, 2):
        whole = {(s.fingerprint, s.articles, s.status)
                 for s in store.index.block_stats(DOMAIN, since=since, min_articles=min_articles)}
        for fps in ({FP_PROMO}, {FP_NOTE, fingerprint(own[3]), fingerprint(own[4])}, set()):
            narrowed = store.index.block_stats(DOMAIN, since=since, min_articles=min_articles, fingerprints=fps)
            assert {(s.fingerprint, s.articles, s.status) for s in narrowed} == {w for w in whole if w[0] in fps}
    counts = {s.fingerprint: s.articles for s in store.index.block_stats(DOMAIN, since=since, min_articles=2)}
    assert counts == {FP_PROMO: 5, FP_NOTE: 5, fingerprint(own[3]): 1}  # pinned: listed whatever its count


def test_an_editors_verdict_from_another_process_is_seen_once_the_cache_is_refreshed(store, monkeypatch):
    """A running pipeline trusts its cached learned set for `REFRESH_EVERY` seconds, then reads the
    ledger whole again; a batch's own blocks are recounted at once (a reject takes them out)."""
    import ingest.extract.learned as learned_module

    learned = LearnedBoilerplate(ExtractSettings(learn_min_articles=2), store.index)
    store.index.upsert_articles([article(n) for n in range(4)])
    own = ["Die Kräne stehen still.", "Möwen kreisen über dem Kai.", "Ein Schiff legt ab."]
    assert learned.learn([(DOMAIN, article(n).id, page(PROMO, own[n])) for n in (0, 1)]) == {DOMAIN: {FP_PROMO}}
    other = LearnedBoilerplate(ExtractSettings(learn_min_articles=2), store.index)  # `ingest sites` elsewhere
    store.index.record_blocks(DOMAIN, [(article(3).id, [(FP_NOTE, NOTE)])])
    assert store.index.set_block_status(DOMAIN, FP_NOTE, BlockStatus.PINNED)
    assert other.for_site(DOMAIN) == {FP_PROMO, FP_NOTE}
    assert learned.for_site(DOMAIN) == {FP_PROMO}  # cached
    monkeypatch.setattr(learned_module, "REFRESH_EVERY", 0.0)
    assert learned.for_site(DOMAIN) == {FP_PROMO, FP_NOTE}  # read whole again
    monkeypatch.setattr(learned_module, "REFRESH_EVERY", 3600.0)
    assert store.index.set_block_status(DOMAIN, FP_PROMO, BlockStatus.REJECTED)
    assert learned.learn([(DOMAIN, article(2).id, page(PROMO, own[2]))]) == {}
    assert learned.for_site(DOMAIN) == {FP_NOTE}  # the batch's PROMO recounted: rejected
