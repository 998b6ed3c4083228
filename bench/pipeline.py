#!/usr/bin/env python3
"""End-to-end pipeline throughput against raw trafilatura on the same pages with the same processes.

    python bench/pipeline.py                       # 1,000 and 10,000 articles, SQLite
    python bench/pipeline.py --sizes 1000 --json
    python bench/pipeline.py --hosts 10 --sizes 300   # spread over 10 hosts, default politeness
    python bench/pipeline.py --hosts 10 --sizes 300 --sigterm   # also: how fast a busy daemon stops
    INGEST_ES_URL=http://127.0.0.1:9200 python bench/pipeline.py   # also Elasticsearch (1,000; --es-sizes)
    INGEST_OS_URL=http://127.0.0.1:9201 python bench/pipeline.py   # also OpenSearch (same sizes)

A loopback site serves the 181 real pages of ../shared/benchmarks/article-extraction (the bundled
sample site when absent) repeated under varied URLs: each repetition on its own port (its own
site, so exact-duplicate detection within a site does not skip the copies), 50 entries per feed.
The pipeline does everything a real cycle does: poll, fetch, extract, clean, enrich (language,
keywords, clusters), store. The baseline is `trafilatura.extract` on the same page bytes in a
process pool of the same size. Ratio = pipeline articles/s / baseline articles/s. The baseline rate is
measured once, on the first 1,000 of those pages (the same 181 pages repeated: it does not change with N).

With `--hosts N` the articles are spread evenly over N sites (N loopback ports, each its own host
for the per-host limiter) and the default politeness applies (`fetch.per_host_min_interval` 0.5 s,
`per_host_concurrency` 2, `concurrency` 8): the run is bounded by N hosts x 2 requests/s, unless
one host's politeness gap holds up the fetch threads of every other host (head-of-line blocking).
No raw baseline is measured in that mode. `--sigterm` then starts `ingest run` (the daemon) on a
fresh store over the same site, sends SIGTERM once a third of the pages were served, and reports
how long the daemon took to exit (it finishes the batch being written; the rest stays queued).

The script a user would write instead ("DIY", `diy_script`), on the same site, feeds and number of
processes, run just before the pipeline at the sizes in `--diy-sizes`: feedparser reads each feed,
httpx fetches each entry's page (one client, in order), a pool of the same size runs
`trafilatura.extract(with_metadata=True, favor_precision=True)` on it, and the main process inserts
url, title, date, author and text into an FTS5 table (SQLite, default tokenizer). No cleaning, no
enrichment, no deduplication, no politeness, no error handling: the floor a product must beat.

Every measured run (DIY script, each pipeline row) runs in a fresh process of its own (`in_own_process`):
its CPU and peak RSS are the program's, not those of the loopback site (which stays in the bench's
process with its server threads), nor left over from the rows before it.

CPU per article (user + system, the ingester and its workers, from getrusage) says what bounds the
ratio: when every core is busy, throughput is cores / CPU per article, so pipeline/raw throughput is
at most raw CPU / pipeline CPU per article. The profile of the worker (bench/enrich.py) splits it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    StaticSite,
    Timer,
    dataset_name,
    emit,
    machine,
    markdown_table,
    peak_rss_mb,
    real_pages,
    rss_feed,
)

from ingest.app import Ingest  # noqa: E402
from ingest.config import load_settings  # noqa: E402
from ingest.models import FeedConfig  # noqa: E402

PER_FEED = 50
BASELINE_PAGES = 1000


_PAGES: list[bytes] = []  # the baseline's pages, inherited by its forked workers (not pickled per task)


def _raw_extract(html: bytes) -> int:
    import trafilatura

    return len(trafilatura.extract(html) or "")


def _raw_extract_at(index: int) -> int:
    return _raw_extract(_PAGES[index])


def baseline(pages: list[bytes], workers: int) -> float:
    """Raw trafilatura articles/s on the same pages with `workers` processes."""
    global _PAGES
    _PAGES = pages
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        list(pool.map(_raw_extract_at, range(min(len(pages), workers * 2))))  # warm the workers (imports)
        with Timer() as t:
            list(pool.map(_raw_extract_at, range(len(pages)), chunksize=8))
    _PAGES = []
    return len(pages) / t.seconds


def baseline_cpu_ms(pages: list[bytes]) -> float:
    """Raw trafilatura CPU ms per article (one process, the distinct pages)."""
    distinct = list({id(p): p for p in pages}.values())
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(_raw_cpu_job, distinct[:2]).result()
        return 1000 * pool.submit(_raw_cpu_job, distinct).result() / len(distinct)


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process (fetching, storing; the run's own process, see
    `in_own_process`) and of its reaped children (the extraction workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _raw_cpu_job(pages: list[bytes]) -> float:
    start = time.process_time()
    for html in pages:
        _raw_extract(html)
    return time.process_time() - start


def _diy_extract(url: str, html: bytes) -> tuple | None:
    """The DIY script's worker: trafilatura with metadata and its precision settings."""
    import json

    import trafilatura

    out = trafilatura.extract(html, url=url, with_metadata=True, favor_precision=True, output_format="json")
    if not out:
        return None
    doc = json.loads(out)
    return url, doc.get("title"), doc.get("date"), doc.get("author"), doc.get("text") or ""


def diy_script(feeds: list[FeedConfig], workers: int, tmp: Path) -> dict:
    """The script a user would write instead of ingest (see the module docstring)."""
    import sqlite3

    import feedparser
    import httpx

    db = sqlite3.connect(tmp / "diy.db")
    db.execute("CREATE VIRTUAL TABLE articles USING fts5(url UNINDEXED, title, published UNINDEXED, "
               "author UNINDEXED, body)")
    before = _cpu()
    with Timer() as t:
        ctx = multiprocessing.get_context("fork")
        with httpx.Client(timeout=30) as client, ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            jobs = []
            for feed in feeds:
                for entry in feedparser.parse(client.get(feed.url).content).entries:
                    jobs.append(pool.submit(_diy_extract, entry.link, client.get(entry.link).content))
            rows = [row for row in (job.result() for job in jobs) if row]
            db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", rows)
            db.commit()
    main_cpu, worker_cpu = (after - b for after, b in zip(_cpu(), before, strict=True))
    db.close()
    n = max(1, len(rows))
    return {"stored": len(rows), "seconds": t.seconds, "rate": len(rows) / t.seconds,
            "cpu_ms_per_article": 1000 * (main_cpu + worker_cpu) / n}


def build_sites(pages: list[tuple[str, bytes]], n: int) -> tuple[list[StaticSite], list[FeedConfig], list[bytes]]:
    sites, feeds, served = [], [], []
    reps = (n + len(pages) - 1) // len(pages)
    count = 0
    for r in range(reps):
        site = StaticSite()
        items = []
        for item_id, html in pages:
            if count >= n:
                break
            path = f"/{r}/{item_id}"
            site.routes[path] = ("text/html; charset=utf-8", html)
            items.append((f"Article {item_id[:8]} copy {r}", site.base + path))
            served.append(html)
            count += 1
        for k in range(0, len(items), PER_FEED):
            path = f"/feed-{k // PER_FEED}.xml"
            site.routes[path] = ("application/rss+xml", rss_feed(f"Bench {r}/{k}", items[k:k + PER_FEED]))
            feeds.append(FeedConfig(url=site.base + path, name=f"bench-{r}"))
        sites.append(site)
    return sites, feeds, served


def build_hosts(pages: list[tuple[str, bytes]], n: int, hosts: int) -> tuple[list[StaticSite], list[FeedConfig]]:
    """n articles spread over `hosts` sites, one feed per site; the real pages reused in turn."""
    sites = [StaticSite() for _ in range(hosts)]
    items: list[list[tuple[str, str]]] = [[] for _ in range(hosts)]
    for i in range(n):
        item_id, html = pages[i % len(pages)]
        site = sites[i % hosts]
        path = f"/{i}/{item_id}"
        site.routes[path] = ("text/html; charset=utf-8", html)
        items[i % hosts].append((f"Article {item_id[:8]} number {i}", site.base + path))
    feeds = []
    for h, site in enumerate(sites):
        site.routes["/feed.xml"] = ("application/rss+xml", rss_feed(f"Host {h}", items[h]))
        feeds.append(FeedConfig(url=site.base + "/feed.xml", name=f"host-{h}"))
    return sites, feeds


# A search node that has just started compiles its code paths on the first requests (the JVM's JIT),
# which a running cluster has long done: one untimed cycle of this many feeds (50 entries each) goes to
# each cluster before its first measured row.
WARM_FEEDS = 2


def in_own_process(func, *args) -> dict:
    """`func(*args)` (a run returning a dict) in a fresh process, with that process's peak RSS and its
    workers' added. The loopback site stays here: its server threads and the pages it holds are not
    the measured program's memory or CPU, which a run in this process would count as its own."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, func, args), name=f"bench-{func.__name__}")
    child.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:
        result = RuntimeError(f"{func.__name__} died (exit code {child.exitcode})")
    child.join()
    if isinstance(result, BaseException):
        raise result
    return result


def _child(send, func, args) -> None:
    try:
        result = func(*args)
        result.update(peak_rss_mb=peak_rss_mb(), peak_rss_children_mb=peak_rss_mb(children=True))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        result = RuntimeError(f"{func.__name__}: {type(exc).__name__}: {exc}")
    send.send(result)
    send.close()


def run_pipeline(feeds: list[FeedConfig], workers: int, tmp: Path, backend: str, polite: bool = False) -> dict:
    env = {"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"}
    settings = load_settings(str(tmp / "config"), str(tmp / f"{backend}.db"), backend, env=env)
    settings.extract.workers = workers
    if not polite:  # throughput of the pipeline itself, not of the publishers' politeness
        settings.fetch.per_host_min_interval = 0
        settings.fetch.per_host_concurrency = 8
        settings.fetch.concurrency = 16
    cluster = {"elasticsearch": settings.store.elasticsearch, "opensearch": settings.store.opensearch}.get(backend)
    if cluster is not None:
        cluster.url = os.environ["INGEST_ES_URL" if backend == "elasticsearch" else "INGEST_OS_URL"]
        cluster.index_prefix = f"benchpipe{int(time.time())}"
        cluster.bulk_size = 1000
    with Ingest(settings) as app:
        before = _cpu()
        with Timer() as t:
            report = app.run_once(feeds=feeds)  # the extraction pool is shut down (and reaped) at the end
        main_cpu, worker_cpu = (after - b for after, b in zip(_cpu(), before, strict=True))
        with Timer() as t2:
            second = app.run_once(feeds=feeds)
        if cluster is not None:
            app.store.index.client.indices.delete(index=f"{cluster.index_prefix}-*")
    n = max(1, report.stored)
    return {"stored": report.stored, "seconds": t.seconds, "rate": report.stored / t.seconds,
            "cpu_ms_per_article_main": 1000 * main_cpu / n, "cpu_ms_per_article_workers": 1000 * worker_cpu / n,
            "unchanged_cycle_seconds": t2.seconds, "second_cycle_stored": second.stored,
            "fallbacks": report.fallbacks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated article counts")
    ap.add_argument("--es-sizes", default="1000", help="the sizes also run on Elasticsearch (INGEST_ES_URL) and OpenSearch (INGEST_OS_URL)")
    ap.add_argument("--diy-sizes", default="1000",
                    help="the sizes the DIY script (feedparser + httpx + trafilatura + FTS5) also runs at")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--hosts", type=int, default=0, help="spread the articles over N hosts, default politeness")
    ap.add_argument("--sigterm", action="store_true", help="with --hosts: time a busy daemon's stop on SIGTERM")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pages = real_pages()
    if args.hosts:
        return polite_hosts(pages, args)
    backends = (["sqlite"] + (["elasticsearch"] if os.environ.get("INGEST_ES_URL") else [])
                + (["opensearch"] if os.environ.get("INGEST_OS_URL") else []))
    es_sizes = {int(s) for s in args.es_sizes.split(",") if s}
    diy_sizes = {int(s) for s in args.diy_sizes.split(",") if s}
    results, diy = [], {}
    warmed: set[str] = set()
    base_rate = base_cpu = None
    for n in [int(s) for s in args.sizes.split(",")]:
        sites, feeds, served = build_sites(pages, n)
        if base_rate is None:  # the same pages at every size: measured once
            base_rate = baseline(served[:BASELINE_PAGES], args.workers)
            base_cpu = baseline_cpu_ms(served)
        if n in diy_sizes:  # right before the pipeline, same site and processes
            with tempfile.TemporaryDirectory() as tmp:
                diy[n] = in_own_process(diy_script, feeds, args.workers, Path(tmp))
        for backend in backends:
            if backend != "sqlite" and n not in es_sizes:
                continue
            if backend != "sqlite" and backend not in warmed:
                warmed.add(backend)
                with tempfile.TemporaryDirectory() as tmp:  # untimed (see WARM_FEEDS)
                    in_own_process(run_pipeline, feeds[:WARM_FEEDS], args.workers, Path(tmp), backend)
            with tempfile.TemporaryDirectory() as tmp:
                r = in_own_process(run_pipeline, feeds, args.workers, Path(tmp), backend)
            results.append({"articles": n, "backend": backend, "workers": args.workers,
                            "baseline_rate": base_rate, **r, "ratio": r["rate"] / base_rate,
                            "baseline_cpu_ms_per_article": base_cpu,
                            "cpu_ratio": base_cpu / (r["cpu_ms_per_article_main"] + r["cpu_ms_per_article_workers"])})
        for s in sites:
            s.close()
    rows = [[r["articles"], r["backend"], r["workers"], r["stored"], r["rate"], r["baseline_rate"], r["ratio"],
             r["unchanged_cycle_seconds"], r["peak_rss_mb"], r["peak_rss_children_mb"]] for r in results]
    cpu_rows = [[r["articles"], r["backend"], r["cpu_ms_per_article_workers"], r["cpu_ms_per_article_main"],
                 r["baseline_cpu_ms_per_article"], r["cpu_ratio"]] for r in results]
    table = (f"Pipeline throughput ({dataset_name()}; {machine()})\n\n"
             + markdown_table(["articles", "backend", "processes", "stored", "pipeline art/s",
                               "raw trafilatura art/s", "ratio", "unchanged cycle s", "peak RSS MB",
                               "worker peak RSS MB"], rows)
             + "\n\nCPU per article: what bounds the ratio when every core is busy\n\n"
             + markdown_table(["articles", "backend", "workers ms (extract+enrich)", "main ms (fetch, store)",
                               "raw trafilatura ms", "raw / pipeline CPU"], cpu_rows))
    if diy:
        table += "\n\n" + versus_table(results, diy)
    emit({"dataset": dataset_name(), "machine": machine(), "results": results,
          "diy": {str(n): r for n, r in diy.items()}}, table, args.json)


def versus_table(results: list[dict], diy: dict[int, dict]) -> str:
    """ingest beside raw trafilatura and the DIY script, same run: rate, CPU per article, our ratio to each."""
    rows = []
    for r in results:
        d = diy.get(r["articles"])
        if d is None:
            continue
        ours_cpu = r["cpu_ms_per_article_main"] + r["cpu_ms_per_article_workers"]
        label = f"{r['articles']:,} articles, {r['backend']}"
        rows += [[label, "raw trafilatura.extract", f"{r['baseline_rate']:.1f}", f"{r['baseline_cpu_ms_per_article']:.1f}",
                  f"{r['rate'] / r['baseline_rate']:.2f}"],
                 [label, "DIY script (feedparser + httpx + trafilatura metadata/precision + FTS5)",
                  f"{d['rate']:.1f}", f"{d['cpu_ms_per_article']:.1f}", f"{r['rate'] / d['rate']:.2f}"],
                 [label, "ingest run --once (clean + enrich + store)", f"{r['rate']:.1f}", f"{ours_cpu:.1f}", "1.00"]]
    return ("ingest against raw trafilatura and the script a user would write (same site, same processes)\n\n"
            + markdown_table(["run", "what", "articles/s", "CPU ms/article", "ingest art/s ÷ this"], rows))


def daemon_stop_seconds(feeds: list[FeedConfig], sites: list[StaticSite], n: int, tmp: Path) -> float:
    """Start `ingest run` over the sites, SIGTERM it once a third of the pages were served: seconds to exit."""
    import signal
    import subprocess

    from ingest.sources.feedlist import save_feeds

    config = tmp / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("fetch: {allow_networks: ['127.0.0.1/32']}\n")
    save_feeds(config / "feeds.yaml", feeds)
    start_hits = sum(s.hits for s in sites)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    daemon = subprocess.Popen([sys.executable, "-m", "ingest", "run", "--config", str(config), "--db",
                               str(tmp / "daemon.db")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while sum(s.hits for s in sites) - start_hits < len(sites) + n // 3 and daemon.poll() is None:
        time.sleep(0.01)
    sent = time.perf_counter()
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(120)
    return time.perf_counter() - sent


def polite_hosts(pages: list[tuple[str, bytes]], args) -> None:
    """One cold cycle over N hosts with the default politeness: seconds, pages/s, CPU."""
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        sites, feeds = build_hosts(pages, n, args.hosts)
        with tempfile.TemporaryDirectory() as tmp:
            r = in_own_process(run_pipeline, feeds, args.workers, Path(tmp), "sqlite", True)
        if args.sigterm:
            with tempfile.TemporaryDirectory() as tmp:
                r["sigterm_seconds"] = daemon_stop_seconds(feeds, sites, n, Path(tmp))
        for site in sites:
            site.close()
        cpu = (r["cpu_ms_per_article_main"] + r["cpu_ms_per_article_workers"]) * r["stored"] / 1000
        results.append({"articles": n, "hosts": args.hosts, "workers": args.workers, **r, "cpu_seconds": cpu,
                        "polite_bound_seconds": n / (args.hosts * 2.0)})
    rows = [[r["articles"], r["hosts"], r["stored"], r["seconds"], r["rate"], r["polite_bound_seconds"],
             r["cpu_seconds"], r.get("sigterm_seconds", "-")] for r in results]
    table = (f"Cold cycle over several hosts, default politeness (0.5 s gap, 2 at once per host; {machine()})\n\n"
             + markdown_table(["articles", "hosts", "stored", "seconds", "pages/s",
                               "politeness bound s (hosts x 2/s)", "CPU s", "daemon stop on SIGTERM s"], rows))
    emit({"dataset": dataset_name(), "machine": machine(), "results": results}, table, args.json)


if __name__ == "__main__":
    main()
