"""Query-level check of the compound-parts view, and what the view costs at index time.

Run through `python bench/compounds.py --search` (or alone: `python bench/compounds_search.py`).

Corpus: every article text at hand. German: the sample site's German stories, the German cleaning
fixtures (tests/fixtures/clean/nordbote, rheinkurier: extracted) and the shared benchmark pages
detected as German; the other languages of ../shared/benchmarks (ground-truth texts, 1,171 pages:
English, Russian, Polish, Greek, Chinese...) for the mixed-corpus cost and the other-language queries.

1. Decompounding: for each query word, `word` (with compound parts) against `=word` (without);
   every extra hit is judged by the labelled list: relevant when the article holds a labelled
   compound whose expected parts include the word, wrong when it holds a word the list says must
   stay whole (or a compound whose parts do not include it), unjudged otherwise.
2. Other languages (issue 16): Russian and Polish query words, hits with each stemmer language's
   stems restricted to its articles against the five query languages only.
3. Cost: the same articles written into two SQLite stores, with the parts view and with it emptied;
   CPU seconds per article (best of 3; SQLite runs in this process) and file size; also into
   Elasticsearch when INGEST_ES_URL is set (wall time, one run, merged index size).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SHARED  # noqa: E402

from ingest.models import Article  # noqa: E402
from ingest.store.base import SearchRequest  # noqa: E402
from ingest.text import TOKEN, stem_words  # noqa: E402

QUERY_WORDS = [
    "Drohne", "Export", "Preis", "Strom", "Gas", "Netz", "Wahl", "Streik", "Bahn", "Verkehr", "Energie", "Wind",
    "Solar", "Klima", "Wasser", "Polizei", "Angriff", "Abwehr", "Luft", "Krieg", "Waffe", "Sanktion", "Regierung",
    "Bund", "Land", "Stadt", "Rat", "Haus", "Schule", "Kind", "Arzt", "Markt", "Arbeit", "Steuer", "Kosten",
    "Brücke", "Agentur", "Entgelt", "Rechnung", "Park", "Kraft", "Werk", "Hafen", "Zug", "Fahrer", "Gewerkschaft",
    "Technologie", "Sicherheit", "Gletscher", "Sommer", "Winter", "Eis", "Feld", "Pflanze", "Schutz", "Bauteil",
    "Hitze", "Straße", "Flug", "Geld",
]
OTHER_WORDS = {"ru": ["метро", "пассажиров", "врачи", "правительство", "выборы", "полиция", "цены", "школы",
                      "больницы", "президента"],
               "pl": ["pasażerów", "rządu", "wybory", "policji", "ceny", "szkoły", "szpitala", "prezydenta",
                      "pociągów", "lekarzy"]}


def _article(key: str, title: str, body: str, lang: str | None) -> Article:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 20, tzinfo=UTC)
    return Article(id=key, url=f"https://bench.test/{key}", title=title, body=body, source="bench",
                   domain="bench.test", published=now, indexed=now, language=lang, content_hash=key, cluster_id=key)


def corpus() -> list[Article]:
    from ingest.demo.stories import load_outlets, load_stories
    from ingest.enrich.language import detect_language

    outlets = load_outlets()
    lang_of = {o.key: o.language for o in outlets}
    out = [_article(f"demo-{s.outlet}-{s.slug}", s.title, "\n".join([s.lead, *s.paragraphs]), lang_of[s.outlet])
           for s in load_stories(outlets)]
    import trafilatura

    for path in sorted((ROOT / "tests" / "fixtures" / "clean").glob("*/*.html")):
        if path.parent.name in ("nordbote", "rheinkurier"):
            text = trafilatura.extract(path.read_text(encoding="utf-8", errors="replace")) or ""
            lines = text.splitlines()
            out.append(_article(f"fix-{path.parent.name}-{path.stem}", lines[0] if lines else "", text, "de"))
    for name in ("article-extraction", "article-extraction-large"):
        truth = SHARED / "benchmarks" / name / "ground-truth.json"
        if not truth.exists():
            continue
        for key, item in json.loads(truth.read_text(encoding="utf-8")).items():
            body = item["articleBody"]
            lang = item.get("lang") or detect_language(body)[0]
            first = body.strip().splitlines()[0] if body.strip() else ""
            out.append(_article(f"{name}-{key[:16]}", first[:200], body, lang))
    return out


def _labels():
    from compounds import load_compounds, load_whole

    compounds = {w.lower(): set(stem_words([p.lower() for p in parts], "de")) for w, parts in load_compounds().items()}
    whole = {w.lower() for w in load_whole()}
    return compounds, whole


def _judge(article: Article, word: str, compounds: dict, whole: set) -> tuple[str, str]:
    """(relevant / wrong / unjudged, the compound) for an extra hit of `word` in a German article.

    The compounds that made the hit are the article's words whose parts (as the splitter made them)
    include the word's stem; the labelled list then says whether the word really is a part of them.
    """
    from ingest.enrich.compounds import splitter

    stem = stem_words([word.lower()], "de")[0]
    sp = splitter("de")
    causes = [t for t in dict.fromkeys(TOKEN.findall(article.title + " " + article.body))
              if stem in sp.remember(t).split()]
    verdict, cause = "unjudged", causes[0] if causes else ""
    for token in causes:
        low = token.lower()
        if low in compounds:
            if stem in compounds[low]:
                return "relevant", token
            verdict, cause = "wrong", token
        elif low in whole:
            verdict, cause = "wrong", token
    return verdict, cause


def _store(path: Path, with_parts: bool):
    from ingest.store import open_sqlite
    from ingest.store.sqlite import index as sqlite_store

    sqlite_store.parts_text = sqlite_store.__dict__["_real_parts"] if with_parts else (lambda text, lang: "")
    return open_sqlite(path)


def search_check(timing_rounds: int = 3) -> dict:
    from ingest.store.sqlite import index as sqlite_store

    sqlite_store.__dict__.setdefault("_real_parts", sqlite_store.parts_text)
    articles = corpus()
    german = [a for a in articles if a.language == "de"]
    compounds, whole = _labels()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp) / "with.db", True)
        store.index.upsert_articles(articles)
        rows, extra_total, verdicts = [], 0, {"relevant": 0, "wrong": 0, "unjudged": 0}
        samples: list[str] = []
        unlisted: dict[str, str] = {}
        for word in QUERY_WORDS:
            with_hits = {h.id: h for h in store.index.search(SearchRequest(query=f"{word} lang:de", limit=1000)).hits}
            without = {h.id for h in store.index.search(SearchRequest(query=f"={word} lang:de", limit=1000)).hits}
            extra = [i for i in with_hits if i not in without]
            judged = {"relevant": 0, "wrong": 0, "unjudged": 0}
            by_id = {a.id: a for a in german}
            for i in extra:
                v, cause = _judge(by_id[i], word, compounds, whole)
                judged[v] += 1
                verdicts[v] += 1
                if v == "unjudged":
                    unlisted.setdefault(f"{word}: {cause}", by_id[i].title[:40])
                if len(samples) < 20 and (v != "unjudged" or len(samples) % 3 == 0):
                    samples.append(f"{word}: {cause} ({by_id[i].title[:50]!r}) -> {v}")
            extra_total += len(extra)
            rows.append({"word": word, "without parts": len(without), "with parts": len(with_hits),
                         "extra": len(extra), "relevant": judged["relevant"], "wrong": judged["wrong"],
                         "unjudged": judged["unjudged"]})
        found_without = sum(r["without parts"] for r in rows)
        result["decompounding: hits per query word (German articles)"] = rows
        result["decompounding: summary"] = (
            f"{len(german)} German articles, {len(QUERY_WORDS)} query words: {found_without} hits without parts, "
            f"{found_without + extra_total} with (+{extra_total}, "
            f"{100 * extra_total / max(found_without, 1):.0f} %); extra hits judged by the labelled list: "
            f"{verdicts['relevant']} relevant, {verdicts['wrong']} wrong, "
            f"{verdicts['unjudged']} not in the list")
        result["decompounding: sample of judged extra hits"] = "\n".join(samples)
        result["decompounding: extra hits through compounds not in the labelled list (query: compound)"] = \
            ", ".join(sorted(unlisted))
        result["other languages (issue 16)"] = _other_languages(store)
        store.close()
        result["index cost"] = _cost(Path(tmp), articles, german, timing_rounds)
        if os.environ.get("INGEST_ES_URL"):
            result["index cost, Elasticsearch"] = _cost_es(Path(tmp), articles, german)
    return result


def _cost_es(tmp: Path, articles: list[Article], german: list[Article]) -> list[dict]:
    """Wall time per article through the Elasticsearch store (the node is another process: CPU time of
    this one would miss it), and the primary store size after a refresh and a merge to one segment."""
    import uuid

    from ingest.config import StoreSettings
    from ingest.store import open_backends
    from ingest.store.elasticsearch import schema as es_store

    real = es_store.__dict__.setdefault("_real_parts", es_store.parts_text)
    rows = []
    repeated = [_article(f"{a.id}-{n}", a.title, a.body, a.language) for n in range(5) for a in german]
    for name, batch in (("all languages", articles), ("German, each article 5x", repeated)):
        out = {}
        for with_parts in (False, True):
            es_store.parts_text = real if with_parts else (lambda text, lang: "")
            settings = StoreSettings(backend="elasticsearch", sqlite_path=str(tmp / f"es-{with_parts}.db"))
            settings.elasticsearch.url = os.environ["INGEST_ES_URL"]
            settings.elasticsearch.index_prefix = f"bench-{uuid.uuid4().hex[:8]}"
            store = open_backends(settings)
            try:
                store.index.setup()
                start = time.perf_counter()
                for i in range(0, len(batch), 50):
                    store.index.upsert_articles(batch[i:i + 50])
                elapsed = time.perf_counter() - start
                store.index.client.indices.forcemerge(index=store.index.articles_alias, max_num_segments=1)
                size = store.index.client.indices.stats(index=store.index.articles_alias)["_all"]["primaries"]["store"]["size_in_bytes"]
                out[with_parts] = (elapsed, size)
            finally:
                store.index.client.indices.delete(index=f"{settings.elasticsearch.index_prefix}-*", ignore_unavailable=True,
                                            allow_no_indices=True)
                store.close()
        es_store.parts_text = real
        (t0, s0), (t1, s1) = out[False], out[True]
        rows.append({"corpus": name, "articles": len(batch), "ms/article without": round(1000 * t0 / len(batch), 2),
                     "ms/article with": round(1000 * t1 / len(batch), 2), "time +%": round(100 * (t1 / t0 - 1), 1),
                     "MB without": round(s0 / 1e6, 1), "MB with": round(s1 / 1e6, 1),
                     "size +%": round(100 * (s1 / s0 - 1), 1)})
    return rows


def _other_languages(store) -> list[dict]:
    from ingest.query import analysis

    rows = []
    for lang, words in OTHER_WORDS.items():
        for word in words:
            now = store.index.search(SearchRequest(query=f"{word} lang:{lang}", limit=0)).total
            saved = analysis.OTHER_LANGUAGES
            analysis.OTHER_LANGUAGES = ()
            analysis.term_tokens.cache_clear()
            try:
                before = store.index.search(SearchRequest(query=f"{word} lang:{lang}", limit=0)).total
            finally:
                analysis.OTHER_LANGUAGES = saved
                analysis.term_tokens.cache_clear()
            rows.append({"language": lang, "word": word, "five query languages": before,
                         "+ article language": now})
    return rows


def _timed_load(path: Path, articles: list[Article], with_parts: bool) -> float:
    if path.exists():
        path.unlink()
    store = _store(path, with_parts)
    start = time.process_time()  # CPU time: the machine is shared, wall time would measure the neighbours
    for i in range(0, len(articles), 50):
        store.index.upsert_articles(articles[i:i + 50])
    elapsed = time.process_time() - start
    store.close()
    return elapsed


def _cold(sp) -> None:
    sp.memo.clear()
    sp.leaves.cache_clear()
    sp._split2.cache_clear()
    sp.lex._find.cache_clear()


def _cost(tmp: Path, articles: list[Article], german: list[Article], rounds: int) -> list[dict]:
    from ingest.enrich.compounds import splitter

    rows = []
    repeated = [_article(f"{a.id}-{n}", a.title, a.body, a.language) for n in range(20) for a in german]
    for name, batch in (("all languages", articles), ("German, distinct articles (every word new)", german),
                        ("German, each article 20x (word cache warm)", repeated)):
        times = {}
        for with_parts in (False, True):
            best = None
            for _ in range(rounds):
                _cold(splitter("de"))  # every round starts with cold word caches
                t = _timed_load(tmp / f"cost-{with_parts}.db", batch, with_parts)
                best = t if best is None else min(best, t)
            size = sum(p.stat().st_size for p in tmp.glob(f"cost-{with_parts}.db*"))
            times[with_parts] = (best, size)
        (t0, s0), (t1, s1) = times[False], times[True]
        rows.append({"corpus": name, "articles": len(batch), "ms/article without": round(1000 * t0 / len(batch), 2),
                     "ms/article with": round(1000 * t1 / len(batch), 2), "time +%": round(100 * (t1 / t0 - 1), 1),
                     "MB without": round(s0 / 1e6, 1), "MB with": round(s1 / 1e6, 1),
                     "size +%": round(100 * (s1 / s0 - 1), 1)})
    return rows


if __name__ == "__main__":
    out = search_check()
    for title, rows in out.items():
        print(f"\n{title}")
        if isinstance(rows, list):
            print("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
        else:
            print(rows)
