#!/usr/bin/env python3
"""Article-body quality on ../shared/benchmarks/article-extraction: raw trafilatura vs our pipeline.

    python bench/extraction.py              # table: precision, recall, F1, accuracy, ms/page
    python bench/extraction.py --json
    python bench/extraction.py --dump out.json   # our predictions, for evaluate.py or inspection

Rows, all measured in this run on the same 181 pages with one process:
  trafilatura default       trafilatura.extract(html)
  trafilatura best          trafilatura.extract(html, favor_precision=True, include_comments=False)
  ingest                    ingest.extract.extract_article(html, url, ExtractSettings())
The metric is the benchmark's own (shingle precision/recall/F1, see the dataset README).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATASET, emit, machine, markdown_table, real_pages  # noqa: E402


def load_evaluator():
    path = DATASET / "evaluate.py"
    if not path.exists():
        raise SystemExit(f"dataset missing: {DATASET} (this benchmark needs ../shared/benchmarks/article-extraction)")
    spec = importlib.util.spec_from_file_location("evaluate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, func, pages, truth, evaluator) -> dict:
    preds = {}
    t0 = time.perf_counter()
    for item_id, html in pages:
        preds[item_id] = func(item_id, html) or ""
    ms = (time.perf_counter() - t0) * 1000 / len(pages)
    summary, _ = evaluator.evaluate(truth, preds, rounds=0)
    return {"extractor": name, "precision": summary["precision"], "recall": summary["recall"], "f1": summary["f1"],
            "accuracy": summary["accuracy"], "empty": summary["missing_or_empty"], "ms_per_page": ms,
            "predictions": preds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dump", help="write our predictions to this JSON file")
    ap.add_argument("--only-ours", action="store_true", help="skip the trafilatura baselines")
    args = ap.parse_args()
    evaluator = load_evaluator()
    truth = evaluator.load_texts(DATASET / "ground-truth.json")
    urls = {k: v.get("url") for k, v in json.loads((DATASET / "ground-truth.json").read_text()).items()}
    pages = real_pages()

    import trafilatura

    from ingest.config import ExtractSettings
    from ingest.extract import extract_article

    settings = ExtractSettings()
    rows = []
    if not args.only_ours:
        rows.append(run("trafilatura default", lambda i, h: trafilatura.extract(h), pages, truth, evaluator))
        rows.append(run("trafilatura best (favor_precision, no comments)",
                        lambda i, h: trafilatura.extract(h, favor_precision=True, include_comments=False),
                        pages, truth, evaluator))
    rows.append(run("ingest (trafilatura + cleaning)",
                    lambda i, h: extract_article(h, urls.get(i), settings).text, pages, truth, evaluator))
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows[-1]["predictions"], ensure_ascii=False, indent=1))
    for r in rows:
        r.pop("predictions")
    best = next((r for r in rows if r["extractor"].startswith("trafilatura best")), None)
    table_rows = [[r["extractor"], r["precision"], r["recall"], r["f1"], r["accuracy"], r["empty"], r["ms_per_page"]]
                  for r in rows]
    table = (f"Extraction quality, {len(pages)} pages ({machine()}, one process)\n\n"
             + markdown_table(["extractor", "precision", "recall", "F1", "accuracy", "empty", "ms/page"], table_rows))
    if best:
        ours = rows[-1]
        table += (f"\n\nours vs trafilatura best: F1 {ours['f1'] - best['f1']:+.3f}, precision "
                  f"{ours['precision'] - best['precision']:+.3f}, time ×{ours['ms_per_page'] / best['ms_per_page']:.2f}")
    emit({"pages": len(pages), "machine": machine(), "results": rows}, table, args.json)


if __name__ == "__main__":
    main()
