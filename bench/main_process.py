#!/usr/bin/env python3
"""Where the ingester's main process spends its CPU in one `run --once` cycle, step by step.

    python bench/main_process.py                 # 1,000 articles, SQLite, 2 workers
    python bench/main_process.py --articles 400 --json

Same loopback site and settings as `bench/pipeline.py` (the real pages under varied URLs, 50 per feed,
no politeness delay). Each step's CPU is the thread CPU time (`time.thread_time`) spent inside it,
summed over the threads that ran it, per stored article: fetch threads (`fetch`), the store batch and
its parts (places and watchlist entities, clusters, stories, the index write with FTS5 stems, the raw
page's compression, learned boilerplate), re-cleaning after the cycle, and the loopback site itself
(the benchmark's, not the ingester's). `main total` is the whole process (getrusage) and `workers`
the extraction processes, both per article.
"""

from __future__ import annotations

import argparse
import http.server
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import dataset_name, emit, machine, markdown_table, real_pages  # noqa: E402
from pipeline import build_sites  # noqa: E402

import ingest.pipeline as pipeline_module  # noqa: E402
from ingest.app import Ingest  # noqa: E402
from ingest.config import load_settings  # noqa: E402
from ingest.enrich.clusters import StoryClusters  # noqa: E402
from ingest.enrich.stories import Stories  # noqa: E402
from ingest.extract.learned import LearnedBoilerplate  # noqa: E402
from ingest.store.sqlite.index import SQLiteIndex  # noqa: E402
from ingest.store.sqlite.state import SQLiteState  # noqa: E402

STEPS = [  # (label, owner, method)
    ("fetch (HTTP, per page)", pipeline_module.Pipeline, "_fetch_page"),
    ("store batch, all of it", pipeline_module.Pipeline, "_store_batch"),
    ("  places + entities", pipeline_module, "tag_articles"),
    ("  clusters", StoryClusters, "assign"),
    ("  stories", Stories, "assign"),
    ("  index write (FTS5, stems)", SQLiteIndex, "upsert_articles"),
    ("  raw page (zlib)", SQLiteState, "save_raw"),
    ("  learned boilerplate", LearnedBoilerplate, "learn"),
    ("re-cleaning after the cycle", pipeline_module.Pipeline, "reclean"),
    ("loopback site (the benchmark's)", http.server.BaseHTTPRequestHandler, "handle_one_request"),
]


class StepClock:
    """Thread CPU seconds inside each wrapped method, summed over threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {label: 0.0 for label, _, _ in STEPS}
        self._lock = threading.Lock()

    def wrap(self, label: str, owner, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[label] += time.thread_time() - start

        setattr(owner, name, timed)


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def measure(n: int, workers: int) -> dict:
    clock = StepClock()
    for label, owner, name in STEPS:
        clock.wrap(label, owner, name)
    sites, feeds, _ = build_sites(real_pages(), n)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(str(Path(tmp) / "config"), str(Path(tmp) / "bench.db"), "sqlite",
                                     env={"INGEST_ALLOW_NETWORKS": "127.0.0.1/32"})
            settings.extract.workers = workers
            settings.fetch.per_host_min_interval = 0
            settings.fetch.per_host_concurrency = 8
            settings.fetch.concurrency = 16
            with Ingest(settings) as app:
                before = _cpu()
                report = app.run_once(feeds=feeds)
                main, kids = (after - b for after, b in zip(_cpu(), before, strict=True))
    finally:
        for s in sites:
            s.close()
    stored = max(1, report.stored)
    steps = {label: 1000 * seconds / stored for label, seconds in clock.seconds.items()}
    return {"articles": report.stored, "main_ms": 1000 * main / stored, "workers_ms": 1000 * kids / stored,
            "steps_ms": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = measure(args.articles, args.workers) | {"dataset": dataset_name(), "machine": machine()}
    rows = [["main total (getrusage)", result["main_ms"]], ["workers (extract + enrich)", result["workers_ms"]]]
    rows += [[label, ms] for label, ms in result["steps_ms"].items()]
    emit(result, f"Main-process CPU per stored article, {result['articles']} articles of {result['dataset']} "
                 f"({result['machine']}):\n\n" + markdown_table(["step", "CPU ms/article"], rows), args.json)


if __name__ == "__main__":
    main()
