#!/usr/bin/env python3
"""Enrichment cost per article next to extraction's, and the syndication-cluster threshold measurement.

    python bench/enrich.py                    # ms/article per step on the same pages, ratio to extraction
    python bench/enrich.py --variants         # also: YAKE cost and agreement at other text lengths / n-grams
    python bench/enrich.py --thresholds       # precision/recall of cluster pair decisions per threshold
    python bench/enrich.py --cpu              # CPU time (process_time) instead of wall-clock: fairer on a busy machine
    python bench/enrich.py --language-agreement   # detection on a prefix vs the whole text, both datasets
    python bench/enrich.py --json

Pages: ../shared/benchmarks/article-extraction/html/*.html.gz (181 real pages), or the bundled
sample site when absent. Each page is extracted once (`ingest.extract.extract_article`, timed),
then each enrichment step runs on the extracted text, timed separately, single process:

- language: `declared_language` on the HTML + `reconcile_language` on the text;
- keywords: `extract_keywords` (YAKE + normalisation), title and tags as the pipeline passes them;
- minhash+cluster: `minhash` of the text and `Clusterer.assign` into an index of all pages so far;
- dates+mentions: `reconcile_published` and `count_mentions` with a 20-term watch list.

Threshold measurement, pairs labelled same story / not:
- labelled: our own agency stories as outlets carry them vs same-topic reports, follow-ups and
  short boilerplate-only items (tests/test_enrich_clusters.py);
- demo: every same-language pair of the sample site's articles; same story = same `syndication_group`;
- real: every pair of the real pages (all different stories), plus three copies of each page of
  60+ words as another outlet would carry it (other intro + boilerplate, trimmed to 65 %, edited).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import DATASET, dataset_name, emit, machine, markdown_table, real_pages  # noqa: E402

from ingest.config import Settings  # noqa: E402
from ingest.enrich import (  # noqa: E402
    Clusterer,
    count_mentions,
    extract_keywords,
    minhash,
    reconcile_language,
    reconcile_published,
)
from ingest.enrich.dedupe import similarity  # noqa: E402
from ingest.enrich.language import declared_language  # noqa: E402
from ingest.extract import extract_article  # noqa: E402

WATCH = ["Drohne", "drone", "Iran", "Venezuela", "sanctions", "Sanktionen", "election", "Wahl", "inflation",
         "Inflation", "police", "Polizei", "court", "Gericht", "climate", "Klima", "Trump", "Europe", "China", "AI"]
THRESHOLDS = [0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8]


def _ms(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"mean": 1000 * statistics.mean(ordered), "median": 1000 * statistics.median(ordered),
            "p95": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]}


REPEAT = 3  # every timing is the best of this many runs: the machine is shared, noise only adds
CLOCK = time.perf_counter  # --cpu: time.process_time


def _set_repeat(n: int) -> None:
    global REPEAT
    REPEAT = max(1, n)


def _timed(fn, *args, **kwargs):
    best, result = float("inf"), None
    for _ in range(REPEAT):
        start = CLOCK()
        result = fn(*args, **kwargs)
        best = min(best, CLOCK() - start)
    return result, best


def pages() -> list[tuple[str, bytes]]:
    return real_pages()


def extracted(items: list[tuple[str, bytes]], settings: Settings) -> list[dict]:
    out = []
    for _ in range(2):  # warm up imports and caches on the first pages
        extract_article(items[0][1], None, settings.extract)
    for item_id, html in items:
        ex, seconds = _timed(extract_article, html, None, settings.extract)  # best of REPEAT
        out.append({"id": item_id, "html": html, "ex": ex, "extract": seconds})
    return out


def cost(docs: list[dict], settings: Settings) -> dict:
    steps = {"language": [], "keywords": [], "minhash+cluster": [], "dates+mentions": []}
    clusterer = Clusterer(settings.enrich.cluster_threshold)
    if docs:  # warm up YAKE and the language model
        extract_keywords(docs[0]["ex"].text, "en", [], settings.enrich.keywords)
        reconcile_language(docs[0]["ex"].text, None)
    def language(d: dict) -> str | None:
        return reconcile_language(d["ex"].text or "", declared_language(d["html"]) or d["ex"].language, None,
                                  settings.enrich.min_detect_chars)

    def cluster(i: int, text: str, published) -> str:
        return clusterer.assign(f"p{i}", "bench.example", published, minhash(text))

    def dates_mentions(ex, text: str, lang: str | None) -> None:
        reconcile_published(ex.published, None)
        count_mentions(ex.title or "", text, lang, WATCH)

    for i, d in enumerate(docs):
        ex = d["ex"]
        text = ex.text or ""
        # extraction timed again here, interleaved with the steps, so load changes hit both alike
        d["extract"] = min(d["extract"], _timed(extract_article, d["html"], None, settings.extract)[1])
        lang, seconds = _timed(language, d)
        steps["language"].append(seconds)
        steps["keywords"].append(_timed(extract_keywords, text, lang, ex.tags, settings.enrich.keywords,
                                        title=ex.title, exclude=[ex.author, ex.sitename])[1])
        steps["minhash+cluster"].append(_timed(cluster, i, text, ex.published)[1])
        steps["dates+mentions"].append(_timed(dates_mentions, ex, text, lang)[1])
    extract_ms = _ms([d["extract"] for d in docs])
    rows = {"extraction": extract_ms} | {name: _ms(values) for name, values in steps.items()}
    total = [sum(v[i] for v in steps.values()) for i in range(len(docs))]
    rows["enrichment total"] = _ms(total)
    for row in rows.values():
        row["ratio"] = row["mean"] / extract_ms["mean"] if extract_ms["mean"] else 0.0
    return rows


def keyword_variants(docs: list[dict], settings: Settings) -> list[dict]:
    """YAKE cost, and agreement with the keywords of the whole text, at other text lengths and n-gram sizes."""
    import ingest.enrich.keywords as kw

    shipped = (kw.MAX_CHARS, kw.NGRAM)
    top = settings.enrich.keywords
    langs = [reconcile_language(d["ex"].text or "", declared_language(d["html"])) for d in docs]

    configs = [(1000, 3), (2000, 3), (3000, 3), (4000, 3), (6000, 3), (100000, 3), (3000, 2), (4000, 2)]
    results: dict[tuple[int, int], list[list[str]]] = {c: [] for c in configs}
    seconds: dict[tuple[int, int], float] = dict.fromkeys(configs, 0.0)
    try:
        for d, lang in zip(docs, langs, strict=True):  # every setting on one page, then the next page:
            for config in configs:                      # load changes hit all settings alike
                kw.MAX_CHARS, kw.NGRAM = config
                kw.keyword_text.__defaults__ = (None, config[0])
                found, spent = _timed(extract_keywords, d["ex"].text or "", lang, [], top, title=d["ex"].title)
                results[config].append(found)
                seconds[config] += spent
    finally:
        kw.MAX_CHARS, kw.NGRAM = shipped
        kw.keyword_text.__defaults__ = (None, shipped[0])
    reference = results[(100000, 3)]  # the whole text, trigrams: what YAKE finds with no cost limit
    out = []
    for config in configs:
        agree = [len({k.lower() for k in a} & {k.lower() for k in b}) / max(1, len(b))
                 for a, b in zip(results[config], reference, strict=True) if b]
        out.append({"max_chars": config[0], "n": config[1], "ms": 1000 * seconds[config] / max(1, len(docs)),
                    "agreement": statistics.mean(agree) if agree else 0.0, "shipped": config == shipped})
    return out


# -- thresholds -----------------------------------------------------------------------------------


def demo_texts(settings: Settings) -> list[dict]:
    import urllib.request

    from ingest.demo.site import DemoSite

    out = []
    with DemoSite() as site:
        for a in site.articles:
            if a.status != 200:
                continue
            with urllib.request.urlopen(a.url, timeout=10) as resp:  # noqa: S310 - loopback demo site
                html, ctype = resp.read(), resp.headers.get("content-type")
            ex = extract_article(html, a.url, settings.extract, None, a.tags, ctype)
            out.append({"outlet": a.outlet, "lang": a.lang, "group": a.syndication_group, "text": ex.text})
    return out


def labelled_sets(docs: list[dict], settings: Settings) -> dict[str, list[tuple[str, str, bool, str]]]:
    """name -> (text a, text b, same story?, kind of pair)."""
    from test_enrich_clusters import BOILERPLATE, INTROS, _edit, labelled_pairs

    sets = {"labelled": labelled_pairs()}
    demo = demo_texts(settings)
    sets["demo"] = [(x["text"], y["text"], bool(x["group"]) and x["group"] == y["group"],
                     "syndicated" if x["group"] and x["group"] == y["group"] else
                     ("same outlet" if x["outlet"] == y["outlet"] else "other outlet"))
                    for x, y in itertools.combinations(demo, 2) if x["lang"] == y["lang"]]
    real = []
    texts = [d["ex"].text for d in docs if d["ex"].text and len(d["ex"].text.split()) >= 60]
    for text in texts:
        paras = [p for p in text.split("\n") if p.strip()]
        if len(paras) < 4:
            continue
        keep = max(3, round(len(paras) * 0.65))
        real.append((text, "\n".join([INTROS["en"], *paras, *BOILERPLATE["en"]]), True, "copy:intro+boilerplate"))
        real.append((text, "\n".join(paras[:keep] + BOILERPLATE["en"][1:3]), True, "copy:trimmed"))
        real.append((text, "\n".join(_edit(paras, "en")), True, "copy:edited"))
    real += [(a, b, False, "different pages") for a, b in itertools.combinations(texts, 2)]
    sets["real"] = real
    return sets


def lsh_recall(pairs: list, settings: Settings) -> float:
    """Share of same-story pairs above the threshold that the Clusterer's LSH index offers as candidates."""
    found = 0
    for a, b in pairs:
        clusterer = Clusterer(settings.enrich.cluster_threshold)
        clusterer.assign("a", "one.example", None, a)
        found += "a" in clusterer.lsh.query(b.minhash)
    return found / len(pairs) if pairs else 1.0


def thresholds(docs: list[dict], settings: Settings) -> dict:
    sets = labelled_sets(docs, settings)
    cache: dict[str, object] = {}

    def sig(text: str):
        if text not in cache:
            cache[text] = minhash(text)
        return cache[text]

    scored = {name: [(similarity(sig(a), sig(b)), same, kind) for a, b, same, kind in pairs]
              for name, pairs in sets.items()}
    scored["all"] = [p for name in sets for p in scored[name]]
    out = {"lsh_candidate_recall": lsh_recall([(sig(a), sig(b)) for pairs in sets.values() for a, b, same, _ in pairs
                                               if same and similarity(sig(a), sig(b)) >= settings.enrich.cluster_threshold],
                                              settings)}
    for name, pairs in scored.items():
        rows = []
        for t in THRESHOLDS:
            tp = sum(1 for s, same, _ in pairs if same and s >= t)
            fp = sum(1 for s, same, _ in pairs if not same and s >= t)
            fn = sum(1 for s, same, _ in pairs if same and s < t)
            rows.append({"threshold": t, "tp": tp, "fp": fp, "fn": fn,
                         "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0})
        pos = sorted((s, kind) for s, same, kind in pairs if same)
        neg = sorted((s, kind) for s, same, kind in pairs if not same)
        out[name] = {"pairs": len(pairs), "positives": len(pos),
                     "weakest_positive": pos[0] if pos else (None, ""),
                     "strongest_negative": neg[-1] if neg else (None, ""), "rows": rows}
    return out


# -- language on a prefix ---------------------------------------------------------------------------

PREFIXES = [1000, 1500, 2000, 3000]


def language_agreement(settings: Settings) -> dict:
    """`reconcile_language` reading the first N characters (`language.DETECT_CHARS`) against reading the
    whole text, over the pages of both benchmark datasets (each extracted once, as the pipeline does)."""
    import gzip

    from ingest.enrich import language as lang_module

    texts = []
    for name in ("article-extraction", "article-extraction-large"):
        for f in sorted((DATASET.parent / name / "html").glob("*.html.gz")):
            html = gzip.decompress(f.read_bytes())
            ex = extract_article(html, None, settings.extract)
            texts.append((ex.text or ex.title or "", ex.language or declared_language(html)))
    shipped = lang_module.DETECT_CHARS
    reconcile_language("Warm up the language model with a sentence.", None)  # its load is not timed
    rows = []
    try:
        for limit in [*PREFIXES, 10**9]:
            lang_module.DETECT_CHARS = limit
            start = time.process_time()
            got = [reconcile_language(t, d, None, settings.enrich.min_detect_chars) for t, d in texts]
            rows.append({"chars": limit, "langs": got, "cpu_ms": 1000 * (time.process_time() - start) / max(1, len(texts))})
    finally:
        lang_module.DETECT_CHARS = shipped
    whole = rows[-1]["langs"]
    for r in rows:
        langs = r.pop("langs")
        r["agreement"] = sum(a == b for a, b in zip(langs, whole, strict=True)) / max(1, len(whole))
        r["shipped"] = r["chars"] == shipped
    return {"machine": machine(), "pages": len(texts), "rows": rows}


def language_table(result: dict) -> str:
    return (f"Language on a prefix vs the whole text, {result['pages']} pages of both benchmark datasets "
            f"({result['machine']}), CPU ms per article:\n\n" +
            markdown_table(["characters read", "agreement with the whole text", "CPU ms/article", ""],
                           [["whole" if r["chars"] >= 10**9 else r["chars"], r["agreement"], r["cpu_ms"],
                             "shipped" if r["shipped"] else ""] for r in result["rows"]]))


# -- output ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=REPEAT, help=f"best of N runs per timing (default {REPEAT})")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pages")
    parser.add_argument("--variants", action="store_true", help="YAKE cost at other text lengths and n-grams")
    parser.add_argument("--thresholds", action="store_true", help="cluster pair decisions per threshold")
    parser.add_argument("--cpu", action="store_true", help="time with process_time (CPU) instead of wall-clock")
    parser.add_argument("--language-agreement", action="store_true",
                        help="language on prefixes of the text vs the whole text, on both benchmark datasets")
    args = parser.parse_args()
    _set_repeat(args.repeat)
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    if args.language_agreement:
        result = language_agreement(Settings())
        emit(result, language_table(result), args.json)
        return
    settings = Settings()
    items = pages()[: args.limit]
    docs = extracted(items, settings)
    result = {"machine": machine(), "dataset": dataset_name() if DATASET.exists() else "bundled sample site",
              "pages": len(docs), "cost": cost(docs, settings)}
    tables = [f"Enrichment cost, {len(docs)} pages of {result['dataset']} ({machine()}), one process:\n",
              markdown_table(["step", "mean ms/article", "median", "p95", "x extraction"],
                             [[k, v["mean"], v["median"], v["p95"], v["ratio"]] for k, v in result["cost"].items()])]
    if args.variants:
        result["keyword_variants"] = keyword_variants(docs, settings)
        tables += ["\nKeywords (YAKE + normalisation) by body text read and n-gram size; agreement = share of the "
                   "whole text's keywords (n=3) also found:\n",
                   markdown_table(["body chars", "n", "ms/article", "agreement", ""],
                                  [[v["max_chars"], v["n"], v["ms"], v["agreement"], "shipped" if v["shipped"] else ""]
                                   for v in result["keyword_variants"]])]
    if args.thresholds:
        result["thresholds"] = thresholds(docs, settings)
        tables.append(f"\nLSH candidate recall (same-story pairs above the configured threshold "
                      f"{settings.enrich.cluster_threshold} that the index offers): "
                      f"{result['thresholds']['lsh_candidate_recall']:.3f}")
        for name, data in result["thresholds"].items():
            if name == "lsh_candidate_recall":
                continue
            (wp, wk), (sn, sk) = data["weakest_positive"], data["strongest_negative"]
            tables += [f"\nCluster pair decisions, {name}: {data['pairs']} pairs, {data['positives']} same-story; "
                       f"weakest same-story {wp:.2f} ({wk}), strongest different-story {sn:.2f} ({sk})\n",
                       markdown_table(["threshold", "precision", "recall", "TP", "FP", "FN"],
                                      [[r["threshold"], r["precision"], r["recall"], r["tp"], r["fp"], r["fn"]]
                                       for r in data["rows"]])]
    emit(result, "\n".join(tables), args.json)


if __name__ == "__main__":
    main()
