#!/usr/bin/env python3
"""Article-body quality on ../shared/benchmarks/article-extraction: trafilatura vs our pipeline.

    .venv/bin/python bench/extraction.py                 # table: precision, recall, F1, accuracy, ms/page
    .venv/bin/python bench/extraction.py --workers 2     # pages split over 2 processes
    .venv/bin/python bench/extraction.py --json
    .venv/bin/python bench/extraction.py --dump out.json # our predictions, for evaluate.py or inspection

Rows, all measured in this run on the same pages:
  trafilatura default   trafilatura.extract(html)
  trafilatura best      trafilatura.extract(html, favor_precision=True, include_comments=False)
  ingest                ingest.extract.extract_article(html, url, ExtractSettings())
The metric is the benchmark's own (`evaluate.py` beside the data: shingle precision/recall/F1, see
its README). Timing is interleaved: each page goes through the three extractors one after the other
(in rotating order), so load on the machine weighs on all rows alike; compare the ratio column,
not the milliseconds, between runs. Our pipeline also extracts metadata (title, author, date, tags),
which the trafilatura rows do not.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASET = Path(os.environ.get("INGEST_SHARED", ROOT.parent / "shared")) / "benchmarks" / "article-extraction"
sys.path.insert(0, str(ROOT))

EXTRACTORS = ("trafilatura default", "trafilatura best", "ingest")
LABELS = {
    "trafilatura default": "trafilatura default extract(html)",
    "trafilatura best": "trafilatura best (favor_precision, no comments)",
    "ingest": "ingest extract_article (trafilatura + cleaning)",
}


def load_evaluator():
    path = DATASET / "evaluate.py"
    if not (path.exists() and (DATASET / "ground-truth.json").exists() and (DATASET / "html").is_dir()):
        raise SystemExit(f"bench/extraction.py: dataset missing: {DATASET}\n"
                         "  expected evaluate.py, ground-truth.json and html/*.html.gz there "
                         "(the shared article-extraction benchmark; set INGEST_SHARED to its shared/ folder)")
    spec = importlib.util.spec_from_file_location("article_extraction_evaluate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _extractors():
    import trafilatura

    from ingest.config import ExtractSettings
    from ingest.extract import extract_article
    from ingest.extract.clean import load_rules

    load_rules()  # parse the rule pack once, outside the timed calls
    settings = ExtractSettings()
    return {
        "trafilatura default": lambda html, url: trafilatura.extract(html),
        "trafilatura best": lambda html, url: trafilatura.extract(html, favor_precision=True, include_comments=False),
        "ingest": lambda html, url: extract_article(html, url, settings).text,
    }


def run_chunk(items: list[tuple[str, str | None]], only_ours: bool) -> dict:
    """Extract every page of `items` [(item id, url)] with each extractor; returns texts and seconds."""
    funcs = _extractors()
    names = ["ingest"] if only_ours else list(EXTRACTORS)
    preds: dict[str, dict[str, str]] = {n: {} for n in names}
    seconds: dict[str, float] = {n: 0.0 for n in names}
    warm = gzip.decompress((DATASET / "html" / f"{items[0][0]}.html.gz").read_bytes()) if items else b""
    for name in names:  # first calls import and compile lazily: keep them out of the timing
        funcs[name](warm, items[0][1])
    for k, (item_id, url) in enumerate(items):
        html = gzip.decompress((DATASET / "html" / f"{item_id}.html.gz").read_bytes())
        for j in range(len(names)):
            name = names[(k + j) % len(names)]
            t0 = time.perf_counter()
            text = funcs[name](html, url)
            seconds[name] += time.perf_counter() - t0
            preds[name][item_id] = text or ""
    return {"preds": preds, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--workers", type=int, default=1, help="processes to split the pages over (default 1)")
    ap.add_argument("--limit", type=int, help="only the first N pages (quick look; not comparable)")
    ap.add_argument("--only-ours", action="store_true", help="skip the trafilatura rows")
    ap.add_argument("--dump", help="write our predictions {item_id: text} to this JSON file")
    args = ap.parse_args(argv)

    evaluator = load_evaluator()
    truth_file = DATASET / "ground-truth.json"
    truth = evaluator.load_texts(truth_file)
    urls = {k: v.get("url") for k, v in json.loads(truth_file.read_text(encoding="utf-8")).items()}
    items = sorted((k, urls.get(k)) for k in truth if (DATASET / "html" / f"{k}.html.gz").exists())
    if not items:
        raise SystemExit(f"bench/extraction.py: no pages in {DATASET / 'html'}")
    if args.limit:
        items = items[:args.limit]
    truth = {k: truth[k] for k, _ in items}

    workers = max(1, args.workers)
    started = time.perf_counter()
    if workers == 1:
        chunks = [run_chunk(items, args.only_ours)]
    else:
        parts = [items[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunks = list(pool.map(run_chunk, parts, [args.only_ours] * workers))
    wall = time.perf_counter() - started

    names = ["ingest"] if args.only_ours else list(EXTRACTORS)
    rows = []
    for name in names:
        preds = {k: v for c in chunks for k, v in c["preds"][name].items()}
        secs = sum(c["seconds"][name] for c in chunks)
        summary, _ = evaluator.evaluate(truth, preds, rounds=0)
        rows.append({"extractor": name, "label": LABELS[name], "precision": summary["precision"],
                     "recall": summary["recall"], "f1": summary["f1"], "accuracy": summary["accuracy"],
                     "empty": summary["missing_or_empty"], "ms_per_page": secs * 1000 / len(items)})
        if name == "ingest" and args.dump:
            Path(args.dump).write_text(json.dumps(preds, ensure_ascii=False, indent=1), encoding="utf-8")
    by = {r["extractor"]: r for r in rows}
    best = by.get("trafilatura best")
    for r in rows:
        r["time_vs_best"] = r["ms_per_page"] / best["ms_per_page"] if best else None
    verdict = None
    if best:
        ours = by["ingest"]
        verdict = {"f1_delta": ours["f1"] - best["f1"], "precision_delta": ours["precision"] - best["precision"],
                   "recall_delta": ours["recall"] - best["recall"], "time_ratio": ours["time_vs_best"],
                   "beats_best": ours["f1"] > best["f1"] and ours["precision"] > best["precision"]}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result = {"dataset": str(DATASET), "pages": len(items), "workers": workers, "machine": machine,
              "wall_seconds": wall, "results": rows, "ours_vs_best": verdict}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Article extraction, {len(items)} pages, {workers} worker(s), {machine}, {wall:.0f} s wall")
    print()
    print("| extractor | precision | recall | F1 | accuracy | empty | ms/page | time vs best |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"×{r['time_vs_best']:.2f}" if r["time_vs_best"] else "-"
        print(f"| {r['label']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['accuracy']:.3f} "
              f"| {r['empty']} | {r['ms_per_page']:.1f} | {ratio} |")
    if verdict:
        print()
        print(f"ours vs trafilatura best: F1 {verdict['f1_delta']:+.3f}, precision {verdict['precision_delta']:+.3f}, "
              f"recall {verdict['recall_delta']:+.3f}, time ×{verdict['time_ratio']:.2f} -> "
              + ("beats it on F1 and precision" if verdict["beats_best"] else "DOES NOT beat it on F1 and precision"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
