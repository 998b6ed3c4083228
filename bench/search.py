#!/usr/bin/env python3
"""Search latency on 100,000 stored articles synthesised from the real pages, on both backends.

    python bench/search.py                    # SQLite, 100,000 articles
    python bench/search.py --articles 20000 --json
    INGEST_ES_URL=http://127.0.0.1:9200 python bench/search.py   # also Elasticsearch

Articles are built from the extracted paragraphs of the real pages: each keeps one page's text and
borrows two paragraphs from others, with its own title suffix, source and date, so term
statistics look like a news archive rather than 550 copies of one page.
Queries: a mix of term, phrase, Boolean, NEAR, wildcard and field queries from the corpus's own words.
Target: p95 under 50 ms on the embedded store.

Loading: the first `--timed` (10,000) articles go through each store's own write path, one backend at
a time, and are timed (docs/s: SQLite upserts with FTS5; Elasticsearch outbox, bulk, refresh). The rest
is loaded untimed (SQLite through the store, Elasticsearch by parallel bulk requests of the adapter's
own documents), only so that `make bench` stays short.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timer, dataset_name, emit, machine, markdown_table, percentile, real_pages  # noqa: E402

from ingest.config import ExtractSettings, StoreSettings  # noqa: E402
from ingest.enrich import reconcile_language  # noqa: E402
from ingest.extract import extract_article  # noqa: E402
from ingest.models import Article  # noqa: E402
from ingest.store.base import SearchRequest  # noqa: E402
from ingest.text import tokens  # noqa: E402

SOURCES = [f"Source {i:02d}" for i in range(20)]


def base_texts() -> list[dict]:
    out = []
    for item_id, html in real_pages():
        ex = extract_article(html, None, ExtractSettings())
        paras = [p for p in ex.text.split("\n\n") if len(p) > 40]
        if len(paras) >= 2:
            out.append({"title": ex.title or item_id, "paras": paras,
                        "lang": reconcile_language(ex.text, ex.language, None)})
    return out


def synthesise(bases: list[dict], n: int, seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    articles = []
    for i in range(n):
        base = bases[i % len(bases)]
        donors = [rng.choice(bases) for _ in range(2)]
        paras = base["paras"] + [rng.choice(d["paras"]) for d in donors]
        rng.shuffle(paras)
        aid = f"bench{i:07d}"
        articles.append(Article(
            id=aid, url=f"https://bench.example/{aid}", title=f"{base['title']} ({i})", body="\n\n".join(paras),
            source=SOURCES[i % len(SOURCES)], domain=f"site{i % len(SOURCES)}.example",
            published=start + timedelta(minutes=13 * i), language=base["lang"], tags=[], keywords=[],
            content_hash=aid, cluster_id=aid))
    return articles


def make_queries(bases: list[dict], seed: int = 2) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    counts = Counter(w.lower() for b in bases for p in b["paras"] for w in tokens(p)
                     if len(w) > 4 and w.isalpha())
    common = [w for w, _ in counts.most_common(400)[40:]]
    rare = [w for w, c in counts.most_common(3000)[1500:] if c >= 3]
    phrases = []
    for b in bases:
        words = [w for w in tokens(b["paras"][0]) if w.isalpha()]
        if len(words) > 6:
            k = rng.randrange(0, len(words) - 3)
            phrases.append(" ".join(words[k:k + 2]))
    queries = []
    for _ in range(10):
        queries.append(("term", rng.choice(common)))
        queries.append(("rare term", rng.choice(rare)))
        queries.append(("phrase", f'"{rng.choice(phrases)}"'))
        a, b, c = rng.sample(common, 3)
        queries.append(("boolean", f"({a} OR {b}) AND {c} NOT {rng.choice(rare)}"))
        a, b = rng.sample(common, 2)
        queries.append(("near", f"{a} NEAR/5 {b}"))
        queries.append(("wildcard", f"{rng.choice(common)[:4]}*"))
        queries.append(("field", f"title:{rng.choice(common)} lang:en"))
    return queries


def run_queries(store, queries: list[tuple[str, str]], rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, q in queries:
            t0 = time.perf_counter()
            store.index.search(SearchRequest(query=q, limit=20))
            timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
    return timings


def load_timed(store, articles: list[Article]) -> float:
    """Write through the store, as the pipeline does (2,000 at a time); seconds taken."""
    with Timer() as t:
        for i in range(0, len(articles), 2000):
            store.index.upsert_articles(articles[i:i + 2000])
        if store.index.outbox:
            store.index.outbox.flush()
    return t.seconds


def query_backend(name: str, store, queries, rounds: int, load_seconds: float, timed: int) -> dict:
    run_queries(store, queries[:20], 1)  # warm caches
    timings = run_queries(store, queries, rounds)
    every = [v for vs in timings.values() for v in vs]
    per_kind = {k: {"p50": percentile(v, 50), "p95": percentile(v, 95), "p99": percentile(v, 99)}
                for k, v in timings.items()}
    return {"backend": name, "index_seconds": round(load_seconds, 1), "docs_per_second": round(timed / load_seconds),
            "docs_per_second_measured_on": timed,
            "queries": len(every), "p50_ms": percentile(every, 50), "p95_ms": percentile(every, 95),
            "p99_ms": percentile(every, 99), "by_kind": per_kind}


def bulk_load(store, articles: list[Article]) -> None:
    """The rest of the Elasticsearch corpus: the adapter's own documents (`article_doc`), written with
    parallel bulk requests straight into the write alias. Only to save time: the store's write path
    (outbox, id lookup across backing indices, refresh per flush) is what `docs/s` measures."""
    from elasticsearch import helpers

    from ingest.store.elasticsearch.schema import article_doc

    actions = ({"_op_type": "index", "_index": store.index.articles_alias, "_id": a.id, "_source": article_doc(a)}
               for a in articles)
    for ok, item in helpers.parallel_bulk(store.index.client, actions, chunk_size=1000, thread_count=2):
        if not ok:
            raise SystemExit(f"bulk load failed: {item}")
    store.index.client.indices.refresh(index=store.index.articles_alias)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3, help="times the query mix is run")
    ap.add_argument("--timed", type=int, default=10_000,
                    help="articles written through each store alone and timed; the rest is loaded untimed")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    bases = base_texts()
    articles = synthesise(bases, args.articles)
    queries = make_queries(bases)
    results = []
    timed = min(args.timed, len(articles))
    with tempfile.TemporaryDirectory() as tmp:
        from ingest.store import open_sqlite

        store = open_sqlite(Path(tmp) / "bench.db")
        es = None
        if os.environ.get("INGEST_ES_URL"):
            from ingest.store import open_backends

            settings = StoreSettings(backend="elasticsearch", sqlite_path=str(Path(tmp) / "es-local.db"))
            settings.elasticsearch.url = os.environ["INGEST_ES_URL"]
            settings.elasticsearch.index_prefix = f"bench{int(time.time())}"
            settings.elasticsearch.bulk_size = 2000
            es = open_backends(settings)
        try:
            # One backend at a time, nothing else running: write throughput on the first `timed`
            # articles (timed), the rest of the corpus (untimed), then the queries. SQLite goes first
            # so Elasticsearch's background merges after its load cannot slow the SQLite queries.
            sqlite_seconds = load_timed(store, articles[:timed])
            load_timed(store, articles[timed:])
            results.append(query_backend("sqlite", store, queries, args.rounds, sqlite_seconds, timed))
            if es:
                es_seconds = load_timed(es, articles[:timed])
                bulk_load(es, articles[timed:])
                results.append(query_backend("elasticsearch", es, queries, args.rounds, es_seconds, timed))
        finally:
            store.close()
            if es:
                es.index.client.indices.delete(index=f"{settings.elasticsearch.index_prefix}-*")
                es.close()
    rows = [[r["backend"], f"{args.articles:,}", r["docs_per_second"], r["queries"], r["p50_ms"], r["p95_ms"],
             r["p99_ms"], "yes" if r["backend"] != "sqlite" or r["p95_ms"] < 50 else "no"] for r in results]
    kinds = [[r["backend"], k, v["p50"], v["p95"], v["p99"]] for r in results for k, v in r["by_kind"].items()]
    table = (f"Search latency ({dataset_name()}; {machine()})\n\n"
             + markdown_table(["backend", "articles", "store writes docs/s", "queries", "p50 ms", "p95 ms", "p99 ms",
                               "p95 < 50 ms"], rows)
             + "\n\n" + markdown_table(["backend", "query kind", "p50 ms", "p95 ms", "p99 ms"], kinds))
    emit({"articles": args.articles, "dataset": dataset_name(), "machine": machine(), "results": results}, table,
         args.json)


if __name__ == "__main__":
    main()
