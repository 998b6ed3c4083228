"""Syndication clusters: a labelled set of article pairs and the pair decisions at the configured threshold.

The labelled set (also read by `bench/enrich.py --thresholds`) is our own fictional agency copy:
each story comes as outlets carry it (a different intro line, a different headline printed in
the body, another outlet's boilerplate, trimmed, lightly edited), and beside it articles on the
same topic that must NOT cluster: an independent report of the same event, a follow-up that
quotes one sentence, and short items that share nothing but an outlet's boilerplate.
"""

from __future__ import annotations

import itertools

import pytest

from ingest.config import EnrichSettings
from ingest.enrich.dedupe import Clusterer, minhash, similarity

# -- stories --------------------------------------------------------------------------------------

STORIES = {
    "tarif": dict(lang="de", title="Tarifeinigung für Beschäftigte der Länder", paragraphs=[
        "Die Beschäftigten der Länder erhalten mehr Geld. Gewerkschaften und Arbeitgeber einigten sich in der "
        "dritten Verhandlungsrunde in Potsdam auf einen neuen Tarifvertrag mit einer Laufzeit von 25 Monaten.",
        "Die Gehälter steigen zum 1. Februar um 200 Euro, ein Jahr später folgt ein Plus von 5,5 Prozent. "
        "Auszubildende bekommen zwei Stufen von je 100 Euro. Zusätzlich gibt es eine steuerfreie "
        "Einmalzahlung von 3000 Euro, die in Raten ausgezahlt wird.",
        "Der Verhandlungsführer der Gewerkschaften sprach von einem schwierigen, aber vertretbaren Kompromiss. "
        "Vor allem die unteren Lohngruppen profitierten überdurchschnittlich. Die Arbeitgeberseite verwies auf "
        "die angespannte Lage der Landeshaushalte und nannte die Einigung an der Grenze des Machbaren.",
        "Von dem Abschluss sind rund 1,1 Millionen Tarifbeschäftigte betroffen. Die Länder wollen das Ergebnis "
        "auch auf die Beamtinnen und Beamten sowie die Versorgungsempfänger übertragen, was die Kosten "
        "deutlich erhöht.",
        "Insgesamt rechnen die Finanzminister mit Mehrausgaben von mehr als zehn Milliarden Euro über die "
        "gesamte Laufzeit. Warnstreiks an Unikliniken, Schulen und Straßenmeistereien hatten den Druck in den "
        "vergangenen Wochen erhöht.",
    ]),
    "waldbrand": dict(lang="de", title="Waldbrand im Kreis Lindenau weitet sich aus", paragraphs=[
        "Ein Waldbrand im Kreis Lindenau hat sich in der Nacht auf mehr als 300 Hektar ausgeweitet. Mehrere "
        "hundert Einsatzkräfte sind vor Ort, zwei Dörfer wurden vorsorglich geräumt.",
        "Nach Angaben des Landkreises erschweren Munitionsreste im Boden die Löscharbeiten. Die Feuerwehr darf "
        "große Teile der Fläche nicht betreten und versucht, das Feuer an Schneisen und Wegen aufzuhalten. "
        "Zwei Löschhubschrauber der Bundespolizei unterstützen aus der Luft.",
        "Die Bewohner von Kesselbach und Ostrau verbrachten die Nacht in einer Turnhalle. Der Landrat sagte, "
        "niemand sei verletzt worden, die Lage bleibe aber angespannt. Der Wind soll am Nachmittag drehen.",
        "Die Ursache des Feuers ist noch unklar. Die Polizei schließt Brandstiftung nicht aus und bittet "
        "Zeugen, die am Sonntagabend verdächtige Fahrzeuge am Waldrand gesehen haben, sich zu melden.",
        "Seit Wochen hat es in der Region kaum geregnet. Der Deutsche Wetterdienst stuft die Waldbrandgefahr "
        "in weiten Teilen des Landes auf die höchste Stufe ein.",
    ]),
    "airline": dict(lang="en", title="Skyvale cancels hundreds of flights after IT outage", paragraphs=[
        "Skyvale Airways cancelled more than four hundred flights on Friday after a failure in its booking "
        "and check-in systems left passengers stranded at airports across the country.",
        "The airline said the outage began shortly after five in the morning when a routine software update "
        "went wrong. Staff at several terminals were forced to write boarding passes by hand, and queues "
        "stretched outside departure halls for most of the day.",
        "By the evening the company said its systems were working again but warned that disruption would "
        "continue into the weekend because aircraft and crews were out of position.",
        "Passenger groups urged travellers to keep receipts for meals and hotels. Under existing rules, "
        "airlines must offer rebooking or a refund and may owe compensation for long delays that are within "
        "their control.",
        "The transport minister said she had asked the airline for a full explanation and would meet its "
        "chief executive next week. It is the second major technical failure at Skyvale this year.",
    ]),
    "water": dict(lang="en", title="Westmere Water fined over sewage spills", paragraphs=[
        "Westmere Water has been fined twelve million pounds after admitting that it allowed untreated "
        "sewage to flow into rivers and coastal waters on hundreds of occasions over four years.",
        "The court heard that monitoring equipment at several treatment works had been broken for months "
        "without being repaired, and that managers failed to report spills to the regulator as required.",
        "The judge said the company had put profits ahead of its legal duties and that the scale of the "
        "pollution had damaged wildlife and harmed people who swim in the affected waters.",
        "Westmere apologised and said it was investing in new storm tanks and better monitoring. "
        "Campaigners said the fine was small compared with the dividends paid to shareholders in the same "
        "period.",
        "The environment agency said the case should serve as a warning to the whole industry and that "
        "further investigations into other water companies were under way.",
    ]),
}

# Independent reports of the same events: same topic, names and numbers, none of the sentences.
TWINS = {
    "tarif": ["Nach zähen Verhandlungen steht der Tarifabschluss für den öffentlichen Dienst der Länder. "
              "In Potsdam verständigten sich die Tarifparteien am späten Abend auf ein Paket, das über gut zwei "
              "Jahre läuft.",
              "Ab Februar gibt es zunächst einen Sockelbetrag von 200 Euro monatlich, danach steigen die Entgelte "
              "prozentual. Dazu kommt ein Inflationsausgleich von insgesamt 3000 Euro, steuer- und abgabenfrei.",
              "Gewerkschaftsvertreter zeigten sich zufrieden, vor allem Beschäftigte mit kleinen Einkommen würden "
              "entlastet. Die Tarifgemeinschaft der Länder betonte dagegen, mehr sei angesichts klammer Kassen "
              "nicht möglich gewesen.",
              "Für die Landeshaushalte bedeutet der Abschluss Milliardenkosten, zumal die Übertragung auf die "
              "Beamten bereits angekündigt ist. In mehreren Ländern hatten Warnstreiks zuletzt Kliniken und "
              "Schulen getroffen."],
    "waldbrand": ["Im Kreis Lindenau kämpfen Feuerwehrleute weiter gegen die Flammen. Das Feuer hat inzwischen "
                  "eine Fläche von über 300 Hektar erfasst, teilte der Krisenstab am Morgen mit.",
                  "Weil auf dem ehemaligen Truppenübungsplatz alte Munition im Boden liegt, können die Helfer nur "
                  "von gesicherten Wegen aus löschen. Hubschrauber werfen Wasser aus der Luft ab.",
                  "Für die Menschen in Kesselbach und Ostrau heißt es weiter warten: Sie mussten ihre Häuser "
                  "verlassen und wurden in einer Sporthalle untergebracht. Verletzte gibt es bislang keine.",
                  "Ermittler prüfen, ob das Feuer gelegt wurde. Wegen der anhaltenden Trockenheit gilt in der "
                  "Region seit Tagen die höchste Warnstufe für Waldbrände."],
    "airline": ["Thousands of travellers spent Friday in terminal queues as Skyvale Airways grounded much of its "
                "fleet because of a computer fault.",
                "A botched update to the carrier's reservation software knocked out check-in early in the "
                "morning, according to the company. More than four hundred departures were scrapped.",
                "Some passengers said they had waited for hours without information, while ground staff handed "
                "out handwritten boarding cards. Consumer advocates reminded customers of their right to a "
                "refund or a new booking.",
                "The government has demanded answers from Skyvale, which suffered a similar breakdown in the "
                "spring. Knock-on delays are expected through Sunday."],
    "water": ["A water company that let raw sewage pour into rivers for years must pay a record penalty. "
              "Westmere Water was ordered to pay twelve million pounds at the crown court on Tuesday.",
              "Prosecutors said broken monitors and unreported discharges at treatment works had gone unnoticed "
              "for long periods, and that the firm had ignored warnings from its own engineers.",
              "Swimmers and anglers who gave evidence described dead fish and foul water along the river. "
              "The company expressed regret and pointed to a programme of new storm overflows and sensors.",
              "Environmental groups called the penalty a slap on the wrist for a firm that paid out large "
              "dividends, and regulators signalled that more cases against other suppliers were coming."],
}

# The next day's story: a different text that repeats one sentence of the first report.
FOLLOWUPS = {
    "airline": ["Skyvale Airways has blamed an external software supplier for Friday's outage and promised "
                "compensation to every affected passenger within thirty days.",
                "Under existing rules, airlines must offer rebooking or a refund and may owe compensation for "
                "long delays that are within their control.",
                "The chief executive told reporters that the faulty update had been tested but not on the live "
                "system. An independent review will report to the board by the end of the year.",
                "Flights were running normally on Sunday, although some aircraft were still being moved back to "
                "their home bases, the airline said."],
    "waldbrand": ["Der Waldbrand im Kreis Lindenau ist unter Kontrolle. Am Dienstagmorgen konnten die Bewohner "
                  "von Kesselbach und Ostrau in ihre Häuser zurückkehren, teilte der Landkreis mit.",
                  "Seit Wochen hat es in der Region kaum geregnet. Der Deutsche Wetterdienst stuft die "
                  "Waldbrandgefahr in weiten Teilen des Landes auf die höchste Stufe ein.",
                  "Die Brandwache bleibt noch mehrere Tage vor Ort, weil Glutnester im Boden immer wieder "
                  "aufflammen können. Ein Teil der Einsatzkräfte wurde bereits abgezogen.",
                  "Die Polizei hat inzwischen einen Tatverdächtigen ermittelt. Gegen den 34-Jährigen wird wegen "
                  "fahrlässiger Brandstiftung ermittelt."],
}

INTROS = {
    "de": "Die Nachricht sorgt auch in unserer Region für Gesprächsstoff, wie Leserinnen und Leser uns schreiben.",
    "en": "Readers across the county have been in touch with us about this story since the early hours.",
}
HEADLINES = {
    "tarif": "Mehr Geld für Landesbeschäftigte: Das steht im Tarifvertrag",
    "waldbrand": "Feuer außer Kontrolle: Dörfer im Kreis Lindenau geräumt",
    "airline": "Chaos at airports as Skyvale computer failure grounds flights",
    "water": "Record fine for Westmere Water after years of sewage spills",
}
BOILERPLATE = {
    "de": ["Foto: dpa/Sabine Maurer", "Mit WhatsApp immer auf dem neuesten Stand bleiben!",
           "Abonnieren Sie unseren WhatsApp-Kanal, um die Neuigkeiten direkt auf Ihr Handy zu erhalten …",
           "Beitrag teilen", "Das könnte Sie auch interessieren",
           "Neue Ortsumgehung soll 2028 fertig werden Stadtrat beschließt höhere Kita-Gebühren "
           "Handballer gewinnen Derby deutlich"],
    "en": ["Photograph: PA Media", "Sign up to our morning newsletter and get the day's top stories in your inbox.",
           "Share this article", "Related articles",
           "Council confirms new bus routes for the spring Local school wins national robotics prize "
           "Harbour festival returns after three-year break"],
}


def _edit(paragraphs: list[str], lang: str) -> list[str]:
    """A sub-editor's pass: some words swapped, one middle paragraph cut, the last two swapped."""
    swaps = ({"sagte": "erklärte", "Nach Angaben": "Laut Angaben", "rund": "etwa", "mehr als": "über"} if lang == "de"
             else {"said": "stated", "more than": "over", "began": "started", "warned": "cautioned"})
    out = []
    for p in paragraphs:
        for a, b in swaps.items():
            p = p.replace(a, b)
        out.append(p)
    del out[len(out) // 2]
    out[-1], out[-2] = out[-2], out[-1]
    return out


def variants(key: str) -> dict[str, str]:
    """The story as different outlets carry it."""
    story = STORIES[key]
    paras, lang = story["paragraphs"], story["lang"]
    keep = max(3, round(len(paras) * 0.65))
    return {
        "original": "\n\n".join(paras),
        "intro": "\n\n".join([HEADLINES[key], INTROS[lang], *paras]),
        "boilerplate": "\n\n".join([story["title"], *paras[:2], BOILERPLATE[lang][0], *paras[2:],
                                    *BOILERPLATE[lang][1:]]),
        "trimmed": "\n\n".join([*paras[:keep], *BOILERPLATE[lang][1:3]]),
        "edited": "\n\n".join(_edit(paras, lang)),
    }


def short_items(lang: str) -> list[str]:
    """Two-sentence briefs of one outlet, each followed by the outlet's long promo block."""
    briefs = ({"de": ["Die Stadtbibliothek bleibt am Montag wegen einer Betriebsversammlung geschlossen.",
                      "Auf der Landstraße nach Kesselbach ist am Abend ein Lastwagen umgekippt, der Fahrer blieb unverletzt.",
                      "Der Wochenmarkt zieht wegen Bauarbeiten für drei Wochen auf den Kirchplatz um."],
               "en": ["The city library will close on Monday for staff training.",
                      "A lorry overturned on the coast road last night; the driver was unhurt.",
                      "The weekly market moves to Church Square for three weeks during roadworks."]})[lang]
    return ["\n\n".join([b, *BOILERPLATE[lang][1:]]) for b in briefs]


def labelled_pairs() -> list[tuple[str, str, bool, str]]:
    """(text a, text b, same story?, kind) for every pair of the labelled set."""
    pairs: list[tuple[str, str, bool, str]] = []
    texts: list[tuple[str, str, str]] = []  # (story, lang, text)
    for key, story in STORIES.items():
        forms = variants(key)
        for (na, a), (nb, b) in itertools.combinations(forms.items(), 2):
            pairs.append((a, b, True, f"copy:{na}/{nb}"))
        for name, text in forms.items():
            pairs.append((text, "\n\n".join(TWINS[key]), False, f"same-topic:{name}"))
            if key in FOLLOWUPS:
                pairs.append((text, "\n\n".join(FOLLOWUPS[key]), False, f"follow-up:{name}"))
        texts.append((key, story["lang"], forms["original"]))
    for (_ka, la, a), (_kb, lb, b) in itertools.combinations(texts, 2):
        if la == lb:
            pairs.append((a, b, False, "other-story"))
    for lang in ("de", "en"):
        for a, b in itertools.combinations(short_items(lang), 2):
            pairs.append((a, b, False, "short-boilerplate"))
    return pairs


# -- tests ----------------------------------------------------------------------------------------

THRESHOLD = EnrichSettings().cluster_threshold


@pytest.mark.parametrize("a,b,same,kind", [pytest.param(*p, id=f"{i}-{p[3]}") for i, p in enumerate(labelled_pairs())])
def test_pair_decision_at_default_threshold(a, b, same, kind):
    decided = similarity(minhash(a), minhash(b)) >= THRESHOLD
    assert decided == same, f"{kind}: similarity {similarity(minhash(a), minhash(b)):.2f}"


def test_clusterer_groups_copies_and_keeps_twins_apart():
    clusterer = Clusterer(THRESHOLD)
    ids = {}
    for key in STORIES:
        for name, text in variants(key).items():
            ids[(key, name)] = clusterer.assign(f"{key}-{name}", f"{name}.example", None, minhash(text))
        ids[(key, "twin")] = clusterer.assign(f"{key}-twin", "twin.example", None, minhash("\n\n".join(TWINS[key])))
    for key in STORIES:
        copies = {ids[(key, n)] for n in ("original", "intro", "boilerplate", "trimmed", "edited")}
        assert copies == {f"{key}-original"}, key
        assert ids[(key, "twin")] == f"{key}-twin"


def test_short_texts_do_not_cluster_on_boilerplate():
    clusterer = Clusterer(THRESHOLD)
    items = short_items("de") + short_items("en")
    got = [clusterer.assign(f"brief-{i}", "outlet.example", None, minhash(t)) for i, t in enumerate(items)]
    assert got == [f"brief-{i}" for i in range(len(items))]


def test_short_text_gets_its_own_cluster_even_when_identical_elsewhere():
    clusterer = Clusterer(THRESHOLD)
    brief = "The city library will close on Monday for staff training."
    assert clusterer.assign("a", "one.example", None, minhash(brief)) == "a"
    assert clusterer.assign("b", "two.example", None, minhash(brief)) == "b"


def test_signature_roundtrip_keeps_similarity():
    from ingest.enrich.dedupe import from_bytes, to_bytes

    forms = variants("water")
    a, b = minhash(forms["original"]), minhash(forms["trimmed"])
    assert similarity(from_bytes(to_bytes(a)), from_bytes(to_bytes(b))) == pytest.approx(similarity(a, b))


def test_original_is_the_earliest_published_ties_go_to_the_first_seen():
    from datetime import UTC, datetime

    forms = variants("tarif")
    early, late = datetime(2026, 11, 18, 8, tzinfo=UTC), datetime(2026, 11, 18, 9, tzinfo=UTC)
    clusterer = Clusterer(THRESHOLD)
    cid = clusterer.assign("late", "a.example", late, minhash(forms["original"]))
    assert clusterer.assign("early", "b.example", early, minhash(forms["intro"])) == cid == "late"
    assert clusterer.assign("undated", "c.example", None, minhash(forms["edited"])) == cid
    assert clusterer.original_of(cid) == "early"
    tie = Clusterer(THRESHOLD)
    tie.assign("zz-first", "a.example", late, minhash(forms["original"]))
    tie.assign("aa-second", "b.example", late, minhash(forms["trimmed"]))
    assert tie.original_of("zz-first") == "zz-first"


def test_reload_from_stored_signatures_and_forget_old_ones():
    from datetime import UTC, datetime

    from ingest.enrich.dedupe import to_bytes

    forms = variants("waldbrand")
    old, new = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC)
    clusterer = Clusterer(THRESHOLD)
    clusterer.add_existing("stored", "a.example", new, "cluster-1", to_bytes(minhash(forms["original"])))
    clusterer.add_existing("ancient", "a.example", old, None, to_bytes(minhash(variants("water")["original"])))
    clusterer.add_existing("other-version", "a.example", new, None, b"\0" * 64 * 8)  # 64 permutations: skipped
    assert "other-version" not in clusterer.members
    assert clusterer.assign("copy", "b.example", new, minhash(forms["trimmed"])) == "cluster-1"
    assert clusterer.forget_before(datetime(2026, 11, 1, tzinfo=UTC)) == 1
    assert "ancient" not in clusterer.members and "ancient" not in clusterer.signatures
    assert clusterer.assign("water", "c.example", new, minhash(variants("water")["intro"])) == "water"
    assert clusterer.forget_before(datetime(2026, 11, 1, tzinfo=UTC), min_interval=3600) == 0  # throttled


def test_reassigning_an_article_keeps_its_cluster():
    forms = variants("airline")
    clusterer = Clusterer(THRESHOLD)
    clusterer.assign("a", "one.example", None, minhash(forms["original"]))
    assert clusterer.assign("b", "two.example", None, minhash(forms["intro"])) == "a"
    assert clusterer.assign("b", "two.example", None, minhash(forms["intro"])) == "a"
    assert [m.id for m in clusterer.cluster_of("a")] == ["a", "b"]


@pytest.mark.parametrize("window_days,joins", [(14, True), (7, False)])
def test_a_new_copy_joins_a_stored_story_only_within_the_cluster_window(store, window_days, joins):
    """`enrich.cluster_window_days`: stored articles older than the window are not compared with new ones."""
    from datetime import timedelta

    from ingest.enrich.clusters import StoryClusters
    from ingest.enrich.dedupe import to_bytes
    from ingest.models import Article, utcnow

    forms = variants("tarif")

    def article(name: str, days_ago: int, text: str) -> Article:
        return Article(id=name, url=f"https://{name}.example/1", title=name, body=text, source=name,
                       domain=f"{name}.example", published=utcnow() - timedelta(days=days_ago))

    stored = article("stored", 10, forms["original"])
    store.index.upsert_articles([stored])
    StoryClusters(EnrichSettings(), store).assign([stored], {"stored": to_bytes(minhash(stored.body))})
    copy = article("copy", 0, forms["trimmed"])
    StoryClusters(EnrichSettings(cluster_window_days=window_days), store).assign(
        [copy], {"copy": to_bytes(minhash(copy.body))})
    assert (copy.cluster_id == "stored") is joins and copy.is_original is not joins


def _sha1_signature(text: str) -> bytes:
    """A signature as versions before `HASH_VERSION` 2 stored it: SHA-1 per shingle through datasketch,
    the hash values then the shingle and word counts (no version field)."""
    import numpy as np
    from datasketch import MinHash

    from ingest.enrich.dedupe import NUM_PERM, SCHEME, SEED, shingles

    found, words = shingles(text)
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    m.update_batch([s.encode("utf-8") for s in found])
    extra = np.array([len(found), words], dtype=np.uint64)
    return np.concatenate([m.hashvalues.astype(np.uint64), extra]).astype("<u8").tobytes()


def test_a_signature_of_the_earlier_hash_function_is_made_again_and_still_matches(store):
    """Upgrading changes the shingle hash (`HASH_VERSION`): a stored article's old signature is not
    comparable with new ones, so it is made again from the stored text, saved, and a new copy still joins."""
    from datetime import timedelta

    from ingest.enrich.clusters import StoryClusters
    from ingest.enrich.dedupe import from_bytes, stale, to_bytes
    from ingest.models import Article, utcnow

    forms = variants("tarif")
    stored = Article(id="stored", url="https://stored.example/1", title="stored", body=forms["original"],
                     source="stored", domain="stored.example", published=utcnow() - timedelta(days=1))
    store.index.upsert_articles([stored])
    old = _sha1_signature(stored.body)
    assert stale(old) and from_bytes(old) is None
    store.save_signature("stored", "stored.example", stored.published, "stored", old)

    copy = Article(id="copy", url="https://copy.example/1", title="copy", body=forms["trimmed"], source="copy",
                   domain="copy.example", published=utcnow())
    StoryClusters(EnrichSettings(), store).assign([copy], {"copy": to_bytes(minhash(copy.body))})
    assert copy.cluster_id == "stored" and not copy.is_original
    saved = {c.id: c.signature for c in store.cluster_candidates(utcnow() - timedelta(days=7))}
    assert not stale(saved["stored"]) and from_bytes(saved["stored"]) is not None  # saved: done once


def test_a_load_that_failed_is_tried_again_and_copies_still_join(store):
    """The stored window is read on the first batch; when that read fails (the search engine timed out
    while stored texts were read for re-signing), that batch fails and the next one loads it whole:
    stored articles are never left out of the index for the process's lifetime. The failure is
    injected in front of a real store (one refused read), the only way to time it."""
    from datetime import timedelta

    from ingest.enrich.clusters import StoryClusters
    from ingest.enrich.dedupe import to_bytes
    from ingest.errors import StoreUnavailable
    from ingest.models import Article, utcnow

    forms = variants("tarif")
    stored = Article(id="stored", url="https://stored.example/1", title="stored", body=forms["original"],
                     source="stored", domain="stored.example", published=utcnow() - timedelta(days=1))
    store.index.upsert_articles([stored])
    store.save_signature("stored", "stored.example", stored.published, "stored", _sha1_signature(stored.body))

    class RefusesOnce:
        def __init__(self) -> None:
            self.refused = False

        def __getattr__(self, name):
            return getattr(store, name)

        def article_texts(self, ids):
            if not self.refused:
                self.refused = True
                raise StoreUnavailable("search engine timed out")
            return store.article_texts(ids)

    clusters = StoryClusters(EnrichSettings(), RefusesOnce())
    first = Article(id="first", url="https://first.example/1", title="first", body="Nothing alike here at all.",
                    source="first", domain="first.example", published=utcnow())
    with pytest.raises(StoreUnavailable):
        clusters.assign([first], {"first": to_bytes(minhash(first.body))})
    copy = Article(id="copy", url="https://copy.example/1", title="copy", body=forms["trimmed"], source="copy",
                   domain="copy.example", published=utcnow())
    clusters.assign([copy], {"copy": to_bytes(minhash(copy.body))})
    assert copy.cluster_id == "stored" and not copy.is_original


def test_old_signatures_made_again_are_kept_when_the_first_batch_fails(settings, server):
    """After an upgrade the first cycle makes the stored old-hash signatures again. That is done before
    the batch's transaction (in commits of its own): when the batch's write then fails, the work is
    kept, not rolled back with it and redone — and the store's write lock was not held meanwhile. The
    failure is one refused article write in front of the real SQLite store (the only way to time it)."""
    from datetime import timedelta

    from loopback import Reply, article_page, rss

    from ingest.app import Ingest
    from ingest.enrich.dedupe import stale
    from ingest.errors import StoreError
    from ingest.models import Article, FeedConfig, utcnow
    from ingest.sources.feedlist import save_feeds

    forms = variants("tarif")
    server.route("/copy", Reply(body=article_page("Tariff copy", forms["trimmed"].split("\n\n")),
                                headers={"Content-Type": "text/html"}))
    server.route("/feed.xml", Reply(body=rss([{"link": server.url("/copy"), "title": "Tariff copy"}])))
    save_feeds(settings.feeds_file, [FeedConfig(url=server.url("/feed.xml"), name="Loopback")])
    with Ingest(settings) as app:
        stored = Article(id="stored", url="https://stored.example/1", title="stored", body=forms["original"],
                         source="stored", domain="stored.example", published=utcnow() - timedelta(days=1))
        app.store.index.upsert_articles([stored])
        app.store.save_signature("stored", "stored.example", stored.published, "stored",
                                 _sha1_signature(stored.body))
        index = type(app.store.index)
        real_upsert = index.upsert_articles
        refused = []

        def refuse_once(self, articles, alert_pending=False):
            if not refused:
                refused.append(True)
                raise StoreError("disk I/O error (injected)")
            return real_upsert(self, articles, alert_pending)

        index.upsert_articles = refuse_once
        try:
            with pytest.raises(StoreError):
                app.run_once()
        finally:
            index.upsert_articles = real_upsert
        saved = {c.id: c.signature for c in app.store.cluster_candidates(utcnow() - timedelta(days=7))}
        assert not stale(saved["stored"]), "the signature made again was rolled back with the failed batch"
        assert "copy" not in saved  # the batch itself was not written
