#!/usr/bin/env python3
"""Alert rule matching throughput: rules x new articles per second, at 1,000, 10,000 and 100,000 rules.

    python bench/alerts.py                         # SQLite, 1,000 and 10,000 rules, presearch + batch table
    python bench/alerts.py --rules 100000 --mix selective --es-max-rules 10000
    python bench/alerts.py --impl both             # also the naive matcher (one query per rule), before/after
    python bench/alerts.py --rules 1000 --corpus 5000 --json
    INGEST_ES_URL=http://127.0.0.1:9200 python bench/alerts.py   # also Elasticsearch (percolator or _msearch)
    INGEST_OS_URL=http://127.0.0.1:9201 python bench/alerts.py   # also OpenSearch (scripts/opensearch-node.sh: percolator)

The store holds a background corpus (`--corpus` articles synthesised from the real pages, as in
bench/search.py), then batches of new articles arrive (`--batch` articles each, as the pipeline
stores them) and `store.index.match_rules` evaluates every rule against each batch. Rules are synthesised
from the corpus's own vocabulary: single entities, AND/OR combinations, phrases, prefixes, NEAR,
negations and field restrictions, mostly on mid-frequency and rare words as monitoring rules are.
Reported: batch latency (p50/p95), new articles per second, rule evaluations (rules x
articles) per second, and CPU per batch (this process plus, for a cluster, the node's own CPU
time from its stats API) with new articles per CPU-second, which a busy machine changes far less
than the wall-clock figures. Every matcher and backend must return SQLite's matches (checked: a MISMATCH note), and
exactness is checked on every run: the first batch is evaluated again with every rule (presearch off)
and must give the same matches ("exact" column); the column before it says how many rules the
presearcher (ingest.query.presearch) let through to evaluation and how many it answered itself.
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

from common import dataset_name, emit, machine, markdown_table, percentile, real_pages  # noqa: E402

from ingest.config import ExtractSettings, StoreSettings  # noqa: E402
from ingest.enrich import reconcile_language  # noqa: E402
from ingest.extract import extract_article  # noqa: E402
from ingest.models import Article  # noqa: E402
from ingest.text import tokens  # noqa: E402

SOURCES = [f"Source {i:02d}" for i in range(20)]
CLUSTERS = [("elasticsearch", "INGEST_ES_URL"), ("opensearch", "INGEST_OS_URL")]


def base_texts() -> list[dict]:
    out = []
    for item_id, html in real_pages():
        ex = extract_article(html, None, ExtractSettings())
        paras = [p for p in ex.text.split("\n\n") if len(p) > 40]
        if len(paras) >= 2:
            out.append({"title": ex.title or item_id, "paras": paras,
                        "lang": reconcile_language(ex.text, ex.language, None)})
    if not out:
        raise SystemExit("no pages to build articles from")
    return out


def synthesise(bases: list[dict], n: int, start_index: int = 0, seed: int = 1) -> list[Article]:
    """Each article: one page's paragraphs plus two borrowed from others, its own id, source and date."""
    rng = random.Random(seed + start_index)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    articles = []
    for i in range(start_index, start_index + n):
        base = bases[i % len(bases)]
        paras = base["paras"] + [rng.choice(rng.choice(bases)["paras"]) for _ in range(2)]
        rng.shuffle(paras)
        aid = f"bench{i:07d}"
        articles.append(Article(
            id=aid, url=f"https://bench.example/{aid}", title=f"{base['title']} ({i})", body="\n\n".join(paras),
            source=SOURCES[i % len(SOURCES)], domain=f"site{i % len(SOURCES)}.example",
            published=start + timedelta(minutes=13 * i), language=base["lang"], content_hash=aid, cluster_id=aid))
    return articles


def make_rules(bases: list[dict], n: int, mix: str = "broad", seed: int = 3) -> dict[str, str]:
    """`broad`: single words ranked 50-1500 and rarer ones, combined in every way (a worst case:
    about half the rules match each batch); `selective`: pairs of words found on at most 2 pages,
    names and phrases, as monitoring rules on entities and events look."""
    rng = random.Random(seed)
    counts = Counter(w for b in bases for p in b["paras"] for w in tokens(p) if len(w) > 3 and w.isalpha())
    ranked = [w for w, _ in counts.most_common()]
    pages = Counter(w for b in bases for w in {t for p in b["paras"] for t in tokens(p)})
    mid = ranked[50:1500] or ranked
    rare = [w for w in ranked[1500:] if counts[w] >= 2] or mid
    phrases = []
    for b in bases:
        for p in b["paras"][:4]:
            words = [w for w in tokens(p) if w.isalpha() and len(w) > 2]
            if len(words) > 4:
                k = rng.randrange(0, len(words) - 2)
                phrases.append(f"{words[k]} {words[k + 1]}")

    def word() -> str:
        return rng.choice(rare) if rng.random() < 0.6 else rng.choice(mid)

    kinds = [
        (30, lambda: word()),
        (20, lambda: f"{word()} AND {word()}"),
        (12, lambda: f"({word()} OR {word()}) AND {rng.choice(mid)}"),
        (10, lambda: f'"{rng.choice(phrases)}"'),
        (8, lambda: f"{word()[:5]}*"),
        (8, lambda: f"{word()} NEAR/5 {word()}"),
        (6, lambda: f"{word()} AND NOT {rng.choice(mid)}"),
        (6, lambda: f"title:{word()} OR ({word()} AND lang:{rng.choice(['en', 'de'])})"),
    ]
    if mix == "selective":
        names = [w for w in ranked if pages[w] <= 2 and w[:1].isupper()] or ranked
        rare2 = [w for w in ranked if pages[w] <= 2] or ranked

        def entity() -> str:
            return rng.choice(names) if rng.random() < 0.7 else rng.choice(rare2)

        kinds = [
            (35, lambda: f"{entity()} AND {entity()}"),
            (15, lambda: f"({entity()} OR {entity()}) AND {entity()}"),
            (15, lambda: f'"{rng.choice(phrases)}" AND {entity()}'),
            (10, lambda: entity()),
            (10, lambda: f"{entity()} NEAR/10 {entity()}"),
            (8, lambda: f"{entity()[:6]}* AND {entity()}"),
            (7, lambda: f"{entity()} AND {entity()} AND NOT {rng.choice(mid)}"),
        ]
    weights = [w for w, _ in kinds]
    rules = {}
    while len(rules) < n:
        _, make = rng.choices(kinds, weights)[0]
        rules[f"rule-{len(rules):05d}"] = make()
    return rules


def node_cpu_ms(store) -> float:
    """CPU time the cluster node has used so far: from /proc when the node runs on this machine (exact),
    else its stats API (refreshed about once a second); 0 for SQLite."""
    client = getattr(getattr(store, "index", store), "client", None)  # Backends(state, index): the index's client
    if client is None:
        return 0.0
    node = next(iter(client.nodes.info(node_id="_local", metric="process")["nodes"].values()))
    try:
        fields = Path(f"/proc/{node['process']['id']}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, KeyError, IndexError, ValueError):
        nodes = client.nodes.stats(node_id="_local", metric="process")["nodes"]
        return float(next(iter(nodes.values()))["process"]["cpu"]["total_in_millis"])


def run(store, rules: dict[str, str], batches: list[list[Article]], matcher) -> dict:
    """Wall time per batch, and CPU time (this process + the cluster node): on a machine shared with
    other work the wall time varies with the load, the CPU seconds per article much less."""
    timings, matched, results = [], 0, []
    cpu0, node0 = time.process_time(), node_cpu_ms(store)
    for batch in batches:
        ids = [a.id for a in batch]
        t0 = time.perf_counter()
        found = matcher(store, rules, ids)
        timings.append(time.perf_counter() - t0)
        matched += sum(len(v) for v in found.values())
        results.append({k: sorted(v) for k, v in found.items()})
    total = sum(timings)
    articles = sum(len(b) for b in batches)
    cpu = time.process_time() - cpu0 + (node_cpu_ms(store) - node0) / 1000
    return {"rules": len(rules), "batches": len(batches), "articles": articles, "seconds": round(total, 3),
            "cpu_ms_per_batch": round(cpu * 1000 / len(batches), 1),
            "articles_per_cpu_s": round(articles / cpu, 1) if cpu else 0.0,
            "batch_p50_ms": percentile([t * 1000 for t in timings], 50),
            "batch_p95_ms": percentile([t * 1000 for t in timings], 95),
            "articles_per_s": articles / total if total else 0.0,
            "rule_evals_per_s": len(rules) * articles / total if total else 0.0,
            "matches": matched, "_results": results}


def every_rule(store, rules: dict[str, str], ids: list[str]) -> dict[str, list[str]]:
    """The reference: each backend's matcher with presearch off (every rule evaluated on the batch)."""
    if store.backend == "sqlite":
        from ingest.store.sqlite.rules import match_rules
    else:
        from ingest.store.elasticsearch.rules import match_rules
    return match_rules(store.index, rules, ids, presearch=False)


def check(store, rules: dict[str, str], batch: list[Article], result: dict) -> None:
    """Exact: the first batch's matches equal evaluating every rule; and how many rules were evaluated."""
    ids = [a.id for a in batch]
    reference = {k: sorted(v) for k, v in every_rule(store, rules, ids).items()}
    result["exact"] = "yes" if reference == result["_results"][0] else "NO"
    if store.backend == "sqlite":
        stats: dict = {}
        from ingest.store.sqlite.rules import match_rules
        match_rules(store.index, rules, ids, stats)
        result["evaluated"] = f"{stats.get('evaluated', len(rules)):,} / {stats.get('answered', 0):,}"
    elif "every rule" not in result.get("backend", ""):
        from ingest.store.elasticsearch.rules import _candidates
        answered, searched = _candidates(store.index, rules, ids)
        searched = {name: ids for name, ids in searched.items() if ids}
        result["evaluated"] = f"{len(searched):,} / {len(answered):,}"


def sqlite_matchers(impl: str) -> list[tuple[str, object]]:
    from ingest.store.sqlite import rules as sqlite_rules

    naive = getattr(sqlite_rules, "match_rules_naive", None)
    out = []
    if impl in ("both", "naive") and naive is not None:
        out.append(("sqlite (naive: one query per rule over the whole index)", naive))
    if impl in ("both", "optimised") or naive is None:
        out.append(("sqlite", sqlite_rules.match_rules))
    return out


def cluster_rows(backend: str, url: str, tmp: Path, corpus: list[Article], new: list[Article],
                 batches: list[list[Article]], rule_sets: dict, references: dict, notes: list[str],
                 rules_shards: int = 1, max_rules: int = 10_000, exact_check: bool = True,
                 impl: str = "optimised") -> list[dict]:
    """The same batches and rule sets on a cluster (percolator where it has the module, else `_msearch`),
    its matches checked against SQLite's. `impl` naive/both: also with the presearcher off (every rule
    percolated or searched: the figures before the presearcher)."""
    from ingest.store import open_backends
    from ingest.store.elasticsearch.rules import match_rules as cluster_match

    settings = StoreSettings(backend=backend, sqlite_path=str(tmp / f"{backend}-local.db"))
    conf = getattr(settings, backend)
    conf.url = url
    conf.index_prefix = f"benchalerts{int(time.time())}"
    conf.bulk_size = 2000
    conf.rules_shards = rules_shards
    store = open_backends(settings)
    rows = []
    try:
        for i in range(0, len(corpus), 2000):
            store.index.upsert_articles(corpus[i:i + 2000])
        store.index.upsert_articles(new)
        store.index.outbox.flush()
        for (n, mix), rules in rule_sets.items():
            if n > max_rules:
                continue
            for presearch in {"naive": (False,), "both": (False, True)}.get(impl, (True,)):
                warm_up = time.perf_counter()
                store.index.match_rules(rules, [corpus[0].id])  # stores the percolator queries
                r = run(store, rules, batches,
                        lambda s, rules, ids, p=presearch: cluster_match(s.index, rules, ids, presearch=p))
                how = "percolator" if store.index.percolator else "_msearch"
                how += f", {rules_shards} shards" if rules_shards > 1 and how == "percolator" else ""
                how += "" if presearch else ", every rule"
                r.update(backend=f"{backend} ({how})", mix=mix, setup_s=time.perf_counter() - warm_up - r["seconds"])
                if (n, mix) in references and r["_results"] != references[n, mix]:
                    notes.append(f"MISMATCH: {backend} ({how}) differs from SQLite at {n} {mix} rules")
                if exact_check:
                    check(store, rules, batches[0], r)
                rows.append(r)
    finally:
        store.index.client.indices.delete(index=f"{conf.index_prefix}-*")
        store.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, action="append", help="rule count (repeatable; default 1000 and 10000)")
    ap.add_argument("--corpus", type=int, default=20_000, help="articles already stored (default 20,000)")
    ap.add_argument("--batch", type=int, default=50, help="new articles per stored batch (default 50)")
    ap.add_argument("--batches", type=int, default=5, help="batches per measurement (default 5)")
    ap.add_argument("--impl", choices=("optimised", "naive", "both"), default="optimised",
                    help="naive: SQLite one query per rule, clusters with the presearcher off; both: each beside the other")
    ap.add_argument("--mix", choices=("broad", "selective", "both"), default="both",
                    help="rule vocabulary: broad (worst case), selective (realistic), both (default)")
    ap.add_argument("--es-max-rules", type=int, default=10_000,
                    help="largest rule set run on the clusters (default 10,000)")
    ap.add_argument("--no-check", action="store_true", help="skip the exactness check against every rule")
    ap.add_argument("--no-sqlite", action="store_true", help="clusters only")
    ap.add_argument("--rules-shards", type=int, action="append",
                    help="shards of the percolator rules index (repeatable: one row each; default 1)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = args.rules or [1000, 10_000]

    bases = base_texts()
    corpus = synthesise(bases, args.corpus)
    new = synthesise(bases, args.batch * args.batches, start_index=args.corpus)
    batches = [new[i:i + args.batch] for i in range(0, len(new), args.batch)]
    mixes = ["broad", "selective"] if args.mix == "both" else [args.mix]
    rule_sets = {(n, mix): make_rules(bases, n, mix) for n in sizes for mix in mixes}
    results, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        from ingest.store import open_sqlite

        store = open_sqlite(Path(tmp) / "bench.db")
        for i in range(0, len(corpus), 2000):
            store.index.upsert_articles(corpus[i:i + 2000])
        store.index.upsert_articles(new)
        from ingest.store.sqlite.rules import match_rules as sqlite_rules_match

        references: dict[tuple[int, str], list] = {}  # SQLite's matches: what every backend must find
        for (n, mix), rules in rule_sets.items():
            if args.no_sqlite:
                break
            reference = None
            for name, matcher in sqlite_matchers(args.impl):
                warm_up = time.perf_counter()
                matcher(store, rules, [corpus[0].id])  # compiles and indexes the rule set (cached)
                r = run(store, rules, batches, matcher)
                r.update(backend=name, mix=mix, setup_s=time.perf_counter() - warm_up - r["seconds"])
                if reference is not None and r["_results"] != reference:
                    notes.append(f"MISMATCH between SQLite matchers at {n} {mix} rules")
                reference = references[n, mix] = r["_results"]
                if matcher is sqlite_rules_match and not args.no_check:
                    check(store, rules, batches[0], r)
                results.append(r)
        store.close()

        for backend, variable in CLUSTERS:
            url = os.environ.get(variable)
            if not url:
                notes.append(f"{backend} skipped: set {variable} to include it")
                continue
            for shards in args.rules_shards or [1]:
                rows = cluster_rows(backend, url, Path(tmp), corpus, new, batches, rule_sets, references, notes, shards,
                                    max_rules=args.es_max_rules, exact_check=not args.no_check, impl=args.impl)
                results += rows
                if any("_msearch" in r["backend"] for r in rows):
                    break  # no percolator: the shards of a rules index do not apply

    for r in results:
        r.pop("_results", None)
    rows = [[r["backend"], f"{r['rules']:,}", r["mix"], f"{args.corpus:,}", args.batch, r["batch_p50_ms"],
             r["batch_p95_ms"], r["articles_per_s"], f"{r['rule_evals_per_s']:,.0f}", r["cpu_ms_per_batch"],
             r["articles_per_cpu_s"], r.get("evaluated", ""), r["matches"], r.get("exact", ""), r["setup_s"]]
            for r in results]
    table = (f"Alert rule matching ({dataset_name()}; {machine()}; load average {os.getloadavg()[0]:.1f})\n\n"
             + markdown_table(["backend", "rules", "rule mix", "stored articles", "batch", "batch p50 ms",
                               "batch p95 ms", "new articles/s", "rules x articles/s", "CPU ms/batch",
                               "new articles/CPU-s", "1st batch: rules evaluated / answered by presearch",
                               "matches", "exact", "rule set setup s"], rows)
             + ("\n\n" + "\n".join(notes) if notes else ""))
    emit({"corpus": args.corpus, "batch": args.batch, "batches": args.batches, "dataset": dataset_name(),
          "machine": machine(), "results": results, "notes": notes}, table, args.json)


if __name__ == "__main__":
    main()
